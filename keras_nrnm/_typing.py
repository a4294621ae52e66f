"""Type aliases of the layers' and functions' signatures.

Keras 3 has no public type common to the backends' tensors, so tensors are
`Any` under a name that says what is meant; the docstrings give the shapes.
The Keras-object aliases mirror what `keras.layers.LSTM` accepts (each is
read by `keras.activations.get`, `keras.initializers.get`, ...).
"""

import os
from collections.abc import Callable, Sequence
from typing import Any, TypedDict
from typing import TypeAlias

import keras
import numpy as np

# A backend tensor or a symbolic `keras.KerasTensor`: a `tf.Tensor`, a
# `jax.Array` or a `torch.Tensor` (or a `keras.Variable`).
Tensor: TypeAlias = Any

# A tensor, or anything `keras.ops.convert_to_tensor` takes: a NumPy array,
# nested lists of numbers.
TensorLike: TypeAlias = Tensor | np.ndarray

# A dtype: a name such as `"float32"`, or a backend's dtype object (a
# tensor's `.dtype`).
DType: TypeAlias = Any

# A shape as Keras gives it to `build` and `compute_output_shape`: one size
# per axis, `None` where unknown (e.g. the batch).
Shape: TypeAlias = tuple[int | None, ...]

# A shape as an argument: a tuple or a list of sizes.
ShapeLike: TypeAlias = Sequence[int | None]

# The memory's strides (Eq. 7): a non-empty tuple (or list) of distinct
# positive integers, e.g. `(1, 3, 5)`.
Strides: TypeAlias = tuple[int, ...] | list[int]

# An activation: a name (`"tanh"`), a function of a tensor, a serialized
# config dict, or `None` (linear).
Activation: TypeAlias = str | Callable[..., Any] | dict[str, Any] | None

# An initializer: a name (`"glorot_uniform"`), a
# `keras.initializers.Initializer` (or any callable of `(shape, dtype)`), a
# serialized config dict, or `None` (Keras's default for the weight).
Initializer: TypeAlias = (
    str | keras.initializers.Initializer | Callable[..., Any] | dict[str, Any]
    | None)

# A regularizer: a name (`"l2"`), a `keras.regularizers.Regularizer` (or
# any callable of a weight), a serialized config dict, or `None`.
Regularizer: TypeAlias = (
    str | keras.regularizers.Regularizer | Callable[..., Any] | dict[str, Any]
    | None)

# A constraint: a name (`"non_neg"`), a `keras.constraints.Constraint` (or
# any callable of a weight), a serialized config dict, or `None`.
Constraint: TypeAlias = (
    str | keras.constraints.Constraint | Callable[..., Any] | dict[str, Any]
    | None)

# A file to write: a `str` or an `os.PathLike` such as `pathlib.Path`.
StrPath: TypeAlias = str | os.PathLike[str]

# A `matplotlib.figure.Figure`. `Any`, so that matplotlib (imported only
# when a figure is drawn) is not needed to import the package.
Figure: TypeAlias = Any


class AttentionMap(TypedDict):
    """One entry of `attention_maps`: the attention weights of one memory
    update and stride (a plain `dict` with these keys)."""

    # The 0-based step after which the update ran (in processing order).
    step: int
    # The stride of the memory scale.
    stride: int
    # `(slots,)`: steps of the hidden states that query, one per slot.
    query_steps: np.ndarray
    # `(units,)`: steps of the source units (negative: before the start).
    key_steps: np.ndarray
    # `"h"`, `"b"` or `"x"` per source unit (hidden, backward, input).
    key_kinds: list[str]
    # float32 `(batch, heads, slots, units)`, rows summing to 1.
    weights: np.ndarray
