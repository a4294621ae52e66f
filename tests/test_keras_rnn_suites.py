"""Keras's own LSTM and GRU tests, run on NRNM.

`NRNM` is meant as a drop-in for `keras.layers.LSTM` (and, with
`backbone="gru"`, for `keras.layers.GRU`): a fresh NRNM computes exactly
its backbone, because the memory projection starts at zero. So Keras's own
test suites for those layers, with their golden values, must pass on it.

At test time this module reads `lstm_test.py` and `gru_test.py` from the
installed Keras (nothing is copied into this repository), rewrites
`layers.LSTM` to `keras_nrnm.NRNM` and `layers.GRU` to `keras_nrnm.NRNM`
with `backbone="gru"`, executes the result as a module and runs each of its
test methods (absl's parametrized methods included) as a pytest test, with
the pytest marks Keras gave it. Everything runs as Keras wrote it, except
for the differences listed in `COUNT_DIFFERENCES` and `NOT_APPLICABLE`
below, each with its reason. If a Keras file no longer has the structure the
rewrite expects, `test_suite_structure` (or the suite's `load` case) fails:
a Keras change is noticed, not skipped.
"""

import functools
import linecache
import pathlib
import re
import types
import unittest

import keras
import pytest
from keras.src import testing
from keras.src.layers import rnn as keras_rnn

import keras_nrnm

pytestmark = pytest.mark.core


def _gru_backbone():
    """What `layers.GRU` becomes: NRNM with the GRU backbone, and NRNM's
    `from_config` (Keras's GRU tests call `layers.GRU.from_config`)."""
    layer = functools.partial(keras_nrnm.NRNM, backbone="gru")
    layer.from_config = keras_nrnm.NRNM.from_config
    return layer


# suite -> (Keras's test file, its test class, the layer it tests, what
# replaces the layer).
SUITES = {
    "lstm": ("lstm_test.py", "LSTMTest", "LSTM", lambda: keras_nrnm.NRNM),
    "gru": ("gru_test.py", "GRUTest", "GRU", _gru_backbone),
}

# The allowed differences (1): counts of weights, and of the regularisation
# losses (one per regularised weight). An NRNM layer holds its backbone's
# 3 weights (kernel, recurrent kernel, bias) plus 23 of the memory: the input
# units, the memory gate and projection (Eq. 5, 10, 12), the attention, layer
# norms and FC layer (Eq. 5-6) and the gates of Eq. 9, and the kernel,
# recurrent and bias regularizers cover the memory's kernels and biases too
# (22 losses where the LSTM has 3). Keras's tests build `units=3` layers with
# default memory settings; for those, `run_layer_test` checks NRNM's own
# counts below in place of the LSTM's and GRU's (still asserted, not
# dropped). A count of Keras's missing from the table fails the test.
COUNT_DIFFERENCES = {
    # run_layer_test argument: {Keras's value: NRNM's value}
    "expected_num_trainable_weights": {3: 26},
    "expected_num_losses": {3: 22},
}

# The allowed differences (2): tests of Keras's cuDNN dispatch, which NRNM
# does not have (it has no cuDNN kernel; `use_cudnn=True` raises).
NOT_APPLICABLE = {
    ("gru", "test_torch_cudnn_dispatch_fires"): (
        "checks that keras.layers.GRU dispatches to cuDNN (torch._VF.gru) "
        "on a CUDA device; NRNM has no cuDNN kernel"),
}


def keras_test_path(file_name):
    return pathlib.Path(keras_rnn.__file__).parent / file_name


def rewritten_source(suite):
    """Keras's test file for `suite` with its layer replaced by
    `NRNM_UNDER_TEST`. Each replacement stays on its line, so a traceback's
    line numbers are those of Keras's file."""
    file_name, _, layer_name, _ = SUITES[suite]
    path = keras_test_path(file_name)
    if not path.is_file():
        raise AssertionError(f"Keras no longer has {path}")
    source = path.read_text()
    source, count = re.subn(rf"\blayers\.{layer_name}\b", "NRNM_UNDER_TEST",
                            source)
    if not count:
        raise AssertionError(
            f"{path} no longer uses `layers.{layer_name}`: the rewrite to "
            "NRNM replaced nothing.")
    unmapped = sorted(set(re.findall(r"\blayers\.(\w*(?:LSTM|GRU)\w*)",
                                     source)))
    if unmapped:
        raise AssertionError(
            f"{path} now also uses {unmapped}, which the rewrite does not map "
            "to NRNM: extend `SUITES`.")
    return source


@functools.lru_cache(maxsize=None)
def load_suite(suite):
    """The test class of Keras's rewritten test file for `suite`."""
    file_name, class_name, _, replacement = SUITES[suite]
    source = rewritten_source(suite)
    filename = f"<{keras_test_path(file_name)}, rewritten for NRNM>"
    linecache.cache[filename] = (len(source), None,
                                 source.splitlines(True), filename)
    module = types.ModuleType(f"keras_{suite}_suite_on_nrnm")
    module.__dict__["NRNM_UNDER_TEST"] = replacement()
    exec(compile(source, filename, "exec"), module.__dict__)
    case_class = getattr(module, class_name, None)
    if not (isinstance(case_class, type)
            and issubclass(case_class, testing.TestCase)):
        raise AssertionError(
            f"{file_name} no longer defines the test class {class_name} (a "
            "keras.src.testing.TestCase).")
    return case_class


def case_names(case_class):
    return unittest.TestLoader().getTestCaseNames(case_class)


def _params():
    for suite in SUITES:
        try:
            case_class = load_suite(suite)
        except Exception:  # noqa: BLE001 - reported by the `load` case
            yield pytest.param(suite, None, id=f"{suite}-load")
            continue
        for name in case_names(case_class):
            marks = list(getattr(getattr(case_class, name), "pytestmark", []))
            if (suite, name) in NOT_APPLICABLE:
                marks.append(pytest.mark.skip(
                    reason=NOT_APPLICABLE[(suite, name)]))
            yield pytest.param(suite, name, marks=marks, id=f"{suite}-{name}")


def with_nrnm_counts(run_layer_test):
    """`run_layer_test` asserting NRNM's counts where Keras's tests assert
    the LSTM's or GRU's (`COUNT_DIFFERENCES`)."""

    @functools.wraps(run_layer_test)
    def run(*args, **kwargs):
        for argument, nrnm_values in COUNT_DIFFERENCES.items():
            if kwargs.get(argument) is None:
                continue
            if kwargs[argument] not in nrnm_values:
                raise AssertionError(
                    f"Keras's test now passes {argument}={kwargs[argument]}, "
                    "which COUNT_DIFFERENCES does not map to NRNM's count.")
            kwargs[argument] = nrnm_values[kwargs[argument]]
        return run_layer_test(*args, **kwargs)

    return run


@pytest.mark.parametrize("suite,name", _params())
def test_keras_suite_on_nrnm(suite, name):
    case_class = load_suite(suite)  # re-raises a failed load
    assert name is not None
    case = case_class(name)
    case.run_layer_test = with_nrnm_counts(case.run_layer_test)
    case_class.setUpClass()
    try:
        case.debug()  # setUp, the test, tearDown; failures propagate
    finally:
        case_class.tearDownClass()


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_suite_structure(suite):
    """The rewrite applies, and each listed difference still occurs in
    Keras's file (a stale entry would hide nothing, but it would claim
    so)."""
    case_class = load_suite(suite)
    names = case_names(case_class)
    assert "test_basics" in names and len(names) >= 5, names
    source = rewritten_source(suite)
    assert "NRNM_UNDER_TEST" in source
    for (listed_suite, name), _ in NOT_APPLICABLE.items():
        if listed_suite == suite:
            assert name in names, f"{name} is gone from Keras's {suite} tests"
    for argument, nrnm_values in COUNT_DIFFERENCES.items():
        for keras_value in nrnm_values:
            assert f"{argument}={keras_value}" in source, argument


@pytest.mark.parametrize("backbone,keras_layer", [
    ("lstm", keras.layers.LSTM), ("gru", keras.layers.GRU)])
def test_count_differences_are_nrnm_counts(backbone, keras_layer):
    """The counts in `COUNT_DIFFERENCES` are Keras's layer's and NRNM's, for
    the `units=3` layers that Keras's tests build."""
    x = keras.ops.ones((3, 2, 4))
    regularized = dict(bias_regularizer="l1", kernel_regularizer="l2",
                       recurrent_regularizer="l2")
    counts = {}
    for name, make in (("keras", keras_layer),
                       ("nrnm", functools.partial(keras_nrnm.NRNM,
                                                  backbone=backbone))):
        layer, with_losses = make(3), make(3, **regularized)
        layer(x), with_losses(x)
        counts[name] = {
            "expected_num_trainable_weights": len(layer.trainable_weights),
            "expected_num_losses": len(with_losses.losses)}
    for argument, nrnm_values in COUNT_DIFFERENCES.items():
        assert nrnm_values == {counts["keras"][argument]:
                               counts["nrnm"][argument]}, argument
