"""The cache path (`_cache.fetch_npz`: fetch once, verify, convert, write
atomically) and the registry-backed loaders, run offline on small fake
archives in the real layouts (no network needed). Fetching from the package
index: `test_datasets_index.py`."""

import ast
import copyreg
import dataclasses
import gzip
import io
import os
import pathlib
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

import keras_nrnm.datasets as kd
from keras_nrnm.datasets import _cache
from keras_nrnm.datasets import _index
from keras_nrnm.datasets import _registry
from keras_nrnm.datasets import hapt as hapt_module

FAKE = _registry.PackageSource(
    key="fake", package="fakepkg", version="1.0", filename="fakepkg-1.0.tar.gz",
    sha256="0" * 64, cache_name="fake-v1.npz")


@pytest.fixture
def pip_env(monkeypatch):
    """pip settings from this test only: no index variables, no pip.conf."""
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_index, "pip_config", dict)
    for name in ("no_proxy", "NO_PROXY"):  # the local test server, not a proxy
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def home(tmp_path, monkeypatch, pip_env):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.delenv(_index.ARCHIVE_DIR_ENV, raising=False)
    return tmp_path / "kh" / "datasets" / "keras_nrnm"


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return path


def make_zip(path, members):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def fake_source(tmp_path, members, source=FAKE):
    """Write an archive for `source`; return (source with its sha, archive dir)."""
    folder = tmp_path / "archives"
    folder.mkdir(exist_ok=True)
    path = folder / source.filename
    (make_zip if source.filename.endswith(".whl") else make_tar)(path, members)
    return dataclasses.replace(source, sha256=_cache.sha256_file(path)), folder


def copying_downloader(folder, calls):
    def download(source, dest):
        calls.append(source.key)
        target = os.path.join(dest, source.filename)
        with open(folder / source.filename, "rb") as src, open(target, "wb") as dst:
            dst.write(src.read())
        return target
    return download


def convert_member(archive):
    data = _cache.read_archive_member(archive, "pkg/data.txt")
    return {"values": np.frombuffer(data, np.uint8).astype(np.int64)}


# ---------------------------------------------------------------- cache core
def test_cache_dir_honours_keras_home(home):
    assert pathlib.Path(_cache.cache_dir()) == home and home.is_dir()


def test_fetch_once_then_reuse(home, tmp_path):
    source, folder = fake_source(tmp_path, {"pkg/data.txt": b"abc"})
    calls = []
    first = _cache.fetch_npz(source, convert_member, downloader=copying_downloader(folder, calls))
    second = _cache.fetch_npz(source, convert_member, downloader=copying_downloader(folder, calls))
    assert calls == ["fake"]
    assert first["values"].tolist() == [97, 98, 99] == second["values"].tolist()
    assert sorted(os.listdir(home)) == ["fake-v1.npz"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert os.stat(home / "fake-v1.npz").st_mode & 0o777 == 0o666 & ~umask


def test_first_fetch_says_what_from_where_and_how_big(home, tmp_path, capsys,
                                                     monkeypatch):
    source, folder = fake_source(tmp_path, {"pkg/data.txt": b"abc"})
    source = dataclasses.replace(source, size_mb=18.8)
    calls = []
    _cache.fetch_npz(source, convert_member,
                     downloader=copying_downloader(folder, calls))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "keras_nrnm: fetching the fake data set once: fakepkg 1.0 from the "
        "package index https://pypi.org/simple/, 18.8 MB ...",
        f"keras_nrnm: cached the fake data set in {home / 'fake-v1.npz'} "
        f"({os.path.getsize(home / 'fake-v1.npz') / 1e6:.1f} MB); later runs "
        "read it from there.",
    ]
    # A second use reads the cache and says nothing.
    _cache.fetch_npz(source, convert_member,
                     downloader=copying_downloader(folder, calls))
    assert capsys.readouterr().out == "" and calls == ["fake"]
    # From the archive folder, without a size: says so.
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(folder))
    _cache.fetch_npz(dataclasses.replace(source, size_mb=0.0), convert_member,
                     downloader=copying_downloader(folder, calls), force=True)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f"keras_nrnm: fetching the fake data set once: fakepkg "
                     f"1.0 from {folder} (${_index.ARCHIVE_DIR_ENV}) ...")


def test_registry_sizes_are_announced():
    sources = [value for value in vars(_registry).values()
               if isinstance(value, _registry.PackageSource)]
    assert len(sources) == 6
    assert all(source.size_mb > 0 for source in sources)
    assert _registry.HAPT.size_mb == 18.8


def test_failed_conversion_leaves_nothing(home, tmp_path):
    source, folder = fake_source(tmp_path, {"pkg/data.txt": b"abc"})

    def broken(archive):
        convert_member(archive)
        raise ValueError("conversion failed")

    with pytest.raises(ValueError, match="conversion failed"):
        _cache.fetch_npz(source, broken, downloader=copying_downloader(folder, []))
    assert os.listdir(home) == []


def test_failed_write_leaves_nothing(home, tmp_path, monkeypatch):
    source, folder = fake_source(tmp_path, {"pkg/data.txt": b"abc"})

    def half_write(f, **arrays):
        f.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", half_write)
    with pytest.raises(OSError, match="disk full"):
        _cache.fetch_npz(source, convert_member, downloader=copying_downloader(folder, []))
    assert os.listdir(home) == []


def test_checksum_mismatch(home, tmp_path):
    source, folder = fake_source(tmp_path, {"pkg/data.txt": b"abc"})
    actual = source.sha256
    wrong = dataclasses.replace(source, sha256="f" * 64)
    with pytest.raises(kd.ChecksumError) as err:
        _cache.fetch_npz(wrong, convert_member, downloader=copying_downloader(folder, []))
    msg = str(err.value)
    assert "fakepkg==1.0" in msg and "f" * 64 in msg and actual in msg
    assert os.listdir(home) == []


def test_corrupt_cache_file_is_refetched(home, tmp_path):
    source, folder = fake_source(tmp_path, {"pkg/data.txt": b"xy"})
    home.mkdir(parents=True)
    (home / "fake-v1.npz").write_bytes(b"garbage")
    calls = []
    with pytest.warns(UserWarning, match="Unreadable cache file"):
        out = _cache.fetch_npz(source, convert_member, downloader=copying_downloader(folder, calls))
    assert calls == ["fake"] and out["values"].tolist() == [120, 121]


def test_archive_members_and_packing(tmp_path):
    tar = make_tar(tmp_path / "a.tar.gz", {"d/x.txt": b"1"})
    whl = make_zip(tmp_path / "b.whl", {"d/y.txt": b"2"})
    assert _cache.read_archive_member(str(tar), "d/x.txt") == b"1"
    assert _cache.read_archive_member(str(whl), "d/y.txt") == b"2"
    with pytest.raises(FileNotFoundError, match=r"a\.tar\.gz does not contain \['d/z.txt'\]"):
        _cache.read_archive_member(str(tar), "d/z.txt")
    data, offsets = _cache.pack_strings(["héllo", "", "wörld"])
    assert _cache.unpack_strings(data, offsets) == ["héllo", "", "wörld"]
    data, offsets = _cache.pack_ragged([np.ones((2, 3)), np.zeros((1, 3))], np.float32)
    parts = _cache.unpack_ragged(data, offsets)
    assert [p.shape for p in parts] == [(2, 3), (1, 3)]


def test_no_heavy_imports_at_module_level():
    folder = pathlib.Path(kd.__file__).parent
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in ("pandas", "matplotlib", "keras", "tensorflow"), (
                    f"{path.name} imports {name} at module level")


# ---------------------------------------------------------------- HAPT (fake archive)
def test_tolerant_reconstructor():
    with pytest.raises(TypeError):
        copyreg._reconstructor(set, object, None)
    assert hapt_module._tolerant_reconstructor(set, object, None) == set()


def fake_hapt(tmp_path, monkeypatch):
    pd = pytest.importorskip("pandas")
    cols = list(kd.HAPT_CHANNELS)

    def frame(labels, start):
        n = len(labels)
        values = start + np.arange(n * 6, dtype=np.float64).reshape(n, 6)
        df = pd.DataFrame(values, columns=cols)
        df["sequence"] = np.arange(n)
        df["label"] = labels
        return df

    users = {
        1: [frame([-1, -1, 1, 1, 1, -1, 7, 7, 2, 2], 0.0)],
        2: [frame([3, 3, 3, -1], 100.0), frame([12, 12], 200.0)],
    }
    payload = gzip.compress(pickle.dumps(users, protocol=2))
    source, folder = fake_source(tmp_path, {hapt_module._MEMBER: payload}, _registry.HAPT)
    monkeypatch.setattr(_registry, "HAPT", source)
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(folder))
    return users, folder


def test_load_hapt_offline(home, tmp_path, monkeypatch):
    users, folder = fake_hapt(tmp_path, monkeypatch)
    (x_tr, y_tr), (x_te, y_te), info = kd.load_hapt(
        length=3, test_users=(2,), sampling="pad", standardize=False, return_info=True)
    assert y_tr.tolist() == [0, 6, 1] and y_te.tolist() == [2, 11]
    assert info["users_train"].tolist() == [1, 1, 1] and info["users_test"].tolist() == [2, 2]
    assert info["lengths_train"].tolist() == [3, 2, 2] and info["train_users"][0] == 1
    v1 = users[1][0][list(kd.HAPT_CHANNELS)].to_numpy(np.float32)
    np.testing.assert_array_equal(x_tr[0], v1[2:5])
    np.testing.assert_array_equal(x_tr[1, :2], v1[6:8])
    np.testing.assert_array_equal(x_tr[1, 2], 0.0)
    assert x_tr.dtype == np.float32 and y_tr.dtype == np.int32

    # standardisation with training statistics (raw steps 2-4, 6-9 of user 1)
    (x_tr, _), (x_te, _), info = kd.load_hapt(
        length=2, test_users=(2,), sampling="uniform", return_info=True)
    train_steps = np.concatenate([v1[2:5], v1[6:10]]).astype(np.float64)
    np.testing.assert_allclose(info["mean"], train_steps.mean(0), rtol=1e-6)
    np.testing.assert_allclose(info["std"], train_steps.std(0), rtol=1e-6)
    v2 = users[2][0][list(kd.HAPT_CHANNELS)].to_numpy(np.float32)
    np.testing.assert_allclose(x_te[0], (v2[[0, 2]] - info["mean"]) / info["std"], rtol=1e-5)

    # linear resampling and raw mode
    (x_tr, _), _ = kd.load_hapt(length=5, test_users=(2,), standardize=False)
    a, b, c = v1[2, 0], v1[3, 0], v1[4, 0]  # consecutive steps differ by 6
    np.testing.assert_allclose(x_tr[0, :, 0], [a, a + 3, b, b + 3, c])
    (x_tr, _), _ = kd.load_hapt(test_users=(2,), sampling="raw", standardize=False)
    assert x_tr.dtype == object and [s.shape for s in x_tr] == [(3, 6), (2, 6), (2, 6)]
    (_, y_tr), (_, y_te) = kd.load_hapt(length=2, test_users=(2,), include_transitions=False)
    assert y_tr.tolist() == [0, 1] and y_te.tolist() == [2]

    # cached: works without the archive
    (folder / _registry.HAPT.filename).unlink()
    monkeypatch.setattr(_index, "download_archive", lambda *a: pytest.fail("fetched twice"))
    kd.load_hapt(length=2, test_users=(2,))
    with pytest.raises(ValueError, match="test_users"):
        kd.load_hapt(test_users=(31,))
    with pytest.raises(ValueError, match="sampling"):
        kd.load_hapt(sampling="cubic")


# ---------------------------------------------------------------- other fakes
def test_load_japanese_vowels_offline(home, tmp_path, monkeypatch):
    from keras_nrnm.datasets import japanese_vowels as jv

    head = "@problemName JapaneseVowels\n@dimensions 2\n@classLabel true 1 2 3 4 5 6 7 8 9\n@data\n"
    members = {
        jv._MEMBERS["train"]: (head + "1,2,3:4,5,6:1\n7,8:9,10:9\n").encode(),
        jv._MEMBERS["test"]: (head + "1,2,3,4:5,6,7,8:5\n").encode(),
    }
    source, folder = fake_source(tmp_path, members, _registry.JAPANESE_VOWELS)
    monkeypatch.setattr(_registry, "JAPANESE_VOWELS", source)
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(folder))
    (x_tr, y_tr), (x_te, y_te), (l_tr, l_te) = kd.load_japanese_vowels(return_lengths=True)
    assert x_tr.shape == (2, 4, 2) and x_te.shape == (1, 4, 2)
    assert y_tr.tolist() == [0, 8] and y_te.tolist() == [4]
    assert l_tr.tolist() == [3, 2] and l_te.tolist() == [4]
    np.testing.assert_array_equal(x_tr[1], [[7, 9], [8, 10], [0, 0], [0, 0]])


@pytest.mark.parametrize("name,registry_entry", [
    ("OSULeaf", "JAPANESE_VOWELS"), ("PickupGestureWiimoteZ", "AEON")])
def test_load_ucr_offline(home, tmp_path, monkeypatch, name, registry_entry):
    from keras_nrnm.datasets import ucr

    head = f"@problemName {name}\n@univariate true\n@classLabel true 10 2 3\n@data\n"
    members = {
        ucr._members(name)["train"]: (head + "1,2,3:10\n4,5:2\n6,7,8:2\n").encode(),
        ucr._members(name)["test"]: (head + "9,8,7,6:3\n").encode(),
    }
    source, folder = fake_source(tmp_path, members, getattr(_registry, registry_entry))
    monkeypatch.setattr(_registry, registry_entry, source)
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(folder))
    (x_tr, y_tr), (x_te, y_te), classes, (l_tr, l_te) = kd.load_ucr(
        name, return_lengths=True)
    assert classes == ("2", "3", "10")  # numeric labels in numeric order
    assert x_tr.shape == (3, 4, 1) and x_te.shape == (1, 4, 1)
    assert y_tr.tolist() == [2, 0, 0] and y_te.tolist() == [1]
    assert l_tr.tolist() == [3, 2, 3] and l_te.tolist() == [4]
    np.testing.assert_array_equal(x_tr[1, :, 0], [4, 5, 0, 0])
    np.testing.assert_array_equal(x_te[0, :, 0], [9, 8, 7, 6])
    with pytest.raises(ValueError, match="`name` must be one of"):
        kd.load_ucr("Coffee")


def test_load_ucr_tslearn_offline(home, tmp_path, monkeypatch):
    from keras_nrnm.datasets import ucr

    buffer = io.BytesIO()
    np.savez(buffer, X_train=np.arange(12.0).reshape(3, 4, 1),
             y_train=np.array([4, 1, 4]), X_test=-np.ones((1, 4, 1)),
             y_test=np.array([1]))
    members = {ucr._members("Trace")["both"]: buffer.getvalue()}
    source, folder = fake_source(tmp_path, members, _registry.TSLEARN)
    monkeypatch.setattr(_registry, "TSLEARN", source)
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(folder))
    (x_tr, y_tr), (x_te, y_te), classes = kd.load_ucr("Trace")
    assert classes == ("1", "4")
    assert y_tr.tolist() == [1, 0, 1] and y_te.tolist() == [0]
    assert x_tr.dtype == np.float32 and x_tr.shape == (3, 4, 1)
    np.testing.assert_array_equal(x_tr[1, :, 0], [4, 5, 6, 7])
    np.testing.assert_array_equal(x_te[0, :, 0], [-1, -1, -1, -1])


def test_load_pang_lee_offline(home, tmp_path, monkeypatch):
    from keras_nrnm.datasets import pang_lee

    rows = "".join(f'"{1 if i % 2 else -1}","review {i} {"good" if i % 2 else "bad"} film"\n'
                   for i in range(20))
    source, folder = fake_source(tmp_path, {pang_lee._MEMBER: rows.encode()}, _registry.PANG_LEE)
    monkeypatch.setattr(_registry, "PANG_LEE", source)
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(folder))
    (x_tr, y_tr), (x_te, y_te), vocab = kd.load_pang_lee(
        sequence_length=4, test_fraction=0.2, seed=0)
    assert x_tr.shape == (16, 4) and x_te.shape == (4, 4)
    assert np.bincount(y_tr).tolist() == [8, 8] and np.bincount(y_te).tolist() == [2, 2]
    good = vocab.index("good")
    assert all((good in row) == bool(lab) for row, lab in zip(x_tr, y_tr))


def test_load_dssp_offline(home, tmp_path, monkeypatch):
    from keras_nrnm.datasets import dssp

    def pdb(resnames):
        return "\n".join(
            f"ATOM  {i + 1:>5}  CA  {r} A{i + 1:>4}       1.000   2.000   3.000"
            "  1.00  0.00           C"
            for i, r in enumerate(resnames)).encode()

    members = {}
    for k, pid in enumerate(["1aaaA", "1bbbA", "1cccA", "1dddA", "1eeeA"]):
        res = ["ALA", "GLY", "TRP"][: 1 + k % 3]
        members[dssp._DATA_DIR + pid + ".pdb.gz"] = gzip.compress(pdb(res))
        members[dssp._DATA_DIR + pid + ".pdb.dssp"] = ("HE-"[: len(res)] + f" {pid}.pdb\n").encode()
    members[dssp._DATA_DIR + "orphan.pdb.gz"] = gzip.compress(pdb(["ALA"]))
    source, folder = fake_source(tmp_path, members, _registry.DSSP)
    monkeypatch.setattr(_registry, "DSSP", source)
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(folder))
    (x_tr, y_tr, m_tr), (x_te, y_te, m_te), info = kd.load_dssp_proteins(return_info=True)
    assert info["ids_test"] == ["1eeeA"] and len(info["ids_train"]) == 4
    assert x_tr.shape == (4, 3, 21) and x_te.shape == (1, 3, 21)
    assert m_te.tolist() == [[True, True, False]] and y_te.tolist() == [[0, 1, 0]]
    assert np.argmax(x_te[0, :2], axis=1).tolist() == [0, 4]  # A, G in CB6133 order
    (x_tr, _, m_tr), _ = kd.load_dssp_proteins(sequence_length=2)
    assert x_tr.shape == (4, 2, 21) and m_tr.sum() == 1 + 2 + 2 + 1
    with pytest.raises(ValueError, match="classes"):
        kd.load_dssp_proteins(classes=5)


def test_public_functions_have_keras_style_docstrings():
    import inspect

    modules = [kd.ntu, kd.pairs, kd.imdb, kd.protein, kd.video_features, kd.hapt,
               kd.pang_lee, kd.dssp, kd.japanese_vowels]
    functions = [getattr(kd, n) for n in kd.__all__ if inspect.isfunction(getattr(kd, n))]
    for module in modules:
        functions += [f for n, f in vars(module).items()
                      if inspect.isfunction(f) and not n.startswith("_")
                      and f.__module__ == module.__name__]
    for f in functions:
        doc = f.__doc__ or ""
        missing = [s for s in ("Args:", "Returns:", "Raises:", "Example") if s not in doc]
        assert not missing, f"{f.__module__}.{f.__name__} lacks {missing}"
