"""Convert the reference implementation's checkpoints for this project.

    # stage 1: the two published branch files -> one CoBra checkpoint
    python tools/model_converters/reference_to_mmseg_cobra.py cobra \
        --cnn ep19_cnn_checkpoint.pth --vit ep19_tran_checkpoint.pth \
        checkpoints/cobra_reference_voc.pth
    # stage 3: a reference / IRN boundary network -> an IRNBoundary checkpoint
    python tools/model_converters/reference_to_mmseg_cobra.py irn \
        res152_irn.pth checkpoints/irn_reference_voc.pth

then run the project's stages on them, e.g.
    python tools/test.py configs/cobra/cobra_r152_deits_voc.py \
        checkpoints/cobra_reference_voc.pth

The converted file is an mmengine checkpoint (``state_dict`` + ``meta``); it
is checked against the full-size model of the config given with
``--config`` (strict: every weight present, every shape equal) before it is
written. A file given in the wrong place (the ViT file as ``--cnn``, a
CoBra file as IRN) is refused by name.
"""
import os.path as osp
import sys

import torch

from mmseg_cobra.cli import tool_parser
from mmseg_cobra.models.converters.reference_checkpoints import (
    ReferenceCheckpointError, reference_cobra_to_cobra, reference_irn_to_irn)
from mmseg_cobra.utils.errors import UserError, run_cli
from mmseg_cobra.utils.file_io import save_torch

DEFAULT_CONFIGS = dict(
    cobra='configs/cobra/cobra_r152_deits_voc.py',
    irn='configs/irn/irn_r152_cobra_voc.py')


def _load(path: str) -> dict:
    if not osp.isfile(path):
        raise UserError(f'{path} does not exist')
    # plain tensors only: weights_only keeps foreign pickles out
    return torch.load(path, map_location='cpu', weights_only=True)


def check_fits(config: str, state: dict, dst: str) -> None:
    """Load ``state`` strictly into the model of ``config`` (no pretrained
    weights are loaded: the config's ``init_cfg`` is not applied)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    import mmseg_cobra  # noqa: F401 - registers the components
    from mmseg_cobra.utils.checkpoint import check_checkpoint_fits
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model = MODELS.build(cfg.model)
    check_checkpoint_fits(model, dict(state_dict=state), dst)
    model.load_state_dict(state, strict=True)


def main() -> None:
    parser = tool_parser(__doc__)
    sub = parser.add_subparsers(dest='kind', required=True)
    cobra = sub.add_parser('cobra', help='stage-1 CNN + ViT files -> CoBra')
    cobra.add_argument(
        '--cnn', required=True, help='ep19_cnn_checkpoint.pth (CNN branch)')
    cobra.add_argument(
        '--vit', required=True, help='ep19_tran_checkpoint.pth (ViT branch)')
    cobra.add_argument('dst', help='output checkpoint')
    irn = sub.add_parser('irn', help='IRN boundary network -> IRNBoundary')
    irn.add_argument('src', help='IRN checkpoint (fc_edge*/fc_dp* keys)')
    irn.add_argument('dst', help='output checkpoint')
    for p in (cobra, irn):
        p.add_argument(
            '--config',
            default=None,
            help='config whose model must accept the result '
            '(default: the VOC config of the stage)')
        p.add_argument(
            '--no-check',
            action='store_true',
            help='skip building the model to check the result')
    args = parser.parse_args()
    try:
        if args.kind == 'cobra':
            state = reference_cobra_to_cobra(
                _load(args.cnn), _load(args.vit), args.cnn, args.vit)
            source = dict(
                cnn=osp.basename(args.cnn), vit=osp.basename(args.vit))
        else:
            state = reference_irn_to_irn(_load(args.src), args.src)
            source = dict(irn=osp.basename(args.src))
    except ReferenceCheckpointError as exc:
        raise UserError(str(exc)) from None
    if not args.no_check:
        config = args.config or DEFAULT_CONFIGS[args.kind]
        try:
            check_fits(config, state, args.dst)
        except (ValueError, RuntimeError) as exc:
            raise UserError(
                f'the converted weights do not fit {config}: '
                f'{exc}\nGive the config of the model they came from '
                'with --config (e.g. the COCO config for 81 classes).')
    save_torch(
        dict(
            state_dict=state,
            meta=dict(
                converted_from='reference implementation',
                kind=args.kind,
                **source)), args.dst)
    print(f'{args.kind}: wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
