"""NTU RGB+D 3D skeletons (Shahroudy et al., CVPR 2016): the `.skeleton`
text files as distributed, the cross-subject / cross-view protocols, and the
150-features-per-frame representation the NRNM paper (Sec. 4.1) feeds.

The data itself is not on any package registry: download it from the ROSE
lab (https://rose1.ntu.edu.sg/dataset/actionRecognition/) and point
`load_ntu_skeletons` at the folder of `.skeleton` files.
"""

from __future__ import annotations

import os
import re
from typing import Literal
from typing import overload

import numpy as np
import numpy.typing as npt

from keras_nrnm import validation
from keras_nrnm.datasets._sequence import check_sampling
from keras_nrnm.datasets._sequence import fit_length
from keras_nrnm.datasets._types import Names
from keras_nrnm.datasets._types import SequenceSplit
from keras_nrnm.datasets._types import StrPath

NUM_JOINTS = 25
NUM_BODIES = 2
SPINE_MID_JOINT = 1  # 0-based joint index of "middle of the spine"

# Cross-subject protocol: these performers are the training subjects; all
# other performers are test subjects (Shahroudy et al., 2016).
CROSS_SUBJECT_TRAIN_PERFORMERS = (
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38,
)
# Cross-view protocol: cameras 2 and 3 train, camera 1 tests.
CROSS_VIEW_TRAIN_CAMERAS = (2, 3)

_NAME_RE = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


class _Lines:
    """Line cursor over a text file that reports 1-based line numbers."""

    def __init__(self, lines: list[str], path: str) -> None:
        self.lines = lines
        self.path = path
        self.pos = 0  # index of the next line to read

    def error(self, what: str, line_no: int | None = None) -> ValueError:
        line_no = self.pos if line_no is None else line_no
        return ValueError(f"{self.path}, line {line_no}: {what}")

    def next(self, expected: str) -> str:
        if self.pos >= len(self.lines):
            raise ValueError(
                f"{self.path}, line {self.pos + 1}: file ends early (truncated?); "
                f"expected {expected}."
            )
        line = self.lines[self.pos]
        self.pos += 1
        return line

    def int(self, expected: str) -> int:
        line = self.next(expected)
        try:
            return int(line.strip())
        except ValueError:
            raise self.error(f"expected {expected} (one integer), got {line.strip()!r}.") from None


def read_ntu_skeleton(path: StrPath, max_bodies: int = NUM_BODIES) -> npt.NDArray[np.float32]:
    """Read one NTU RGB+D `.skeleton` file.

    The format: the frame count; then per frame the body count and per body
    one line of 10 body values, the joint count (25) and one line of 12
    numbers per joint (x, y, z, depth x/y, colour x/y, orientation w/x/y/z,
    tracking state). Only the 3D camera coordinates x, y, z are kept.

    Args:
        path: path of the `.skeleton` file.
        max_bodies: positive number of body slots; bodies beyond it in a
            frame are dropped (the first `max_bodies` listed are kept).

    Returns:
        float32 array of shape `(frames, max_bodies, 25, 3)`, zeros where a
        body is absent.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is truncated or malformed (wrong joint count,
            wrong number of values on a line, a frame or body count larger
            than the file can hold); the message names the file and the
            line number. A `max_bodies` that is not a positive integer.
        TypeError: `max_bodies` is not an integer.

    Examples:
        >>> skel = read_ntu_skeleton("S001C001P001R001A001.skeleton")  # doctest: +SKIP
        >>> skel.shape  # doctest: +SKIP
        (103, 2, 25, 3)
    """
    max_bodies = validation.positive_int("max_bodies", max_bodies)
    path = os.fspath(path)
    with open(path, "r", encoding="ascii", errors="replace") as f:
        lines = f.read().splitlines()
    cur = _Lines(lines, path)
    num_frames = cur.int("the frame count")
    if num_frames < 0:
        raise cur.error(f"negative frame count {num_frames}.")
    # Counts are checked against the lines left before anything is
    # allocated: a corrupt header must not ask for terabytes.
    if num_frames > len(lines) - cur.pos:
        raise cur.error(
            f"the header claims {num_frames} frames, but only "
            f"{len(lines) - cur.pos} lines follow (each frame needs at least "
            "one); truncated or corrupt file.")
    out = np.zeros((num_frames, max_bodies, NUM_JOINTS, 3), np.float32)
    for t in range(num_frames):
        num_bodies = cur.int(f"the body count of frame {t + 1}")
        if num_bodies < 0:
            raise cur.error(f"negative body count {num_bodies}.")
        for b in range(num_bodies):
            info = cur.next(f"the body info line of body {b + 1} in frame {t + 1}")
            if len(info.split()) != 10:
                raise cur.error(
                    f"expected 10 body values (body info line), got "
                    f"{len(info.split())}: {info.strip()!r}."
                )
            num_joints = cur.int("the joint count (25)")
            if num_joints != NUM_JOINTS:
                raise cur.error(f"expected {NUM_JOINTS} joints, got {num_joints}.")
            first = cur.pos + 1  # 1-based number of the first joint line
            block = [cur.next(f"joint line {j + 1} of {NUM_JOINTS}") for j in range(NUM_JOINTS)]
            values = " ".join(block).split()
            if len(values) != NUM_JOINTS * 12:
                for j, line in enumerate(block):
                    if len(line.split()) != 12:
                        raise cur.error(
                            f"expected 12 values per joint line, got "
                            f"{len(line.split())}.", first + j)
            try:
                joints = np.array(values, dtype=np.float64).reshape(NUM_JOINTS, 12)
            except ValueError:
                for j, line in enumerate(block):
                    try:
                        [float(v) for v in line.split()]
                    except ValueError:
                        raise cur.error(f"non-numeric joint value in {line.strip()!r}.",
                                        first + j) from None
                raise
            if b < max_bodies:
                out[t, b] = joints[:, :3]
    for rest in lines[cur.pos:]:
        if rest.strip():
            raise cur.error(
                f"unexpected content after the last of {num_frames} frames: "
                f"{rest.strip()[:40]!r}.", cur.pos + 1)
    return out


def parse_ntu_filename(name: StrPath) -> dict[str, int]:
    """Parse an NTU RGB+D file name like `S001C002P003R002A013.skeleton`.

    Args:
        name: file name or path.

    Returns:
        dict with integer `setup`, `camera`, `performer`, `replication` and
        `action` (1-based, as in the name).

    Raises:
        ValueError: the name does not follow the `SsssCcccPpppRrrrAaaa` pattern.

    Examples:
        >>> parse_ntu_filename("S001C002P003R002A013.skeleton")
        {'setup': 1, 'camera': 2, 'performer': 3, 'replication': 2, 'action': 13}
    """
    base = os.path.basename(os.fspath(name))
    m = _NAME_RE.match(base)
    if not m:
        raise ValueError(
            f"{name}: not an NTU RGB+D file name; expected the pattern "
            "SsssCcccPpppRrrrAaaa (e.g. S001C002P003R002A013.skeleton)."
        )
    keys = ("setup", "camera", "performer", "replication", "action")
    return dict(zip(keys, (int(g) for g in m.groups())))


def is_training_sample(info: dict[str, int], protocol: str = "cs") -> bool:
    """Whether a parsed file name belongs to the training split of `protocol`.

    Args:
        info: dict from `parse_ntu_filename`.
        protocol: `"cs"` (cross-subject: performer in
            `CROSS_SUBJECT_TRAIN_PERFORMERS`) or `"cv"` (cross-view: camera
            2 or 3).

    Returns:
        bool, True for the training split.

    Raises:
        ValueError: unknown `protocol`.

    Examples:
        >>> is_training_sample(parse_ntu_filename("S001C001P003R001A001"), "cs")
        False
    """
    if protocol == "cs":
        return info["performer"] in CROSS_SUBJECT_TRAIN_PERFORMERS
    if protocol == "cv":
        return info["camera"] in CROSS_VIEW_TRAIN_CAMERAS
    raise ValueError(f"`protocol` must be 'cs' or 'cv', got {protocol!r}.")


def _body_present(skel: np.ndarray) -> npt.NDArray[np.bool_]:
    """(frames, bodies) bool: a body slot holds data (not all zeros)."""
    return np.any(skel != 0, axis=(2, 3))


def center_skeleton(skel: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Centre a skeleton on the first frame's spine-middle joint of body 1.

    The joint (index 1, "middle of the spine") of body 1 in the first frame
    is subtracted from every joint of every present body in every frame;
    absent bodies (all zeros) stay zero. If body 1 is absent in the first
    frame, its first present frame is used; with no body 1 at all the input
    is returned unchanged.

    Args:
        skel: array `(frames, bodies, 25, 3)`, e.g. from `read_ntu_skeleton`.

    Returns:
        a new float32 array of the same shape.

    Raises:
        IndexError: `skel` has fewer than 2 joints.

    Examples:
        >>> centred = center_skeleton(read_ntu_skeleton(path))  # doctest: +SKIP
        >>> centred[0, 0, 1]  # doctest: +SKIP
        array([0., 0., 0.], dtype=float32)
    """
    skel = np.array(skel, dtype=np.float32, copy=True)
    present = _body_present(skel)
    frames = np.flatnonzero(present[:, 0])
    if not len(frames):
        return skel
    origin = skel[frames[0], 0, SPINE_MID_JOINT].copy()
    skel[present] -= origin
    return skel


def skeleton_features(skel: npt.ArrayLike, length: int = 100, sampling: str = "uniform",
                      center: bool = True) -> npt.NDArray[np.float32]:
    """Turn one skeleton into the paper's per-frame features.

    Feature order per frame: body 1 joints 1..25 (x, y, z each), then body 2:
    feature `75 * body + 3 * joint + coord`.

    Args:
        skel: array `(frames, 2, 25, 3)` from `read_ntu_skeleton`.
        length: output frames.
        sampling: `"uniform"`, `"linear"` or `"pad"` (see
            `load_ntu_skeletons`).
        center: apply `center_skeleton` first.

    Returns:
        float32 array `(length, 150)`.

    Raises:
        ValueError: unknown `sampling` or `length` < 1.

    Examples:
        >>> skeleton_features(read_ntu_skeleton(path), length=100).shape  # doctest: +SKIP
        (100, 150)
    """
    check_sampling(sampling)
    skel = np.asarray(skel, np.float32)
    if center:
        skel = center_skeleton(skel)
    flat = skel.reshape(skel.shape[0], -1)
    return fit_length(flat, length, sampling).astype(np.float32)


@overload
def load_ntu_skeletons(directory: StrPath, protocol: str = ..., length: int = ...,
                       sampling: str = ..., center: bool = ..., skip_empty: bool = ...,
                       return_names: Literal[False] = ...
                       ) -> tuple[SequenceSplit, SequenceSplit]: ...
@overload
def load_ntu_skeletons(directory: StrPath, protocol: str = ..., length: int = ...,
                       sampling: str = ..., center: bool = ..., skip_empty: bool = ...,
                       *, return_names: Literal[True]
                       ) -> tuple[SequenceSplit, SequenceSplit, Names]: ...
@overload
def load_ntu_skeletons(directory: StrPath, protocol: str = ..., length: int = ...,
                       sampling: str = ..., center: bool = ..., skip_empty: bool = ...,
                       return_names: bool = ...
                       ) -> (tuple[SequenceSplit, SequenceSplit]
                             | tuple[SequenceSplit, SequenceSplit, Names]): ...
def load_ntu_skeletons(directory: StrPath, protocol: str = "cs", length: int = 100,
                       sampling: str = "uniform", center: bool = True,
                       skip_empty: bool = True, return_names: bool = False
                       ) -> (tuple[SequenceSplit, SequenceSplit]
                             | tuple[SequenceSplit, SequenceSplit, Names]):
    """Load a folder of NTU RGB+D `.skeleton` files as a train/test split.

    Each sequence becomes `length` frames of 150 features (25 joints x 3
    coordinates x 2 bodies, body 1 first; zeros for an absent body),
    centred on the first frame's spine-middle joint of body 1.

    Args:
        directory: folder searched (recursively) for `*.skeleton` files.
        protocol: `"cs"` (cross-subject: performers
            1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34,
            35, 38 train, all others test) or `"cv"` (cross-view: cameras 2
            and 3 train, camera 1 test).
        length: number of frames per output sequence.
        sampling: `"uniform"` (uniform temporal sampling of `length` frames,
            first and last included; short sequences repeat frames),
            `"linear"` (interpolation at the same positions) or `"pad"`
            (first `length` frames, zero-padded at the end).
        center: subtract the spine-middle origin (see `center_skeleton`).
        skip_empty: drop files with no body in any frame (NTU's "missing
            skeleton" samples).
        return_names: also return the file names of each split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: x float32
        `(N, length, 150)`, y int32 `(N,)` with 0-based actions (A001 -> 0).
        With `return_names=True` a third item `(names_train, names_test)`.

    Raises:
        FileNotFoundError: `directory` does not exist or holds no `.skeleton` file.
        ValueError: a malformed file or file name (the message names it),
            or an unknown `protocol` / `sampling`.

    Examples:
        >>> (x_train, y_train), (x_test, y_test) = load_ntu_skeletons(  # doctest: +SKIP
        ...     "nturgb+d_skeletons", protocol="cs", length=100)
        >>> x_train.shape[1:]  # doctest: +SKIP
        (100, 150)
    """
    check_sampling(sampling)
    if protocol not in ("cs", "cv"):
        raise ValueError(f"`protocol` must be 'cs' or 'cv', got {protocol!r}.")
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"{directory}: no such folder (expected a folder of .skeleton files).")
    paths: list[str] = []
    for root, _, files in os.walk(directory):
        paths.extend(os.path.join(root, f) for f in files if f.endswith(".skeleton"))
    paths.sort(key=os.path.basename)
    if not paths:
        raise FileNotFoundError(f"{directory}: no .skeleton file found.")
    splits: dict[bool, tuple[list[np.ndarray], list[int], list[str]]] = {
        True: ([], [], []), False: ([], [], [])}
    for path in paths:
        info = parse_ntu_filename(path)
        skel = read_ntu_skeleton(path)
        if skip_empty and not np.any(skel):
            continue
        xs, ys, names = splits[is_training_sample(info, protocol)]
        xs.append(skeleton_features(skel, length, sampling, center))
        ys.append(info["action"] - 1)
        names.append(os.path.basename(path))

    def stack(part: tuple[list[np.ndarray], list[int], list[str]]
              ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32], list[str]]:
        xs, ys, names = part
        x = np.stack(xs) if xs else np.zeros((0, length, NUM_BODIES * NUM_JOINTS * 3), np.float32)
        return x, np.asarray(ys, np.int32), names

    x_tr, y_tr, n_tr = stack(splits[True])
    x_te, y_te, n_te = stack(splits[False])
    if return_names:
        return (x_tr, y_tr), (x_te, y_te), (n_tr, n_te)
    return (x_tr, y_tr), (x_te, y_te)
