"""Reference-format state dicts with random values, for the parity test.

``tests/parity/reference_outputs.py`` runs the reference implementation
with these weights; ``tests/parity/reference_parity.py`` loads the same
weights into this project's models through the checkpoint converters.
"""
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from torch import Tensor


def manifest_from_state_dict(
        state: Dict[str,
                    Tensor]) -> List[Tuple[str, List[int], Optional[str]]]:
    """``[(key, shape, alias_of)]`` of a state dict, in its order; a key whose
    tensor shares storage with an earlier key is an alias of that key."""
    seen: Dict[Tuple[int, int, Tuple[int, ...]], str] = {}
    rows = []
    for key, value in state.items():
        ident = (value.data_ptr(), value.storage_offset(), tuple(value.shape))
        alias = seen.get(ident) if value.numel() else None
        if alias is None:
            seen[ident] = key
        rows.append((key, list(value.shape), alias))
    return rows


def _random_value(key: str, shape: Sequence[int],
                  generator: torch.Generator) -> Tensor:
    noise = torch.randn(tuple(shape), generator=generator)
    name = key.rsplit('.', 1)[-1]
    if name == 'num_batches_tracked':
        return torch.zeros(tuple(shape), dtype=torch.long)
    if name == 'running_var':
        return 1.0 + 0.1 * noise.abs()
    if name == 'running_mean':
        return 0.1 * noise
    if len(shape) <= 1:
        if name == 'bias':
            return 0.05 * noise
        # a norm layer's scale; residual branches (bn3) damped so that 50
        # random bottlenecks keep their activations in range
        scale = 0.2 if re.search(r'\.bn3\.weight$', key) else 1.0
        return scale * (1.0 + 0.1 * noise)
    if name in ('cls_token', 'pos_embed'):
        return 0.5 * noise
    fan_in = 1
    for s in shape[1:]:
        fan_in *= s
    return noise / fan_in**0.5


def random_reference_state(manifest: Iterable[Sequence],
                           seed: int = 0) -> 'OrderedDict[str, Tensor]':
    """A reference-format state dict with random values.

    Values are drawn from one generator seeded with ``seed``, key after key
    in the manifest's order (aliases take their original's tensor), scaled
    so that a random ResNet-152 / DeiT-S gives finite, non-trivial maps:
    convolution and linear weights ``N(0, 1 / fan_in)``, norm scales ``1 +
    0.1 N`` (0.2 times that on a bottleneck's last BatchNorm), biases
    ``0.05 N``, running means ``0.1 N``, running variances ``1 + 0.1 |N|``,
    ``cls_token`` / ``pos_embed`` ``0.5 N``.

    Args:
        manifest: ``(key, shape, alias_of)`` rows
            (:func:`manifest_from_state_dict`).
        seed (int): The generator's seed.

    Returns:
        OrderedDict: key -> tensor, aliases sharing their original's tensor.
    """
    generator = torch.Generator().manual_seed(seed)
    out = OrderedDict()
    for key, shape, alias in manifest:
        out[key] = out[alias] if alias else _random_value(
            key, shape, generator)
    return out
