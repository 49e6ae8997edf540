"""What ``benchmarks/gpu_check.py`` measures, as typed records, and the VOC
pipeline projected from them.

The measuring code fills the records; the projection reads the stages'
schedules from the VOC configs; display strings are made only by
:func:`format_report`.
"""
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

from mmengine.config import Config

from mmseg_cobra.utils.markdown import markdown_row, markdown_table

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: the projection uses a half precision only if its first step's losses
#: are within this relative difference of fp32's
LOSS_AGREEMENT = 0.05
#: the VOC pipeline (train_aug 10,582 images; VOC train 1,464 scored)
VOC_TRAIN_AUG, VOC_TRAIN = 10582, 1464
#: a card the projection says each stage fits or not (GiB)
CARD_GIB = 12.0


@dataclass
class PrecisionRun:
    """One precision of a training part.

    Attributes:
        precision (str): ``fp32``, ``float16`` or ``bfloat16``.
        s_per_iter (float): Seconds per ``train_step`` after warm-up.
        peak_gib (float): Peak memory of the steps (GiB).
        losses (dict): The first step's losses (same weights and batch in
            every precision).
        max_loss_rel_diff (float, optional): The largest relative
            difference of those losses from fp32's (``None`` for fp32).
    """
    precision: str
    s_per_iter: float
    peak_gib: float
    losses: Dict[str, float]
    max_loss_rel_diff: Optional[float] = None

    @property
    def agrees(self) -> bool:
        """fp32, or a half precision whose losses agree with fp32's."""
        return self.max_loss_rel_diff is None or \
            self.max_loss_rel_diff < LOSS_AGREEMENT


@dataclass
class TrainingCheck:
    """A training part (``classifier``, ``irn``, ``seg_<model>``) in every
    precision, and the stage config it stands for."""
    part: str
    config: str
    runs: List[PrecisionRun]

    def fastest_agreeing(self) -> Optional[PrecisionRun]:
        """The fastest precision whose losses agree with fp32's."""
        runs = [r for r in self.runs if r.agrees]
        return min(runs, key=lambda r: r.s_per_iter) if runs else None


@dataclass
class InferenceCheck:
    """A per-image part (``seeds``, ``masks``): throughput and memory."""
    part: str
    images_per_s: float
    peak_gib: float


@dataclass
class WalkCheck:
    """The random walk alone: per image, batched, and on the device
    against the CPU (same inputs)."""
    s_per_image: float
    batched_s_per_image: float
    device_vs_cpu_max_rel_diff: float


@dataclass
class ResumeCheck:
    """A training killed mid-epoch and resumed against an uninterrupted
    one."""
    bit_identical: bool


@dataclass
class Schedule:
    """A stage's training length, read from its VOC config."""
    iterations: int  # per process
    batch: int  # per process
    processes: int  # auto_scale_lr.base_batch_size / batch
    epochs: Optional[int] = None  # epoch-based loops


@dataclass
class Projection:
    """One VOC stage on this device: wall time and peak memory."""
    stage: str  # classifier, seeds, irn, masks, seg_<model>
    precision: str
    hours: float
    peak_gib: float
    schedule: Optional[Schedule] = None
    num_images: Optional[int] = None  # per-image stages

    @property
    def fits_card(self) -> bool:
        return self.peak_gib < CARD_GIB


@dataclass
class Report:
    """Everything one ``gpu_check.py`` run measured and projected."""
    device: str  # cuda or cpu
    device_name: str
    torch: str
    training: List[TrainingCheck] = field(default_factory=list)
    inference: List[InferenceCheck] = field(default_factory=list)
    walk: Optional[WalkCheck] = None
    resume: Optional[ResumeCheck] = None
    part_seconds: Dict[str, float] = field(default_factory=dict)
    projection: List[Projection] = field(default_factory=list)

    def add(self, record) -> None:
        """File a part's record where its type belongs."""
        if isinstance(record, TrainingCheck):
            self.training.append(record)
        elif isinstance(record, InferenceCheck):
            self.inference.append(record)
        elif isinstance(record, WalkCheck):
            self.walk = record
        elif isinstance(record, ResumeCheck):
            self.resume = record
        else:
            raise TypeError(f'not a check record: {record!r}')

    def to_json(self) -> dict:
        """The report as plain data (the ``--out`` file)."""
        out = asdict(self)
        for row, data in zip(self.projection, out['projection']):
            data['fits_card'] = row.fits_card
        for check, data in zip(self.training, out['training']):
            for run, run_data in zip(check.runs, data['runs']):
                run_data['agrees'] = run.agrees
        return out


def schedule_of(config: str, num_images: int = VOC_TRAIN_AUG) -> Schedule:
    """Iterations and batch of a stage's training, from its config."""
    cfg = Config.fromfile(osp.join(REPO, config))
    batch = int(cfg.train_dataloader.batch_size)
    base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size', batch)
    processes = max(1, int(base) // batch)
    if 'max_epochs' in cfg.train_cfg:
        epochs = int(cfg.train_cfg.max_epochs)
        per_epoch = -(-num_images // (batch * processes))
        return Schedule(epochs * per_epoch, batch, processes, epochs)
    return Schedule(int(cfg.train_cfg.max_iters), batch, processes)


def project_training(check: TrainingCheck,
                     schedule: Schedule) -> Optional[Projection]:
    """A training stage: its schedule's iterations at the measured s/iter
    of the fastest agreeing precision."""
    best = check.fastest_agreeing()
    if best is None:
        return None
    return Projection(check.part, best.precision,
                      schedule.iterations * best.s_per_iter / 3600,
                      best.peak_gib, schedule)


def project_per_image(check: InferenceCheck, num_images: int) -> Projection:
    """A per-image stage: ``num_images`` at the measured images/s."""
    return Projection(
        check.part,
        'fp32',
        num_images / check.images_per_s / 3600,
        check.peak_gib,
        num_images=num_images)


#: the pipeline's order of the stages before segmentation
STAGE_ORDER = ('classifier', 'seeds', 'irn', 'masks')
#: images of each per-image stage of the VOC pipeline
PER_IMAGE_STAGES = dict(seeds=VOC_TRAIN_AUG, masks=VOC_TRAIN_AUG + VOC_TRAIN)


def project(report: Report, schedules: Dict[str,
                                            Schedule]) -> List[Projection]:
    """Every VOC stage measured in ``report``, in pipeline order.

    Args:
        report (Report): The measurements.
        schedules (dict): ``part -> Schedule`` of each training part (the
            VOC configs' schedules).

    Returns:
        list[Projection]: classifier, seeds, irn, masks, seg_<model>...
        (those measured; a training part none of whose half precisions
        agrees still has its fp32 row).
    """
    rows = [
        project_per_image(c, PER_IMAGE_STAGES[c.part])
        for c in report.inference
    ]
    for check in report.training:
        row = project_training(check, schedules[check.part])
        if row is not None:
            rows.append(row)

    def rank(row: Projection) -> int:
        return STAGE_ORDER.index(row.stage) if row.stage in STAGE_ORDER \
            else len(STAGE_ORDER)

    return sorted(rows, key=rank)  # stable: the seg models keep their order


def describe(row: Projection) -> str:
    """The table's name of a stage, with its schedule."""
    sched = row.schedule
    if sched is None:
        return f'{row.stage} ({row.num_images} images)'
    if sched.epochs is not None:
        return (f'{row.stage} ({sched.epochs} epochs, batch {sched.batch} x '
                f'{sched.processes} process(es))')
    return (f'{row.stage} ({sched.iterations} iterations, batch '
            f'{sched.batch} x {sched.processes} GPUs)')


def _measured_lines(report: Report) -> List[str]:
    lines = markdown_table(
        ['part', 'precision', 's/iter', 'peak GiB', 'loss diff vs fp32'])
    for check in report.training:
        for run in check.runs:
            diff = '-' if run.max_loss_rel_diff is None else \
                f'{run.max_loss_rel_diff:.3g}'
            lines.append(
                markdown_row([
                    check.part, run.precision, f'{run.s_per_iter:.4g}',
                    f'{run.peak_gib:.3g}', diff
                ]))
    lines += [''] + markdown_table(['part', 'images/s', 'peak GiB'], [
        (c.part, f'{c.images_per_s:.4g}', f'{c.peak_gib:.3g}')
        for c in report.inference
    ])
    if report.walk is not None:
        w = report.walk
        lines += [
            '', f'random walk: {w.s_per_image:.4g} s/image alone, '
            f'{w.batched_s_per_image:.4g} s/image batched; device vs CPU '
            f'max relative difference {w.device_vs_cpu_max_rel_diff:.3g}'
        ]
    if report.resume is not None:
        lines += [
            '', 'resume after a kill: ' +
            ('bit-identical' if report.resume.bit_identical else 'DIFFERS')
        ]
    return lines


def format_report(report: Report) -> str:
    """The measured figures and the projection as Markdown tables."""
    what = (f'VOC pipeline projected on this device ({report.device})'
            if report.device == 'cuda' else 'projection arithmetic at tiny '
            'sizes (CPU): not a projection of the real pipeline')
    lines = [f'device: {report.device_name}', '']
    lines += _measured_lines(report)
    lines += ['', what + ':', ''] + markdown_table(
        ['stage', 'precision', 'hours', 'peak GiB', f'fits {CARD_GIB:g} GB'],
        [(describe(row), row.precision, f'{row.hours:.3g}',
          f'{row.peak_gib:.3g}', 'yes' if row.fits_card else 'no')
         for row in report.projection])
    return '\n'.join(lines)
