"""Where a pipeline run keeps everything: the one place that knows the
work dir's layout."""
import os.path as osp
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkDirLayout:
    """The files and folders of a pipeline work dir.

    Args:
        root (str): The work dir (absolute).
    """
    root: str

    def path(self, *parts: str) -> str:
        """A path inside the work dir."""
        return osp.join(self.root, *parts)

    # the stages' outputs
    @property
    def cobra(self) -> str:
        """The classifier's training (and the seeds' test) work dir."""
        return self.path('cobra')

    @property
    def seeds(self) -> str:
        return self.path('seeds')

    @property
    def seed_eval(self) -> str:
        """The seed evaluation's report."""
        return self.path('seed_eval.json')

    @property
    def ir_labels(self) -> str:
        return self.path('ir_labels')

    @property
    def irn(self) -> str:
        """IRN's training (and the masks' test) work dir."""
        return self.path('irn')

    @property
    def masks(self) -> str:
        return self.path('masks')

    @property
    def walks(self) -> str:
        return self.path('walks')

    @property
    def mask_eval(self) -> str:
        """The mask evaluation's report."""
        return self.path('mask_eval.json')

    @property
    def final_masks(self) -> str:
        return self.path('final_masks')

    @property
    def seg(self) -> str:
        return self.path('seg')

    @property
    def seg_eval(self) -> str:
        return self.path('seg_eval')

    @property
    def seg_class_iou(self) -> str:
        """The segmentation test's per-class IoU (``ClassIoUMetric``)."""
        return self.path('seg_eval', 'class_iou.json')

    # the run's own files
    @property
    def state(self) -> str:
        """Stage records, inputs and the driver lock."""
        return self.path('.stages')

    def record(self, stage: str) -> str:
        """A finished stage's record."""
        return self.path('.stages', f'{stage}.json')

    def inputs(self, stage: str) -> str:
        """What a stage was started with (its fingerprint)."""
        return self.path('.stages', f'{stage}.inputs.json')

    @property
    def lock(self) -> str:
        return self.path('.stages', 'driver.lock')

    @property
    def dataset_record(self) -> str:
        """The dataset description the finished stages were made with."""
        return self.path('.stages', 'dataset.json')

    def role_config(self, role: str) -> str:
        """A stage config with the dataset description written in
        (``cobra``, ``irn``, ``seg``)."""
        return self.path('configs', f'{role}.py')

    def stage_config(self, stage: str) -> str:
        """The config a stage's tool runs (every option and path in)."""
        return self.path('configs', 'stages', f'{stage}.py')

    def log(self, stage: str, node: int = 0) -> str:
        name = stage if node == 0 else f'{stage}.node{node}'
        return self.path('logs', f'{name}.log')

    @property
    def logs(self) -> str:
        return self.path('logs')

    @property
    def superseded(self) -> str:
        """Where the records and outputs of redone stages go."""
        return self.path('superseded')

    @property
    def figures(self) -> str:
        return self.path('figures')

    @property
    def summary(self) -> str:
        """``summary.json`` (``summary.md`` beside it)."""
        return self.path('summary.json')
