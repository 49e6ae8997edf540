"""The pipeline's summary: every finished stage's record as one table.

``summary.md`` (seed, mask and segmentation mIoU, bad images left out,
seconds and peak memory per stage, links to the figures under
``figures/``) and ``summary.json`` (every record) in
the work dir, written by the driving node after the last stage.
"""
import json
import os.path as osp
from typing import Dict, List, Sequence

from ..offline.mask_report import ROW_LABELS, RULE_VALUE
from ..utils.file_io import dump_json, write_text
from ..utils.markdown import markdown_table
from .figures import pipeline_figures


def write_summary(work_dir: str, state_dir: str, stages: Sequence[str],
                  bad: Dict[str, List[str]]) -> dict:
    """Collect the records of ``stages`` (in ``state_dir``) into
    ``<work_dir>/summary.{json,md}``; print the table.

    Args:
        work_dir (str): The pipeline's work dir.
        state_dir (str): Its stage records.
        stages (Sequence[str]): Every stage, in order.
        bad (dict): Images left out as bad files, ``{list file: ids}``.

    Returns:
        dict: The records (and ``bad_images`` counts), as in the JSON.
    """
    results = {}
    for stage in stages:
        path = osp.join(state_dir, stage + '.json')
        if osp.isfile(path):
            with open(path) as f:
                results[stage] = json.load(f)
    rows = _result_rows(results)
    lines = markdown_table(['result', 'mIoU (%)'],
                           [(name, f'{value:.2f}') for name, value in rows])
    if bad:
        results['bad_images'] = {k: len(v) for k, v in bad.items()}
        n = len({i for ids in bad.values() for i in ids})
        lines += [
            '', f'{n} image(s) left out as bad files '
            '(skip_bad_images): ' + ', '.join(f'{k} ({len(v)})'
                                              for k, v in bad.items())
        ]
    lines += [''] + markdown_table(
        ['stage', 'seconds', 'peak memory (MiB, one process)'],
        [(s, r['seconds'], r.get('peak_rss_mb', '-'))
         for s, r in results.items() if s in stages])
    lines += _figure_lines(work_dir, results)
    text = '\n'.join(lines) + '\n'
    write_text(text, osp.join(work_dir, 'summary.md'))
    dump_json(results, osp.join(work_dir, 'summary.json'))
    print(text)
    return results


def _figure_lines(work_dir: str, results: dict) -> List[str]:
    """Draw the figures (:mod:`.figures`) and link them; a figure
    that cannot be drawn is named, and the summary is written anyway."""
    try:
        figures = pipeline_figures(work_dir, results)
    except Exception as exc:  # matplotlib missing, a font, a full disk...
        return ['', f'(figures not drawn: {type(exc).__name__}: {exc})']
    if not figures:
        return []
    out = ['', '## Figures', '']
    for path in figures:
        name = osp.splitext(osp.basename(path))[0].replace('_', ' ')
        out += [f'![{name}]({path})', '']
    return out[:-1]


def _result_rows(results: dict) -> List[tuple]:
    """``(label, mIoU)`` of the seeds, the masks (every row swept the same
    way on the same images) and the segmentation."""
    rows = []
    seed = results.get('seed_eval', {})
    for source in ('cnn', 'vit', 'mean', 'max', 'fuse'):
        if f'seed_{source}' in seed:
            rows.append((f'seed mIoU ({source})', seed[f'seed_{source}']))
    if 'mask_eval' in results:
        # equal footing: every row swept the same way on the same images
        ev = results['mask_eval']
        scored = ev.get('rows', {})  # none in an older version's record
        for row, label in ROW_LABELS.items():
            r = scored.get(row)
            if r is None or row.startswith('seed_') and row != \
                    'seed_fuse':
                continue
            rows.append((f'{label}, swept ({RULE_VALUE[r["rule"]]} '
                         f'{r["best"]:.2f})', r['mIoU']))
        for row in ('seed_fuse', 'walk_irn'):
            if row in scored:
                rows.append((f'{ROW_LABELS[row]}, bg 0.25 (IRN default)',
                             scored[row]['at_default']))
        rows.append(('mask mIoU (IRN config defaults)', ev['mask_miou']))
    if 'seg_eval' in results:
        rows.append(('segmentation mIoU', results['seg_eval']['seg_miou']))
    return rows


__all__ = ['write_summary']
