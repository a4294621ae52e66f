"""Products over the last axis that XLA can compile inside the RNN loop."""

from keras import ops


def last_axis_product(x, kernel):
    """`x @ kernel` for `x` of any rank, as one 2-D matrix product.

    TensorFlow computes a rank-3 `matmul` with `tensordot`, whose gradient
    inside the loop of a model trained with `jit_compile=True` and a dynamic
    batch size (e.g. a last, smaller batch in `fit`) is a transpose that XLA
    cannot compile. A 2-D product has no such transpose.
    """
    if len(x.shape) == 2:
        return ops.matmul(x, kernel)
    flat = ops.matmul(ops.reshape(x, (-1, last_width(x))), kernel)
    return ops.reshape(flat, leading_shape(x) + (last_width(kernel),))


def dense_over_last_axis(layer, x):
    """`layer(x)` for a `keras.layers.Dense`, with `x` reshaped to 2-D around
    it (see `last_axis_product`)."""
    if len(x.shape) == 2:
        return layer(x)
    flat = layer(ops.reshape(x, (-1, last_width(x))))
    return ops.reshape(flat, leading_shape(x) + (layer.units,))


def last_width(x):
    """The size of `x`'s last axis, static where it is known."""
    width = x.shape[-1]
    return ops.shape(x)[-1] if width is None else width


def leading_shape(x):
    """`x`'s shape but the last axis, for a reshape back: the static sizes,
    with `-1` for one unknown size (the batch, in `fit`). Reading the
    dynamic shape would add `Shape`, `StridedSlice` and `Pack` operations
    to every product in the loop on TensorFlow."""
    leading = tuple(x.shape[:-1])
    if sum(size is None for size in leading) > 1:
        return tuple(ops.shape(x)[:-1])
    return tuple(-1 if size is None else size for size in leading)
