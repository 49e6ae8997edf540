"""Random walk and mask stage at VOC size: time, throughput, memory.

    python benchmarks/bench_masks.py [--height 375 --width 500] [--images 8]
        [--device cpu|cuda] [--skip-stage]

1. Random walk, IRN settings (radius 5, beta 10, exp_times 8 = 256 steps)
   on a 3-class seed at stride 4 of a VOC-sized image, with a boundary map
   that has a wall: the stencil walk (``random_walk``, default) and the
   earlier COO gather / ``index_add_`` walk (``random_walk_sparse``) on the
   same inputs, their max relative difference, seconds per image, the
   achieved GFLOP/s against the compute floor (``2 * (2 D + 1) * N * K``
   flops per step) and the peak memory growth of each (RSS on CPU, CUDA
   peak allocation on a GPU). A dense transition matrix would need
   ``N^2`` floats: printed for comparison.
2. The mask stage as a whole (unless ``--skip-stage``): IRN R152's boundary
   map (image + flip), the walk, the reference rule, the final dense CRF
   and the PNG write, images/s; the CRF part alone with 1 and 2 processes
   (``mmengine.utils.track_parallel_progress``).
"""
import os.path as osp
import resource
import tempfile
import time

import numpy as np
import torch
from mmengine.utils import track_parallel_progress

from mmseg_cobra.cli import add_flags, tool_parser
from mmseg_cobra.models.utils import (pair_offsets, random_walk,
                                      random_walk_sparse)
from mmseg_cobra.ops.crf import FINAL_CRF_CFG, crf_from_labels
from mmseg_cobra.utils.device import select_device


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def crf_job(seed: int, height: int = 375, width: int = 500) -> int:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, (height, width))
    return int(
        crf_from_labels(image, labels, n_labels=3, **FINAL_CRF_CFG).sum())


def time_walk(fn, cams, boundary, device, repeats=3):
    """Seconds per call and peak memory growth (MB) of one walk."""
    fn(cams, boundary)  # warm-up
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = rss_mb()
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn(cams, boundary)
    if device == 'cuda':
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = rss_mb() - base
    return (time.perf_counter() - start) / repeats, peak, out


def bench_walk(args) -> None:
    h, w = (args.height + 3) // 4, (args.width + 3) // 4
    torch.manual_seed(0)
    device = args.device
    boundary = (torch.rand(h, w) * 0.2).to(device)
    boundary[:, w // 2] = 0.9
    cams = torch.rand(3, h, w).to(device)
    n, k, steps = h * w, cams.shape[0], 256
    neighbours = 2 * len(pair_offsets(5)) + 1
    flops = 2 * neighbours * n * k * steps
    print(f'random walk {args.height}x{args.width} on {device} (grid {h}x{w}'
          f' = {n} nodes, K={k}, {neighbours} neighbours, {steps} steps, '
          f'{flops / 1e9:.2f} GFLOP)')
    # the new walk first: the old one's peak RSS would hide its growth
    t_new, m_new, new = time_walk(random_walk, cams, boundary, device)
    t_old, m_old, old = time_walk(random_walk_sparse, cams, boundary, device)
    ref = random_walk(cams.double(), boundary.double())  # float64 truth
    rel = float((new - old).abs().max() / old.abs().max())
    rel_new = float((new.double() - ref).abs().max() / ref.abs().max())
    rel_old = float((old.double() - ref).abs().max() / ref.abs().max())
    print(f'  stencil (random_walk):       {t_new:.3f} s/image, '
          f'{flops / t_new / 1e9:.2f} GFLOP/s, peak +{m_new:.0f} MB')
    print(f'  COO (random_walk_sparse):    {t_old:.3f} s/image, '
          f'{flops / t_old / 1e9:.2f} GFLOP/s, peak +{m_old:.0f} MB')
    print(f'  speed-up {t_old / t_new:.1f}x; max |stencil - COO| / max = '
          f'{rel:.1e}; against a float64 walk: stencil {rel_new:.1e}, COO '
          f'{rel_old:.1e}')
    if device == 'cpu':
        floor = flops / (args.floor_gflops * 1e9)
        print(f'  compute floor at {args.floor_gflops:g} GFLOP/s: '
              f'{floor:.3f} s/image; stencil at {t_new / floor:.1f}x the '
              'floor')
    print(f'  a dense transition matrix would need '
          f'{n ** 2 * 4 / 2**20:.0f} MB')


def bench_stage(args) -> None:
    """Boundary map + walk + rule + CRF + PNG, the mask stage per image."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample

    import mmseg_cobra  # noqa: F401
    from mmseg_cobra.utils.file_io import save_label_png
    init_default_scope('mmseg')
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(osp.dirname(osp.abspath(__file__))),
            'configs/irn/irn_r152_cobra_voc.py'))
    cfg.model.backbone.init_cfg = None  # timing only: random weights
    model = MODELS.build(cfg.model).to(args.device).eval()
    rng = np.random.default_rng(0)
    out_dir = tempfile.mkdtemp()
    palette = [[i, i, i] for i in range(21)]
    images = []
    for i in range(args.images):
        image = rng.integers(0, 255, (3, args.height, args.width))
        sample = SegDataSample(metainfo=dict(img_id=f'{i}'))
        cams = torch.rand(3, args.height, args.width)
        sample.seed_cams, sample.seed_keys = cams, torch.tensor([0, 4, 9])
        images.append((torch.from_numpy(image).float(), sample))
    with torch.no_grad():
        batch = model.data_preprocessor(
            dict(inputs=[images[0][0]], data_samples=[images[0][1]]), False)
        model.predict(batch['inputs'], batch['data_samples'])  # warm-up
        start = time.perf_counter()
        for image, sample in images:
            batch = model.data_preprocessor(
                dict(inputs=[image], data_samples=[sample]), False)
            out = model.predict(batch['inputs'], batch['data_samples'])[0]
            save_label_png(out.pred_sem_seg.data[0].cpu().numpy(),
                           osp.join(out_dir, f'{sample.img_id}.png'), palette)
    rate = args.images / (time.perf_counter() - start)
    print(f'\nmask stage (IRN R152 boundary map with flip + walk + reference '
          f'rule + dense CRF + PNG), {args.height}x{args.width} on '
          f'{args.device}, one process: {rate:.2f} images/s')
    for nproc in (1, 2):
        start = time.perf_counter()
        track_parallel_progress(crf_job, list(range(args.images)), nproc)
        rate = args.images / (time.perf_counter() - start)
        print(f'\n  its dense CRF alone, {nproc} process(es): {rate:.2f} '
              'images/s')


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('--height', type=int, default=375)
    parser.add_argument('--width', type=int, default=500)
    parser.add_argument('--images', type=int, default=8)
    add_flags(parser, '--device', device='cpu')
    parser.add_argument(
        '--floor-gflops',
        type=float,
        default=12.0,
        help='sustained GFLOP/s assumed for the floor '
        '(12: the 0.1 s for K=3 of the 2-core estimate)')
    parser.add_argument('--skip-stage', action='store_true')
    args = parser.parse_args()
    args.device = select_device(args.device)
    bench_walk(args)
    if not args.skip_stage:
        bench_stage(args)


if __name__ == '__main__':
    main()
