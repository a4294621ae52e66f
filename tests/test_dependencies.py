"""The dependency floors in pyproject.toml are the versions CI installs.

`.ci/minimum-versions.txt` pins every floor (`>=`) of the install
requirements and of the backend extras; `.ci/run` installs it as pip
constraints (the minimum-versions leg: Keras, NumPy and TensorFlow at their
floors; the JAX and PyTorch legs: those backends at theirs). A floor raised
in one file and not the other fails here, by value. The last test checks,
where CI asks for it, that the tests import the installed wheel and not the
source tree.
"""

import os
import pathlib
import sysconfig

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

pytestmark = pytest.mark.core

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / ".ci" / "minimum-versions.txt"
BACKEND_EXTRAS = ("tensorflow", "jax", "torch")


def project():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]


def floors():
    """`{name: version}`: the `>=` bound of each install requirement and of
    each requirement of the backend extras."""
    meta = project()
    requirements = list(meta["dependencies"])
    for extra in BACKEND_EXTRAS:
        requirements += meta["optional-dependencies"][extra]
    found = {}
    for text in requirements:
        requirement = Requirement(text)
        (specifier,) = requirement.specifier  # a floor and nothing else
        assert specifier.operator == ">=", (
            f"{text!r}: a floor (>=) only, so that CI can install it")
        name = canonicalize_name(requirement.name)
        assert name not in found, f"{name} is required twice"
        found[name] = specifier.version
    return found


def pins():
    """`{name: version}` of the `name==version` lines of the constraints."""
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{line!r}: pin with =="
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


def test_constraints_pin_exactly_the_floors_of_pyproject():
    assert pins() == floors()


def test_the_install_requires_no_backend():
    # The backends are extras (docs/installation.md): `pip install
    # keras-nrnm` alone must not pull TensorFlow into a JAX or PyTorch setup.
    names = {canonicalize_name(Requirement(r).name)
             for r in project()["dependencies"]}
    assert names == {"keras", "numpy"}
    extras = project()["optional-dependencies"]
    for extra in BACKEND_EXTRAS:
        assert [canonicalize_name(Requirement(r).name)
                for r in extras[extra]] == [extra]


def test_ci_installs_the_constraints():
    run = (ROOT / ".ci" / "run").read_text()
    assert "-c .ci/minimum-versions.txt" in run
    for name in ("jax", "torch"):
        assert f"floor {name}" in run, (
            f".ci/run installs {name} at its floor (the `floor` helper)")


@pytest.mark.skipif(not os.environ.get("KERAS_NRNM_TEST_INSTALLED"),
                    reason="CI sets KERAS_NRNM_TEST_INSTALLED=1 where the "
                           "tests must run against the installed wheel")
def test_the_package_under_test_is_the_installed_wheel():
    import keras_nrnm

    path = pathlib.Path(keras_nrnm.__file__).resolve()
    # CI's environment may live inside the clone (.ci-venv), so the check is
    # "not the source tree's package folder", not "not under the clone".
    assert path.parent != (ROOT / "keras_nrnm").resolve(), (
        f"imported from the source tree: {path}")
    site = {pathlib.Path(sysconfig.get_paths()[key]).resolve()
            for key in ("purelib", "platlib")}
    assert any(s in path.parents for s in site), (
        f"{path} is not in this environment's site-packages {sorted(site)}")
    # Not an editable install either: the files themselves are there.
    assert (path.parent / "py.typed").is_file()
