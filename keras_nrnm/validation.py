"""Argument checks shared by the layers: each error names the argument, the
value received and what is allowed."""

import numbers

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

