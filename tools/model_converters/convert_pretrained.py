"""Convert torchvision ResNet / timm DeiT ImageNet weights for CoBra.

    python tools/model_converters/convert_pretrained.py resnet \
        resnet152-394f9c45.pth pretrain/resnet152_mmpretrain.pth
    python tools/model_converters/convert_pretrained.py deit \
        deit_small_patch16_224-cd65a155.pth pretrain/deit_small_mmpretrain.pth

then point the config at them:
    --cfg-options \
    model.cnn_backbone.init_cfg.checkpoint=pretrain/resnet152_mmpretrain.pth \
                  model.vit_backbone.init_cfg.checkpoint=pretrain/deit_small_mmpretrain.pth
"""
import os.path as osp
import sys

import torch

from mmseg_cobra.cli import tool_parser
from mmseg_cobra.models.converters.weight_conversion import (
    timm_deit_to_mmpretrain, torchvision_resnet_to_mmpretrain)
from mmseg_cobra.utils.errors import UserError, run_cli
from mmseg_cobra.utils.file_io import save_torch

CONVERTERS = dict(
    resnet=torchvision_resnet_to_mmpretrain, deit=timm_deit_to_mmpretrain)


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('kind', choices=sorted(CONVERTERS))
    parser.add_argument('src', help='torchvision / timm checkpoint')
    parser.add_argument('dst', help='output checkpoint (mmpretrain keys)')
    args = parser.parse_args()
    if not osp.isfile(args.src):
        raise UserError(f'{args.src} does not exist')
    # plain tensors only: weights_only keeps foreign pickles out
    state = torch.load(args.src, map_location='cpu', weights_only=True)
    converted = CONVERTERS[args.kind](state)
    save_torch(dict(state_dict=converted), args.dst)
    print(f'{args.kind}: wrote {len(converted)} tensors to {args.dst}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
