"""One way to write a file: ``mmseg_cobra/utils/file_io.py``'s atomic
writers, used by every writer of the package, its tools and benchmarks."""
import ast
import glob
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmseg_cobra.utils.file_io import (IGNORE_COLOUR, palette_table,
                                       save_figure, save_image, save_label_png,
                                       save_npy, save_npz)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: methods/functions that write a file (``x.save(...)``, ``np.save`` ...)
WRITING_CALLS = {
    'save', 'savez', 'savez_compressed', 'savefig', 'imwrite', 'dump',
    'write_bytes', 'write_text', 'fdopen'
}
#: the direct writes that stay (file, the call's source), with the reason
ALLOWED = {
    ('mmseg_cobra/pipeline/work_dir_lock.py', 'os.fdopen(fd, \'w\')'):
    'the lock file is created with O_EXCL: creating it is the lock',
    ('mmseg_cobra/pipeline/work_dir_lock.py', 'json.dump(self._content(), f)'):
    'the content of that lock file, written through the O_EXCL handle',
    ('mmseg_cobra/offline/label_writers.py', "open(os.devnull, 'w')"):
    'progress output of the other ranks, discarded',
    ('mmseg_cobra/pipeline/runner.py', "open(log_path, 'a')"):
    "a stage tool's log, appended to as it runs",
    ('mmseg_cobra/engine/hooks/seed_writer_hook.py', "open(manifest, 'a')"):
    'an append-only list of the seeds written (a torn last line is '
    'ignored when it is read)',
}


def _sources():
    for top in ('mmseg_cobra', 'tools', 'benchmarks'):
        for path in sorted(
                glob.glob(osp.join(REPO, top, '**', '*.py'), recursive=True)):
            rel = osp.relpath(path, REPO)
            if '.mim' not in rel and rel != 'mmseg_cobra/utils/file_io.py':
                yield rel, path


def _writes(tree: ast.AST):
    """The calls of ``tree`` that write a file directly."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(
            func, 'id', None)
        if name == 'open':
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == 'mode'), None)
            if isinstance(mode,
                          ast.Constant) and set(str(mode.value)) & set('wax+'):
                yield node
        elif name in WRITING_CALLS and isinstance(func, ast.Attribute):
            yield node


def test_every_writer_goes_through_file_io():
    found = []
    for rel, path in _sources():
        with open(path) as f:
            source = f.read()
        for call in _writes(ast.parse(source)):
            text = ast.get_source_segment(source, call)
            if (rel, text) not in ALLOWED:
                found.append(f'{rel}:{call.lineno}: {text}')
    assert not found, ('write through mmseg_cobra.utils.file_io '
                       '(atomic_write and its writers):\n' + '\n'.join(found))


def test_allowed_writes_still_exist():
    for (rel, snippet), why in ALLOWED.items():
        with open(osp.join(REPO, rel)) as f:
            assert snippet in f.read(), f'{rel}: {snippet} ({why}) is gone'


def test_label_png_palette_and_greyscale(tmp_path):
    label = np.array([[0, 1], [255, 2]], np.uint8)
    path = save_label_png(label, str(tmp_path / 'a' / 'p.png'),
                          [[0, 0, 0], [128, 0, 0], [0, 128, 0]])
    with Image.open(path) as png:
        assert png.mode == 'P'
        np.testing.assert_array_equal(np.asarray(png), label)
        table = png.getpalette()
    assert table[3:6] == [128, 0, 0] and table[9:12] == [0, 0, 0]
    assert tuple(table[255 * 3:256 * 3]) == IGNORE_COLOUR
    path = save_label_png(label, str(tmp_path / 'g.png'))
    with Image.open(path) as png:
        assert png.mode == 'L'
        np.testing.assert_array_equal(np.asarray(png), label)
    assert not glob.glob(str(tmp_path / '**' / '.*tmp*'), recursive=True)


def test_palette_of_256_classes_keeps_its_last_colour():
    palette = [[i, i, i] for i in range(256)]
    assert palette_table(palette)[255 * 3:] == [255, 255, 255]


def test_writers_round_trip(tmp_path):
    image = np.random.RandomState(0).randint(0, 255, (6, 5, 3), np.uint8)
    with Image.open(save_image(image, str(tmp_path / 'i.png'))) as img:
        np.testing.assert_array_equal(np.asarray(img), image)
    labels = {'a': np.ones(3, np.float32)}
    loaded = np.load(
        save_npy(labels, str(tmp_path / 'l.npy')), allow_pickle=True).item()
    np.testing.assert_array_equal(loaded['a'], labels['a'])
    with np.load(save_npz(str(tmp_path / 'z.npz'), x=np.arange(3))) as z:
        assert z['x'].tolist() == [0, 1, 2]


def test_figure_is_written_whole_and_closed(tmp_path):
    plt = pytest.importorskip('matplotlib.pyplot')
    fig = plt.figure()
    plt.plot([0, 1], [1, 0])
    path = save_figure(fig, str(tmp_path / 'f' / 'c.png'))
    assert not plt.fignum_exists(fig.number)
    with Image.open(path) as img:
        assert img.size[0] > 0


def test_written_files_are_synced_before_the_rename(tmp_path, monkeypatch):
    """A crash after the rename never leaves an empty file under the final
    name: the temporary is fsync'ed first."""
    import os

    from mmseg_cobra.utils import file_io
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(file_io.os, 'fsync',
                        lambda fd: events.append('fsync') or real_fsync(fd))
    monkeypatch.setattr(
        file_io.os, 'replace',
        lambda a, b: events.append('rename') or real_replace(a, b))
    file_io.dump_json({'a': 1}, str(tmp_path / 'r.json'))
    assert events == ['fsync', 'rename']


@pytest.mark.parametrize('code,fix', [(28, 'Free disk space'),
                                      (30, 'Make it writable')])
def test_unwritable_folder_named_with_the_fix(tmp_path, monkeypatch, code,
                                              fix):
    import os

    from mmseg_cobra.utils import file_io

    def refuse(path, *args, **kwargs):
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(file_io.os, 'open', refuse)
    with pytest.raises(file_io.NotWritableError) as err:
        file_io.check_writable(str(tmp_path / 'work'))
    assert f'cannot write in {tmp_path / "work"}' in str(err.value)
    assert fix in str(err.value) and 'resumes' in str(err.value)


def test_nearly_full_disk_refused_before_the_job(tmp_path):
    from mmseg_cobra.utils.file_io import NotWritableError, check_writable
    check_writable(str(tmp_path))
    with pytest.raises(NotWritableError, match='MB free, less than'):
        check_writable(str(tmp_path), min_free_mb=1e12)
