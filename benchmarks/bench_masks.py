"""Random-walk time/memory at VOC size, and CRF throughput with 1 vs 2 procs.

    python benchmarks/bench_masks.py [--height 375 --width 500] [--images 8]

Random walk: a 3-class seed at stride 4 of a VOC-sized image, IRN settings
(radius 5, beta 10, exp_times 8 = 256 sparse steps); prints seconds per image
and the peak RSS growth of the process. A dense transition matrix of the same
image would hold (H/4 * W/4)^2 floats; that figure is printed for comparison.
CRF: the final-mask dense CRF on random images, in a process pool of 1 and
of 2 workers (mmengine's track_parallel_progress), images/s.
"""
import argparse
import os.path as osp
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.utils import track_parallel_progress  # noqa: E402

from mmseg_cobra.models.utils import random_walk  # noqa: E402
from mmseg_cobra.utils.crf import crf_from_labels  # noqa: E402


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def crf_job(seed: int) -> int:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (375, 500, 3), dtype=np.uint8)
    labels = rng.integers(0, 3, (375, 500))
    return int(crf_from_labels(image, labels, n_labels=3, gaussian_sxy=2,
                               gaussian_compat=3, bilateral_sxy=45,
                               bilateral_srgb=5, bilateral_compat=4).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--height', type=int, default=375)
    parser.add_argument('--width', type=int, default=500)
    parser.add_argument('--images', type=int, default=8)
    args = parser.parse_args()
    h, w = (args.height + 3) // 4, (args.width + 3) // 4
    torch.manual_seed(0)
    boundary = torch.rand(h, w) * 0.2
    boundary[:, w // 2] = 0.9
    cams = torch.rand(3, h, w)
    before = rss_mb()
    random_walk(cams, boundary)  # warm-up
    start = time.perf_counter()
    repeats = 3
    for _ in range(repeats):
        random_walk(cams, boundary)
    per_image = (time.perf_counter() - start) / repeats
    print(f'random walk {args.height}x{args.width} (grid {h}x{w}, '
          f'{h * w} nodes), 256 steps: {per_image:.2f} s/image, '
          f'peak RSS growth {rss_mb() - before:.0f} MB')
    print(f'  a dense transition matrix would need '
          f'{(h * w) ** 2 * 4 / 2**20:.0f} MB')

    for nproc in (1, 2):
        start = time.perf_counter()
        track_parallel_progress(crf_job, list(range(args.images)), nproc)
        rate = args.images / (time.perf_counter() - start)
        print(f'\ndense CRF 375x500, {nproc} process(es): {rate:.2f} '
              'images/s')


if __name__ == '__main__':
    main()
