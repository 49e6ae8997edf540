"""The ten stages of the CoBra pipeline, as one table.

Each :class:`Stage` says which stages' outputs it reads (``needs``), what
it is made from besides them (its stage config, the pipeline config's
``cfg_options`` entry merged in, the pipeline keys it reads: the
fingerprint's recipe, :mod:`.fingerprint`), where it writes (``outputs``,
:class:`~.layout.WorkDirLayout` attributes), the tool commands that make
those outputs (``commands(ctx)``: what a user would type, run on every
node) and its record (``record(ctx)``: checked and read on node 0 once the
commands are done, written to ``.stages/<stage>.json``). ``ctx`` is the
run's :class:`~.context.StageContext`.
"""
import json
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

from ..utils.records import RecordNotFoundError, load_test_metrics
from .config import flat_options
from .context import Command, PipelineError, StageContext


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline.

    Args:
        name (str): Its name (``--stages``, records, logs).
        needs (tuple[str]): The stages whose outputs it reads.
        role (str): The stage config it runs: ``cobra``, ``irn``, ``seg``.
        option_key (str, optional): The ``cfg_options`` entry of the
            pipeline config merged into that config.
        keys (tuple[str]): The pipeline config keys it reads (dotted for
            nested ones).
        outputs (tuple[str]): What it writes (layout attributes).
        commands (callable): ``ctx -> [Command]``.
        record (callable): ``ctx -> dict``.
    """
    name: str
    needs: Tuple[str, ...]
    role: str
    option_key: Optional[str]
    keys: Tuple[str, ...]
    outputs: Tuple[str, ...]
    commands: Callable[[StageContext], List[Command]]
    record: Callable[[StageContext], dict]


# ------------------------------------------------------------------ 1
def _classifier_commands(ctx: StageContext) -> List[Command]:
    if ctx.given_checkpoint('classifier'):
        return []
    opts = ctx.options('classifier')
    opts['train_dataloader.dataset.data_root'] = ctx.cfg.data_root
    return [
        ctx.train_command('classifier', ctx.configs['cobra'], ctx.layout.cobra,
                          opts)
    ]


def _classifier_record(ctx: StageContext) -> dict:
    return ctx.given_record('classifier') or dict(
        checkpoint=ctx.trained_checkpoint('classifier', ctx.layout.cobra))


# ------------------------------------------------------------------ 2
def _seeds_commands(ctx: StageContext) -> List[Command]:
    opts = ctx.options('seeds')
    opts.update({
        'test_dataloader.dataset.data_root': ctx.cfg.data_root,
        'test_dataloader.dataset.ann_file': ctx.cfg.train_list,
        'custom_hooks.SeedWriterHook.out_dir': ctx.layout.seeds,
    })
    opts.update(ctx.train_split_options())
    return [
        ctx.test_command('seeds', ctx.configs['cobra'],
                         ctx.done('classifier')['checkpoint'],
                         ctx.layout.cobra, opts)
    ]


def _seeds_record(ctx: StageContext) -> dict:
    ctx.check_complete('seeds', ctx.layout.seeds, '.npz')
    return dict(seed_dir=ctx.layout.seeds)


def _seed_eval_commands(ctx: StageContext) -> List[Command]:
    return [
        ctx.cpu_command(
            'eval_seeds.py', [
                ctx.configs['cobra'], '--seed-dir', ctx.layout.seeds,
                '--data-root', ctx.cfg.data_root, '--out',
                ctx.layout.seed_eval, *ctx.cfg.get('seed_eval_args', [])
            ],
            pool=False)
    ]


def _seed_eval_record(ctx: StageContext) -> dict:
    with open(ctx.layout.seed_eval) as f:
        report = json.load(f)
    return {
        f'seed_{source}': report[f'{source}/fixed']['mIoU']
        for source in ('cnn', 'vit', 'mean', 'max', 'fuse')
    } | dict(seed_fuse_threshold=report['fuse/fixed']['threshold'])


# ------------------------------------------------------------------ 3
def _ir_labels_commands(ctx: StageContext) -> List[Command]:
    config = ctx.write_stage_config('ir_labels', ctx.configs['irn'],
                                    ctx.irn_options())
    return [ctx.cpu_command('make_ir_labels.py', [config, *ctx.check_flags()])]


def _ir_labels_record(ctx: StageContext) -> dict:
    return dict(ir_label_dir=ctx.layout.ir_labels)


def _irn_commands(ctx: StageContext) -> List[Command]:
    if ctx.given_checkpoint('irn'):
        return []
    return [
        ctx.train_command('irn', ctx.configs['irn'], ctx.layout.irn,
                          ctx.irn_options())
    ]


def _irn_record(ctx: StageContext) -> dict:
    return ctx.given_record('irn') or dict(
        checkpoint=ctx.trained_checkpoint('irn', ctx.layout.irn))


def _masks_commands(ctx: StageContext) -> List[Command]:
    opts = ctx.irn_options()
    opts.update({
        'test_dataloader.dataset.ann_file': ctx.cfg.train_list,
        'custom_hooks.MaskWriterHook.out_dir': ctx.layout.masks,
        'custom_hooks.WalkWriterHook.out_dir': ctx.layout.walks,
    })
    opts.update(ctx.train_split_options())
    return [
        ctx.test_command('masks', ctx.configs['irn'],
                         ctx.done('irn')['checkpoint'], ctx.layout.irn, opts)
    ]


def _masks_record(ctx: StageContext) -> dict:
    ctx.check_complete('masks', ctx.layout.masks, '.png')
    return dict(mask_dir=ctx.layout.masks, walk_dir=ctx.layout.walks)


def _mask_eval_commands(ctx: StageContext) -> List[Command]:
    crf = ['--crf'] if ctx.cfg.get('mask_eval_crf', False) else []
    return [
        ctx.cpu_command(
            'mask_report.py', [
                ctx.configs['irn'], '--data-root', ctx.cfg.data_root,
                '--seed-dir', ctx.layout.seeds, '--walk-dir', ctx.layout.walks,
                '--oracle', *crf, '--mask-dirs', f'mask={ctx.layout.masks}',
                '--out', ctx.layout.mask_eval
            ],
            pool=False)
    ]


def _mask_eval_record(ctx: StageContext) -> dict:
    with open(ctx.layout.mask_eval) as f:
        report = json.load(f)
    rows = {
        row: {
            k: r[k]
            for k in ('rule', 'best', 'mIoU', 'default', 'at_default')
        }
        for row, r in report['rows'].items()
    }
    return dict(
        mask_miou=report['masks']['mask']['mIoU'],
        chosen=report['chosen'],
        rows=rows,
        boundary_F=report['boundary']['F'])


def _final_value(ctx: StageContext):
    """The mask rule and value of the final masks (None: the IRN
    config's, no stage work)."""
    value = ctx.cfg.get('mask_value', 'swept')
    if value is None:
        return None
    chosen = ctx.done('mask_eval')['chosen']
    return chosen['rule'], chosen['value'] if value == 'swept' else value


def _final_masks_commands(ctx: StageContext) -> List[Command]:
    final = _final_value(ctx)
    if final is None:
        return []
    rule, value = final
    return [
        ctx.cpu_command('masks_from_walks.py', [
            ctx.configs['irn'], '--walk-dir', ctx.layout.walks, '--out-dir',
            ctx.layout.final_masks, *ctx.check_flags(), '--data-root',
            ctx.cfg.data_root, '--ann-file', ctx.cfg.train_list, '--rule',
            rule, '--value',
            str(value)
        ])
    ]


def _final_masks_record(ctx: StageContext) -> dict:
    """Masks of ``train_list`` with the mask rule's chosen value."""
    final = _final_value(ctx)
    if final is None:
        return dict(mask_dir=ctx.layout.masks, value='config')
    ctx.check_complete('final_masks', ctx.layout.final_masks, '.png')
    rule, value = final
    return dict(mask_dir=ctx.layout.final_masks, rule=rule, value=value)


# ------------------------------------------------------------------ 4
def _seg_commands(ctx: StageContext) -> List[Command]:
    opts = ctx.options('seg')
    opts.update({
        'train_dataloader.dataset.data_root':
        ctx.cfg.data_root,
        'train_dataloader.dataset.ann_file':
        ctx.cfg.train_list,
        'train_dataloader.dataset.data_prefix.seg_map_path':
        ctx.done('final_masks')['mask_dir'],
        'val_dataloader.dataset.data_root':
        ctx.cfg.data_root,
        'test_dataloader.dataset.data_root':
        ctx.cfg.data_root,
    })
    return [ctx.train_command('seg', ctx.configs['seg'], ctx.layout.seg, opts)]


def _seg_record(ctx: StageContext) -> dict:
    return dict(checkpoint=ctx.trained_checkpoint('seg', ctx.layout.seg))


def _class_iou_options(ctx: StageContext, opts: dict) -> dict:
    """mmseg's ``IoUMetric`` of the segmentation config (with its options
    ``opts``) as ``ClassIoUMetric``, which also writes the per-class IoU the
    figures draw (another evaluator is left as it is)."""
    evaluator = ctx.role_dict('seg').get('test_evaluator')
    kind = opts.get(
        'test_evaluator.type',
        evaluator.get('type') if isinstance(evaluator, dict) else None)
    if kind not in ('IoUMetric', 'mmseg.IoUMetric'):
        return {}
    return {
        'test_evaluator.type': 'ClassIoUMetric',
        'test_evaluator.class_file': ctx.layout.seg_class_iou
    }


def _seg_eval_commands(ctx: StageContext) -> List[Command]:
    # the segmentation options reach the test too (as the IRN options reach
    # every IRN stage): it builds the model the training made, and its
    # test-time settings (test_dataloader, model.test_cfg) are theirs
    opts = flat_options(ctx.options('seg'))
    opts.update({
        'val_dataloader.dataset.data_root': ctx.cfg.data_root,
        'test_dataloader.dataset.data_root': ctx.cfg.data_root
    })
    opts.update(_class_iou_options(ctx, opts))
    return [
        ctx.test_command('seg_eval', ctx.configs['seg'],
                         ctx.done('seg')['checkpoint'], ctx.layout.seg_eval,
                         opts, *ctx.cfg.get('seg_test_flags', []))
    ]


def _seg_eval_record(ctx: StageContext) -> dict:
    try:  # what mmengine's LoggerHook recorded for this test run
        metrics = load_test_metrics(ctx.layout.seg_eval, 'mIoU')
    except RecordNotFoundError as exc:
        raise PipelineError(f'stage seg_eval: {exc}') from None
    return dict(
        seg_miou=float(metrics['mIoU']),
        seg_aacc=metrics.get('aAcc'),
        seg_macc=metrics.get('mAcc'))


#: The stages, in order.
STAGE_TABLE: Tuple[Stage, ...] = (
    Stage('classifier', (), 'cobra', 'classifier',
          ('classifier_checkpoint', 'total_batch_size.classifier'),
          ('cobra', ), _classifier_commands, _classifier_record),
    Stage('seeds', ('classifier', ), 'cobra', 'seeds', (), ('seeds', ),
          _seeds_commands, _seeds_record),
    Stage('seed_eval', ('seeds', ), 'cobra', None, ('seed_eval_args', ),
          ('seed_eval', ), _seed_eval_commands, _seed_eval_record),
    Stage('ir_labels', ('seeds', ), 'irn', 'irn', (), ('ir_labels', ),
          _ir_labels_commands, _ir_labels_record),
    Stage('irn', ('ir_labels', ), 'irn', 'irn',
          ('irn_checkpoint', 'total_batch_size.irn'), ('irn', ), _irn_commands,
          _irn_record),
    Stage('masks', ('irn', 'seeds'), 'irn', 'irn', (), ('masks', 'walks'),
          _masks_commands, _masks_record),
    Stage('mask_eval', ('masks', 'seeds'), 'irn', None, ('mask_eval_crf', ),
          ('mask_eval', ), _mask_eval_commands, _mask_eval_record),
    Stage('final_masks', ('mask_eval', 'masks'), 'irn', None, ('mask_value', ),
          ('final_masks', ), _final_masks_commands, _final_masks_record),
    Stage('seg', ('final_masks', ), 'seg', 'seg', ('total_batch_size.seg', ),
          ('seg', ), _seg_commands, _seg_record),
    Stage('seg_eval', ('seg', ), 'seg', 'seg', ('seg_test_flags', ),
          ('seg_eval', ), _seg_eval_commands, _seg_eval_record),
)
#: The stages by name.
STAGES_BY_NAME: Dict[str, Stage] = {s.name: s for s in STAGE_TABLE}

__all__ = ['STAGE_TABLE', 'STAGES_BY_NAME', 'Stage']
