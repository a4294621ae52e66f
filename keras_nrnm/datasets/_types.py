"""Type aliases of the data set loaders' signatures.

Each loader's docstring gives the shapes; these name the containers and,
where a loader fixes it, the dtype.
"""

import os
from typing import Any
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

# A file or folder: a `str` or an `os.PathLike` such as `pathlib.Path`.
StrPath: TypeAlias = str | os.PathLike[str]

# `(x, y)` of one split where the dtypes depend on the arguments.
Split: TypeAlias = tuple[np.ndarray, np.ndarray]

# `(x, y)`: float32 sequences `(N, steps, channels)`, int32 class ids `(N,)`.
SequenceSplit: TypeAlias = tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]

# `(lengths_train, lengths_test)`: int64 steps of each series before padding.
Lengths: TypeAlias = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]

# `(names_train, names_test)`: the file names of each split.
Names: TypeAlias = tuple[list[str], list[str]]

# `(x, y)`: int32 token ids `(N, sequence_length)`, int32 labels `(N,)`.
TokenSplit: TypeAlias = tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]

# `(x, y, mask)` of per-residue data: float32 `(N, L, channels)`, int32
# labels `(N, L)`, bool `(N, L)` (True on real residues).
ProteinArrays: TypeAlias = tuple[
    npt.NDArray[np.float32], npt.NDArray[np.int32], npt.NDArray[np.bool_]]

# The series, labels and header of a UEA/UCR `.ts` file (see `parse_ts`).
TsContents: TypeAlias = tuple[
    list[npt.NDArray[np.float32]], npt.NDArray[np.str_], dict[str, Any]]
