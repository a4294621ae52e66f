"""Protein secondary structure files in the CB6133 / CB513 format
(Zhou & Troyanskaya, ICML 2014), as used by the NRNM paper (Sec. 4.3).

Files: `cullpdb+profile_6133_filtered.npy.gz` (5,534 proteins, the paper's
training set), `cb513+profile_split1.npy.gz` (514 proteins) and CASP10/11
converted to the same layout. Each is a numpy array of shape
`(N, 700 * 57)` or `(N, 700, 57)`; per residue 57 channels:

=========  ==========================================================
columns    content
=========  ==========================================================
0-21       amino acid one-hot, order `AMINO_ACIDS` (21 = NoSeq)
22-30      secondary structure one-hot, order `SS8_CLASSES` (30 = NoSeq)
31-32      N- and C-terminal flags
33-34      relative and absolute solvent accessibility
35-56      sequence profile, same order as 0-21 (56 = NoSeq)
=========  ==========================================================

Not on any package registry: download from
https://www.princeton.edu/~jzthree/datasets/ICML2014/ (or its mirrors).
"""

from __future__ import annotations

import os

import numpy as np

from keras_nrnm.datasets._cache import load_npy_file
from keras_nrnm.datasets._types import ProteinArrays
from keras_nrnm.datasets._types import StrPath

NUM_CHANNELS = 57
SEQUENCE_LENGTH = 700
# Amino-acid order of the one-hot (columns 0-21) and profile (35-56) blocks.
AMINO_ACIDS = ("A", "C", "E", "D", "G", "F", "I", "H", "K", "M", "L",
               "N", "Q", "P", "S", "R", "T", "W", "V", "Y", "X", "NoSeq")
# The 8 DSSP classes in CB6133 column order (columns 22-29).
SS8_CLASSES = ("L", "B", "E", "G", "I", "H", "S", "T")

RESIDUE_COLUMNS = tuple(range(0, 21))      # 21 residue channels (NoSeq 21 dropped)
LABEL_COLUMNS = tuple(range(22, 30))       # 8 classes (NoSeq 30 dropped)
PROFILE_COLUMNS = tuple(range(35, 56))     # 21 profile channels (NoSeq 56 dropped)
NOSEQ_COLUMN = 21
INPUT_COLUMNS = RESIDUE_COLUMNS + PROFILE_COLUMNS  # the paper's 42 inputs


def load_protein_file(path: StrPath, sequence_length: int | None = SEQUENCE_LENGTH
                      ) -> ProteinArrays:
    """Load a CB6133 / CB513 / CASP file (`.npy` or `.npy.gz`).

    The input channels are the paper's 21 + 21: columns 0-20 (amino-acid
    one-hot without the NoSeq column 21) then columns 35-55 (sequence
    profile without its NoSeq column 56). Labels are the argmax of columns
    22-29 (classes `SS8_CLASSES` = L, B, E, G, I, H, S, T). The mask is
    False where column 21 (NoSeq) is set, i.e. on padding.

    Args:
        path: `.npy` or `.npy.gz` file, array `(N, L * 57)` or `(N, L, 57)`.
        sequence_length: expected `L` (700 for the published files); `None`
            accepts any `L`.

    Returns:
        `(x, y, mask)`: x float32 `(N, L, 42)`, y int32 `(N, L)` in 0..7
        (0 on padding), mask bool `(N, L)`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unreadable, truncated or empty file, an array that is
            not numeric, or wrong shape (message names the file and the
            expected shape).

    Examples:
        >>> x, y, mask = load_protein_file("cb513+profile_split1.npy.gz")  # doctest: +SKIP
        >>> x.shape, y.shape  # doctest: +SKIP
        ((514, 700, 42), (514, 700))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (expected a CB6133/CB513 .npy or .npy.gz).")
    data = load_npy_file(
        path, "a .npy or .npy.gz file of shape (N, 700*57) or (N, 700, 57)")
    expected = ("(N, L*57) or (N, L, 57)" if sequence_length is None else
                f"(N, {sequence_length * NUM_CHANNELS}) or (N, {sequence_length}, {NUM_CHANNELS})")
    if data.ndim == 2 and data.shape[1] % NUM_CHANNELS == 0 and data.shape[1] > 0:
        data = data.reshape(data.shape[0], -1, NUM_CHANNELS)
    if data.ndim != 3 or data.shape[2] != NUM_CHANNELS:
        raise ValueError(f"{path}: array of shape {data.shape}; expected {expected}.")
    if sequence_length is not None and data.shape[1] != sequence_length:
        raise ValueError(f"{path}: array of shape {data.shape}; expected {expected}.")
    x = data[:, :, list(INPUT_COLUMNS)].astype(np.float32)
    mask = data[:, :, NOSEQ_COLUMN] == 0
    y = np.argmax(data[:, :, list(LABEL_COLUMNS)], axis=-1).astype(np.int32)
    y[~mask] = 0
    return x, y, mask


def load_cb6133(path: StrPath, sequence_length: int | None = SEQUENCE_LENGTH
                ) -> ProteinArrays:
    """Load CB6133 (filtered: `cullpdb+profile_6133_filtered.npy.gz`, 5,534
    proteins, the paper's training set). Same as `load_protein_file`.

    Args:
        path: the `.npy` / `.npy.gz` file.
        sequence_length: expected residues per protein (700).

    Returns:
        `(x, y, mask)`, see `load_protein_file`.

    Raises:
        FileNotFoundError, ValueError: see `load_protein_file`.

    Examples:
        >>> x_train, y_train, mask_train = load_cb6133(  # doctest: +SKIP
        ...     "cullpdb+profile_6133_filtered.npy.gz")
    """
    return load_protein_file(path, sequence_length)


def load_cb513(path: StrPath, sequence_length: int | None = SEQUENCE_LENGTH
               ) -> ProteinArrays:
    """Load CB513 (`cb513+profile_split1.npy.gz`, 514 proteins, the paper's
    test set; CASP10/11 files in the same layout load the same way). Same as
    `load_protein_file`.

    Args:
        path: the `.npy` / `.npy.gz` file.
        sequence_length: expected residues per protein (700).

    Returns:
        `(x, y, mask)`, see `load_protein_file`.

    Raises:
        FileNotFoundError, ValueError: see `load_protein_file`.

    Examples:
        >>> x_test, y_test, mask_test = load_cb513("cb513+profile_split1.npy.gz")  # doctest: +SKIP
    """
    return load_protein_file(path, sequence_length)
