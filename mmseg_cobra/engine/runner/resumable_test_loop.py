import copy
from typing import Dict, List, Sequence, Union

import torch
from mmengine.dist import all_reduce, broadcast_object_list, get_dist_info
from mmengine.logging import print_log
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast
from mmseg.registry import DATASETS, LOOPS
from torch.utils.data import DataLoader

from ..hooks.output_writer_hook import OutputWriterHook


@LOOPS.register_module()
class ResumableTestLoop(TestLoop):
    """``TestLoop`` that skips samples whose outputs are already on disk.

    Before the dataloader is built, every registered
    :class:`~mmseg_cobra.engine.hooks.OutputWriterHook` (the seed, mask and
    walk writers) is asked about each sample (its ``is_done``); samples
    every such hook reports done are dropped. Rank 0 decides and
    broadcasts the list, so all ranks shard the same remaining samples.
    A crashed or killed run therefore resumes where it stopped, and a run
    that finds every output written finishes at once with a message
    ("nothing left to do") instead of scoring an empty set.

    Samples without ground truth (no ``gt_sem_seg``: a dataset whose
    training images have no masks) are written but not scored; a run with
    none scored says so and returns no metric.

    Use ``sampler=dict(type='DefaultSampler', shuffle=False, round_up=False)``
    so no sample is given to two ranks.

    Args:
        runner: The runner.
        dataloader (dict | DataLoader): Test dataloader (a dict is needed for
            skipping).
        evaluator (dict | list | Evaluator): Metrics of the samples that are
            processed in this run.
        fp16 (bool): Autocast, as in ``TestLoop``.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Dict, List],
                 fp16: bool = False) -> None:
        writers = [h for h in runner.hooks if isinstance(h, OutputWriterHook)]
        if writers and isinstance(dataloader, dict):
            dataloader = copy.copy(dataloader)
            dataset = dataloader['dataset']
            if isinstance(dataset, dict):
                dataset = DATASETS.build(dataset)
            todo = self._pending(runner, dataset, writers)
            self.num_skipped = len(dataset) - len(todo)
            self.num_pending = len(todo)
            self._out_dirs = sorted(
                {w.resolve_out_dir(runner)
                 for w in writers})
            if self.num_skipped:
                print_log(
                    f'{self.num_skipped} of {len(dataset)} samples already '
                    f'written; processing the other {len(todo)}',
                    logger='current')
                dataset = dataset.get_subset(todo)
            dataloader['dataset'] = dataset
        else:
            self.num_skipped = 0
            self.num_pending = None
        super().__init__(runner, dataloader, evaluator, fp16)

    def run(self) -> dict:
        """Test the pending samples; with none left, only say so."""
        if self.num_pending != 0:
            return self._run_and_score()
        print_log(
            f'nothing left to do: all {self.num_skipped} samples are already '
            f'written in {", ".join(self._out_dirs)}. Score them with '
            'tools/eval_seeds.py (seeds) or tools/mask_report.py (masks); '
            'delete outputs to recompute them.',
            logger='current')
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        metrics: dict = {}
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    def _run_and_score(self) -> dict:
        """``TestLoop.run``, scoring only the samples with ground truth."""
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        self.num_scored = 0
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        scored = torch.tensor(self.num_scored)
        all_reduce(scored)  # every rank decides alike
        if int(scored) > 0:
            metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        else:
            metrics = {}
            print_log(
                'no sample has ground truth: outputs written, not '
                'scored',
                logger='current')
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx, data_batch: Sequence[dict]) -> None:
        """Predict one batch; score the samples that have ground truth."""
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = self.runner.model.test_step(data_batch)
        scored = [o for o in outputs if 'gt_sem_seg' in o]
        if scored:
            self.evaluator.process(data_samples=scored, data_batch=data_batch)
            self.num_scored += len(scored)
        self.runner.call_hook(
            'after_test_iter',
            batch_idx=idx,
            data_batch=data_batch,
            outputs=outputs)

    @staticmethod
    def _pending(runner, dataset, writers) -> List[int]:
        rank, world_size = get_dist_info()
        todo = [None]
        if rank == 0:
            todo[0] = [
                i for i in range(len(dataset)) if not all(
                    w.is_done(runner, dataset.get_data_info(i))
                    for w in writers)
            ]
        if world_size > 1:
            broadcast_object_list(todo, src=0)
        return todo[0]
