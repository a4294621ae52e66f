"""IMDB movie reviews (Maas et al., 2011): the raw `aclImdb/` folder and the
pre-tokenised Keras copy (`imdb.npz`) when it is already in the Keras cache.

Neither is on a package registry. Get the raw folder from
https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz, or fetch the
Keras copy once on a machine with internet with
`keras.datasets.imdb.load_data()` (it lands in `~/.keras/datasets/imdb.npz`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from keras_nrnm.datasets._cache import keras_home
from keras_nrnm.datasets._cache import sha256_file
from keras_nrnm.datasets._text import strip_html_breaks
from keras_nrnm.datasets._text import vectorize_texts
from keras_nrnm.datasets._types import Split
from keras_nrnm.datasets._types import StrPath
from keras_nrnm.datasets._types import TokenSplit

IMDB_NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
IMDB_CLASS_NAMES = ("neg", "pos")


def _find_acl_root(directory: StrPath) -> str:
    directory = os.fspath(directory)
    for root in (directory, os.path.join(directory, "aclImdb")):
        if os.path.isdir(os.path.join(root, "train")) and os.path.isdir(os.path.join(root, "test")):
            return root
    raise FileNotFoundError(
        f"{directory}: expected the aclImdb layout (train|test / pos|neg / *.txt), "
        "i.e. the folder `aclImdb` (or its parent) from aclImdb_v1.tar.gz."
    )


def read_imdb_split(root: StrPath, split: str) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Read the raw reviews of one aclImdb split.

    Files are taken in sorted order, `neg` first. `<br />` tags become spaces.

    Args:
        root: the `aclImdb` folder.
        split: `"train"` or `"test"`.

    Returns:
        `(texts, labels)`: a list of str and int32 labels (neg 0, pos 1).

    Raises:
        FileNotFoundError: `<root>/<split>/neg` or `pos` is missing or empty.

    Examples:
        >>> texts, labels = read_imdb_split("aclImdb", "test")  # doctest: +SKIP
        >>> len(texts)  # doctest: +SKIP
        25000
    """
    texts: list[str] = []
    labels: list[int] = []
    for label, cls in enumerate(IMDB_CLASS_NAMES):
        folder = os.path.join(root, split, cls)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"{folder}: missing (expected {split}/{cls}/*.txt).")
        files = sorted(glob.glob(os.path.join(folder, "*.txt")))
        if not files:
            raise FileNotFoundError(f"{folder}: no .txt review found.")
        for path in files:
            with open(path, "r", encoding="utf-8", errors="replace") as f:
                texts.append(strip_html_breaks(f.read()))
            labels.append(label)
    return texts, np.asarray(labels, np.int32)


def load_imdb_folder(
        directory: StrPath, max_tokens: int | None = 20000, sequence_length: int = 500,
        standardize: str | Callable[[Any], Any] | None = "lower_and_strip_punctuation",
        shuffle: bool = True, seed: int | None = 113
        ) -> tuple[TokenSplit, TokenSplit, list[str]]:
    """Load the raw IMDB review folder and tokenise it.

    Tokenisation uses `keras.layers.TextVectorization` adapted on the
    training split only (test words unseen in training map to `[UNK]`).

    Args:
        directory: the `aclImdb` folder or its parent. Expected layout:
            `train/pos/*.txt`, `train/neg/*.txt`, `test/pos/*.txt`,
            `test/neg/*.txt` (`train/unsup` is ignored).
        max_tokens: vocabulary size, including padding (0) and `[UNK]` (1).
        sequence_length: reviews are truncated / zero-padded at the end to
            this many tokens.
        standardize: `TextVectorization` standardisation.
        shuffle: shuffle each split (with `seed`); otherwise `neg` then `pos`
            in file-name order.
        seed: shuffling seed.

    Returns:
        `(x_train, y_train), (x_test, y_test), vocabulary`: x int32
        `(N, sequence_length)`, y int32 `(N,)` (0 negative, 1 positive),
        vocabulary a list of str (index = token id).

    Raises:
        FileNotFoundError: the folder layout is not found.

    Examples:
        >>> (x_train, y_train), (x_test, y_test), vocab = load_imdb_folder(  # doctest: +SKIP
        ...     "aclImdb", max_tokens=20000, sequence_length=500)
        >>> x_train.shape  # doctest: +SKIP
        (25000, 500)
    """
    root = _find_acl_root(directory)
    train_texts, y_train = read_imdb_split(root, "train")
    test_texts, y_test = read_imdb_split(root, "test")
    (x_train, x_test), vocab = vectorize_texts(
        train_texts, [test_texts], max_tokens=max_tokens,
        sequence_length=sequence_length, standardize=standardize)
    if shuffle:
        rng = np.random.default_rng(seed)
        p = rng.permutation(len(y_train))
        x_train, y_train = x_train[p], y_train[p]
        p = rng.permutation(len(y_test))
        x_test, y_test = x_test[p], y_test[p]
    return (x_train, y_train), (x_test, y_test), vocab


def imdb_cache_path() -> str:
    """Where Keras caches `imdb.npz`.

    Args:
        None.

    Returns:
        `<$KERAS_HOME or ~/.keras>/datasets/imdb.npz` (read at call time).

    Raises:
        Nothing.

    Examples:
        >>> imdb_cache_path()  # <KERAS_HOME or ~/.keras>/datasets/imdb.npz
        '.../datasets/imdb.npz'
    """
    return os.path.join(keras_home(), "datasets", "imdb.npz")


def load_imdb(num_words: int | None = None, maxlen: int | None = None,
              sequence_length: int | None = None, skip_top: int = 0, seed: int = 113,
              start_char: int | None = 1, oov_char: int | None = 2, index_from: int = 3
              ) -> tuple[Split, Split]:
    """`keras.datasets.imdb.load_data`, but only from the local Keras cache.

    It never downloads: when `<KERAS_HOME or ~/.keras>/datasets/imdb.npz` is
    absent it raises `FileNotFoundError` explaining how to get the file.

    Args:
        num_words, skip_top, seed, start_char, oov_char, index_from: as in
            `keras.datasets.imdb.load_data`.
        maxlen: as in Keras: reviews longer than `maxlen` are dropped.
        sequence_length: if given, pad / truncate every review at the end to
            this many ids and return int32 matrices instead of lists.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: 25,000 reviews each; x an
        object array of lists of word ids (or int32 `(N, sequence_length)`),
        y int64 (0 negative, 1 positive).

    Raises:
        FileNotFoundError: `imdb.npz` is not in the Keras cache.
        ValueError: the cached file's sha256 is not Keras' one.

    Examples:
        >>> (x_train, y_train), (x_test, y_test) = load_imdb(  # doctest: +SKIP
        ...     num_words=20000, sequence_length=500)
    """
    path = imdb_cache_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found, and this loader never downloads. On a machine "
            "with internet run `python -c \"import keras; "
            "keras.datasets.imdb.load_data()\"` and copy "
            "~/.keras/datasets/imdb.npz to that path (it honours $KERAS_HOME), "
            "or download the raw reviews (aclImdb_v1.tar.gz from "
            "https://ai.stanford.edu/~amaas/data/sentiment/) and use "
            "`load_imdb_folder`."
        )
    actual = sha256_file(path)
    if actual != IMDB_NPZ_SHA256:
        raise ValueError(
            f"{path}: sha256 {actual} is not the expected {IMDB_NPZ_SHA256} "
            "of Keras' imdb.npz (truncated or different file)."
        )
    import keras

    # An absolute `path` makes Keras use this very file (no download: the
    # hash matches).
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(
        path=os.path.abspath(path), num_words=num_words, skip_top=skip_top,
        maxlen=maxlen, seed=seed, start_char=start_char, oov_char=oov_char,
        index_from=index_from)
    if sequence_length is not None:
        pad = keras.utils.pad_sequences
        x_train = pad(x_train, maxlen=sequence_length, padding="post",
                      truncating="post", dtype="int32")
        x_test = pad(x_test, maxlen=sequence_length, padding="post",
                     truncating="post", dtype="int32")
    return (x_train, y_train), (x_test, y_test)
