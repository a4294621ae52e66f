"""Bringing variable-length sequences to a fixed length (shared helpers)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

SAMPLING_MODES = ("uniform", "linear", "pad")


def check_sampling(sampling: str, allowed: tuple[str, ...] = SAMPLING_MODES) -> None:
    if sampling not in allowed:
        raise ValueError(
            f"`sampling` must be one of {allowed}, got {sampling!r}."
        )


def sample_positions(num_steps: int, length: int) -> npt.NDArray[np.float64]:
    """`length` evenly spaced (fractional) positions over `num_steps` steps,
    first and last step included: `linspace(0, num_steps - 1, length)`."""
    return np.linspace(0.0, num_steps - 1.0, length)


def fit_length(seq: npt.ArrayLike, length: int, sampling: str = "uniform") -> np.ndarray:
    """Bring `seq` (steps, ...) to exactly `length` steps.

    - `"uniform"`: uniform temporal sampling: step `round(p)` for each of
      the positions `linspace(0, T - 1, length)` (halves round up), so the
      first and last steps are kept; short sequences repeat steps.
    - `"linear"`: linear interpolation at the same positions.
    - `"pad"`: keep the first `length` steps, zero-pad at the end.

    An empty sequence gives zeros.
    """
    seq = np.asarray(seq)
    check_sampling(sampling)
    if int(length) != length or length < 1:
        raise ValueError(f"`length` must be a positive integer, got {length!r}.")
    length = int(length)
    steps = seq.shape[0]
    out_shape = (length,) + seq.shape[1:]
    if steps == 0:
        return np.zeros(out_shape, seq.dtype)
    if sampling == "pad":
        out = np.zeros(out_shape, seq.dtype)
        n = min(steps, length)
        out[:n] = seq[:n]
        return out
    pos = sample_positions(steps, length)
    if sampling == "uniform":
        return seq[np.floor(pos + 0.5).astype(np.int64)]
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, steps - 1)
    frac = (pos - lo).reshape((length,) + (1,) * (seq.ndim - 1))
    out = seq[lo] * (1.0 - frac) + seq[hi] * frac
    return out.astype(seq.dtype if np.issubdtype(seq.dtype, np.floating) else np.float32)


def stack_fixed_length(seqs: Sequence[npt.ArrayLike], length: int, sampling: str = "uniform",
                       dtype: npt.DTypeLike = "float32") -> np.ndarray:
    """Apply `fit_length` to each sequence and stack: (N, length, ...)."""
    check_sampling(sampling)
    if not len(seqs):
        return np.zeros((0, length), dtype)
    return np.stack([fit_length(np.asarray(s, dtype), length, sampling) for s in seqs])


def pad_to_max(seqs: Sequence[np.ndarray], length: int | None = None,
               dtype: npt.DTypeLike = "float32") -> tuple[np.ndarray, npt.NDArray[np.int64]]:
    """Zero-pad (at the end) to `length` (default: the longest); truncate
    longer ones. Returns (array (N, length, ...), lengths before padding)."""
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    if length is None:
        length = int(lengths.max()) if len(lengths) else 0
    return stack_fixed_length(seqs, length, "pad", dtype), lengths
