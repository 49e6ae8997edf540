"""Seed-generation throughput and memory with small backbones on CPU.

    python benchmarks/bench_cams.py [--images 24] [--size 160 160]

Runs the small CoBra (configs/cobra/cobra_r18_vittiny_synthetic.py, random
weights) over synthetic images at 7 scales + flip two ways:

- batched: ``CoBra.multiscale_cams`` (each scale and its flip in one batch);
- one at a time: every scale and every flip as its own forward pass;

and prints images/s for both. It then streams seeds to disk through
``save_seed`` and prints the process's peak RSS after each quarter of the
images: with seeds streamed to disk it must stay flat.
"""
import os.path as osp
import resource
import tempfile
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import tool_parser
from mmseg_cobra.structures.seed_io import save_seed

SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)


def one_at_a_time(model, image):
    """Same maps as ``multiscale_cams``, one forward pass per scale/flip."""
    h, w = image.shape[-2:]
    total = {}
    for scale in SCALES:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        x = F.interpolate(
            image[None], size=size, mode='bilinear', align_corners=False)
        for flip in (False, True):
            maps = model.cams(x.flip(-1) if flip else x)
            for key, value in maps.items():
                value = value if value.dim() == 4 else value[:, None]
                value = value.flip(-1) if flip else value
                value = F.interpolate(
                    value, size=(h, w), mode='bilinear',
                    align_corners=False)[0]
                total[key] = total[key] + value if key in total else value
    return total


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('--images', type=int, default=24)
    parser.add_argument('--size', type=int, nargs=2, default=(160, 160))
    args = parser.parse_args()
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(osp.dirname(osp.abspath(__file__))),
            'configs/cobra/cobra_r18_vittiny_synthetic.py'))
    cfg.model.test_cfg = dict(scales=SCALES, flip=True)
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model).eval()
    torch.manual_seed(0)
    images = [torch.randn(3, *args.size) for _ in range(args.images)]

    with torch.no_grad():
        model.multiscale_cams(images[0])  # warm-up
        a = model.multiscale_cams(images[0])
        b = one_at_a_time(model, images[0])
        diff = max((a[k] - b[k]).abs().max().item() for k in a)
        results = {}
        for name, fn in (('batched (scale + flip per pass)',
                          model.multiscale_cams),
                         ('one scale/flip at a time',
                          lambda im: one_at_a_time(model, im))):
            start = time.perf_counter()
            for image in images:
                fn(image)
            results[name] = args.images / (time.perf_counter() - start)
    print(f'{args.images} images {args.size[0]}x{args.size[1]}, '
          f'{len(SCALES)} scales + flip, threads={torch.get_num_threads()}')
    print(f'max |difference| between the two: {diff:.2e}')
    for name, ips in results.items():
        print(f'{name:34s} {ips:7.2f} images/s')

    print('streaming seeds to disk (peak RSS after each quarter):')
    labels = torch.tensor([1., 0., 1., 0.])
    with tempfile.TemporaryDirectory() as out_dir, torch.no_grad():
        quarter = max(1, args.images // 4)
        for i, image in enumerate(images, 1):
            summed = model.multiscale_cams(image)
            cnn = model.normalize_cams(summed['cam_cnn'], labels)
            vit = model.normalize_cams(summed['cam_vit'], labels)
            save_seed(
                out_dir,
                f'img{i:05d}',
                labels.nonzero().flatten(),
                dict(
                    cam_cnn=cnn.numpy(),
                    cam_vit=vit.numpy(),
                    cam_fuse=model.fuse(cnn, vit).numpy()),
                summed['attn_cls2patch'].numpy(),
                num_classes=4)
            if i % quarter == 0:
                print(
                    f'  after {i:4d} images: peak RSS {peak_rss_mb():.0f} MB')


if __name__ == '__main__':
    main()
