"""Draw CAM panels of images with a trained CoBra (and IRN) checkpoint.

    python tools/visualize_cams.py CONFIG CHECKPOINT IMAGE [IMAGE ...] \
        [--irn-config IRN_CONFIG --irn-checkpoint IRN_CKPT] \
        [--labels cat dog] [--out-dir work_dirs/cam_panels] \
        [--pred-out-dir DIR] [--score-thr 0.5] [--seed-threshold 0.25] \
        [--device cpu] [--show]

Config first, as every tool; built on :class:`mmseg_cobra.apis.
CoBraInferencer`. IMAGE may be files or folders. One panel per image
(``--out-dir/<name>.png``): image | CNN CAM | ViT CAM | fused CAM | seed
[| pseudo mask with IRN], the image-level classes above it (the two
classifiers' scores above ``--score-thr``, or ``--labels``). Class names
and palette come from the checkpoint's dataset meta, else the config's
test dataset. ``--pred-out-dir`` also writes the seed (and pseudo) masks
as palette PNGs.
"""
import argparse
import os
import os.path as osp
import sys

from mmseg_cobra.apis import CoBraInferencer
from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.utils import use_project_checkpoint_loader
from mmseg_cobra.utils.device import DeviceError, select_device
from mmseg_cobra.utils.errors import UserError

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def parse_args() -> argparse.Namespace:
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='the CoBra config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('images', nargs='+', help='image files or folders')
    parser.add_argument('--irn-config', help='IRN config: add pseudo masks')
    parser.add_argument('--irn-checkpoint', help='the IRN checkpoint')
    parser.add_argument(
        '--labels',
        nargs='+',
        help='the image-level classes (names) instead of the predicted ones')
    add_flags(parser, '--out-dir', out_dir='work_dirs/cam_panels')
    parser.add_argument(
        '--pred-out-dir', help='also write the seed / pseudo masks (PNG)')
    parser.add_argument('--score-thr', type=float, default=0.5)
    parser.add_argument('--seed-threshold', type=float, default=0.25)
    add_flags(parser, '--device')
    parser.add_argument('--show', action='store_true')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    use_project_checkpoint_loader()
    for path in [args.config, args.checkpoint] + args.images:
        if not osp.exists(path):
            raise UserError(f'{path} does not exist')
    if bool(args.irn_config) != bool(args.irn_checkpoint):
        raise UserError('pseudo masks need both --irn-config and '
                        '--irn-checkpoint')
    try:
        device = select_device(args.device)
    except DeviceError as exc:
        raise UserError(str(exc)) from None
    inferencer = CoBraInferencer(
        args.config,
        args.checkpoint,
        device=device,
        irn_model=args.irn_config,
        irn_weights=args.irn_checkpoint,
        show_progress=False)
    images = []
    for path in args.images:  # a folder: its images, sorted
        images += sorted(
            osp.join(path, n) for n in os.listdir(path)
            if n.lower().endswith(IMAGE_SUFFIXES)) if osp.isdir(path) else [
                path
            ]
    try:
        result = inferencer(
            images,
            labels=args.labels,
            score_thr=args.score_thr,
            seed_threshold=args.seed_threshold,
            out_dir=args.out_dir,
            show=args.show,
            pred_out_dir=args.pred_out_dir or '')
    except ValueError as exc:  # a label that is not a class
        raise UserError(str(exc)) from None
    for path, pred in zip(images, result['predictions']):
        print(f'{path}: {", ".join(pred["classes"])}')
    print(f'{len(images)} panels written to {args.out_dir}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
