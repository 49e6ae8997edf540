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
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # gpu_records

from gpu_records import (InferenceCheck, PrecisionRun, Report, ResumeCheck,
                         Schedule, TrainingCheck, WalkCheck, format_report,
                         project, schedule_of)
from mmengine.config import Config
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmseg_cobra  # noqa: F401
from mmseg_cobra.cli import add_flags, tool_parser
from mmseg_cobra.utils.device import DeviceError, select_device
from mmseg_cobra.utils.file_io import dump_json

PARTS = ('classifier', 'seeds', 'irn', 'masks', 'seg', 'resume')
GIB = 1024**3
#: images per batched random walk (``masks`` part)
WALK_BATCH = 4


@dataclass(frozen=True)
class Sizes:
    """The models and input sizes of one device's check."""
    cobra: str  # CoBra config
    cobra_batch: int
    cobra_crop: int
    seed_image: Tuple[int, int]  # (h, w) of the seed and mask images
    irn: str  # IRN config
    irn_batch: int
    irn_crop: int
    seg: Dict[str, str]  # name -> segmentation config
    seg_batch: int
    seg_crop: int
    warmup: int  # calls before timing
    iters: int  # timed calls


#: model configs and sizes per device: full size on CUDA, tiny on the CPU
SIZES = dict(
    cuda=Sizes(
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
    cpu=Sizes(
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


def first_losses(model, data: dict, wrapper) -> Dict[str, float]:
    """The losses of one ``train_step``."""
    return {
        k: float(torch.as_tensor(v).detach())
        for k, v in model.train_step(data, wrapper).items()
        if k.startswith('loss')
    }


def max_rel_diff(losses: Dict[str, float], ref: Dict[str, float]) -> float:
    """The largest relative difference of ``losses`` from ``ref``."""
    return max(
        abs(v - ref[k]) / max(abs(ref[k]), 1e-6) for k, v in losses.items())


def train_steps(model, cfg, data: dict, device: str, size: Sizes, part: str,
                config: str) -> TrainingCheck:
    """s/iter and peak memory of ``train_step`` in every precision, and the
    first step's losses against fp32 (same weights, same batch)."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    runs = []
    for name, wrapper in optim_wrappers(cfg, model, device).items():
        model.load_state_dict(state)
        model.train()
        reset_peak(device)
        losses = first_losses(model, data, wrapper)
        sec = timed(lambda: model.train_step(data, wrapper), device,
                    size.warmup, size.iters)
        runs.append(PrecisionRun(name, sec, peak_gib(device), losses))
    model.load_state_dict(state)
    for run in runs[1:]:  # runs[0] is fp32
        run.max_loss_rel_diff = max_rel_diff(run.losses, runs[0].losses)
    return TrainingCheck(part, config, runs)


# --------------------------------------------------------------------------
# parts
# --------------------------------------------------------------------------
def part_classifier(device: str, size: Sizes) -> List[TrainingCheck]:
    cfg, model = build_model(size.cobra, device)
    model.complementary_losses_enabled = True  # every loss on
    data = cls_batch(size.cobra_batch, size.cobra_crop, model.num_classes)
    return [
        train_steps(model, cfg, data, device, size, 'classifier', size.cobra)
    ]


def part_seeds(device: str, size: Sizes) -> List[InferenceCheck]:
    cfg, model = build_model(size.cobra, device)
    model.eval()
    model.test_cfg['scales'] = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
    h, w = size.seed_image
    data = cls_batch(1, 8, model.num_classes)
    g = torch.Generator().manual_seed(1)
    data['inputs'] = [
        torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    ]
    data['data_samples'][0].set_metainfo(
        dict(img_shape=(h, w), ori_shape=(h, w)))
    reset_peak(device)
    with torch.no_grad():
        sec = timed(lambda: model.test_step(data), device, size.warmup,
                    size.iters)
    return [InferenceCheck('seeds', 1.0 / sec, peak_gib(device))]


def part_irn(device: str, size: Sizes) -> List[TrainingCheck]:
    from mmseg_cobra.models.utils import pair_labels
    cfg, model = build_model(size.irn, device)
    crop, batch = size.irn_crop, size.irn_batch
    model.data_preprocessor.size = (crop, crop)
    rng = np.random.default_rng(0)
    data = cls_batch(batch, crop, 20)
    label = rng.integers(0, 3, (crop // 4, crop // 4))
    label[rng.random(label.shape) < 0.2] = 255
    aff = torch.from_numpy(pair_labels(label, model.train_radius))
    for s in data['data_samples']:
        s.aff_labels = aff
    return [train_steps(model, cfg, data, device, size, 'irn', size.irn)]


def mask_sample(size: Sizes) -> Tuple[torch.Tensor, SegDataSample]:
    """An image and its seed maps (two classes), as the masks stage gets
    them."""
    h, w = size.seed_image
    grid = (-(-h // 4), -(-w // 4))
    g = torch.Generator().manual_seed(2)
    image = torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8)
    sample = SegDataSample()
    sample.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    sample.seed_cams = torch.rand(2, h, w, generator=g)
    sample.seed_cams_grid = torch.rand(2, *grid, generator=g)
    sample.seed_keys = torch.tensor([3, 7])
    return image, sample


def walk_check(model, image, sample, device: str, size: Sizes) -> WalkCheck:
    """The random walk alone, one image and ``WALK_BATCH`` of one size in
    one call, and on the device against the CPU."""
    from mmseg_cobra.models.utils import random_walk
    norm = model.data_preprocessor(
        dict(inputs=[image], data_samples=[sample]), False)['inputs'][0]
    boundary = model.boundary_map(norm)
    cams = sample.seed_cams_grid.to(device)
    sec = timed(lambda: random_walk(cams, boundary), device, size.warmup,
                size.iters)
    on_device = random_walk(cams, boundary).cpu()
    on_cpu = random_walk(cams.cpu(), boundary.cpu())
    cams_batch = cams.expand(WALK_BATCH, -1, -1, -1).contiguous()
    boundary_batch = boundary.expand(WALK_BATCH, -1, -1).contiguous()
    batch_sec = timed(lambda: random_walk(cams_batch, boundary_batch), device,
                      size.warmup, size.iters) / WALK_BATCH
    return WalkCheck(
        sec, batch_sec,
        float((on_device - on_cpu).abs().max() / on_cpu.abs().max()))


def part_masks(device: str, size: Sizes) -> list:
    _, model = build_model(size.irn, device)
    model.eval()
    image, sample = mask_sample(size)
    data = dict(inputs=[image], data_samples=[sample])
    reset_peak(device)
    with torch.no_grad():
        sec = timed(lambda: model.test_step(data), device, size.warmup,
                    size.iters)
        peak = peak_gib(device)
        walk = walk_check(model, image, sample, device, size)
    return [InferenceCheck('masks', 1.0 / sec, peak), walk]


def part_seg(device: str, size: Sizes) -> List[TrainingCheck]:
    out = []
    for name, config in size.seg.items():
        cfg, model = build_model(config, device)
        num_classes = cfg.model.decode_head.num_classes
        data = seg_batch(size.seg_batch, size.seg_crop, num_classes)
        model.data_preprocessor.size = (size.seg_crop, ) * 2
        out.append(
            train_steps(model, cfg, data, device, size, f'seg_{name}', config))
    return out


def part_resume(device: str, size: Sizes) -> List[ResumeCheck]:
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
        # the test suite's fault injection (a plugin of the library's
        # fault points) stops the run at the named point
        run_env = dict(
            env,
            MMSEG_COBRA_FAULT=fault,
            MMSEG_COBRA_FAULT_PLUGIN=osp.join(
                REPO, 'tests', 'fault_injection.py')) if fault else env
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

    ref = train('ref')
    if ref.returncode != 0:
        raise RuntimeError('uninterrupted training failed:\n' +
                           ref.stderr[-2000:])
    killed = train('killed', fault='train_iter@5')
    if killed.returncode != -signal.SIGKILL:  # else nothing is resumed
        raise RuntimeError(
            'the training meant to be killed at iteration 5 was not (exit '
            f'{killed.returncode}; is tests/fault_injection.py there?):\n' +
            killed.stderr[-2000:])
    resumed = train('killed', resume=True)
    if resumed.returncode != 0:
        raise RuntimeError('resumed training failed:\n' +
                           resumed.stderr[-2000:])
    a, b = weights('ref'), weights('killed')
    same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    return [ResumeCheck(bool(same))]


def voc_schedules(report: Report) -> Dict[str, Schedule]:
    """The VOC config's schedule of every training part measured (the CPU
    check's small segmentation models get DeepLabV3+ R101's)."""
    voc = SIZES['cuda']
    configs = dict(classifier=voc.cobra, irn=voc.irn)
    configs.update({f'seg_{name}': c for name, c in voc.seg.items()})
    return {
        check.part:
        schedule_of(configs.get(check.part, voc.seg['deeplabv3plus_r101']))
        for check in report.training
    }


PART_FUNCTIONS = dict(
    classifier=part_classifier,
    seeds=part_seeds,
    irn=part_irn,
    masks=part_masks,
    seg=part_seg,
    resume=part_resume)


def main(argv: Optional[List[str]] = None) -> Report:
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
    report = Report(
        args.device,
        torch.cuda.get_device_name() if args.device == 'cuda' else 'cpu',
        torch.__version__)
    for name in args.parts:
        start = time.perf_counter()
        print(f'[gpu_check] {name} ...', flush=True)
        for record in PART_FUNCTIONS[name](args.device, SIZES[args.device]):
            report.add(record)
        report.part_seconds[name] = time.perf_counter() - start
    report.projection = project(report, voc_schedules(report))
    print(format_report(report))
    dump_json(report.to_json(), args.out)
    print(f'\nwrote {args.out}')
    return report


if __name__ == '__main__':
    main()
