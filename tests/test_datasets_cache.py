"""The fetch-verify-cache path and the registry-backed loaders, run offline on
small fake archives in the real layouts (no network needed)."""

import ast
import base64
import copyreg
import dataclasses
import gzip
import http.server
import io
import json
import os
import pathlib
import pickle
import tarfile
import threading
import urllib.parse
import zipfile

import numpy as np
import pytest

import keras_nrnm.datasets as kd
from keras_nrnm.datasets import _cache
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
    monkeypatch.setattr(_cache, "pip_config", dict)
    for name in ("no_proxy", "NO_PROXY"):  # the local test server, not a proxy
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture
def home(tmp_path, monkeypatch, pip_env):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.delenv(_cache.ARCHIVE_DIR_ENV, raising=False)
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
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(folder))
    _cache.fetch_npz(dataclasses.replace(source, size_mb=0.0), convert_member,
                     downloader=copying_downloader(folder, calls), force=True)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (f"keras_nrnm: fetching the fake data set once: fakepkg "
                     f"1.0 from {folder} (${_cache.ARCHIVE_DIR_ENV}) ...")


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


def test_archive_dir_env_skips_the_index(tmp_path, monkeypatch):
    (tmp_path / FAKE.filename).write_bytes(b"x")
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(_cache, "index_settings",
                        lambda: pytest.fail("the index was consulted"))
    assert _cache.download_archive(FAKE, "/nonexistent") == str(tmp_path / FAKE.filename)
    assert _cache._origin(FAKE) == f"{tmp_path} (${_cache.ARCHIVE_DIR_ENV})"


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


# ---------------------------------------------------------------- package index
# A real sdist whose setup.py would leave a sentinel file if anything ran it,
# served by a PEP 503 / PEP 691 simple index over file:// and over HTTP.
SETUP_PY = "import pathlib\npathlib.Path({path!r}).write_text('setup.py ran')\n"
SDIST = _registry.PackageSource(
    key="fake", package="Fake_Pkg", version="1.0", filename="Fake_Pkg-1.0.tar.gz",
    sha256="0" * 64, cache_name="fake-v1.npz")
PAGE = "fake-pkg"  # PEP 503 name of Fake_Pkg


def make_sdist(folder, sentinel, source=SDIST):
    """Write `source.filename` into `folder`; return (source with its sha, path)."""
    root = source.sdist_root
    members = {
        f"{root}/PKG-INFO": (f"Metadata-Version: 2.1\nName: {source.package}\n"
                             f"Version: {source.version}\n").encode(),
        f"{root}/setup.py": SETUP_PY.format(path=str(sentinel)).encode(),
        "pkg/data.txt": b"abc",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = make_tar(folder / source.filename, members)
    return dataclasses.replace(source, sha256=_cache.sha256_file(path)), path


def write_project_page(index_root, files_dir, names, page=PAGE):
    """`<index_root>/simple/<page>/index.html` (PEP 503) and `index.json`
    (PEP 691), linking `../../<files_dir>/<name>` relative to the page."""
    folder = index_root / "simple" / page
    folder.mkdir(parents=True)
    links = "".join(f'<a href="../../{files_dir}/{urllib.parse.quote(n)}'
                    f'#sha256={"0" * 64}">{n}</a><br/>\n' for n in names)
    (folder / "index.html").write_text(
        f"<!DOCTYPE html><html><body><h1>Links</h1>\n{links}</body></html>")
    (folder / "index.json").write_text(json.dumps({
        "meta": {"api-version": "1.1"}, "name": page,
        "files": [{"filename": n, "url": f"../../json-{files_dir}/{n}",
                   "hashes": {}} for n in names]}))


@pytest.fixture
def sdist_index(tmp_path):
    """(source, archive, sentinel, index root) with the sdist listed next to
    an older release; the JSON page links the same bytes under `json-files/`."""
    sentinel = tmp_path / "SENTINEL"
    source, archive = make_sdist(tmp_path / "index" / "files", sentinel)
    other = make_tar(tmp_path / "index" / "files" / "Fake_Pkg-0.9.tar.gz", {"x": b"0"})
    (tmp_path / "index" / "json-files").mkdir()
    (tmp_path / "index" / "json-files" / archive.name).write_bytes(archive.read_bytes())
    write_project_page(tmp_path / "index", "files", [other.name, archive.name])
    return source, archive, sentinel, tmp_path / "index"


@pytest.fixture
def serve():
    """`serve(root, json_pages=False) -> (url, requests)`: an HTTP server on
    127.0.0.1 in a thread; `requests` collects `(path, headers)`. With
    `json_pages`, a project page asked for as PEP 691 JSON gets `index.json`."""
    servers = []

    def start(root, json_pages=False):
        requests = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args):
                pass

            def do_GET(self):
                requests.append((self.path, dict(self.headers)))
                page = root / self.path.lstrip("/") / "index.json"
                accept = self.headers.get("Accept", "")
                if json_pages and page.is_file() and _cache.SIMPLE_JSON in accept:
                    body = page.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", _cache.SIMPLE_JSON)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    super().do_GET()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def index_url(kind, root, serve):
    """The simple index under `root` as a file:// or an http:// URL."""
    if kind == "file":
        return (root / "simple").as_uri(), None
    url, requests = serve(root)
    return url + "/simple/", requests


def unpacked_files(folder):
    """Files an unpacked sdist would leave anywhere below `folder`."""
    return sorted(str(p) for p in pathlib.Path(folder).rglob("*")
                  if p.name in ("setup.py", "PKG-INFO"))


def test_sdist_setup_py_would_leave_the_sentinel(sdist_index, tmp_path):
    # The control for the tests below: running the archive's setup.py writes it.
    _, archive, sentinel, _ = sdist_index
    setup = _cache.read_archive_member(str(archive), "Fake_Pkg-1.0/setup.py")
    exec(compile(setup, "setup.py", "exec"), {})  # noqa: S102 (the control)
    assert sentinel.read_text() == "setup.py ran"


@pytest.mark.parametrize("kind", ["file", "http"])
def test_index_fetch_gets_the_bytes_and_runs_nothing(
        kind, sdist_index, home, tmp_path, monkeypatch, serve, capsys):
    source, archive, sentinel, root = sdist_index
    url, requests = index_url(kind, root, serve)
    monkeypatch.setenv("PIP_INDEX_URL", url)
    dest = tmp_path / "dest"
    dest.mkdir()
    path = _cache.download_archive(source, str(dest))
    assert path == str(dest / "Fake_Pkg-1.0.tar.gz")
    assert os.listdir(dest) == ["Fake_Pkg-1.0.tar.gz"]  # no partial file left
    assert _cache.sha256_file(path) == source.sha256
    assert pathlib.Path(path).read_bytes() == archive.read_bytes()
    assert not sentinel.exists()
    if kind == "http":  # JSON asked for first, the HTML page understood
        assert [r[0] for r in requests] == [f"/simple/{PAGE}/", "/files/Fake_Pkg-1.0.tar.gz"]
        assert requests[0][1]["Accept"].startswith(_cache.SIMPLE_JSON)
    # End to end through the loaders' cache path.
    arrays = _cache.fetch_npz(source, convert_member)
    assert arrays["values"].tolist() == [97, 98, 99]
    assert f"Fake_Pkg 1.0 from the package index {url} ..." in capsys.readouterr().out
    assert sorted(os.listdir(home)) == ["fake-v1.npz"]
    assert not sentinel.exists() and unpacked_files(tmp_path) == []


@pytest.mark.parametrize("kind", ["file", "http"])
def test_index_fetch_wrong_sha256_leaves_nothing(
        kind, sdist_index, home, tmp_path, monkeypatch, serve):
    source, _, sentinel, root = sdist_index
    monkeypatch.setenv("PIP_INDEX_URL", index_url(kind, root, serve)[0])
    wrong = dataclasses.replace(source, sha256="f" * 64)
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(kd.ChecksumError) as err:
        _cache.download_archive(wrong, str(dest))
    msg = str(err.value)
    assert "Fake_Pkg==1.0" in msg and "Fake_Pkg-1.0.tar.gz" in msg
    assert f"expected sha256 {'f' * 64}, got {source.sha256}" in msg
    assert os.listdir(dest) == []
    converted = []
    with pytest.raises(kd.ChecksumError, match=source.sha256):
        _cache.fetch_npz(wrong, converted.append)
    assert converted == [] and os.listdir(home) == []
    assert not sentinel.exists() and unpacked_files(tmp_path) == []


def test_index_fetch_json_api(sdist_index, home, tmp_path, monkeypatch, serve):
    source, _, sentinel, root = sdist_index
    url, requests = serve(root, json_pages=True)
    monkeypatch.setenv("PIP_INDEX_URL", url + "/simple")  # no trailing slash
    path = _cache.download_archive(source, str(tmp_path))
    # The archive came through the link on the JSON page, not the HTML one.
    assert [r[0] for r in requests] == [f"/simple/{PAGE}/", "/json-files/Fake_Pkg-1.0.tar.gz"]
    assert _cache.sha256_file(path) == source.sha256 and not sentinel.exists()
    page = f"{url}/simple/{PAGE}/"
    files = _cache.files_from_json(json.dumps({"meta": {"api-version": "1.0"}, "files": [
        {"filename": "a-1.whl", "url": "../../f/a-1.whl#sha256=00"},
        {"filename": "a-2.whl", "url": "https://cdn.example/a-2.whl"}]}), page)
    assert files == {"a-1.whl": f"{url}/f/a-1.whl", "a-2.whl": "https://cdn.example/a-2.whl"}
    with pytest.raises(ValueError, match="Simple API version 2.0"):
        _cache.files_from_json('{"meta": {"api-version": "2.0"}, "files": []}', page)
    with pytest.raises(ValueError, match="not a PEP 691 project page"):
        _cache.files_from_json('{"files": [{"url": "x"}]}', page)


def test_files_from_html_resolves_links():
    page = "https://mirror.example/simple/a/"
    text = ('<html><head><base href="https://cdn.example/pkgs/"></head><body>'
            '<a href="a-1.tar.gz#sha256=00">a-1.tar.gz</a>'
            '<a href="/abs/a%2B2.zip">a+2.zip</a><a href="x/a-3.whl"></a></body></html>')
    assert _cache.files_from_html(text, page) == {
        "a-1.tar.gz": "https://cdn.example/pkgs/a-1.tar.gz",
        "a+2.zip": "https://cdn.example/abs/a%2B2.zip",
        "a-3.whl": "https://cdn.example/pkgs/x/a-3.whl",
    }
    assert _cache.normalize_project_name("Foo.Bar__baz-Qux") == "foo-bar-baz-qux"


@pytest.mark.parametrize("kind", ["file", "http"])
def test_index_fetch_missing_file_is_a_clear_error(kind, tmp_path, monkeypatch,
                                                   pip_env, serve):
    write_project_page(tmp_path, "files", ["Fake_Pkg-0.9.tar.gz", "Fake_Pkg-1.0.zip"])
    url = index_url(kind, tmp_path, serve)[0]
    monkeypatch.setenv("PIP_INDEX_URL", url)
    with pytest.raises(kd.FetchError) as err:
        _cache.download_archive(SDIST, str(tmp_path))
    msg = str(err.value)
    assert msg.startswith("No package index delivered Fake_Pkg-1.0.tar.gz (Fake_Pkg==1.0):")
    assert (f"{url}: {url.rstrip('/')}/{PAGE}/" in msg
            and "lists 2 files (e.g. Fake_Pkg-1.0.zip), not Fake_Pkg-1.0.tar.gz" in msg)
    assert "PIP_INDEX_URL" in msg and _cache.ARCHIVE_DIR_ENV in msg
    # An index without the project at all says so, for each index in turn.
    empty = tmp_path / "empty"
    (empty / "simple").mkdir(parents=True)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", index_url(kind, empty, serve)[0])
    with pytest.raises(kd.FetchError) as err:
        _cache.download_archive(SDIST, str(tmp_path))
    lines = str(err.value).splitlines()
    assert "not Fake_Pkg-1.0.tar.gz" in lines[1]
    assert "cannot read " in lines[2] and f"/simple/{PAGE}/" in lines[2]
    assert ("404" if kind == "http" else "No such file") in lines[2]


def test_download_failure_names_package_and_url(tmp_path, monkeypatch, pip_env, serve):
    write_project_page(tmp_path, "files", [SDIST.filename])  # listed, not there
    url, _ = serve(tmp_path)
    monkeypatch.setenv("PIP_INDEX_URL", url + "/simple/")
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(kd.FetchError) as err:
        _cache.download_archive(SDIST, str(dest))
    assert str(err.value).startswith(
        f"Downloading Fake_Pkg-1.0.tar.gz (Fake_Pkg==1.0) from "
        f"{url}/files/Fake_Pkg-1.0.tar.gz failed: HTTP Error 404")
    assert os.listdir(dest) == []


def test_extra_index_is_searched_after_the_index(sdist_index, home, tmp_path,
                                                  monkeypatch):
    source, _, sentinel, root = sdist_index
    empty = tmp_path / "empty" / "simple"
    empty.mkdir(parents=True)
    monkeypatch.setenv("PIP_INDEX_URL", str(empty))  # a folder works too
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", (root / "simple").as_uri())
    assert _cache._origin(source) == (
        f"the package index {empty.as_uri()} (then {(root / 'simple').as_uri()})")
    path = _cache.download_archive(source, str(tmp_path))
    assert _cache.sha256_file(path) == source.sha256 and not sentinel.exists()


def test_http_index_may_not_link_local_files(sdist_index, tmp_path, monkeypatch,
                                             pip_env, serve):
    source, archive, _, _ = sdist_index
    page = tmp_path / "evil" / "simple" / PAGE
    page.mkdir(parents=True)
    (page / "index.html").write_text(f'<a href="{archive.as_uri()}">{archive.name}</a>')
    url, _ = serve(tmp_path / "evil")
    monkeypatch.setenv("PIP_INDEX_URL", url + "/simple/")
    with pytest.raises(kd.FetchError, match=f"refused link {archive.as_uri()}"):
        _cache.download_archive(source, str(tmp_path))


def test_credentials_go_to_the_index_host_only_and_stay_hidden(
        sdist_index, tmp_path, monkeypatch, pip_env, serve):
    source, _, _, root = sdist_index
    url, requests = serve(root)
    host = url.split("//")[1]
    monkeypatch.setenv("PIP_INDEX_URL", f"http://me:s3cret@{host}/simple/")
    assert _cache._origin(source) == f"the package index http://me:****@{host}/simple/"
    path = _cache.download_archive(source, str(tmp_path / "dest"))
    assert _cache.sha256_file(path) == source.sha256
    expected = "Basic " + base64.b64encode(b"me:s3cret").decode()
    assert [r[1].get("Authorization") for r in requests] == [expected, expected]
    with pytest.raises(kd.FetchError) as err:
        _cache.download_archive(dataclasses.replace(source, filename="nope.whl"),
                                str(tmp_path))
    assert "me:****@" in str(err.value) and "s3cret" not in str(err.value)


def test_index_settings_follow_pip(tmp_path, monkeypatch, pip_env):
    config = {"install.index-url": "https://install.example/simple/"}
    monkeypatch.setattr(_cache, "pip_config", lambda: dict(config))
    monkeypatch.delenv("PIP_TIMEOUT", raising=False)
    monkeypatch.delenv("PIP_DEFAULT_TIMEOUT", raising=False)
    assert _cache.index_settings().index_urls == ("https://install.example/simple/",)
    config["global.index-url"] = "https://global.example/simple/"
    assert _cache.index_settings().index_urls == ("https://global.example/simple/",)
    config.update({"download.index-url": "https://download.example/simple/",
                   "global.extra-index-url": "\nhttps://a.example/simple\nhttps://b.example/simple",
                   "global.trusted-host": "a.example b.example:8443",
                   "global.timeout": "12"})
    settings = _cache.index_settings()
    assert settings.index_urls == ("https://download.example/simple/",
                                   "https://a.example/simple", "https://b.example/simple")
    assert settings.trusted_hosts == ("a.example", "b.example:8443")
    assert settings.timeout == 12.0
    # The environment wins, as in pip; repeated URLs are tried once.
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple/")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://env.example/simple/ https://c.example/s")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "7")
    settings = _cache.index_settings()
    assert settings.index_urls == ("https://env.example/simple/", "https://c.example/s")
    assert settings.timeout == 7.0
    config.clear()
    monkeypatch.delenv("PIP_INDEX_URL")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL")
    assert _cache.index_settings().index_urls == (_cache.PYPI_SIMPLE_URL,)


def test_pip_config_is_read_through_pip(tmp_path, monkeypatch):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = file:///mirror/simple\n"
                    "extra-index-url =\n    http://a/simple\n    http://b/simple\n"
                    "[download]\ntimeout = 9\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TIMEOUT", "PIP_DEFAULT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    config = _cache.pip_config()
    assert config["global.index-url"] == "file:///mirror/simple"
    assert config["download.timeout"] == "9"
    assert not any(key.startswith(":env:") for key in config)
    settings = _cache.index_settings()
    assert settings.index_urls == ("file:///mirror/simple", "http://a/simple", "http://b/simple")
    assert settings.timeout == 9.0


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
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(folder))
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
    monkeypatch.setattr(_cache, "download_archive", lambda *a: pytest.fail("fetched twice"))
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
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(folder))
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
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(folder))
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
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(folder))
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
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(folder))
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
    monkeypatch.setenv(_cache.ARCHIVE_DIR_ENV, str(folder))
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
