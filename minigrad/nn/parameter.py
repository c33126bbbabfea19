"""Parameter: a Tensor that a Module learns (requires_grad=True, registered automatically)."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _to_array


class Parameter(Tensor):
    """A learnable tensor.  Assigning one to a Module attribute registers it, so it appears in
    `module.parameters()` and `module.state_dict()`."""

    def __init__(self, data, requires_grad: bool = True):
        array = _to_array(data)
        if isinstance(data, np.ndarray) or isinstance(data, Tensor):
            array = np.array(array, copy=True)  # own its data: never alias the caller's array
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
