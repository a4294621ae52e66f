"""Argument checks shared by the layers: each error names the argument, the
value received and what is allowed."""

import numbers


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


def divides(divisor_name, divisor, name, value):
    if value % divisor:
        raise ValueError(
            f"Argument `{divisor_name}` must divide `{name}`. "
            f"Received: {divisor_name}={divisor}, {name}={value}"
        )


def one_of(name, value, allowed):
    if value not in allowed:
        raise ValueError(
            f"Argument `{name}` must be one of {sorted(allowed)}. "
            f"Received: {name}={value!r}"
        )
    return value
