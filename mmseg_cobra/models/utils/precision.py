"""Where half precision stops: computations kept in float32 under autocast."""
import torch
from torch import Tensor

HALF_DTYPES = (torch.float16, torch.bfloat16)


def full_precision(x: Tensor) -> Tensor:
    """``x`` as float32 if it is float16 / bfloat16, else unchanged (a
    float64 input stays float64)."""
    return x.float() if x.dtype in HALF_DTYPES else x
