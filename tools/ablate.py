"""Loss ablations as one command: train and score seeds per variant and seed.

    python tools/ablate.py configs/ablation/table3_synthetic.py \
        [--work-dir DIR] [--variants cls_only all] [--seeds 0 1] [--jobs 2]

The ablation config names a CoBra config, the data, the variants (each a
dict of ``--cfg-options`` for the classifier, e.g. a loss weight set to 0)
and the training seeds. Every (variant, seed) run is the pipeline's first
three stages (``tools/train.py``, seeds with ``tools/test.py``,
``tools/eval_seeds.py``) in ``DIR/<variant>/seed<k>/``, so a finished run
is skipped and an interrupted one resumes (training from its last
checkpoint); ``--jobs N`` runs N of them at once. Prints one table: per
variant the seed mIoU of the CNN, ViT and fused maps, each at its swept
background threshold and at the config's common threshold, as the mean
over seeds with the spread (max - min) beside it, the best mean per column
in bold; and, when the training run recorded them, the CAP/SAP
guide-quality figures of the last epoch (GuideQualityHook's records in
``vis_data/scalars.json``). Writes DIR/ablation.md and
DIR/ablation.json.
"""
import json
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor

from mmengine.config import Config, ConfigDict

from mmseg_cobra.cli import add_flags, run_cli, tool_parser
from mmseg_cobra.cli.launch import default_work_dir
from mmseg_cobra.engine.hooks.guide_quality_hook import RECORDS
from mmseg_cobra.pipeline import (CoBraPipeline, PipelineConfigError,
                                  PipelineError, StaleStageError,
                                  load_run_config, prepare_synthetic_data)
from mmseg_cobra.pipeline.launchers import StageLauncher
from mmseg_cobra.utils.errors import UserError
from mmseg_cobra.utils.file_io import dump_json, write_text
from mmseg_cobra.utils.markdown import markdown_row, markdown_table
from mmseg_cobra.utils.records import last_scalars
from mmseg_cobra.visualization import plot_ablation

SOURCES = ('cnn', 'vit', 'fuse')
#: one of the GuideQualityHook scalars: the epochs that logged it have all
GUIDE_SCALAR = next(iter(RECORDS.values()))
#: the table's guide columns: (heading, figure, its chance level)
GUIDE_COLUMNS = (('CAP guide / chance', 'guide_cap_prec', 'guide_cap_chance'),
                 ('SAP guide / chance', 'guide_sap_prec', 'guide_sap_chance'))


def run_one(cfg: Config,
            variant: str,
            options: dict,
            seed: int,
            work_dir: str,
            rerun_changed: bool = False) -> dict:
    """Classifier, seeds and seed evaluation of one (variant, seed); a
    finished run made with other options is refused (or, with
    ``rerun_changed``, redone: the pipeline's stage fingerprints)."""
    run_cfg = Config(
        dict(
            cobra_config=cfg.cobra_config,
            data_root=cfg.data_root,
            train_list=cfg.eval_list,
            seed_eval_args=list(cfg.get('seed_eval_args', [])),
            cfg_options=dict(
                classifier={
                    **cfg.get('classifier_options', {}),
                    **options, 'randomness.seed': seed
                },
                seeds=dict(cfg.get('seed_options', {})))))
    out = osp.join(work_dir, variant, f'seed{seed}')
    launch = StageLauncher(
        cfg.get('launcher', 'none'),
        nproc=cfg.get('nproc', 1),
        python=sys.executable)
    pipeline = CoBraPipeline(run_cfg, out, launch)
    try:
        pipeline.run(('classifier', 'seeds', 'seed_eval'),
                     rerun_changed=rerun_changed)
    except StaleStageError as exc:
        raise StaleStageError(
            f'variant {variant}, seed {seed}: {exc} (tools/ablate.py: '
            '--rerun-changed redoes the changed runs)') from None
    # what the run was made with, once it is (variant.json describes it)
    dump_json(
        dict(variant=variant, seed=seed, options=options),
        osp.join(out, 'variant.json'))
    with open(osp.join(out, 'seed_eval.json')) as f:
        report = json.load(f)
    result = dict(variant=variant, seed=seed)
    common = f'{float(cfg.common_threshold):g}'
    for source in SOURCES:
        fixed = report[f'{source}/fixed']
        sweep = {f'{float(k):g}': v for k, v in fixed['sweep'].items()}
        result[f'{source}_swept'] = fixed['mIoU']
        result[f'{source}_threshold'] = fixed['threshold']
        result[f'{source}_common'] = sweep[common]
    # the last epoch's guide figures, as GuideQualityHook recorded them
    guide = last_scalars(osp.join(out, 'cobra'), GUIDE_SCALAR)
    if guide is not None:
        result['guide'] = {
            name: float(guide[scalar])
            for name, scalar in RECORDS.items()
        }
    return result


def table(cfg: Config, results: list, variants: list) -> str:
    columns = [
        (f'{s}_{m}', f'{s.upper() if s != "fuse" else "fused"} '
         f'{"swept" if m == "swept" else "@" + str(cfg.common_threshold)}')
        for s in SOURCES for m in ('swept', 'common')
    ]
    stats = {}
    for variant in variants:
        rows = [r for r in results if r['variant'] == variant]
        if not rows:
            continue
        stats[variant] = {}
        for key, _ in columns:
            values = [r[key] for r in rows]
            stats[variant][key] = (sum(values) / len(values),
                                   max(values) - min(values), len(values))
        guides = [r['guide'] for r in rows if 'guide' in r]
        if guides:
            stats[variant]['guide'] = {
                name: sum(g[name] for g in guides) / len(guides)
                for name in RECORDS
            }
    best = {key: max(v[key][0] for v in stats.values()) for key, _ in columns}
    head = ['variant', 'seeds'] + [name for _, name in columns] + [
        heading for heading, _, _ in GUIDE_COLUMNS
    ]
    lines = markdown_table(head)
    for variant, st in stats.items():
        cells = [variant, str(st[columns[0][0]][2])]
        for key, _ in columns:
            mean, spread, _ = st[key]
            text = f'{mean:.2f} ±{spread / 2:.2f}'
            cells.append(f'**{text}**' if mean == best[key] else text)
        guide = st.get('guide')
        cells += [
            f'{guide[figure]:.1f} / {guide[chance]:.1f}' if guide else '-'
            for _, figure, chance in GUIDE_COLUMNS
        ]
        lines.append(markdown_row(cells))
    lines.append('')
    lines.append(f'mean over seeds ± half the spread (max - min); "swept": '
                 f'each run at its best background threshold, '
                 f'"@{cfg.common_threshold}": every run at that one '
                 'threshold; guide figures (%) of the last epoch.')
    return '\n'.join(lines)


def build_parser():
    parser = tool_parser(__doc__)
    parser.add_argument('config', help='ablation config')
    add_flags(parser, '--work-dir')
    parser.add_argument('--variants', nargs='+')
    parser.add_argument('--seeds', nargs='+', type=int)
    parser.add_argument(
        '--jobs', type=int, default=1, help='runs at the same time')
    parser.add_argument(
        '--rerun-changed',
        action='store_true',
        help='redo a finished run whose variant options changed since (its '
        'old files are moved to <run>/superseded/); without it such a run '
        'stops the ablation, naming what changed')
    add_flags(parser, '--cfg-options')
    return parser


def main() -> None:
    args = build_parser().parse_args()

    try:
        cfg = load_run_config(
            args.config,
            args.cfg_options,
            required=('cobra_config', 'data_root', 'eval_list', 'variants',
                      'seeds'),
            stage_keys=('cobra_config', ),
            kind='ablation')
    except PipelineConfigError as exc:
        raise UserError(str(exc)) from None
    cfg.data_root = osp.abspath(cfg.data_root)
    prepare_synthetic_data(cfg, 'eval_list', 'ablate')
    variants = args.variants or list(cfg.variants)
    unknown = [v for v in variants if v not in cfg.variants]
    if unknown:
        raise UserError(f'unknown variant(s) {unknown}; the config has '
                        f'{list(cfg.variants)}')
    seeds = args.seeds or list(cfg.seeds)
    work_dir = osp.abspath(args.work_dir or default_work_dir(args.config))
    runs = [(v, s) for v in variants for s in seeds]
    print(f'[ablate] {len(runs)} runs ({len(variants)} variants x '
          f'{len(seeds)} seeds) in {work_dir}, {args.jobs} at a time')

    def job(run):
        variant, seed = run
        options = cfg.variants[variant]
        options = options.to_dict() if isinstance(options,
                                                  ConfigDict) else options
        return run_one(cfg, variant, dict(options), seed, work_dir,
                       args.rerun_changed)

    try:
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            results = list(pool.map(job, runs))
    except PipelineError as exc:
        raise UserError(str(exc)) from None
    figure = plot_ablation(results, variants, osp.join(work_dir,
                                                       'ablation.png'))
    text = table(cfg, results, variants)
    text += f'\n\n![ablation]({osp.basename(figure)})'
    print(text)
    write_text(text + '\n', osp.join(work_dir, 'ablation.md'))
    dump_json(results, osp.join(work_dir, 'ablation.json'))


if __name__ == '__main__':
    sys.exit(run_cli(main))
