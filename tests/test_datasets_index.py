"""Fetching an archive from the package index pip is configured with
(`_index`): a real sdist whose `setup.py` would leave a sentinel, served by
a PEP 503 / PEP 691 simple index over file:// and HTTP; the bytes arrive,
sha256-checked, and nothing runs. Offline (a local server only)."""

import base64
import dataclasses
import http.server
import json
import os
import pathlib
import threading
import urllib.parse

import pytest

import keras_nrnm.datasets as kd
from keras_nrnm.datasets import _cache
from keras_nrnm.datasets import _index
from keras_nrnm.datasets import _registry
# Shared with the cache tests; `home` and `pip_env` are fixtures.
from test_datasets_cache import FAKE
from test_datasets_cache import convert_member
from test_datasets_cache import home  # noqa: F401
from test_datasets_cache import make_tar
from test_datasets_cache import pip_env  # noqa: F401


# ---------------------------------------------------------------- archive folder
def test_archive_dir_env_skips_the_index(tmp_path, monkeypatch):
    (tmp_path / FAKE.filename).write_bytes(b"x")
    monkeypatch.setenv(_index.ARCHIVE_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(_index, "index_settings",
                        lambda: pytest.fail("the index was consulted"))
    assert _index.download_archive(FAKE, "/nonexistent") == str(tmp_path / FAKE.filename)
    assert _index.archive_origin(FAKE) == f"{tmp_path} (${_index.ARCHIVE_DIR_ENV})"


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
                if json_pages and page.is_file() and _index.SIMPLE_JSON in accept:
                    body = page.read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Type", _index.SIMPLE_JSON)
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
    path = _index.download_archive(source, str(dest))
    assert path == str(dest / "Fake_Pkg-1.0.tar.gz")
    assert os.listdir(dest) == ["Fake_Pkg-1.0.tar.gz"]  # no partial file left
    assert _cache.sha256_file(path) == source.sha256
    assert pathlib.Path(path).read_bytes() == archive.read_bytes()
    assert not sentinel.exists()
    if kind == "http":  # JSON asked for first, the HTML page understood
        assert [r[0] for r in requests] == [f"/simple/{PAGE}/", "/files/Fake_Pkg-1.0.tar.gz"]
        assert requests[0][1]["Accept"].startswith(_index.SIMPLE_JSON)
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
        _index.download_archive(wrong, str(dest))
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
    path = _index.download_archive(source, str(tmp_path))
    # The archive came through the link on the JSON page, not the HTML one.
    assert [r[0] for r in requests] == [f"/simple/{PAGE}/", "/json-files/Fake_Pkg-1.0.tar.gz"]
    assert _cache.sha256_file(path) == source.sha256 and not sentinel.exists()
    page = f"{url}/simple/{PAGE}/"
    files = _index.files_from_json(json.dumps({"meta": {"api-version": "1.0"}, "files": [
        {"filename": "a-1.whl", "url": "../../f/a-1.whl#sha256=00"},
        {"filename": "a-2.whl", "url": "https://cdn.example/a-2.whl"}]}), page)
    assert files == {"a-1.whl": f"{url}/f/a-1.whl", "a-2.whl": "https://cdn.example/a-2.whl"}
    with pytest.raises(ValueError, match="Simple API version 2.0"):
        _index.files_from_json('{"meta": {"api-version": "2.0"}, "files": []}', page)
    with pytest.raises(ValueError, match="not a PEP 691 project page"):
        _index.files_from_json('{"files": [{"url": "x"}]}', page)


def test_files_from_html_resolves_links():
    page = "https://mirror.example/simple/a/"
    text = ('<html><head><base href="https://cdn.example/pkgs/"></head><body>'
            '<a href="a-1.tar.gz#sha256=00">a-1.tar.gz</a>'
            '<a href="/abs/a%2B2.zip">a+2.zip</a><a href="x/a-3.whl"></a></body></html>')
    assert _index.files_from_html(text, page) == {
        "a-1.tar.gz": "https://cdn.example/pkgs/a-1.tar.gz",
        "a+2.zip": "https://cdn.example/abs/a%2B2.zip",
        "a-3.whl": "https://cdn.example/pkgs/x/a-3.whl",
    }
    assert _index.normalize_project_name("Foo.Bar__baz-Qux") == "foo-bar-baz-qux"


@pytest.mark.parametrize("kind", ["file", "http"])
def test_index_fetch_missing_file_is_a_clear_error(kind, tmp_path, monkeypatch,
                                                   pip_env, serve):
    write_project_page(tmp_path, "files", ["Fake_Pkg-0.9.tar.gz", "Fake_Pkg-1.0.zip"])
    url = index_url(kind, tmp_path, serve)[0]
    monkeypatch.setenv("PIP_INDEX_URL", url)
    with pytest.raises(kd.FetchError) as err:
        _index.download_archive(SDIST, str(tmp_path))
    msg = str(err.value)
    assert msg.startswith("No package index delivered Fake_Pkg-1.0.tar.gz (Fake_Pkg==1.0):")
    assert (f"{url}: {url.rstrip('/')}/{PAGE}/" in msg
            and "lists 2 files (e.g. Fake_Pkg-1.0.zip), not Fake_Pkg-1.0.tar.gz" in msg)
    assert "PIP_INDEX_URL" in msg and _index.ARCHIVE_DIR_ENV in msg
    # An index without the project at all says so, for each index in turn.
    empty = tmp_path / "empty"
    (empty / "simple").mkdir(parents=True)
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", index_url(kind, empty, serve)[0])
    with pytest.raises(kd.FetchError) as err:
        _index.download_archive(SDIST, str(tmp_path))
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
        _index.download_archive(SDIST, str(dest))
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
    assert _index.archive_origin(source) == (
        f"the package index {empty.as_uri()} (then {(root / 'simple').as_uri()})")
    path = _index.download_archive(source, str(tmp_path))
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
        _index.download_archive(source, str(tmp_path))


def test_credentials_go_to_the_index_host_only_and_stay_hidden(
        sdist_index, tmp_path, monkeypatch, pip_env, serve):
    source, _, _, root = sdist_index
    url, requests = serve(root)
    host = url.split("//")[1]
    monkeypatch.setenv("PIP_INDEX_URL", f"http://me:s3cret@{host}/simple/")
    assert _index.archive_origin(source) == f"the package index http://me:****@{host}/simple/"
    path = _index.download_archive(source, str(tmp_path / "dest"))
    assert _cache.sha256_file(path) == source.sha256
    expected = "Basic " + base64.b64encode(b"me:s3cret").decode()
    assert [r[1].get("Authorization") for r in requests] == [expected, expected]
    with pytest.raises(kd.FetchError) as err:
        _index.download_archive(dataclasses.replace(source, filename="nope.whl"),
                                str(tmp_path))
    assert "me:****@" in str(err.value) and "s3cret" not in str(err.value)


def test_index_settings_follow_pip(tmp_path, monkeypatch, pip_env):
    config = {"install.index-url": "https://install.example/simple/"}
    monkeypatch.setattr(_index, "pip_config", lambda: dict(config))
    monkeypatch.delenv("PIP_TIMEOUT", raising=False)
    monkeypatch.delenv("PIP_DEFAULT_TIMEOUT", raising=False)
    assert _index.index_settings().index_urls == ("https://install.example/simple/",)
    config["global.index-url"] = "https://global.example/simple/"
    assert _index.index_settings().index_urls == ("https://global.example/simple/",)
    config.update({"download.index-url": "https://download.example/simple/",
                   "global.extra-index-url": "\nhttps://a.example/simple\nhttps://b.example/simple",
                   "global.trusted-host": "a.example b.example:8443",
                   "global.timeout": "12"})
    settings = _index.index_settings()
    assert settings.index_urls == ("https://download.example/simple/",
                                   "https://a.example/simple", "https://b.example/simple")
    assert settings.trusted_hosts == ("a.example", "b.example:8443")
    assert settings.timeout == 12.0
    # The environment wins, as in pip; repeated URLs are tried once.
    monkeypatch.setenv("PIP_INDEX_URL", "https://env.example/simple/")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://env.example/simple/ https://c.example/s")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "7")
    settings = _index.index_settings()
    assert settings.index_urls == ("https://env.example/simple/", "https://c.example/s")
    assert settings.timeout == 7.0
    config.clear()
    monkeypatch.delenv("PIP_INDEX_URL")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL")
    assert _index.index_settings().index_urls == (_index.PYPI_SIMPLE_URL,)


def test_pip_config_is_read_through_pip(tmp_path, monkeypatch):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = file:///mirror/simple\n"
                    "extra-index-url =\n    http://a/simple\n    http://b/simple\n"
                    "[download]\ntimeout = 9\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TIMEOUT", "PIP_DEFAULT_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    config = _index.pip_config()
    assert config["global.index-url"] == "file:///mirror/simple"
    assert config["download.timeout"] == "9"
    assert not any(key.startswith(":env:") for key in config)
    settings = _index.index_settings()
    assert settings.index_urls == ("file:///mirror/simple", "http://a/simple", "http://b/simple")
    assert settings.timeout == 9.0
