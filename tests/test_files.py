"""`keras_nrnm._files.atomic_path`: whole files with normal permissions, or
nothing."""

import os
import stat

import pytest

from keras_nrnm._files import atomic_path

pytestmark = pytest.mark.core


def test_written_file_appears_whole_with_normal_permissions(tmp_path):
    path = tmp_path / "sub" / "out.json"
    old = os.umask(0o022)
    try:
        with atomic_path(path) as temporary:
            assert not path.exists()
            with open(temporary, "w") as f:
                f.write("{}")
        assert os.umask(0o022) == 0o022  # the umask was left alone
    finally:
        os.umask(old)
    assert path.read_text() == "{}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert os.listdir(path.parent) == ["out.json"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as temporary:
            with open(temporary, "w") as f:
                f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]
