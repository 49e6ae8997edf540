"""Which device a training or testing tool runs on, said out loud.

mmengine picks CUDA when torch sees a GPU and the CPU otherwise, without a
word; a job meant for GPUs on a machine whose driver or torch build cannot
reach them would then run for days on the CPU. The tools take ``--device``:
``cuda`` requires a usable GPU, ``cpu`` hides the GPUs from the process
(and its data-loader workers and children), ``auto`` takes a GPU when there
is one and says when there is none, but refuses when ``CUDA_VISIBLE_DEVICES``
names GPUs that torch cannot use.
"""
import os

import torch
from mmengine.logging import print_log

from .errors import UserError

DEVICES = ('auto', 'cuda', 'cpu')


class DeviceError(UserError, RuntimeError):
    """The device asked for cannot be used; the message says why and how
    to run anyway."""


def _why_no_cuda() -> str:
    if torch.version.cuda is None:
        return f'this torch ({torch.__version__}) is a CPU-only build'
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    return (f'torch {torch.__version__} is built for CUDA '
            f'{torch.version.cuda} but sees no GPU (driver missing or too '
            'old' + (f', CUDA_VISIBLE_DEVICES={visible!r}'
                     if visible is not None else '') + ')')


def select_device(requested: str = 'auto') -> str:
    """Settle the device before anything touches CUDA.

    Args:
        requested (str): ``'auto'``, ``'cuda'`` or ``'cpu'``.

    Returns:
        str: ``'cuda'`` or ``'cpu'``.

    Raises:
        DeviceError: ``cuda`` without a usable GPU, or ``auto`` with
            ``CUDA_VISIBLE_DEVICES`` naming GPUs torch cannot use.
    """
    if requested not in DEVICES:
        raise DeviceError(f'--device {requested}: expected one of {DEVICES}')
    if requested == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''  # this process and children
        print_log('running on the CPU (--device cpu)', logger='current')
        return 'cpu'
    if torch.cuda.is_available():
        return 'cuda'
    visible = os.environ.get('CUDA_VISIBLE_DEVICES', '').strip()
    if requested == 'cuda' or visible not in ('', '-1'):
        asked = '--device cuda' if requested == 'cuda' else \
            f'CUDA_VISIBLE_DEVICES={visible}'
        raise DeviceError(
            f'{asked} asks for a GPU, but {_why_no_cuda()}: fix the CUDA '
            'set-up, or pass --device cpu to run on the CPU')
    print_log(
        f'no CUDA device ({_why_no_cuda()}): running on the CPU; '
        '--device cpu says so explicitly, --device cuda refuses to start '
        'without a GPU',
        logger='current')
    return 'cpu'
