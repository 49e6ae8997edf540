from typing import Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.registry import HOOKS

#: the per-iteration figures CoBra.loss logs -> the epoch records written
RECORDS = dict(
    guide_cap_prec='guide/cap_same_class',
    guide_cap_chance='guide/cap_chance',
    guide_sap_prec='guide/sap_in_class',
    guide_sap_chance='guide/sap_chance')
KEYS = tuple(RECORDS)


@HOOKS.register_module()
class GuideQualityHook(Hook):
    """Print, per epoch, how useful the guidance of CAP and SAP was.

    ``CoBra.loss`` logs four figures per iteration when the training crops
    carry their ground-truth masks (``LoadAnnotations`` in the pipeline; only
    the diagnostics read them): the fraction of CAP positives (top ViT
    affinities) sharing the patch's class and of SAP positives (top CNN
    scores of the pseudo class) inside that class, each with its chance
    level. This hook averages them over the epoch's iterations and prints
    one line, e.g.::

        epoch 3 guide quality: CAP positives same class 71.2 % (chance
        48.0 %), SAP positives in the pseudo class 83.5 % (chance 40.1 %)

    The same four figures (%) are recorded through the runner's visualizer
    as ``guide/cap_same_class``, ``guide/cap_chance``, ``guide/sap_in_class``
    and ``guide/sap_chance`` with the epoch as step, so they land in
    ``vis_data/scalars.json`` (where ``tools/ablate.py`` reads them) and in
    any other visualizer backend (TensorBoard, W&B).

    Nothing is printed or recorded for epochs without those figures
    (complementary losses off, or no masks in the pipeline).
    """
    priority = 'LOW'

    def __init__(self) -> None:
        self.epoch_start_iter: Optional[int] = None

    def before_train_epoch(self, runner) -> None:
        self.epoch_start_iter = runner.iter

    def after_train_epoch(self, runner) -> None:
        start = self.epoch_start_iter
        n = runner.iter - (runner.iter if start is None else start)
        hub = runner.message_hub
        values = {}
        for key in KEYS:
            buffer = hub.log_scalars.get(f'train/{key}')
            if buffer is None or n <= 0 or len(buffer.data[0]) < n:
                return
            values[key] = 100 * float(buffer.mean(n))
        print_log(
            f'epoch {runner.epoch + 1} guide quality: CAP positives same '
            f'class {values["guide_cap_prec"]:.1f} % (chance '
            f'{values["guide_cap_chance"]:.1f} %), SAP positives in the '
            f'pseudo class {values["guide_sap_prec"]:.1f} % (chance '
            f'{values["guide_sap_chance"]:.1f} %)',
            logger='current')
        runner.visualizer.add_scalars(
            {
                RECORDS[k]: v
                for k, v in values.items()
            }, step=runner.epoch + 1)
