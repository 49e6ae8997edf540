"""The label-writer loop behind make_ir_labels, masks_from_walks and
crf_masks, on a writer of its own: each image gets its palette PNG, an
image whose PNG exists is kept (resume), an unreadable image or input is
skipped with its reason and never stops the others; the counts, the
first reasons in the dataset's order and the exit status follow one
convention (WriteSummary)."""
import os.path as osp

import numpy as np
from PIL import Image

from mmseg_cobra.offline.label_writers import (EXISTS, NO_FOREGROUND, WRITTEN,
                                               LabelWriter, WriteSummary)
from mmseg_cobra.structures import IGNORE_INDEX
from mmseg_cobra.structures.seed_io import SeedFileError

PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0]]


class _BrightWriter(LabelWriter):
    """Class 1 where the red channel is above 127, background elsewhere,
    unknown on the first row; ``missing`` has no input file, ``dark``
    images get no foreground."""

    def make_label(self, img_id, image):
        if img_id == 'missing':
            raise SeedFileError(f'seed file of {img_id} is missing')
        label = np.where(image[..., 0] > 127, 1, 0).astype(np.uint8)
        label[0] = IGNORE_INDEX
        note = None if label[1:].any() else f'{NO_FOREGROUND} (dark)'
        return label, note


def _images(root):
    tasks = []
    for img_id, red in (('bright', 200), ('dark', 10), ('missing', 200)):
        img = np.zeros((6, 5, 3), np.uint8)
        img[2:, 1:4, 0] = red
        path = osp.join(root, img_id + '.png')
        Image.fromarray(img).save(path)
        tasks.append((img_id, path))
    corrupt = osp.join(root, 'corrupt.jpg')
    with open(corrupt, 'wb') as f:
        f.write(b'\xff\xd8 not a jpeg')
    tasks.insert(1, ('corrupt', corrupt))
    return tasks


def test_writer_labels_skips_with_reasons_and_resumes(tmp_path, capsys):
    tasks = _images(str(tmp_path))
    out = str(tmp_path / 'labels')
    summary = _BrightWriter(out, PALETTE, 'ir_label').run(tasks)
    assert (summary.total, summary.written, summary.existing, summary.skipped,
            summary.no_foreground) == (4, 2, 0, 2, 1)
    assert list(summary.skipped_ids) == ['corrupt', 'missing']  # in order
    assert summary.skipped_ids['missing'] == 'seed file of missing is missing'
    assert 'corrupt.jpg unreadable' in summary.skipped_ids['corrupt']
    with Image.open(osp.join(out, 'bright.png')) as png:
        assert png.mode == 'P'
        assert png.getpalette()[3:6] == PALETTE[1]
        label = np.asarray(png)
    expected = np.zeros((6, 5), np.uint8)
    expected[2:, 1:4] = 1
    expected[0] = IGNORE_INDEX
    np.testing.assert_array_equal(label, expected)
    assert not osp.exists(osp.join(out, 'missing.png'))
    printed = capsys.readouterr().out
    assert 'written 2, already there 0, skipped 2' in printed
    assert '1 of 4 images got no confident foreground' in printed
    assert summary.exit_code() == 1
    assert summary.exit_code(skip_bad_images=True) == 0

    # a second run keeps what is there and retries only the skipped
    before = osp.getmtime(osp.join(out, 'bright.png'))
    again = _BrightWriter(out, PALETTE, 'ir_label').run(tasks)
    assert (again.written, again.existing, again.skipped) == (0, 2, 2)
    assert osp.getmtime(osp.join(out, 'bright.png')) == before


def test_every_image_there_says_nothing_is_left(tmp_path, capsys):
    tasks = [t for t in _images(str(tmp_path)) if t[0] == 'bright']
    out = str(tmp_path / 'labels')
    _BrightWriter(out, PALETTE, 'ir_label').run(tasks)
    capsys.readouterr()
    summary = _BrightWriter(out, PALETTE, 'ir_label').run(tasks)
    assert summary.exit_code() == 0
    assert 'nothing left to do: all 1 outputs already exist' in \
        capsys.readouterr().out


def test_summaries_of_ranks_merge_in_the_datasets_order():
    order = {f'img{i}': i for i in range(30)}
    rank0 = WriteSummary.of({
        f'img{i}': (f'bad {i}' if i % 3 == 0 else WRITTEN)
        for i in range(0, 30, 2)
    })
    rank1 = WriteSummary.of({
        f'img{i}': (f'bad {i}' if i % 3 == 0 else EXISTS)
        for i in range(1, 30, 2)
    })
    merged = WriteSummary.merge([rank1, rank0], order)
    assert (merged.total, merged.written, merged.existing,
            merged.skipped) == (30, 10, 10, 10)
    assert list(merged.skipped_ids) == [f'img{i}' for i in range(0, 30, 3)]
    assert WriteSummary.merge(None, order) is None  # not rank 0


def test_examples_are_capped_and_all_skipped_fails_even_when_allowed():
    status = {f'img{i}': 'unreadable' for i in range(50)}
    summary = WriteSummary.of(status)
    assert summary.skipped == 50
    assert len(summary.skipped_ids) == WriteSummary.EXAMPLES
    assert summary.exit_code(skip_bad_images=True) == 1  # no label at all
