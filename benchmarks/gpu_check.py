"""One prepared check of the GPU path: every stage timed, its memory, the
VOC pipeline's projected wall time.

    python benchmarks/gpu_check.py                      # CUDA, full sizes
    python benchmarks/gpu_check.py --device cpu         # tiny sizes (CI)
    python benchmarks/gpu_check.py --parts classifier seeds --out check.json

Parts (each timed after warm-up; peak memory is
``torch.cuda.max_memory_allocated`` on CUDA, the process's peak RSS on the
CPU):

- ``classifier``: CoBra (R152 + DeiT-S at full size), batch 32 at 224, one
  ``train_step`` with every loss on (cls, CAM, SAP, CAP) through mmengine's
  ``OptimWrapper`` (fp32) and ``AmpOptimWrapper`` (fp16, bf16): the path of
  ``tools/train.py --amp``; the first step's losses in each precision
  against fp32's;
- ``seeds``: multi-scale CAMs (7 scales x flip) of a 500x375 image:
  images/s, peak memory;
- ``irn``: IRN R152 ``train_step`` at batch 32, crop 512 (fp32 and AMP);
- ``masks``: IRN boundary map (image + flip on the 512 canvas), the stencil
  random walk, the reference rule + dense CRF: images/s; the walk on the
  device against the CPU walk (same inputs, max difference), and its time
  per image alone and with 4 images of one size walked in one call;
- ``seg``: DeepLabV3+ R101 and SegFormer MiT-B2 ``train_step`` at the
  configs' per-process batch and crop, fp32 and AMP;
- ``resume``: a CoBra training (small config) killed mid-epoch and resumed
  on the device ends bit-identical to an uninterrupted one
  (``RandomStateHook``: CUDA generator states included);

then projects the wall time and peak memory of every stage of the VOC
pipeline (10,582 train_aug images, the configs' epochs and iterations) on
this device, and whether each fits a 12 GB card. Prints one table and writes
one JSON file (``--out``). With ``--device cpu`` the same parts run at tiny
sizes (the small synthetic configs, a few images): the script cannot rot
before a GPU arrives (``tests/test_benchmarks/test_gpu_check.py``).
"""
import os
import os.path as osp
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_cobra  # noqa: F401
from mmseg_cobra.utils import add_flags, tool_parser
from mmseg_cobra.utils.device import DeviceError, select_device
from mmseg_cobra.utils.file_io import dump_json

PARTS = ('classifier', 'seeds', 'irn', 'masks', 'seg', 'resume')
GIB = 1024**3
#: the projection uses a half precision only if its first step's losses
#: are within this relative difference of fp32's
LOSS_AGREEMENT = 0.05
#: images per batched random walk (``masks`` part)
WALK_BATCH = 4
#: the VOC pipeline (train_aug 10,582 images; VOC train 1,464 scored)
VOC_TRAIN_AUG, VOC_TRAIN = 10582, 1464

#: model configs and sizes per device: full size on CUDA, tiny on the CPU
SIZES = dict(
    cuda=dict(
        cobra='configs/cobra/cobra_r152_deits_voc.py',
        cobra_batch=32,
        cobra_crop=224,
        seed_image=(375, 500),
        irn='configs/irn/irn_r152_cobra_voc.py',
        irn_batch=32,
        irn_crop=512,
        seg=dict(
            deeplabv3plus_r101='configs/seg/deeplabv3plus_r101_cobra_voc.py',
            segformer_mitb2='configs/seg/segformer_mitb2_cobra_voc.py'),
        seg_batch=4,
        seg_crop=512,
        warmup=2,
        iters=5),
    cpu=dict(
        cobra='configs/cobra/cobra_r18_vittiny_synthetic.py',
        cobra_batch=2,
        cobra_crop=128,
        seed_image=(60, 80),
        irn='configs/irn/irn_r18_synthetic.py',
        irn_batch=2,
        irn_crop=64,
        seg=dict(
            deeplabv3plus_r18='configs/seg/deeplabv3plus_r18_synthetic.py',
            segformer_mit_tiny='configs/seg/segformer_mit_tiny_synthetic.py'),
        seg_batch=2,
        seg_crop=64,
        warmup=1,
        iters=1),
)


# --------------------------------------------------------------------------
# measuring
# --------------------------------------------------------------------------
def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def reset_peak(device: str) -> None:
    if device == 'cuda':
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float:
    if device == 'cuda':
        return torch.cuda.max_memory_allocated() / GIB
    # the process's peak RSS (KiB on Linux): an upper bound on the CPU
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def timed(fn: Callable, device: str, warmup: int, iters: int) -> float:
    """Seconds per call of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def amp_dtypes(device: str) -> List[str]:
    """Half precisions mmengine's AmpOptimWrapper can run here."""
    if device == 'cuda':
        out = ['float16']
        if torch.cuda.is_bf16_supported():
            out.append('bfloat16')
        return out
    return ['bfloat16']  # CPU autocast: bfloat16


def build_model(config: str, device: str, strip_pretrained: bool = True):
    cfg = Config.fromfile(osp.join(REPO, config))
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    if strip_pretrained:  # weights cannot be downloaded here: random ones
        for key in ('cnn_backbone', 'vit_backbone', 'backbone'):
            if key in cfg.model and isinstance(cfg.model[key], dict):
                cfg.model[key]['init_cfg'] = None
        if 'pretrained' in cfg.model:
            cfg.model['pretrained'] = None
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).to(device)
    return cfg, model


class CPUAutocastOptimWrapper(OptimWrapper):
    """mmengine's ``AmpOptimWrapper`` refuses to run without an accelerator;
    on the CPU its ``optim_context`` (the fp32 wrapper's inside
    ``torch.autocast``) is reproduced here, with bfloat16 and no loss
    scaling (bfloat16 has float32's exponent range)."""

    def __init__(self, optimizer, dtype: str, **kwargs) -> None:
        super().__init__(optimizer, **kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield


def optim_wrappers(cfg, model, device: str) -> Dict[str, object]:
    """fp32 ``OptimWrapper`` and one ``AmpOptimWrapper`` per half dtype,
    built from the config's optimizer (as ``tools/train.py --amp`` does;
    :class:`CPUAutocastOptimWrapper` on the CPU)."""
    out = {}
    base = dict(cfg.optim_wrapper)
    base.pop('type', None)
    base.pop('loss_scale', None)
    out['fp32'] = build_optim_wrapper(model, dict(base, type='OptimWrapper'))
    for dtype in amp_dtypes(device):
        if device == 'cuda':
            out[dtype] = build_optim_wrapper(
                model,
                dict(
                    base,
                    type='AmpOptimWrapper',
                    dtype=dtype,
                    loss_scale='dynamic'))
        else:
            fp32 = build_optim_wrapper(model, dict(base, type='OptimWrapper'))
            out[dtype] = CPUAutocastOptimWrapper(
                fp32.optimizer, dtype, clip_grad=base.get('clip_grad'))
    return out


def cls_batch(batch: int, crop: int, num_classes: int) -> dict:
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(batch):
        s = SegDataSample()
        label = (torch.rand(num_classes, generator=g) < 0.15).float()
        label[int(torch.randint(num_classes, (1, ), generator=g))] = 1
        s.gt_label = label
        s.set_metainfo(dict(img_shape=(crop, crop), ori_shape=(crop, crop)))
        samples.append(s)
    inputs = [
        torch.randint(0, 256, (3, crop, crop), generator=g, dtype=torch.uint8)
        for _ in range(batch)
    ]
    return dict(inputs=inputs, data_samples=samples)


def seg_batch(batch: int, crop: int, num_classes: int) -> dict:
    g = torch.Generator().manual_seed(0)
    samples = []
    for _ in range(batch):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, crop, crop), generator=g))
        s.set_metainfo(
            dict(
                img_shape=(crop, crop),
                ori_shape=(crop, crop),
                pad_shape=(crop, crop)))
        samples.append(s)
    inputs = [
        torch.randint(0, 256, (3, crop, crop), generator=g, dtype=torch.uint8)
        for _ in range(batch)
    ]
    return dict(inputs=inputs, data_samples=samples)


def train_steps(model, cfg, data: dict, device: str, size: dict,
                prefix: str) -> Dict[str, float]:
    """s/iter and peak memory of ``train_step`` in every precision, and the
    first step's losses against fp32 (same weights, same batch)."""
    out = {}
    state = {k: v.clone() for k, v in model.state_dict().items()}
    first = {}
    for name, wrapper in optim_wrappers(cfg, model, device).items():
        model.load_state_dict(state)
        model.train()
        reset_peak(device)
        first[name] = {
            k: float(torch.as_tensor(v).detach())
            for k, v in model.train_step(data, wrapper).items()
            if k.startswith('loss')
        }
        out[f'{prefix}_{name}_s_per_iter'] = timed(
            lambda: model.train_step(data, wrapper), device, size['warmup'],
            size['iters'])
        out[f'{prefix}_{name}_peak_gib'] = peak_gib(device)
    model.load_state_dict(state)
    for name, losses in first.items():
        if name == 'fp32':
            continue
        out[f'{prefix}_{name}_max_loss_rel_diff'] = max(
            abs(v - first['fp32'][k]) / max(abs(first['fp32'][k]), 1e-6)
            for k, v in losses.items())
    out[f'{prefix}_losses'] = first
    return out


# --------------------------------------------------------------------------
# parts
# --------------------------------------------------------------------------
def part_classifier(device: str, size: dict) -> dict:
    cfg, model = build_model(size['cobra'], device)
    model.complementary_losses_enabled = True  # every loss on
    data = cls_batch(size['cobra_batch'], size['cobra_crop'],
                     model.num_classes)
    return train_steps(model, cfg, data, device, size, 'classifier')


def part_seeds(device: str, size: dict) -> dict:
    cfg, model = build_model(size['cobra'], device)
    model.eval()
    model.test_cfg['scales'] = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
    h, w = size['seed_image']
    data = cls_batch(1, 8, model.num_classes)
    g = torch.Generator().manual_seed(1)
    data['inputs'] = [
        torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    ]
    data['data_samples'][0].set_metainfo(
        dict(img_shape=(h, w), ori_shape=(h, w)))
    reset_peak(device)
    with torch.no_grad():
        sec = timed(lambda: model.test_step(data), device, size['warmup'],
                    size['iters'])
    return dict(seeds_images_per_s=1.0 / sec, seeds_peak_gib=peak_gib(device))


def part_irn(device: str, size: dict) -> dict:
    from mmseg_cobra.models.utils import pair_labels
    cfg, model = build_model(size['irn'], device)
    crop, batch = size['irn_crop'], size['irn_batch']
    model.data_preprocessor.size = (crop, crop)
    rng = np.random.default_rng(0)
    data = cls_batch(batch, crop, 20)
    label = rng.integers(0, 3, (crop // 4, crop // 4))
    label[rng.random(label.shape) < 0.2] = 255
    aff = torch.from_numpy(pair_labels(label, model.train_radius))
    for s in data['data_samples']:
        s.aff_labels = aff
    return train_steps(model, cfg, data, device, size, 'irn')


def part_masks(device: str, size: dict) -> dict:
    from mmseg_cobra.models.utils import random_walk
    _, model = build_model(size['irn'], device)
    model.eval()
    h, w = size['seed_image']
    grid = (-(-h // 4), -(-w // 4))
    g = torch.Generator().manual_seed(2)
    image = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    sample.seed_cams = torch.rand(2, h, w, generator=g)
    sample.seed_cams_grid = torch.rand(2, *grid, generator=g)
    sample.seed_keys = torch.tensor([3, 7])
    data = dict(inputs=[image], data_samples=[sample])
    reset_peak(device)
    with torch.no_grad():
        sec = timed(lambda: model.test_step(data), device, size['warmup'],
                    size['iters'])
        norm = model.data_preprocessor(
            dict(inputs=[image], data_samples=[sample]), False)['inputs'][0]
        boundary = model.boundary_map(norm)
        cams = sample.seed_cams_grid.to(device)
        walk_sec = timed(lambda: random_walk(cams, boundary), device,
                         size['warmup'], size['iters'])
        on_device = random_walk(cams, boundary).cpu()
        on_cpu = random_walk(cams.cpu(), boundary.cpu())
        # several images of one size in one call
        batch = WALK_BATCH
        batch_sec = timed(
            lambda: random_walk(
                cams.expand(batch, -1, -1, -1).contiguous(),
                boundary.expand(batch, -1, -1).contiguous()), device,
            size['warmup'], size['iters']) / batch
    return dict(
        masks_images_per_s=1.0 / sec,
        masks_peak_gib=peak_gib(device),
        walk_s_per_image=walk_sec,
        walk_batched_s_per_image=batch_sec,
        walk_device_vs_cpu_max_rel_diff=float(
            (on_device - on_cpu).abs().max() / on_cpu.abs().max()))


def part_seg(device: str, size: dict) -> dict:
    out = {}
    for name, config in size['seg'].items():
        cfg, model = build_model(config, device)
        num_classes = cfg.model.decode_head.num_classes
        data = seg_batch(size['seg_batch'], size['seg_crop'], num_classes)
        model.data_preprocessor.size = (size['seg_crop'], ) * 2
        out.update(train_steps(model, cfg, data, device, size, f'seg_{name}'))
    return out


def part_resume(device: str, size: dict) -> dict:
    """tools/train.py on the small CoBra config, uninterrupted and killed
    at iteration 5 then resumed (``MMSEG_COBRA_FAULT``): same weights."""
    from mmseg_cobra.datasets import generate_synthetic_voc
    work = tempfile.mkdtemp(prefix='gpu_check_resume_')
    root = osp.join(work, 'data')
    generate_synthetic_voc(
        root,
        num_train=24,
        num_val=4,
        num_classes=4,
        image_size=(160, 160),
        seed=0)
    config = osp.join(REPO, 'configs/cobra/cobra_r18_vittiny_synthetic.py')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''

    def train(name: str, fault: Optional[str] = None, resume: bool = False):
        args = [
            sys.executable,
            osp.join(REPO, 'tools/train.py'), config, '--work-dir',
            osp.join(work, name), '--no-dataset-check'
        ]
        args += ['--resume'] if resume else []
        args += [
            '--cfg-options', f'train_dataloader.dataset.data_root={root}',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'train_dataloader.batch_size=8', 'train_cfg.max_epochs=3',
            'custom_hooks.ComplementaryLossSwitchHook.start_epoch=1'
        ]
        run_env = dict(env, MMSEG_COBRA_FAULT=fault) if fault else env
        # own session: the injected fault kills the whole process group
        return subprocess.run(
            args,
            cwd=REPO,
            env=run_env,
            capture_output=True,
            text=True,
            timeout=900,
            start_new_session=True)

    def weights(name):
        with open(osp.join(work, name, 'last_checkpoint')) as f:
            return torch.load(
                f.read().strip(), map_location='cpu',
                weights_only=False)['state_dict']

    start = time.perf_counter()
    ref = train('ref')
    if ref.returncode != 0:
        raise RuntimeError('uninterrupted training failed:\n' +
                           ref.stderr[-2000:])
    train('killed', fault='train_iter@5')
    resumed = train('killed', resume=True)
    if resumed.returncode != 0:
        raise RuntimeError('resumed training failed:\n' +
                           resumed.stderr[-2000:])
    a, b = weights('ref'), weights('killed')
    same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    return dict(
        resume_bit_identical=bool(same),
        resume_check_seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------
# projection
# --------------------------------------------------------------------------
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
    peak_gib: Optional[float]
    schedule: Optional[Schedule] = None

    @property
    def fits_12gb(self) -> bool:
        return self.peak_gib is not None and self.peak_gib < 12.0


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


def fastest_agreeing(res: dict, prefix: str) -> Optional[Tuple[str, float]]:
    """(precision, s/iter) of the fastest measured precision of a part
    whose first-step losses agree with fp32's (fp32 itself always)."""
    found = []
    for key, value in res.items():
        if not (key.startswith(prefix + '_') and key.endswith('_s_per_iter')):
            continue
        precision = key[len(prefix) + 1:-len('_s_per_iter')]
        diff = res.get(f'{prefix}_{precision}_max_loss_rel_diff')
        if diff is None or diff < LOSS_AGREEMENT:
            found.append((value, precision))
    if not found:
        return None
    value, precision = min(found)
    return precision, value


def project_training(res: dict, prefix: str, stage: str,
                     schedule: Schedule) -> Optional[Projection]:
    """A training stage: its schedule's iterations at the measured s/iter."""
    best = fastest_agreeing(res, prefix)
    if best is None:
        return None
    precision, sec = best
    return Projection(stage, precision, schedule.iterations * sec / 3600,
                      res.get(f'{prefix}_{precision}_peak_gib'), schedule)


def project_per_image(res: dict, part: str,
                      num_images: int) -> Optional[Projection]:
    """A per-image stage: ``num_images`` at the measured images/s."""
    if f'{part}_images_per_s' not in res:
        return None
    return Projection(part, 'fp32',
                      num_images / res[f'{part}_images_per_s'] / 3600,
                      res[f'{part}_peak_gib'])


def project(res: dict) -> List[Projection]:
    """Every VOC stage measured here, projected from the per-iteration and
    per-image figures (fp32 unless a half precision is faster and its
    losses agree) and the schedules of the VOC configs (the CPU check's
    small segmentation models get the VOC segmentation schedule)."""
    voc = SIZES['cuda']
    seg_configs = dict(voc['seg'])
    for name in SIZES['cpu']['seg']:
        seg_configs[name] = voc['seg']['deeplabv3plus_r101']
    rows = [
        project_training(res, 'classifier', 'classifier',
                         schedule_of(voc['cobra'])),
        project_per_image(res, 'seeds', VOC_TRAIN_AUG),
        project_training(res, 'irn', 'irn', schedule_of(voc['irn'])),
        project_per_image(res, 'masks', VOC_TRAIN_AUG + VOC_TRAIN)
    ] + [
        project_training(res, f'seg_{name}', f'seg_{name}',
                         schedule_of(config))
        for name, config in seg_configs.items()
    ]
    return [row for row in rows if row is not None]


def describe(row: Projection) -> str:
    """The table's name of a stage, with its schedule."""
    sched = row.schedule
    if row.stage == 'seeds':
        return 'seeds (train_aug, 7 scales x flip)'
    if row.stage == 'masks':
        return 'masks (train_aug + train)'
    if sched.epochs is not None:
        return (f'{row.stage} ({sched.epochs} epochs, batch {sched.batch} x '
                f'{sched.processes} process(es))')
    return (f'{row.stage} ({sched.iterations} iterations, batch '
            f'{sched.batch} x {sched.processes} GPUs)')


def table(res: dict, rows: List[Projection], device: str) -> str:
    lines = [
        f'device: {res["device_name"]}', '', '| figure | value |',
        '| --- | --- |'
    ]
    for key, value in res.items():
        if key in ('device_name', 'projection') or isinstance(value, dict):
            continue
        text = f'{value:.4g}' if isinstance(value, float) else str(value)
        lines.append(f'| {key} | {text} |')
    what = (f'VOC pipeline projected on this device ({device})' if device
            == 'cuda' else 'projection arithmetic at tiny sizes (CPU): not '
            'a projection of the real pipeline')
    lines += [
        '', what + ':', '',
        '| stage | precision | hours | peak GiB | fits 12 GB |',
        '| --- | --- | --- | --- | --- |'
    ]
    for row in rows:
        lines.append(f'| {describe(row)} | {row.precision} | '
                     f'{row.hours:.3g} | {row.peak_gib:.3g} | '
                     f'{"yes" if row.fits_12gb else "no"} |')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    parser = tool_parser(__doc__)
    add_flags(parser, '--device', device='cuda')
    parser.add_argument('--parts', nargs='+', choices=PARTS, default=PARTS)
    add_flags(parser, '--out', out='gpu_check.json')
    args = parser.parse_args(argv)
    try:
        args.device = select_device(args.device)
    except DeviceError as exc:
        sys.exit(f'error: {exc}; run with --device cpu for the tiny CPU '
                 'check')
    size = SIZES[args.device]
    res = dict(
        device_name=torch.cuda.get_device_name()
        if args.device == 'cuda' else 'cpu',
        torch=torch.__version__)
    parts = dict(
        classifier=part_classifier,
        seeds=part_seeds,
        irn=part_irn,
        masks=part_masks,
        seg=part_seg,
        resume=part_resume)
    for name in args.parts:
        start = time.perf_counter()
        print(f'[gpu_check] {name} ...', flush=True)
        res.update(parts[name](args.device, size))
        res[f'{name}_check_seconds'] = time.perf_counter() - start
    rows = project(res)
    print(table(res, rows, args.device))
    res['projection'] = [
        dict(asdict(row), fits_12gb=row.fits_12gb) for row in rows
    ]
    dump_json(res, args.out)
    print(f'\nwrote {args.out}')
    return res


if __name__ == '__main__':
    main()
