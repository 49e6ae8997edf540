"""Run the reference implementation on shared random weights; save its outputs.

    python tests/parity/reference_outputs.py \
        --reference-dir PATH/TO/Cobra
        [--data-dir tests/data/reference_parity] [--seed 0]

The bridge between this project and the reference implementation: its code
is imported from a checkout the user gives (nothing of it is shipped or
copied), its three networks (ResNet-152 CAM net, TS-CAM DeiT-S, ResNet-152
IRN) are built and filled with random weights drawn from a fixed seed in the
order of the key manifest (``manifest.json``: names and shapes of their state
dicts), and its own step functions run on the small images in
``<data-dir>/images`` (PNG, RGB; image-level labels in ``labels.json``):

1. ``step/make_cam._work``: multi-scale CAMs of both branches, attention;
2. ``step/cam_to_ir_label._work``: fusion, IR labels (denseCRF), once as
   released (percentile of the raw summed attention: ``ir_label_raw``) and
   once with its threshold function taking the percentile of the
   max-normalised attention, this project's default (``ir_label``), and
   once with a fixed threshold (``ir_label_fixed``: background 0.15,
   foreground 0.65; random weights give a flat attention map, whose
   percentile leaves no confident foreground);
3. ``net/resnet50_irn.EdgeDisplacement`` and ``misc/indexing``: the boundary
   map and the random walk on the stride-4 grid, and
   ``step/make_sem_seg_labels_npy._work``: the walked maps at image size;
4. ``step/gen_seg_label.run``: the final masks (0.31 rule + denseCRF).

Everything lands in ``<data-dir>/reference_outputs.npz``, which
``tests/test_apis/test_reference_parity.py`` compares with this project's
models filled the same way (through the checkpoint converters).
``--write-manifest`` (re)writes ``manifest.json`` from the reference's
classes first.

Patches, each only what stops the reference running on a CPU machine
without its downloads (the reference's files are not modified; modules with
a source patch are compiled from patched text in memory):

- CUDA: ``Tensor.cuda`` / ``Module.cuda`` return their input,
  ``torch.cuda.device`` is a no-op context, ``torch.cuda.device_count`` is
  1 (and ``torch.sparse.FloatTensor``, where a torch lacks it, is
  ``torch.sparse_coo_tensor``);
- ImageNet downloads: ``net.resnet50.resnet152`` is built with
  ``pretrained=False`` (the weights are replaced anyway);
- ``net/vision_transformer.py``: its ``Block`` is called with ``qk_scale=``
  and ``vis=``, which it does not accept (TypeError): both dropped;
- ``step/cam_to_ir_label.py``: the attention file is named after Python's
  builtin ``id`` (a typo): ``img_name``; the progress prints of the step
  scripts divide by ``len // 20``, zero under 20 images: guarded;
- ``step/gen_seg_label.py`` imports ``chainercv``, which it does not use:
  stubbed; the list of images it writes is the images given here.

Needs the reference's own dependencies importable (timm, imageio, tqdm,
pydensecrf, opencv) besides this project's environment.
"""
import argparse
import contextlib
import json
import os
import os.path as osp
import shutil
import sys
import tempfile
import types
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from PIL import Image

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path[:0] = [osp.dirname(TESTS), TESTS]

from parity.reference_weights import (manifest_from_state_dict,
                                      random_reference_state)

from mmseg_cobra.utils.file_io import (dump_json, save_image, save_npz,
                                       write_text)

DEFAULT_DATA_DIR = 'tests/data/reference_parity'
#: the seed of each network's weights is ``--seed`` plus this offset
WEIGHT_SEED_OFFSET = dict(cnn=0, vit=1, irn=2)
#: the reference's settings used here (its run.sh / run_sample.py defaults)
SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
BETA, EXP_TIMES, WALK_RADIUS = 10, 8, 5
#: the IR-label threshold of the third run; the reference snaps it to the
#: 0.05 grid below: background 0.15, foreground 0.65
FIXED_IR_THRESHOLD = 0.17

PROGRESS = ('len(databin) // 20', 'max(1, len(databin) // 20)',
            'progress print divides by zero under 20 images')
# (old, new, why) per reference file; every occurrence is replaced, and an
# expected text that is missing stops the tool
SOURCE_PATCHES = {
    'net/vision_transformer.py': [
        ('qkv_bias=qkv_bias, qk_scale=qk_scale,', 'qkv_bias=qkv_bias,',
         'Block does not accept qk_scale'),
        ('norm_layer=norm_layer, vis=vis)', 'norm_layer=norm_layer)',
         'Block does not accept vis'),
    ],
    'step/make_cam.py': [PROGRESS],
    'step/cam_to_ir_label.py': [
        ('f"{id}.npy"', 'f"{img_name}.npy"',
         'attention file named after the builtin id'),
        PROGRESS,
    ],
    'step/make_sem_seg_labels_npy.py': [PROGRESS],
}


def load_patched(ref_dir: str, rel_path: str,
                 module_name: str) -> types.ModuleType:
    """Import a reference file as ``module_name`` with its source patches."""
    path = osp.join(ref_dir, rel_path)
    with open(path) as f:
        source = f.read()
    for old, new, why in SOURCE_PATCHES.get(rel_path, []):
        if old not in source:
            raise RuntimeError(
                f'{path}: expected {old!r} to patch ({why}); is this the '
                'reference implementation?')
        source = source.replace(old, new)
    module = types.ModuleType(module_name)
    module.__file__ = path
    module.__package__ = module_name.rpartition('.')[0]
    sys.modules[module_name] = module
    exec(compile(source, path, 'exec'), module.__dict__)  # noqa: S102
    return module


def patch_cuda() -> None:
    """Make the reference's CUDA calls no-ops on a CPU machine."""
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
    torch.cuda.device = lambda *args, **kwargs: contextlib.nullcontext()
    torch.cuda.device_count = lambda: 1
    if not hasattr(torch.sparse, 'FloatTensor'):  # removed in a later torch
        torch.sparse.FloatTensor = lambda *args: torch.sparse_coo_tensor(*args)


def import_reference(ref_dir: str) -> Dict[str, types.ModuleType]:
    """The reference's modules used here, patched as the module doc says."""
    if not osp.isfile(osp.join(ref_dir, 'step', 'make_cam.py')):
        sys.exit(f'error: {ref_dir} is not a checkout of the reference '
                 'implementation (no step/make_cam.py)')
    patch_cuda()
    sys.modules.setdefault('chainercv', types.ModuleType('chainercv'))
    for name in ('chainercv.datasets', 'chainercv.evaluations'):
        stub = types.ModuleType(name)
        stub.VOCSemanticSegmentationDataset = None
        stub.calc_semantic_segmentation_confusion = None
        sys.modules.setdefault(name, stub)
    sys.path.insert(0, ref_dir)
    cwd = os.getcwd()
    os.chdir(ref_dir)  # voc12.dataloader reads voc12/cls_labels.npy
    try:
        import net  # noqa: F401
        modules = dict(
            vit_base=load_patched(ref_dir, 'net/vision_transformer.py',
                                  'net.vision_transformer'))
        import net.deit_cam
        import net.resnet50
        import net.resnet50_cam
        import net.resnet50_irn
        import voc12.dataloader
        from misc import indexing
        original = net.resnet50.resnet152
        net.resnet50.resnet152 = lambda pretrained=True, **kw: original(
            pretrained=False, **kw)
        modules.update(
            deit_cam=net.deit_cam,
            resnet50_cam=net.resnet50_cam,
            resnet50_irn=net.resnet50_irn,
            dataloader=voc12.dataloader,
            indexing=indexing)
        for rel in ('step/make_cam.py', 'step/cam_to_ir_label.py',
                    'step/make_sem_seg_labels_npy.py',
                    'step/gen_seg_label.py'):
            name = 'step.' + osp.basename(rel)[:-3]
            modules[name[5:]] = load_patched(ref_dir, rel, name)
    finally:
        os.chdir(cwd)
    return modules


def build_networks(ref: Dict[str, types.ModuleType]):
    """The reference's three networks, eval mode, random-initialised."""
    cnn = ref['resnet50_cam'].CAM()
    vit = ref['deit_cam'].Net(num_classes=21)
    irn = ref['resnet50_irn'].EdgeDisplacement()
    return dict(cnn=cnn, vit=vit, irn=irn)


def load_images(
    data_dir: str
) -> Tuple[List[str], Dict[str, np.ndarray], Dict[str, np.ndarray]]:
    with open(osp.join(data_dir, 'labels.json')) as f:
        labels = json.load(f)
    ids = sorted(labels)
    images, multi_hot = {}, {}
    for img_id in ids:
        path = osp.join(data_dir, 'images', img_id + '.png')
        images[img_id] = np.asarray(Image.open(path).convert('RGB'))
        vec = np.zeros(20, np.float32)
        vec[labels[img_id]] = 1
        multi_hot[img_id] = vec
    return ids, images, multi_hot


def write_voc_root(root: str, ids: Sequence[str],
                   images: Dict[str, np.ndarray]) -> str:
    """A VOC-layout folder the reference's datasets read. The images are
    stored losslessly (PNG bytes under the ``.jpg`` names the reference
    builds: imageio and OpenCV detect the format from the content), so both
    sides see the same pixels."""
    for img_id in ids:
        save_image(
            images[img_id],
            osp.join(root, 'JPEGImages', img_id + '.jpg'),
            format='PNG')
    return write_text('\n'.join(ids) + '\n', osp.join(root, 'list.txt'))


def normalised_attention_threshold(cam, num_classes, percentile=80):
    """The percentile of the max-normalised attention map (stands in for
    the reference's ``find_adaptive_thresholds``, which takes it of the
    raw map, in the second IR-label run)."""
    attn = cam.numpy().astype(np.float32)
    return np.percentile(attn / attn.max(), percentile)


def run_reference(ref, nets, ids, images, multi_hot,
                  work: str) -> Dict[str, np.ndarray]:
    """The reference's steps on the images; their outputs by key."""
    dl = ref['dataloader']
    for img_id in ids:  # labels of images outside VOC, by the integer key
        dl.cls_labels_dict[int(img_id.replace('_', ''))] = multi_hot[img_id]
    voc_root = osp.join(work, 'voc')
    list_file = write_voc_root(voc_root, ids, images)
    args = argparse.Namespace(
        root_out_dir=work,
        experiment_ver='ref',
        where_cam_from='cam',
        ir_label_out_dir='ir_label',
        sem_seg_out_npy_dir='rw_npy',
        sem_seg_out_png_dir='sem_seg',
        checkpoint_out_dir='ckpt',
        voc12_root=voc_root,
        num_workers=0,
        beta=BETA,
        exp_times=EXP_TIMES)
    for sub in ('cam', 'ir_label', 'ir_label_max', 'ir_label_fixed', 'rw_npy',
                'sem_seg'):
        os.makedirs(osp.join(work, 'ref', sub))
    out: Dict[str, np.ndarray] = {}
    with torch.no_grad():
        # 1. CAMs (make_cam)
        msf = dl.VOC12ClassificationDatasetMSF(
            list_file, voc12_root=voc_root, scales=SCALES)
        ref['make_cam']._work(0, nets['cnn'], nets['vit'], [msf], args)
        # 2. IR labels (cam_to_ir_label)
        plain = dl.VOC12ImageDataset(
            list_file, voc12_root=voc_root, img_normal=None, to_torch=False)
        ref['cam_to_ir_label']._work(0, [plain], args)
        # ... and again with the percentile taken on the max-normalised
        # attention (this project's default rule): the reference's step
        # with only its threshold function replaced
        # and with a fixed threshold (FIXED_IR_THRESHOLD, snapped by the
        # reference to (0.15, 0.65)): random weights give a flat attention
        # map, whose percentile leaves no confident foreground
        step = ref['cam_to_ir_label']
        raw_rule = step.find_adaptive_thresholds
        try:
            for sub, rule in (('ir_label_max', normalised_attention_threshold),
                              ('ir_label_fixed',
                               lambda *a, **k: FIXED_IR_THRESHOLD)):
                step.find_adaptive_thresholds = rule
                step._work(
                    0, [plain],
                    argparse.Namespace(
                        **dict(vars(args), ir_label_out_dir=sub)))
        finally:
            step.find_adaptive_thresholds = raw_rule
        # 3. boundary map, walk on the grid, walked maps at image size
        single = dl.VOC12ClassificationDatasetMSF(
            list_file, voc12_root=voc_root, scales=(1.0, ))
        for pack in single:
            img_id = pack['name']
            edge, _ = nets['irn'](torch.from_numpy(pack['img']))
            cam = np.load(
                osp.join(work, 'ref', 'cam', img_id + '.npy'),
                allow_pickle=True).item()
            walk = ref['indexing'].propagate_to_edge(
                cam['cam'],
                edge,
                beta=BETA,
                exp_times=EXP_TIMES,
                radius=WALK_RADIUS)
            out[f'{img_id}/boundary'] = edge[0].numpy()
            out[f'{img_id}/walk_grid'] = walk[:, 0].numpy()
        ref['make_sem_seg_labels_npy']._work(0, nets['irn'], [single], args)
        # 4. final masks (gen_seg_label: 0.31 rule + CRF)
        ref['gen_seg_label'].run(None, args)
    for img_id in ids:
        cam = np.load(
            osp.join(work, 'ref', 'cam', img_id + '.npy'),
            allow_pickle=True).item()
        rw = np.load(
            osp.join(work, 'ref', 'rw_npy', img_id + '.npy'),
            allow_pickle=True).item()
        out.update({
            f'{img_id}/image':
            images[img_id],
            f'{img_id}/label':
            multi_hot[img_id],
            f'{img_id}/keys':
            cam['keys'].numpy(),
            f'{img_id}/cam_cnn':
            cam['high_res_cnn'].numpy(),
            f'{img_id}/cam_vit':
            cam['high_res_seed'].numpy(),
            f'{img_id}/attn':
            cam['high_res_attn'].numpy(),
            f'{img_id}/cam_vit_grid':
            cam['cam'].numpy(),
            f'{img_id}/ir_label_raw':
            np.asarray(
                Image.open(osp.join(work, 'ref', 'ir_label',
                                    img_id + '.png'))),
            f'{img_id}/ir_label':
            np.asarray(
                Image.open(
                    osp.join(work, 'ref', 'ir_label_max', img_id + '.png'))),
            f'{img_id}/ir_label_fixed':
            np.asarray(
                Image.open(
                    osp.join(work, 'ref', 'ir_label_fixed', img_id + '.png'))),
            f'{img_id}/walk':
            rw['rw_up'],
            f'{img_id}/mask':
            np.asarray(
                Image.open(osp.join(work, 'ref', 'sem_seg', img_id + '.png'))),
        })
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]))
    parser.add_argument(
        '--reference-dir',
        required=True,
        help='checkout of the reference implementation')
    parser.add_argument(
        '--data-dir',
        default=DEFAULT_DATA_DIR,
        help='images/, labels.json, manifest.json; the '
        'outputs are written here')
    parser.add_argument(
        '--seed', type=int, default=0, help='seed of the random weights')
    parser.add_argument(
        '--write-manifest',
        action='store_true',
        help='(re)write manifest.json from the reference')
    args = parser.parse_args()
    ref_dir = osp.abspath(args.reference_dir)
    data_dir = osp.abspath(args.data_dir)
    torch.set_grad_enabled(False)
    ref = import_reference(ref_dir)
    nets = build_networks(ref)
    manifest_path = osp.join(data_dir, 'manifest.json')
    if args.write_manifest:
        manifest = {
            k: manifest_from_state_dict(net.state_dict())
            for k, net in nets.items()
        }
        dump_json(manifest, manifest_path, indent=None)
        print(f'wrote {manifest_path}')
    with open(manifest_path) as f:
        manifest = json.load(f)
    for kind, net in nets.items():
        state = random_reference_state(manifest[kind],
                                       args.seed + WEIGHT_SEED_OFFSET[kind])
        net.load_state_dict(state, strict=True)
        net.eval()
    ids, images, multi_hot = load_images(data_dir)
    work = tempfile.mkdtemp(prefix='reference_outputs_')
    try:
        out = run_reference(ref, nets, ids, images, multi_hot, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out['seed'] = np.array(args.seed)
    dst = osp.join(data_dir, 'reference_outputs.npz')
    save_npz(dst, **out)
    print(f'\nwrote {dst}: {len(ids)} images, {len(out)} arrays')


if __name__ == '__main__':
    main()
