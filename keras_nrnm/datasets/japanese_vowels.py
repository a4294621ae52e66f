"""UEA JapaneseVowels (Kudo et al., 1999) and a small parser for the
UEA/UCR `.ts` time-series format.

JapaneseVowels: 9 speakers uttering /ae/, 12 LPC cepstrum coefficients per
frame, 7-29 frames; 270 train / 370 test utterances; the class is the
speaker. Source: the wheel `sktime==1.2.0` on PyPI (files
`sktime/datasets/data/JapaneseVowels/JapaneseVowels_{TRAIN,TEST}.ts`),
fetched once from the package index pip is configured with (the wheel's
bytes only, never installed or run), checked against a pinned sha256 before
anything reads it, and cached as
`<KERAS_HOME>/datasets/keras_nrnm/japanese_vowels-v1.npz`.
"""

from __future__ import annotations

import os
from typing import Any
from typing import Literal
from typing import overload

import numpy as np

from keras_nrnm.datasets import _registry
from keras_nrnm.datasets._cache import fetch_npz
from keras_nrnm.datasets._cache import pack_ragged
from keras_nrnm.datasets._cache import read_archive_members
from keras_nrnm.datasets._cache import unpack_ragged
from keras_nrnm.datasets._sequence import pad_to_max
from keras_nrnm.datasets._types import Lengths
from keras_nrnm.datasets._types import SequenceSplit
from keras_nrnm.datasets._types import StrPath
from keras_nrnm.datasets._types import TsContents

_DIR = _registry.JAPANESE_VOWELS.package + "/datasets/data/JapaneseVowels/"
_MEMBERS = {"train": _DIR + "JapaneseVowels_TRAIN.ts", "test": _DIR + "JapaneseVowels_TEST.ts"}
JAPANESE_VOWELS_CLASS_NAMES = tuple(str(i) for i in range(1, 10))  # speakers 1-9


def _parse_bool(value: str, name: str, line_no: int, tag: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise ValueError(f"{name}, line {line_no}: {tag} must be true or false, got {value!r}.")
    return v == "true"


def parse_ts(text: str, name: str = "<ts>") -> TsContents:
    r"""Parse the text of a UEA/UCR `.ts` file.

    Supported: `#` comments, the `@problemName`, `@timeStamps` (false only),
    `@missing`, `@univariate`, `@dimensions`, `@equalLength`,
    `@seriesLength`, `@classLabel` / `@targetLabel` tags and `@data` rows
    `v,v,...:v,v,...:label` (one `:`-separated field per dimension, the
    class label last when `@classLabel true`; `?` = missing -> NaN).
    Every dimension of one instance must have the same length.

    Args:
        text: file content.
        name: file name for error messages.

    Returns:
        `(series, labels, header)`: a list of float32 arrays `(steps,
        dimensions)`, a numpy str array of labels (empty strings when the
        file has none), and a dict of the header tags (lower-case keys; the
        declared labels under `"class_labels"`).

    Raises:
        ValueError: malformed header or row; the message names the file and
            the line number and says what was expected.

    Examples:
        >>> series, labels, header = parse_ts(
        ...     "@dimensions 2\n@classLabel true a b\n@data\n1,2:3,4:a\n")
        >>> series[0].tolist(), labels.tolist()
        ([[1.0, 3.0], [2.0, 4.0]], ['a'])
    """
    header: dict[str, Any] = {}
    series, labels = [], []
    in_data = False
    has_labels = False
    dims = None
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if in_data:
            if dims is None:
                dims = header.get("dimensions")
            values, label = _parse_row(line, line_no, name, has_labels,
                                       header.get("class_labels"), dims)
            dims = values.shape[1]
            series.append(values)
            labels.append(label)
        elif not line.startswith("@"):
            raise ValueError(
                f"{name}, line {line_no}: expected a @tag or # comment before "
                f"@data, got {line[:40]!r}.")
        elif line.split(None, 1)[0].lower() == "@data":
            in_data = True
        else:
            has_labels = _read_tag(line, line_no, name, header, has_labels)
    if not in_data:
        raise ValueError(f"{name}: no @data line; not a .ts file.")
    if not series:
        raise ValueError(f"{name}: no instance after @data.")
    return series, np.asarray(labels, dtype=str), header


def _read_tag(line: str, line_no: int, name: str, header: dict[str, Any],
              has_labels: bool) -> bool:
    """Reads a header tag line (other than `@data`) into `header`; returns
    whether the rows end with a label, as the tag leaves it."""
    parts = line.split(None, 1)
    tag, value = parts[0].lower(), (parts[1] if len(parts) > 1 else "")
    if tag == "@classlabel":
        tokens = value.split()
        if not tokens:
            raise ValueError(f"{name}, line {line_no}: @classLabel needs true/false.")
        has_labels = _parse_bool(tokens[0], name, line_no, "@classLabel")
        class_labels = tokens[1:] if has_labels else None
        if has_labels and not class_labels:
            raise ValueError(
                f"{name}, line {line_no}: @classLabel true needs the list of labels.")
        header["class_labels"] = class_labels
    elif tag == "@targetlabel":
        first_token = value.split()[0] if value else ""
        has_labels = _parse_bool(first_token, name, line_no, "@targetLabel")
    elif tag == "@timestamps":
        if _parse_bool(value, name, line_no, "@timeStamps"):
            raise ValueError(f"{name}, line {line_no}: @timeStamps true is not supported.")
        header["timestamps"] = False
    elif tag in ("@missing", "@univariate", "@equallength"):
        header[tag[1:]] = _parse_bool(value, name, line_no, parts[0])
    elif tag in ("@dimensions", "@serieslength"):
        try:
            header[tag[1:]] = int(value)
        except ValueError:
            raise ValueError(
                f"{name}, line {line_no}: {parts[0]} needs an integer, "
                f"got {value!r}.") from None
    else:
        header[tag[1:]] = value
    return has_labels


def _parse_row(line: str, line_no: int, name: str, has_labels: bool,
               class_labels: list[str] | None,
               dims: int | None) -> tuple[np.ndarray, str]:
    """One `@data` row: `(values, label)`, values float32 `(steps,
    dimensions)`; `dims` is the expected number of dimensions (`None`:
    any)."""
    fields = line.split(":")
    label = ""
    if has_labels:
        label = fields.pop().strip()
        if class_labels is not None and label not in class_labels:
            raise ValueError(
                f"{name}, line {line_no}: class label {label!r} not among the "
                f"declared {class_labels}."
            )
    if dims is None:
        dims = len(fields)
    if len(fields) != dims:
        raise ValueError(
            f"{name}, line {line_no}: expected {dims} dimensions "
            f"(':'-separated fields{' plus the label' if has_labels else ''}), "
            f"got {len(fields)}."
        )
    columns = []
    for d, field in enumerate(fields):
        try:
            values = [np.nan if v.strip() == "?" else float(v) for v in field.split(",")]
        except ValueError:
            raise ValueError(
                f"{name}, line {line_no}: dimension {d + 1} has a non-numeric value; "
                "expected comma-separated numbers."
            ) from None
        columns.append(values)
    steps = {len(c) for c in columns}
    if len(steps) != 1:
        raise ValueError(
            f"{name}, line {line_no}: dimensions have different lengths "
            f"{[len(c) for c in columns]}; expected equal lengths per instance."
        )
    return np.asarray(columns, np.float32).T, label


def read_ts_file(path: StrPath) -> TsContents:
    """Read a `.ts` file; see `parse_ts`.

    Args:
        path: path of the `.ts` file.

    Returns:
        `(series, labels, header)`, see `parse_ts`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: malformed content (file and line number named).

    Examples:
        >>> series, labels, header = read_ts_file("JapaneseVowels_TRAIN.ts")  # doctest: +SKIP
        >>> len(series), series[0].shape  # doctest: +SKIP
        (270, (20, 12))
    """
    path = os.fspath(path)
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        return parse_ts(f.read(), path)


def _convert(archive: str) -> dict[str, np.ndarray]:
    files = read_archive_members(archive, list(_MEMBERS.values()))
    out = {}
    for split, member in _MEMBERS.items():
        series, labels, _ = parse_ts(files[member].decode("utf-8"), member)
        data, offsets = pack_ragged(series, np.float32)
        out[f"{split}_data"] = data
        out[f"{split}_offsets"] = offsets
        out[f"{split}_labels"] = np.array(
            [JAPANESE_VOWELS_CLASS_NAMES.index(label) for label in labels], np.int8)
    return out


@overload
def load_japanese_vowels(length: int | None = ..., return_lengths: Literal[False] = ...
                         ) -> tuple[SequenceSplit, SequenceSplit]: ...
@overload
def load_japanese_vowels(length: int | None = ..., *, return_lengths: Literal[True]
                         ) -> tuple[SequenceSplit, SequenceSplit, Lengths]: ...
@overload
def load_japanese_vowels(length: int | None = ..., return_lengths: bool = ...
                         ) -> (tuple[SequenceSplit, SequenceSplit]
                               | tuple[SequenceSplit, SequenceSplit, Lengths]): ...
def load_japanese_vowels(length: int | None = None, return_lengths: bool = False
                         ) -> (tuple[SequenceSplit, SequenceSplit]
                               | tuple[SequenceSplit, SequenceSplit, Lengths]):
    """Load UEA JapaneseVowels: 12 channels, variable length, 9 speakers.

    Sequences are zero-padded at the end to `length` (default: the longest
    of both splits, 29 frames). The first call downloads the 8.2 MB
    `sktime==1.2.0` wheel once (never installed).

    Args:
        length: frames per output sequence (longer ones are truncated);
            `None` = 29, the longest.
        return_lengths: also return `(lengths_train, lengths_test)`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x float32 `(270, 29, 12)` /
        `(370, 29, 12)`, y int32 speaker 0-8 (speaker `y + 1`). With
        `return_lengths=True`, a third item `(lengths_train, lengths_test)`.

    Raises:
        FetchError, ChecksumError: first-use download problems.

    Examples:
        >>> (x_train, y_train), (x_test, y_test) = load_japanese_vowels()
        >>> x_train.shape, x_test.shape
        ((270, 29, 12), (370, 29, 12))
    """
    arrays = fetch_npz(_registry.JAPANESE_VOWELS, _convert)
    train = unpack_ragged(arrays["train_data"], arrays["train_offsets"])
    test = unpack_ragged(arrays["test_data"], arrays["test_offsets"])
    if length is None:
        length = max(len(s) for s in train + test)
    x_train, len_train = pad_to_max(train, length)
    x_test, len_test = pad_to_max(test, length)
    y_train = arrays["train_labels"].astype(np.int32)
    y_test = arrays["test_labels"].astype(np.int32)
    if return_lengths:
        return (x_train, y_train), (x_test, y_test), (len_train, len_test)
    return (x_train, y_train), (x_test, y_test)
