"""The wheel holds the package only, and installs and imports in a fresh venv."""

import os
import pathlib
import subprocess
import sys
import sysconfig
import venv
import zipfile

import pytest

# Building the wheel fetches setuptools from the package registry.
pytestmark = pytest.mark.registry

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # With build isolation, as `pip install .` builds: pip fetches the
    # build backend that pyproject.toml asks for, whatever this venv holds.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
         str(ROOT)],
        check=True, capture_output=True, text=True, timeout=600)
    (path,) = out.glob("keras_nrnm-*.whl")
    return path


def test_wheel_holds_the_package_only(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"keras_nrnm", wheel.name.split("-")[0] + "-"
                   + wheel.name.split("-")[1] + ".dist-info"}
    assert "keras_nrnm/py.typed" in names
    assert "keras_nrnm/datasets/hapt.py" in names
    assert not any(n.endswith((".npz", ".npy", ".csv", ".pkl", ".gz")) for n in names)
    metadata = zipfile.ZipFile(wheel).read(
        [n for n in names if n.endswith("METADATA")][0]).decode()
    assert "Requires-Dist: keras>=3.8.0" in metadata
    assert "Requires-Python: >=3.10" in metadata


def test_wheel_installs_and_imports_in_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    # No PYTHONPATH: a source tree on it makes pip think the wheel is installed.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The wheel alone, so the test needs no download.
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    str(wheel)], check=True, timeout=600, env=env)
    # Its dependencies come from this environment: a .pth file appends our
    # site-packages *after* the fresh venv's own, so the wheel's copy of
    # keras_nrnm wins even where this environment has the project installed.
    fresh_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    pathlib.Path(fresh_site, "outer-site.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    code = ("import keras_nrnm, numpy as np; "
            "print(keras_nrnm.__file__); print(keras_nrnm.__version__); "
            "print(tuple(keras_nrnm.NRNM(4, num_heads=2)"
            "(np.zeros((1, 5, 3), 'float32')).shape))")
    result = subprocess.run([str(python), "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    file, version, shape = result.stdout.strip().split("\n")[-3:]
    assert str(env_dir) in file  # the installed wheel, not the source tree
    from keras_nrnm import __version__
    assert version == __version__
    assert shape == "(1, 4)"
