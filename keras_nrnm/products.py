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
    flat = ops.matmul(ops.reshape(x, (-1, ops.shape(x)[-1])), kernel)
    return ops.reshape(flat, tuple(ops.shape(x)[:-1]) + (ops.shape(kernel)[-1],))


def dense_over_last_axis(layer, x):
    """`layer(x)` for a `keras.layers.Dense`, with `x` reshaped to 2-D around
    it (see `last_axis_product`)."""
    if len(x.shape) == 2:
        return layer(x)
    flat = layer(ops.reshape(x, (-1, ops.shape(x)[-1])))
    return ops.reshape(flat, tuple(ops.shape(x)[:-1]) + (layer.units,))
