"""ViTWithAttention: the reference's patch grid and position embedding,
tokens equal to mmpretrain's own forward, attention as probabilities."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from mmseg_cobra.models import ViTWithAttention

ARCH = dict(embed_dims=48, num_layers=2, num_heads=3, feedforward_channels=96)


def build(**kwargs):
    torch.manual_seed(0)
    model = ViTWithAttention(arch=ARCH, img_size=224, patch_size=16, **kwargs)
    model.eval()
    with torch.no_grad():  # a position embedding that is not constant
        model.pos_embed.normal_()
    return model


@pytest.mark.parametrize('size,grid', [((181, 240), (11, 15)),
                                       ((224, 224), (14, 14)),
                                       ((240, 160), (15, 10))])
def test_patch_grid_drops_the_remainder_as_the_reference(size, grid):
    model = build()
    with torch.no_grad():
        tokens, attn, got = model(torch.randn(1, 3, *size))
    n = grid[0] * grid[1]
    assert got == grid
    assert tokens.shape == (1, 1 + n, 48)
    assert attn.shape == (1, 2, 1 + n, 1 + n)
    torch.testing.assert_close(attn.sum(-1), torch.ones(1, 2, 1 + n))
    # mmcv's default corner padding zero-pads to ceil instead
    corner = build(patch_cfg=dict(padding='corner'))
    with torch.no_grad():
        _, _, padded = corner(torch.randn(1, 3, 181, 240))
    assert padded == (12, 15)


def test_position_embedding_resized_as_dino():
    model = build()
    pos = model.pos_embed
    patch = pos[:, 1:].reshape(1, 14, 14, 48).permute(0, 3, 1, 2)
    want = F.interpolate(
        patch, scale_factor=(11.1 / 14, 15.1 / 14), mode='bicubic')
    want = torch.cat(
        [pos[:, :1], want.permute(0, 2, 3, 1).reshape(1, -1, 48)], dim=1)
    torch.testing.assert_close(
        model.resized_pos_embed((11, 15), (181, 240)), want)
    # pre-training grid and a square input: as is (the reference's test)
    assert model.resized_pos_embed((14, 14), (224, 224)) is pos
    # 14x14 from a non-square input is interpolated, as the reference does
    assert not torch.equal(model.resized_pos_embed((14, 14), (224, 230)), pos)
    sized = build(pos_embed_resize='size')
    torch.testing.assert_close(
        sized.resized_pos_embed((11, 15), (181, 240)),
        resize_pos_embed(sized.pos_embed, (14, 14), (11, 15), 'bicubic', 1))
    with pytest.raises(ValueError, match='pos_embed_resize'):
        build(pos_embed_resize='nearest')


def test_tokens_equal_mmpretrain_forward():
    """The explicit attention reproduces mmpretrain's layers exactly."""
    model = build()
    plain = VisionTransformer(
        arch=ARCH,
        img_size=224,
        patch_size=16,
        out_type='raw',
        patch_cfg=dict(padding=0))
    plain.eval()
    plain.load_state_dict(model.state_dict())
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        tokens, _, _ = model(x)
        (want, ) = plain(x)
    torch.testing.assert_close(tokens, want, rtol=1e-5, atol=1e-5)
