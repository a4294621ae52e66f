"""Writing files so that nobody ever sees half of one."""

import contextlib
import os
import tempfile


def _umask():
    """The process umask, read without changing it where Linux allows (the
    `os.umask` round trip briefly changes it for every thread)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, suffix=".tmp"):
    """A temporary path next to `path`, to write the whole file to; when the
    block ends without an error it is moved onto `path` (`os.replace`), with
    the permissions of a normally created file (0666 less the umask), else
    it is removed.

    Examples:
        >>> with atomic_path("metrics.json") as temporary:  # doctest: +SKIP
        ...     with open(temporary, "w") as f:
        ...         f.write("{}")
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=suffix, dir=folder)
    os.close(handle)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600 files
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
