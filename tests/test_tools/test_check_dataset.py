"""Bad input is found before a job starts, named, and optionally skipped."""
import os
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
from conftest import REPO, TINY_CONFIG, run_tool
from PIL import Image

CLASSES = ('background', 'disc', 'square', 'triangle', 'ring')


@pytest.fixture
def root(synthetic_root, tmp_path):
    dst = tmp_path / 'data'
    shutil.copytree(synthetic_root, dst)
    return str(dst)


def ids(root, split='train_aug'):
    with open(osp.join(root, f'ImageSets/Segmentation/{split}.txt')) as f:
        return f.read().split()


def options(root):
    return [
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}'
    ]


def truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 3])


def test_check_sample_finds_each_kind_of_bad_file(root):
    from mmseg_cobra.datasets.dataset_check import check_sample
    img_id = ids(root)[0]
    img = osp.join(root, 'JPEGImages', img_id + '.jpg')
    mask = osp.join(root, 'SegmentationClassAug', img_id + '.png')
    assert check_sample((img_id, img, mask, True), 5) == (img_id, [])
    # a mask with an unknown class id
    label = np.asarray(Image.open(mask)).copy()
    label[0, 0] = 9
    Image.fromarray(label).save(mask)
    _, problems = check_sample((img_id, img, mask, True), 5)
    assert len(problems) == 1 and 'class id(s) 9' in problems[0]
    assert mask in problems[0]
    # a mask of the wrong size
    Image.fromarray(label[:100, :90] * 0).save(mask)
    _, problems = check_sample((img_id, img, mask, True), 5)
    assert problems == [f'mask {mask} is 100x90 but its image is 160x160']
    # a truncated JPEG (OpenCV would decode part of it without an error)
    truncate(img)
    _, problems = check_sample((img_id, img, mask, True), 5)
    assert f'image {img} does not decode' in problems[0]
    # missing files
    os.remove(mask)
    _, problems = check_sample((img_id, img, mask, True), 5)
    assert f'mask {mask} is missing' in problems
    assert check_sample((img_id, img, mask, False), 5)[1] == problems[:1]


@pytest.mark.slow
def test_check_dataset_tool_names_every_bad_file(root):
    names = ids(root)
    truncate(osp.join(root, 'JPEGImages', names[1] + '.jpg'))
    mask = osp.join(root, 'SegmentationClassAug', names[2] + '.png')
    label = np.asarray(Image.open(mask)).copy()
    label[5, 5] = 7
    Image.fromarray(label).save(mask)
    result = run_tool([
        sys.executable, 'tools/check_dataset.py', TINY_CONFIG, '--keys',
        'train_dataloader', '--nproc', '1', *options(root)
    ])
    assert result.returncode == 1
    out = result.stdout
    assert '2 of 24 images have problems' in out
    assert names[1] + '.jpg does not decode' in out
    assert 'class id(s) 7' in out and names[2] + '.png' in out

    # training stops before it starts, naming the files and the way out
    work = osp.join(root, 'work')
    train = [
        sys.executable, 'tools/train.py', TINY_CONFIG, '--work-dir', work,
        *options(root), 'train_cfg.max_epochs=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]
    result = run_tool(train)
    assert result.returncode != 0
    err = result.stderr
    assert 'dataset check (train_dataloader) failed' in err
    assert names[1] + '.jpg' in err and '--skip-bad-images' in err
    assert not osp.isfile(osp.join(work, 'epoch_1.pth'))
    # ... or leaves them out and says how many
    result = run_tool(train[:3] + ['--skip-bad-images'] + train[3:])
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert 'skipping 2 bad images' in log
    assert '2 of 24 images left out' in log
    listed = open(osp.join(work, 'bad_images_train_dataloader.txt')).read()
    assert sorted(listed.split()) == sorted(names[1:3])
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


@pytest.mark.slow
@pytest.mark.parametrize('case', [
    'missing image', 'label file of another '
    'dataset', 'label file missing an image', 'empty image list'
])
def test_dataset_errors_are_named_before_training(root, case):
    names = ids(root)
    labels_path = osp.join(root, 'cls_labels.npy')
    labels = np.load(labels_path, allow_pickle=True).item()
    if case == 'missing image':
        os.remove(osp.join(root, 'JPEGImages', names[3] + '.jpg'))
        want = names[3] + '.jpg'
    elif case == 'label file of another dataset':
        np.save(labels_path, {k: np.zeros(20, np.float32) for k in labels})
        want = 'has 20 entries but the dataset has 4 foreground classes'
    elif case == 'label file missing an image':
        del labels[names[4]]
        np.save(labels_path, labels)
        want = f'image {names[4]}'
    else:
        with open(osp.join(root, 'ImageSets/Segmentation/train_aug.txt'),
                  'w') as f:
            f.write('\n')
        want = 'is empty'
    result = run_tool([
        sys.executable, 'tools/check_dataset.py', TINY_CONFIG, '--keys',
        'train_dataloader', *options(root)
    ])
    assert result.returncode != 0
    assert want in result.stderr + result.stdout
    assert 'Traceback' not in result.stderr


def _save_checkpoint(config, path):
    """A checkpoint of ``config``'s (untrained) model, as mmengine writes."""
    import torch
    from mmengine.config import Config
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, config))
    model = MODELS.build(cfg.model)
    torch.save(
        dict(state_dict=model.state_dict(), meta=dict(cfg=cfg.pretty_text)),
        path)


@pytest.mark.slow
def test_checkpoint_of_another_model_is_refused(root, tmp_path):
    """An IRN checkpoint given to the CoBra config stops the seed run before
    any seed is written (mmengine alone would load it with warnings and
    test random weights)."""
    ckpt = str(tmp_path / 'irn.pth')
    _save_checkpoint('configs/irn/irn_r18_synthetic.py', ckpt)
    seeds = str(tmp_path / 'seeds')
    result = run_tool([
        sys.executable, 'tools/test.py', TINY_CONFIG, ckpt, '--work-dir',
        str(tmp_path / 'work'), '--no-dataset-check', *options(root),
        f'custom_hooks.SeedWriterHook.out_dir={seeds}'
    ])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert f'error: checkpoint {ckpt} does not fit the config\'s model ' \
        '(it was saved from a IRNBoundary model)' in result.stderr
    assert 'weights of CoBra are not in it' in result.stderr
    assert not osp.isdir(seeds) or not os.listdir(seeds)
    # the same model with another class count: named by shape
    from mmengine.config import Config
    other = str(tmp_path / 'cobra_7.py')
    Config.fromfile(TINY_CONFIG).dump(other)
    with open(other, 'a') as f:
        f.write('\nmodel.update(num_classes=7)\n')
    ckpt7 = str(tmp_path / 'cobra7.pth')
    _save_checkpoint(other, ckpt7)
    result = run_tool([
        sys.executable, 'tools/test.py', TINY_CONFIG, ckpt7, '--work-dir',
        str(tmp_path / 'work'), '--no-dataset-check', *options(root),
        f'custom_hooks.SeedWriterHook.out_dir={seeds}'
    ])
    assert result.returncode == 1
    assert 'have another shape (e.g.' in result.stderr
    assert '(8, ' in result.stderr and 'another class count' in \
        result.stderr


@pytest.mark.slow
def test_wrong_custom_imports_is_named(tmp_path):
    cfg = tmp_path / 'typo.py'
    cfg.write_text(f"_base_ = ['{TINY_CONFIG}']\n"
                   "custom_imports = dict(imports=['mmseg_cobro'], "
                   "allow_failed_imports=False)\n")
    result = run_tool([
        sys.executable, 'tools/train.py',
        str(cfg), '--work-dir',
        str(tmp_path / 'work')
    ])
    assert result.returncode == 1
    assert 'Traceback' not in result.stderr
    assert "a module named in its custom_imports cannot be imported: " \
        "'mmseg_cobro' (No module named 'mmseg_cobro'). Did you mean " \
        "'mmseg_cobra'?" in result.stderr
    assert "this project's module is 'mmseg_cobra'" in result.stderr


@pytest.mark.slow
def test_pipeline_skips_bad_images_and_counts_them(root, tmp_path):
    """skip_bad_images=True in a pipeline config: the corrupt image is left
    out of training and seeds, every other image gets its seed, and the
    summary says how many were left out."""
    bad = ids(root)[3]
    truncate(osp.join(root, 'JPEGImages', bad + '.jpg'))
    work = str(tmp_path / 'work')
    cmd = [
        sys.executable,
        'tools/run_pipeline.py',
        osp.join(REPO, 'configs/pipeline/synthetic_demo.py'),
        '--work-dir',
        work,
        '--stages',
        'classifier',
        'seeds',
        'seed_eval',
        '--cfg-options',
        f'dataset.data_root={root}',
        'cfg_options.classifier.train_cfg.max_epochs=1',
        'cfg_options.classifier.train_dataloader.num_workers=0',
        'cfg_options.classifier.train_dataloader.persistent_workers=False',
        'cfg_options.seeds.test_dataloader.num_workers=0',
        # one scale: which images get seeds, not how, is what is tested
        'cfg_options.seeds.model.test_cfg.scales=[1.0]'
    ]
    result = run_tool(cmd)
    assert result.returncode == 1  # stops, naming the file
    assert f'{bad}.jpg does not decode' in result.stderr
    result = run_tool(cmd + ['skip_bad_images=True'])
    assert result.returncode == 0, result.stderr[-2000:]
    seeds = [
        n for n in os.listdir(osp.join(work, 'seeds')) if n.endswith('.npz')
    ]
    assert len(seeds) == len(ids(root)) - 1 and bad + '.npz' not in seeds
    assert '1 image(s) left out as bad files (skip_bad_images): ' in \
        result.stdout
    assert 'cobra/bad_images_train_dataloader.txt (1)' in result.stdout
    assert 'cobra/bad_images_test_dataloader.txt (1)' in result.stdout


def test_check_remembers_good_files_and_rechecks_changed_ones(
        root, tmp_path, monkeypatch):
    from mmengine.config import Config

    from mmseg_cobra.datasets.dataset_check import check_dataset
    from mmseg_cobra.datasets.dataset_tools import dataset_from_config
    monkeypatch.setenv('MMSEG_COBRA_CACHE_DIR', str(tmp_path / 'cache'))
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.train_dataloader.dataset.data_root = root
    dataset = dataset_from_config(cfg, 'train_dataloader')
    n = len(dataset)
    stats = {}
    assert check_dataset(dataset, stats=stats) == {}
    assert stats == dict(checked=n, cached=0)
    assert check_dataset(dataset, stats=stats) == {}
    assert stats == dict(checked=0, cached=n)  # nothing decoded again
    bad = ids(root)[5]
    truncate(osp.join(root, 'JPEGImages', bad + '.jpg'))
    found = check_dataset(dataset, stats=stats)
    assert list(found) == [bad] and stats == dict(checked=1, cached=n - 1)
    # bad files are never remembered; --no-check-cache decodes everything
    assert list(check_dataset(dataset, stats=stats)) == [bad]
    assert stats['checked'] == 1
    check_dataset(dataset, use_cache=False, stats=stats)
    assert stats == dict(checked=n, cached=0)


def test_dataset_on_another_storage_is_built_and_checked(
        root, tmp_path, monkeypatch):
    """A dataset whose config sets ``backend_args`` (object storage) is
    listed, labelled and checked through that backend: no local path is
    ever stat-ed, and nothing is cached (no modification times there)."""
    from mmengine.fileio.backends import BaseStorageBackend, register_backend
    from mmseg.registry import DATASETS

    from mmseg_cobra.datasets.dataset_check import check_dataset
    monkeypatch.setenv('MMSEG_COBRA_CACHE_DIR', str(tmp_path / 'cache'))
    asked = []

    def local(uri):
        asked.append(uri)
        return uri.replace('store://data', root)

    @register_backend('cobra_test_dataset_store', force=True, prefixes='store')
    class Store(BaseStorageBackend):

        def get(self, filepath):
            with open(local(filepath), 'rb') as f:
                return f.read()

        def get_text(self, filepath, encoding='utf-8'):
            return self.get(filepath).decode(encoding)

        def isfile(self, filepath):
            return osp.isfile(local(filepath))

        def isdir(self, filepath):
            return osp.isdir(local(filepath))

        def join_path(self, filepath, *filepaths):
            return '/'.join([filepath.rstrip('/'), *filepaths])

    dataset = DATASETS.build(
        dict(
            type='ImageLevelSegDataset',
            data_root='store://data',
            # mmseg reads the image list from the local disk
            ann_file=osp.join(root, 'ImageSets/Segmentation/train_aug.txt'),
            data_prefix=dict(
                img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
            cls_label_file='cls_labels.npy',
            metainfo=dict(classes=CLASSES),
            backend_args=dict(backend='cobra_test_dataset_store'),
            pipeline=[]))
    assert len(dataset) == 24 and dataset[0]['gt_label'].shape == (4, )
    for name in ('JPEGImages', 'cls_labels.npy'):
        assert any(f'store://data/{name}' in uri for uri in asked), name
    bad = ids(root)[3]
    truncate(osp.join(root, 'JPEGImages', bad + '.jpg'))
    stats = {}
    found = check_dataset(dataset, stats=stats)
    assert list(found) == [bad] and stats == dict(checked=24, cached=0)
    assert f'image store://data/JPEGImages/{bad}.jpg does not decode' in \
        found[bad][0]
    assert any('store://data/SegmentationClassAug' in u for u in asked)
    assert not osp.exists(tmp_path / 'cache')
