"""Argument checks shared by the layers: each error names the argument, the
value received and what is allowed."""

import numbers

import keras
import numpy as np


def positive_int(name, value, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"Argument `{name}` must be a positive integer. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if value <= 0:
        raise ValueError(
            f"Argument `{name}` must be a positive integer. "
            f"Received: {name}={value}"
        )
    if maximum is not None and value > maximum:
        raise ValueError(
            f"Argument `{name}` must be at most {maximum}. "
            f"Received: {name}={value}"
        )
    return int(value)


def rate(name, value):
    """A dropout-like probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Argument `{name}` must be a float in [0, 1). "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(
            f"Argument `{name}` must be a float in [0, 1). "
            f"Received: {name}={value}"
        )
    return float(value)


def positive_float(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Argument `{name}` must be a positive float. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if not float(value) > 0.0:
        raise ValueError(
            f"Argument `{name}` must be a positive float. "
            f"Received: {name}={value}"
        )
    return float(value)


def divides(divisor_name, divisor, name, value):
    if value % divisor:
        raise ValueError(
            f"Argument `{divisor_name}` must divide `{name}`. "
            f"Received: {divisor_name}={divisor}, {name}={value}"
        )


# `num_heads=None`: the first of these that divides `units`.
DEFAULT_HEADS = (4, 2, 1)


def num_heads(value, units):
    """`value`, a positive integer dividing `units`; `None` resolves to the
    largest of `DEFAULT_HEADS` (4, 2, 1) that divides `units` (4, the
    paper's choice, where it can)."""
    if value is None:
        return next(heads for heads in DEFAULT_HEADS if units % heads == 0)
    value = positive_int("num_heads", value)
    if units % value:
        raise ValueError(
            f"Argument `num_heads` must divide `units`. Received: "
            f"num_heads={value}, units={units}. Leave `num_heads=None` to "
            f"use the largest of {DEFAULT_HEADS} that divides `units`."
        )
    return value


# Values of `implementation` that Keras's LSTM and GRU accept (the modes of
# Keras 2; Keras 3 keeps the argument for compatibility).
IMPLEMENTATIONS = (0, 1, 2)


def implementation(value):
    """`implementation` as `keras.layers.LSTM` takes it: accepted for
    compatibility and ignored (NRNM has one implementation)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"Argument `implementation` must be one of {IMPLEMENTATIONS}. "
            f"Received: implementation={value!r} (of type "
            f"{type(value).__name__})"
        )
    if value not in IMPLEMENTATIONS:
        raise ValueError(
            f"Argument `implementation` must be one of {IMPLEMENTATIONS} "
            "(accepted for compatibility with `keras.layers.LSTM`, and "
            f"ignored). Received: implementation={value!r}"
        )
    return int(value)


def use_cudnn(value):
    """`"auto"` or `False`. NRNM has no cuDNN kernel: `True` (require one)
    cannot be met."""
    if isinstance(value, (bool, np.bool_)) and not value:
        return False
    if isinstance(value, str) and value == "auto":
        return value
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(
            "Argument `use_cudnn` cannot be True: NRNM has no cuDNN kernel "
            "(its memory is not in cuDNN's LSTM or GRU). Use \"auto\" or "
            "False. Received: use_cudnn=True"
        )
    raise ValueError(
        "Argument `use_cudnn` must be one of {\"auto\", False} (True is "
        f"not possible: NRNM has no cuDNN kernel). Received: "
        f"use_cudnn={value!r}"
    )


def one_of(name, value, allowed):
    # A list or dict is unhashable: `value in allowed` would fail with a
    # TypeError that names no argument.
    if not isinstance(value, str):
        raise TypeError(
            f"Argument `{name}` must be one of {sorted(allowed)}. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    if value not in allowed:
        raise ValueError(
            f"Argument `{name}` must be one of {sorted(allowed)}. "
            f"Received: {name}={value!r}"
        )
    return value


def strides(value, block_size):
    """A non-empty tuple of distinct positive strides whose largest divides
    `block_size` (every stride then samples `block_size // max` steps)."""
    if isinstance(value, bool) or not isinstance(value, (list, tuple)):
        raise TypeError(
            "Argument `strides` must be a non-empty tuple of positive integers. "
            f"Received: strides={value!r}"
        )
    if not value:
        raise ValueError(
            "Argument `strides` must be a non-empty tuple of positive integers. "
            "Received: strides=()"
        )
    value = tuple(positive_int("strides", s) for s in value)
    if len(set(value)) != len(value):
        raise ValueError(
            f"Argument `strides` must not repeat a stride. Received: strides={value}"
        )
    if block_size % max(value):
        raise ValueError(
            "The largest of `strides` must divide `block_size`. "
            f"Received: strides={value}, block_size={block_size}"
        )
    return value


def boolean(name, value):
    """A Python or numpy boolean (a string such as `"False"` would otherwise
    be read as `True`)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"Argument `{name}` must be a boolean. "
            f"Received: {name}={value!r} (of type {type(value).__name__})"
        )
    return bool(value)


def return_state(value):
    """`False`, `True` (`[output, h, c]`) or `"full"` (every cell state)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value == "full":
        return value
    raise ValueError(
        "Argument `return_state` must be True, False or \"full\". "
        f"Received: return_state={value!r}"
    )


def keras_object(name, get, value):
    """`get(value)` (`keras.activations.get`, `keras.initializers.get`, ...)
    with an error that names the argument."""
    try:
        return get(value)
    except (ValueError, TypeError) as error:
        raise type(error)(
            f"Argument `{name}` could not be interpreted: {error} "
            f"Received: {name}={value!r}"
        ) from error


def sequence_mask(mask, sequences, layer_name):
    """Checks that `mask` is `(batch, timesteps)` like `sequences`.

    Every axis known at trace time is compared (the rank always is): a
    `(batch, 1)` or `(1, timesteps)` mask would otherwise broadcast into a
    silently wrong result. On TensorFlow, axes unknown at trace time are
    also checked when the graph runs (except under XLA, which drops
    assertions; in `fit` and `predict` the data adapter gives every input
    the same batch size, and JAX and PyTorch always know every axis)."""
    if mask is None:
        return
    sequences_shape = tuple(sequences.shape)
    mask_shape = tuple(mask.shape)
    expected = sequences_shape[:2]
    message = (
        f"Layer '{layer_name}': argument `mask` must have shape "
        f"(batch, timesteps) = {expected}, the first two axes of the inputs "
        f"{sequences_shape}. Received: mask.shape={mask_shape}"
    )
    if len(mask_shape) != 2 or any(
            m is not None and e is not None and m != e
            for m, e in zip(mask_shape, expected)):
        raise ValueError(message)
    if (None in mask_shape + expected
            and keras.backend.backend() == "tensorflow"
            and not isinstance(mask, keras.KerasTensor)):
        import tensorflow as tf

        tf.debugging.assert_equal(tf.shape(mask), tf.shape(sequences)[:2],
                                  message=message)
