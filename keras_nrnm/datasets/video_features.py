"""Pre-extracted per-frame video features with multi-label targets
(Charades-style, NRNM paper Sec. 4.1: I3D / I3D-NL features of Charades).

Layout: one `<id>.npy` array `(frames, features)` per video in a folder,
and a CSV labels file. Not on any package registry: extract the features
with your own backbone (or use a published dump) and write this layout.
"""

from __future__ import annotations

import csv
import io
import os
import re

import numpy as np
import numpy.typing as npt

from keras_nrnm import validation
from keras_nrnm.datasets._cache import load_npy_file
from keras_nrnm.datasets._sequence import check_sampling
from keras_nrnm.datasets._sequence import fit_length
from keras_nrnm.datasets._types import StrPath

_CLASS_TOKEN = re.compile(r"^[cC]?(\d+)$")


def _parse_class_token(token: str, path: str, line_no: int, num_classes: int | None) -> int:
    m = _CLASS_TOKEN.match(token)
    if not m:
        raise ValueError(
            f"{path}, line {line_no}: bad class id {token!r}; expected an "
            "integer id like 12 or a Charades id like c012."
        )
    cls = int(m.group(1))
    if num_classes is not None and not 0 <= cls < num_classes:
        raise ValueError(
            f"{path}, line {line_no}: class id {token!r} outside 0..{num_classes - 1}."
        )
    return cls


def read_video_labels(labels_file: StrPath, num_classes: int | None = None
                      ) -> tuple[list[str], list[list[int]]]:
    """Read a video labels CSV.

    Accepted layouts (a header row is optional; it is recognised by a first
    column named `id`):

    - `id,classes` where `classes` holds integer ids separated by spaces or
      semicolons: `12 34`, `c012;c034` (Charades `c###` ids give ###); an
      empty field means no class.
    - the official Charades CSV (`Charades_v1_train.csv`): the `actions`
      column `c092 11.90 21.20;c147 0.00 12.60` (class, start, end per
      `;`-separated entry); only the classes are read.

    Args:
        labels_file: path of the CSV.
        num_classes: if given, class ids must be in `0..num_classes - 1`.

    Returns:
        `(ids, classes)`: a list of video ids and, per video, a list of int
        class ids (possibly empty).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a bad row, or a file that is not UTF-8 text (e.g. saved
            as Latin-1: re-save it as UTF-8); the message names the file and
            the line number.

    Examples:
        >>> read_video_labels("labels.csv")  # "v1,c001;c003" and "v2,2 0"  # doctest: +SKIP
        (['v1', 'v2'], [[1, 3], [2, 0]])
    """
    labels_file = os.fspath(labels_file)
    if not os.path.isfile(labels_file):
        raise FileNotFoundError(
            f"{labels_file}: no such labels file (expected a CSV `id,classes`).")
    ids, classes = [], []
    with open(labels_file, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # Not guessed as Latin-1: video ids must match the feature files'
        # names exactly, and a wrong guess would silently change them.
        line_no = raw.count(b"\n", 0, e.start) + 1
        raise ValueError(
            f"{labels_file}, line {line_no}: not UTF-8 text (byte "
            f"{raw[e.start]:#04x}); save the labels file as UTF-8."
        ) from None
    with io.StringIO(text, newline="") as f:
        reader = csv.reader(f)
        id_col, cls_col, charades = 0, 1, False
        first = True
        for row in reader:
            line_no = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if first:
                first = False
                header = [c.strip().lower() for c in row]
                if header[0] == "id":
                    if "actions" in header:
                        cls_col, charades = header.index("actions"), True
                    elif "classes" in header:
                        cls_col = header.index("classes")
                    elif len(header) >= 2:
                        cls_col = 1
                    continue
            if len(row) <= max(id_col, cls_col):
                raise ValueError(
                    f"{labels_file}, line {line_no}: expected at least "
                    f"{max(id_col, cls_col) + 1} comma-separated fields "
                    f"(`id,classes`), got {len(row)}: {row!r}."
                )
            vid = row[id_col].strip()
            if not vid:
                raise ValueError(f"{labels_file}, line {line_no}: empty video id.")
            field = row[cls_col].strip()
            if charades:
                tokens = [part.split()[0] for part in field.split(";") if part.strip()]
            else:
                tokens = [t for t in re.split(r"[;\s]+", field) if t]
            classes.append(
                [_parse_class_token(t, labels_file, line_no, num_classes) for t in tokens])
            ids.append(vid)
    if not ids:
        raise ValueError(f"{labels_file}: no labelled video found (expected rows `id,classes`).")
    return ids, classes


def load_video_features(features_dir: StrPath, labels_file: StrPath, num_classes: int,
                        length: int = 64, sampling: str = "uniform",
                        skip_missing: bool = False, dtype: npt.DTypeLike = "float32"
                        ) -> tuple[np.ndarray, npt.NDArray[np.float32], list[str]]:
    """Load per-video feature arrays with multi-hot labels.

    Args:
        features_dir: folder with one `<id>.npy` array `(frames, features)`
            per video (all with the same number of features).
        labels_file: CSV, see `read_video_labels` (`id,classes` with
            `12 34` / `c012;c034` ids, or the official Charades CSV).
        num_classes: number of classes (157 for Charades).
        length: frames per output sequence.
        sampling: `"uniform"` (uniform temporal sampling, first and last
            frames kept), `"linear"` (interpolation) or `"pad"` (first
            `length` frames, zero-padded at the end).
        skip_missing: skip videos without a feature file instead of raising.
        dtype: dtype of x.

    Returns:
        `(x, y, ids)`: x `(N, length, features)`, y float32 multi-hot
        `(N, num_classes)`, ids a list of str, in the labels-file order.

    Raises:
        FileNotFoundError: a missing labels or feature file (named).
        ValueError: a bad labels row (file and line named), a feature file
            that is unreadable, not numeric, not a 2D array or has a
            different feature size (named); `num_classes` not a positive
            integer.

    Examples:
        >>> x, y, ids = load_video_features("charades_i3d/", "Charades_v1_train.csv",  # doctest: +SKIP
        ...                                 num_classes=157, length=64)
        >>> y.shape  # doctest: +SKIP
        (7985, 157)
    """
    check_sampling(sampling)
    num_classes = validation.positive_int("num_classes", num_classes)
    features_dir = os.fspath(features_dir)
    if not os.path.isdir(features_dir):
        raise FileNotFoundError(
            f"{features_dir}: no such folder (expected one <id>.npy per video).")
    ids, classes = read_video_labels(labels_file, num_classes)
    xs, ys, kept = [], [], []
    feat_dim, feat_file = None, None
    for vid, cls in zip(ids, classes):
        path = os.path.join(features_dir, vid + ".npy")
        if not os.path.isfile(path):
            if skip_missing:
                continue
            raise FileNotFoundError(f"{path}: feature file of video {vid!r} not found.")
        arr = load_npy_file(path, "a .npy array (frames, features)")
        if arr.ndim != 2:
            raise ValueError(f"{path}: array of shape {arr.shape}; expected (frames, features).")
        if feat_dim is None:
            feat_dim, feat_file = arr.shape[1], path
        elif arr.shape[1] != feat_dim:
            raise ValueError(
                f"{path}: {arr.shape[1]} features per frame, but {feat_file} has {feat_dim}."
            )
        xs.append(fit_length(arr.astype(dtype), length, sampling))
        hot = np.zeros(num_classes, np.float32)
        hot[cls] = 1.0
        ys.append(hot)
        kept.append(vid)
    if not xs:
        raise FileNotFoundError(
            f"{features_dir}: none of the {len(ids)} videos has a feature file.")
    return np.stack(xs), np.stack(ys), kept
