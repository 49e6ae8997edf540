"""The CPU stages at world sizes 1 and 2: images/s, and hours on a cluster.

    python benchmarks/scale_cpu_stages.py [--images 32] [--height 375]
        [--width 500] [--nodes 1 4 16] [--cores 8 32]

On a synthetic VOC-layout set at VOC's image size, with seeds and walked
maps made from the ground truth (blurred class maps: the stages' cost does
not depend on where the maps come from), each per-image CPU stage runs as
the pipeline runs it: one process (``--launcher none --nproc 1``), then two
ranks of one process each (``--launcher pytorch`` with ``RANK``/
``WORLD_SIZE`` set, as the pipeline starts one rank per node; images
sharded, results merged on rank 0; on one machine the two ranks stand for
two nodes). Each time is the whole command, start-up
included. Printed:

1. per stage: seconds at world 1 and 2 on all images and on one image (the
   start-up a stage pays once: imports, dataset and process-group set-up,
   report), images/s and speed-up (ideal 2.0) of the per-image work (the
   difference), and the outputs of the two runs compared (identical files
   / reports);
   and the same images as two independent one-process runs on the two
   halves at once (no process group, nothing merged): what the two cores
   give this work (they share caches and memory bandwidth, so the dense
   CRF stages cannot reach 2.0 here), and world 2 against it, i.e. what
   the sharding itself costs;
2. the projection: hours per stage for PASCAL VOC (train_aug 10,582
   images for IR labels and final masks, train 1,464 for the seed and mask
   evaluations) and COCO train2014 (82,783 for all four) at N nodes x C
   pool processes, from the per-image cost measured at world 1 with one
   process, assuming linear scaling over ranks and pool processes (the
   measured world-2 speed-up says how close that is here).
"""
import filecmp
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))

from mmseg_cobra.cli import tool_parser
from mmseg_cobra.datasets import generate_synthetic_voc  # noqa: E402
from mmseg_cobra.structures.seed_io import GRID_STRIDE, save_seed  # noqa: E402
from mmseg_cobra.structures.walk_io import save_walk  # noqa: E402
from mmseg_cobra.utils.file_io import write_text  # noqa: E402

COBRA = 'configs/cobra/cobra_r18_vittiny_synthetic.py'
IRN = 'configs/irn/irn_r18_synthetic.py'
TRAIN_LIST = 'ImageSets/Segmentation/train.txt'
#: one image: what a command costs besides its images (start-up, imports,
#: dataset and process group set-up, report)
ONE_LIST = 'ImageSets/Segmentation/one.txt'
#: the images rank 0 and rank 1 get (positions 0, 2, 4 ... and 1, 3, 5 ...)
HALF_LISTS = ('ImageSets/Segmentation/half0.txt',
              'ImageSets/Segmentation/half1.txt')
#: images each stage processes in the paper's two datasets
WORKLOAD = {
    'VOC':
    dict(ir_labels=10582, final_masks=10582, seed_eval=1464, mask_eval=1464),
    'COCO':
    dict(ir_labels=82783, final_masks=82783, seed_eval=82783, mask_eval=82783),
}


@dataclass
class StageTiming:
    """One stage at world sizes 1 and 2."""
    stage: str
    images: int
    seconds_1: float
    seconds_2: float
    fixed_1: float
    fixed_2: float
    identical: bool
    #: the same images as two independent one-process runs on the halves
    #: (even / odd positions, as the ranks get them) at once: no process
    #: group, nothing merged; what this machine gives two processes
    seconds_pair: float = float('nan')

    @property
    def work_1(self) -> float:
        """Seconds of the other ``images - 1`` images, one rank."""
        return max(self.seconds_1 - self.fixed_1, 1e-6)

    @property
    def work_2(self) -> float:
        return max(self.seconds_2 - self.fixed_2, 1e-6)

    @property
    def speedup(self) -> float:
        """Speed-up of the per-image work (start-up taken off)."""
        return self.work_1 / self.work_2

    @property
    def ceiling(self) -> float:
        """Speed-up of two independent processes on the halves (the two
        cores' real capacity for this work: they share caches and memory
        bandwidth), start-up taken off as for world 2."""
        return self.work_1 / max(self.seconds_pair - self.fixed_2, 1e-6)

    @property
    def per_image(self) -> float:
        """Seconds per image on one process, start-up taken off."""
        return self.work_1 / (self.images - 1)


def fake_inputs(root: str, ids: List[str], num_classes: int, seed_dir: str,
                walk_dir: str) -> None:
    """Seeds and walked maps of every image from its ground truth."""
    rng = np.random.default_rng(0)
    for img_id in ids:
        gt = np.asarray(
            Image.open(
                osp.join(root, 'SegmentationClassAug', img_id + '.png')))
        keys = np.array([c - 1 for c in np.unique(gt) if 0 < c < 255])
        maps = np.stack([
            gaussian_filter((gt == k + 1).astype(np.float32), 8) for k in keys
        ]) if len(keys) else np.zeros((0, ) + gt.shape, np.float32)
        maps = np.clip(maps + 0.05 * rng.random(maps.shape), 0, None)
        maps /= np.maximum(maps.max(axis=(1, 2), keepdims=True), 1e-5)
        grid = maps[:, ::GRID_STRIDE, ::GRID_STRIDE]
        attn = gaussian_filter((gt > 0).astype(np.float32), 8)
        save_seed(
            seed_dir,
            img_id,
            keys, {
                'cam_cnn': maps,
                'cam_vit': maps,
                'cam_fuse': maps,
                'cam_cnn_grid': grid,
                'cam_vit_grid': grid,
                'cam_fuse_grid': grid
            },
            attn,
            num_classes=num_classes)
        boundary = np.zeros(grid.shape[1:], np.float32)
        save_walk(walk_dir, img_id, keys, grid, boundary, gt.shape)


def stage_commands(root: str,
                   work: str,
                   ann: str = TRAIN_LIST) -> Dict[str, List[str]]:
    """Each CPU stage's tool and arguments on the images of ``ann``
    (outputs under ``work``)."""
    seeds, walks = osp.join(root, 'seeds'), osp.join(root, 'walks')
    irn_opts = [
        f'ir_label_dataset.data_root={root}',
        f'ir_label_dataset.ann_file={ann}', f'ir_label_cfg.seed_dir={seeds}',
        f'ir_label_cfg.out_dir={work}/ir_labels',
        'ir_label_cfg.fixed_thresholds=[0.3,0.6]',
        f'test_dataloader.dataset.data_root={root}'
    ]
    return dict(
        seed_eval=[
            'tools/eval_seeds.py', COBRA, '--seed-dir', seeds, '--data-root',
            root, '--ann-file', ann, '--out', f'{work}/seed_eval.json'
        ],
        ir_labels=[
            'tools/make_ir_labels.py', IRN, '--nproc', '1', '--cfg-options'
        ] + irn_opts,
        mask_eval=[
            'tools/mask_report.py', IRN, '--data-root', root, '--seed-dir',
            seeds, '--walk-dir', walks, '--oracle', '--out',
            f'{work}/mask_eval.json', '--cfg-options',
            f'test_dataloader.dataset.ann_file={ann}'
        ],
        final_masks=[
            'tools/masks_from_walks.py', IRN, '--walk-dir', walks, '--out-dir',
            f'{work}/final_masks', '--data-root', root, '--ann-file', ann,
            '--nproc', '1'
        ])


def run(args: List[str], world: int, port: int) -> float:
    """Seconds of one stage command at ``world`` ranks."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    cmd = [sys.executable] + args
    if world > 1:  # one rank per node, as the pipeline starts them
        cmd += ['--launcher', 'pytorch']
        env.update(
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port),
            WORLD_SIZE=str(world),
            LOCAL_RANK='0')
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            cmd,
            cwd=REPO,
            env=dict(env, RANK=str(rank)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True) for rank in range(world)
    ]
    outs = [p.communicate()[0] for p in procs]
    seconds = time.perf_counter() - start
    for p, out in zip(procs, outs):
        if p.returncode != 0:
            raise RuntimeError(f'{" ".join(cmd)} failed:\n{out[-3000:]}')
    return seconds


def run_pair(commands: List[List[str]]) -> float:
    """Seconds until two independent one-process commands, started at
    once, have both finished."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable] + args,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True) for args in commands
    ]
    outs = [p.communicate()[0] for p in procs]
    seconds = time.perf_counter() - start
    for p, out in zip(procs, outs):
        if p.returncode != 0:
            raise RuntimeError(f'{p.args} failed:\n{out[-3000:]}')
    return seconds


def same_outputs(stage: str, work_1: str, work_2: str) -> bool:
    """The two runs' outputs: the same files, or the same report."""
    if stage in ('seed_eval', 'mask_eval'):

        def load(work):
            text = open(osp.join(work, f'{stage}.json')).read()
            return json.loads(text.replace(work, 'WORK'))

        return load(work_1) == load(work_2)
    a, b = osp.join(work_1, stage), osp.join(work_2, stage)
    names = sorted(os.listdir(a))
    _, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    return names == sorted(os.listdir(b)) and not mismatch and not errors


def measure(images: int, size, port: int, stages: List[str],
            repeat: int) -> List[StageTiming]:
    tmp = tempfile.mkdtemp(prefix='scale_cpu_stages_')
    root = osp.join(tmp, 'data')
    ids = generate_synthetic_voc(
        root, num_train=images, num_val=1, num_classes=4,
        image_size=size)['train']
    fake_inputs(root, ids, 4, osp.join(root, 'seeds'), osp.join(root, 'walks'))
    write_text(ids[0] + '\n', osp.join(root, ONE_LIST))
    for rank, half in enumerate(HALF_LISTS):
        write_text('\n'.join(ids[rank::2]) + '\n', osp.join(root, half))
    timings = {}

    def keep(key, seconds, label):
        """The fastest of the repeats (the machine's noise only slows)."""
        timings[key] = min(seconds, timings.get(key, float('inf')))
        print(f'  {label}: {seconds:.1f} s', flush=True)

    for r in range(repeat):  # interleaved, so drifts hit every variant
        for world in (1, 2):
            for ann, tag in ((TRAIN_LIST, ''), (ONE_LIST, '_one')):
                work = osp.join(tmp, f'r{r}', f'world{world}{tag}')
                for stage, args in stage_commands(root, work, ann).items():
                    if stage in stages:
                        keep((stage, world, tag), run(args, world, port),
                             f'{stage}, world {world}, '
                             f'{1 if tag else len(ids)} image(s)')
        for stage in stages:
            pair = [
                stage_commands(root, osp.join(tmp, f'r{r}', f'half{rank}'),
                               half)[stage]
                for rank, half in enumerate(HALF_LISTS)
            ]
            keep((stage, 'pair'), run_pair(pair),
                 f'{stage}, two independent processes on the halves')
    return [
        StageTiming(
            stage, len(ids), timings[stage, 1, ''], timings[stage, 2, ''],
            timings[stage, 1, '_one'], timings[stage, 2, '_one'],
            same_outputs(stage, osp.join(tmp, 'r0', 'world1'),
                         osp.join(tmp, 'r0', 'world2')), timings[stage,
                                                                 'pair'])
        for stage in stage_commands(root, tmp) if stage in stages
    ]


def print_tables(rows: List[StageTiming], nodes: List[int],
                 cores: List[int]) -> None:
    print('\n| stage | images | world 1 s | world 2 s | start-up s (1 / 2) '
          '| img/s world 1 | img/s world 2 | speed-up (ideal 2.0) | '
          'two independent processes: s, speed-up | world 2 / two '
          'independent | outputs equal |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | '
          '--- |')
    for r in rows:
        n = r.images - 1
        print(f'| {r.stage} | {r.images} | {r.seconds_1:.1f} | '
              f'{r.seconds_2:.1f} | {r.fixed_1:.1f} / {r.fixed_2:.1f} | '
              f'{n / r.work_1:.2f} | {n / r.work_2:.2f} | {r.speedup:.2f} | '
              f'{r.seconds_pair:.1f}, {r.ceiling:.2f} | '
              f'{r.speedup / r.ceiling:.2f} | '
              f'{"yes" if r.identical else "NO"} |')
    print('\nimages/s and speed-up: the images beyond the first, i.e. the '
          'command on all images minus the command on one image (start-up, '
          'imports, set-up and report, paid once per stage). Two '
          'independent processes: the same two halves of the images as two '
          'plain one-process runs at once (no process group, nothing '
          'merged): what the two cores give this work; world 2 / two '
          'independent is what the sharding itself costs (1.00: nothing)')
    print('\nprojected hours (per-image cost at world 1, linear in nodes x '
          'pool processes; start-up not included, under a minute per stage):')
    header = ' | '.join(f'{n}x{c}' for n in nodes for c in cores)
    print(f'| dataset | stage | images | {header} |')
    print('| --- | --- | --- |' + ' --- |' * (len(nodes) * len(cores)))
    for dataset, load in WORKLOAD.items():
        for r in rows:
            n_img = load[r.stage]
            hours = [
                n_img * r.per_image / (n * c) / 3600 for n in nodes
                for c in cores
            ]
            print(f'| {dataset} | {r.stage} | {n_img} | ' +
                  ' | '.join(f'{h:.2f}' for h in hours) + ' |')


def main() -> None:
    parser = tool_parser(__doc__)
    parser.add_argument('--images', type=int, default=32)
    parser.add_argument('--height', type=int, default=375)
    parser.add_argument('--width', type=int, default=500)
    parser.add_argument('--nodes', type=int, nargs='+', default=[1, 4, 16])
    parser.add_argument('--cores', type=int, nargs='+', default=[8, 32])
    parser.add_argument('--port', type=int, default=29731)
    parser.add_argument(
        '--repeat',
        type=int,
        default=2,
        help='each command this many times (interleaved); the fastest '
        'counts (this machine\'s speed drifts by up to 20 %% between runs)')
    parser.add_argument(
        '--stages',
        nargs='+',
        choices=list(WORKLOAD['VOC']),
        default=list(WORKLOAD['VOC']),
        help='the stages to measure (default: all four)')
    args = parser.parse_args()
    print(f'{args.images} images of {args.height}x{args.width}, '
          f'{os.cpu_count()} CPU cores')
    rows = measure(args.images, (args.height, args.width), args.port,
                   args.stages, args.repeat)
    print_tables(rows, args.nodes, args.cores)


if __name__ == '__main__':
    main()
