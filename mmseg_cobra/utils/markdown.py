"""Markdown tables, one way for every report (the pipeline summary, the
mask report, the ablation, the benchmarks).

PrettyTable (pinned) pads every cell to its column's width; these tables
are read by people and by ``grep``/tests as ``| seed (fuse) | ...``, so
their cells are written unpadded.
"""
from typing import Iterable, List, Sequence

Rows = Iterable[Sequence]


def markdown_row(cells: Sequence) -> str:
    """``| a | b |`` (each cell through ``str``)."""
    return '| ' + ' | '.join(str(c) for c in cells) + ' |'


def markdown_table(header: Sequence[str], rows: Rows = ()) -> List[str]:
    """The lines of a table: the header, the ``| --- |`` rule, one line per
    row.

    Args:
        header (Sequence[str]): Column headings.
        rows (Iterable[Sequence]): Cells, as many as the header's.

    Returns:
        list[str]: The table's lines, without newlines.
    """
    lines = [markdown_row(header), markdown_row(['---'] * len(header))]
    for cells in rows:
        if len(cells) != len(header):
            raise ValueError(f'{len(cells)} cells for {len(header)} columns '
                             f'({list(header)}): {list(cells)}')
        lines.append(markdown_row(cells))
    return lines


__all__ = ['markdown_row', 'markdown_table']
