"""The one markdown table writer (``utils.markdown``)."""
import pytest

from mmseg_cobra.utils.markdown import markdown_row, markdown_table


def test_table_lines_are_unpadded():
    lines = markdown_table(['maps', 'mIoU'], [('seed (fuse)', '61.25'),
                                              ('walk', 70)])
    assert lines == [
        '| maps | mIoU |', '| --- | --- |', '| seed (fuse) | 61.25 |',
        '| walk | 70 |'
    ]
    assert markdown_row(['a', 1.5]) == '| a | 1.5 |'


def test_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match=r"3 cells for 2 columns"):
        markdown_table(['a', 'b'], [(1, 2, 3)])
