"""Balanced similar / dissimilar sequence pairs (NRNM paper, Sec. 4.4.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt


def make_similarity_pairs(x: np.ndarray | Sequence[Any], y: npt.ArrayLike, num_pairs: int,
                          seed: int | None = 0, return_indices: bool = False
                          ) -> tuple[tuple[np.ndarray, np.ndarray], npt.NDArray[np.float32]]:
    """Build balanced pairs for sequence similarity learning.

    "Similar" means same class. Half of the pairs (`num_pairs // 2`) are
    similar and the rest dissimilar, and both halves are balanced per class
    as in the paper (Sec. 4.4.1): each class gets `n // C` pairs of each kind
    (`C` classes), the `n % C` leftover pairs going to distinct classes drawn
    at random. A similar pair of class `c` joins two different samples of
    `c`; a dissimilar pair of class `c` has a sample of `c` first and a
    sample of a uniformly drawn other class second. The pairs are then
    shuffled. The result depends only on the inputs and `seed`.

    Args:
        x: array (N, ...) of sequences (or anything indexable by an integer
            array, e.g. a numpy array).
        y: int labels (N,) or one-hot (N, C).
        num_pairs: total number of pairs.
        seed: seed of `numpy.random.default_rng`.
        return_indices: return the index arrays instead of the gathered
            sequences (saves memory for large `x`).

    Returns:
        `(x_a, x_b), labels` with `labels` float32 (num_pairs,), 1.0 for a
        similar pair and 0.0 for a dissimilar one; with
        `return_indices=True`, `(idx_a, idx_b), labels` instead.

    Raises:
        ValueError: fewer than 2 classes, a class with fewer than 2 samples,
            mismatched lengths or a negative `num_pairs`.

    Examples:
        >>> (x_a, x_b), same = make_similarity_pairs(x_train, y_train, 18823, seed=0)  # doctest: +SKIP
        >>> float(same.mean())  # doctest: +SKIP
        0.49997...
    """
    labels = np.asarray(y)
    if labels.ndim == 2:
        labels = np.argmax(labels, axis=1)
    if labels.ndim != 1:
        raise ValueError(
            f"`y` must be (N,) labels or (N, C) one-hot, got shape {labels.shape}.")
    if len(x) != len(labels):
        raise ValueError(f"`x` has {len(x)} samples but `y` has {len(labels)}.")
    num_pairs = int(num_pairs)
    if num_pairs < 0:
        raise ValueError(f"`num_pairs` must be >= 0, got {num_pairs}.")
    classes, inverse = np.unique(labels, return_inverse=True)
    num_classes = len(classes)
    if num_classes < 2:
        raise ValueError("Need at least 2 classes to build dissimilar pairs.")
    members = [np.flatnonzero(inverse == c) for c in range(num_classes)]
    small = [classes[c] for c in range(num_classes) if len(members[c]) < 2]
    if small:
        raise ValueError(f"Classes {small} have fewer than 2 samples: no similar pair possible.")
    rng = np.random.default_rng(seed)

    def quotas(n: int) -> npt.NDArray[np.int64]:
        q = np.full(num_classes, n // num_classes, np.int64)
        q[rng.choice(num_classes, n % num_classes, replace=False)] += 1
        return q

    n_similar = num_pairs // 2
    q_sim = quotas(n_similar)
    q_dis = quotas(num_pairs - n_similar)
    parts_a, parts_b, parts_lab = [], [], []
    for c in range(num_classes):
        m = members[c]
        # similar: two distinct members of class c
        a = rng.integers(len(m), size=q_sim[c])
        b = rng.integers(len(m) - 1, size=q_sim[c])
        b = b + (b >= a)
        parts_a.append(m[a])
        parts_b.append(m[b])
        parts_lab.append(np.ones(q_sim[c], np.float32))
        # dissimilar: a member of c and a member of another class
        a = rng.integers(len(m), size=q_dis[c])
        other = rng.integers(num_classes - 1, size=q_dis[c])
        other = other + (other >= c)
        pick = np.array([members[o][rng.integers(len(members[o]))] for o in other], np.int64)
        parts_a.append(m[a])
        parts_b.append(pick.reshape(-1))
        parts_lab.append(np.zeros(q_dis[c], np.float32))
    ia = np.concatenate(parts_a).astype(np.int64)
    ib = np.concatenate(parts_b).astype(np.int64)
    lab = np.concatenate(parts_lab)
    order = rng.permutation(len(lab))
    ia, ib, lab = ia[order], ib[order], lab[order]
    if return_indices:
        return (ia, ib), lab
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
    return (x[ia], x[ib]), lab
