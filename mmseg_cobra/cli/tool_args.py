"""The flags the command-line tools share: one name and one meaning each.

Every tool that reads a config takes it first, as a positional argument
(then ``CHECKPOINT`` where it loads a model); everything else is a flag,
and a flag that more than one tool has is defined here, once:

======================  ==================================================
``--work-dir``          logs, checkpoints, reports of a run
``--out-dir``           the folder a tool writes its outputs to
``--out``               the one file a tool writes (a report, a figure)
``--cfg-options``       ``key=value`` overrides of the config
``--launcher``          none / pytorch / slurm / mpi (mmengine's)
``--nproc``             processes of the CPU pool, never GPU processes
``--device``            auto / cuda / cpu
``--data-root``         the dataset root instead of the config's
``--ann-file``          the image list instead of the config's
``--seed-dir``          the seeds stage 2 wrote
``--walk-dir``          the walked maps the mask stage wrote
``--skip-bad-images``   go on past unreadable or bad images
``--no-dataset-check``  start without checking every image first
``--no-check-cache``    check again images found good before
======================  ==================================================

``tests/test_tools/test_tool_interface.py`` parses every tool and checks
that each of these flags has the same definition wherever it appears.
"""
import argparse
import os
import os.path as osp
from typing import Dict, Optional, Tuple

from mmengine.config import Config, DictAction

from ..utils.config import load_config
from ..utils.device import DEVICES
from ..utils.errors import UserError
from .launch import default_work_dir

#: The launchers every tool with ``--launcher`` accepts (mmengine's).
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')

#: The definition of every shared flag (``argparse`` keyword arguments).
SHARED_FLAGS: Dict[str, dict] = {
    '--work-dir':
    dict(help='the folder for logs, checkpoints and reports (default: the '
         "config's work_dir, else ./work_dirs/<config name>)"),
    '--out-dir':
    dict(help='the folder the outputs are written to, made if missing '
         '(what they are and the default: the description above)'),
    '--out':
    dict(help='the file the tool writes (a report, a figure, a label file; '
         'default: %(default)s)'),
    '--cfg-options':
    dict(
        nargs='+',
        action=DictAction,
        help='override settings of the config: key=value pairs, e.g. '
        'a.b=1 c="[1,2]"'),
    '--launcher':
    dict(
        choices=LAUNCHERS,
        default='none',
        help='job launcher: none (one process), pytorch (torchrun, '
        'tools/dist_*.sh), slurm (srun, tools/slurm_*.sh), mpi'),
    '--nproc':
    dict(
        type=int,
        default=2,
        help='processes of the CPU pool of each process/node (never GPU '
        'processes)'),
    '--device':
    dict(
        choices=DEVICES,
        default='auto',
        help='cuda: refuse to start without a usable GPU; cpu: run on the '
        'CPU (GPUs hidden); auto: a GPU if torch sees one, else the CPU, '
        'said in the log'),
    '--data-root':
    dict(help="the dataset root, instead of the config's"),
    '--ann-file':
    dict(help="the image list under the data root, instead of the config's"),
    '--seed-dir':
    dict(help='the folder of the seeds stage 2 wrote (<img_id>.npz; the '
         'default, if any: the description above)'),
    '--walk-dir':
    dict(help='the folder of the walked maps the mask stage wrote '
         '(<img_id>.npz; the default, if any: the description above)'),
    '--skip-bad-images':
    dict(
        action='store_true',
        help='go on past unreadable or bad images: leave them out (named '
        'in the log and counted) and succeed when the others are done, '
        'instead of stopping'),
    '--no-dataset-check':
    dict(
        action='store_true',
        help='do not check every image/mask before starting'),
    '--no-check-cache':
    dict(
        action='store_true',
        help='decode every image/mask again, also those unchanged since '
        'they were last found good'),
}


def tool_parser(doc: str) -> argparse.ArgumentParser:
    """A tool's parser from its module docstring: the first line is the
    description, the rest (usage examples, notes) the epilog, as written.

    Args:
        doc (str): The tool's ``__doc__``.

    Returns:
        ArgumentParser: The parser, without arguments yet.
    """
    lines = doc.strip().splitlines()
    return argparse.ArgumentParser(
        description=lines[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(lines[1:]))


def add_flags(parser: argparse.ArgumentParser, *names: str,
              **defaults) -> None:
    """Add shared flags to ``parser`` as :data:`SHARED_FLAGS` defines them.

    Args:
        parser (ArgumentParser): The tool's parser.
        *names (str): Flags of :data:`SHARED_FLAGS` (``'--out-dir'`` ...).
        **defaults: Per-tool defaults by destination (``out_dir=...``,
            ``nproc=4``): only the default may differ between tools.
    """
    for name in names:
        kwargs = dict(SHARED_FLAGS[name])
        dest = name[2:].replace('-', '_')
        if dest in defaults:
            kwargs['default'] = defaults.pop(dest)
        parser.add_argument(name, **kwargs)
    if defaults:
        raise TypeError(f'defaults for flags not added: {sorted(defaults)}')


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """``--launcher`` (and the ``--local-rank`` that
    ``torch.distributed.launch`` passes, hidden) for a tool."""
    add_flags(parser, '--launcher')
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help=argparse.SUPPRESS)


def parse_tool_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """``parser.parse_args()``; with :func:`add_launcher_args`'s flags, the
    ``--local-rank`` of ``torch.distributed.launch`` is exported as
    ``LOCAL_RANK`` (as torchrun sets it)."""
    args = parser.parse_args()
    if 'local_rank' in vars(args) and 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def parse_and_load(
        parser: argparse.ArgumentParser) -> Tuple[argparse.Namespace, Config]:
    """:func:`parse_tool_args`, then the tool's config (``args.config``)
    with ``--cfg-options`` merged (:func:`~mmseg_cobra.utils.load_config`).

    Raises:
        ConfigError: The config is missing or does not load.
    """
    args = parse_tool_args(parser)
    return args, load_config(args.config, args.cfg_options)


def add_dataset_check_args(parser: argparse.ArgumentParser) -> None:
    """``--skip-bad-images``, ``--no-dataset-check`` and
    ``--no-check-cache`` for a tool that checks its datasets first."""
    add_flags(parser, '--skip-bad-images', '--no-dataset-check',
              '--no-check-cache')


def config_work_dir(cfg: Config, config_path: str) -> str:
    """The work dir of a run of ``cfg``: its ``work_dir``, else
    ``./work_dirs/<config name>`` (as ``tools/train.py`` picks it)."""
    if cfg.get('work_dir'):
        return cfg.work_dir
    return default_work_dir(config_path)


def _hook_out_dir(cfg: Config, hook_type: str) -> Optional[str]:
    for hook in cfg.get('custom_hooks', None) or []:
        if hook.get('type') == hook_type and hook.get('out_dir'):
            return hook['out_dir']
    return None


def _existing(folder: str, what: str, flag: str, written_by: str) -> str:
    if not osp.isdir(folder):
        raise UserError(f'{what} directory {folder} does not exist: give '
                        f'{flag}, the {what}s {written_by} wrote')
    return folder


def seed_dir_of(cfg: Config,
                config_path: str,
                given: Optional[str] = None) -> str:
    """Where the seeds are: ``given`` (``--seed-dir``), else the config's
    ``ir_label_cfg.seed_dir`` (IRN configs) or ``SeedWriterHook`` out_dir
    (CoBra configs), else ``<work_dir>/seeds``.

    Raises:
        UserError: The folder does not exist.
    """
    from_irn = (cfg.get('ir_label_cfg', None) or {}).get('seed_dir')
    folder = given or from_irn or _hook_out_dir(
        cfg, 'SeedWriterHook') or osp.join(
            config_work_dir(cfg, config_path), 'seeds')
    return _existing(folder, 'seed', '--seed-dir',
                     'stage 2 (tools/test.py with the CoBra config)')


def walk_dir_of(cfg: Config,
                config_path: str,
                given: Optional[str] = None) -> str:
    """Where the walked maps are: ``given`` (``--walk-dir``), else the
    config's ``WalkWriterHook`` out_dir, else ``<work_dir>/walks``.

    Raises:
        UserError: The folder does not exist.
    """
    folder = given or _hook_out_dir(cfg, 'WalkWriterHook') or osp.join(
        config_work_dir(cfg, config_path), 'walks')
    return _existing(folder, 'walk', '--walk-dir',
                     'the mask stage (tools/test.py with the IRN config)')


def out_dir_of(cfg: Config, config_path: str, given: Optional[str],
               default_subdir: str) -> str:
    """``--out-dir``, else ``<work_dir>/<default_subdir>``."""
    return given or osp.join(config_work_dir(cfg, config_path), default_subdir)
