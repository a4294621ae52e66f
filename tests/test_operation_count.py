"""`benchmarks/operation_count.py`, the operation counts that
`benchmarks/speed.py` prints: each backend's counter on a loop whose body is
known, then the layers' loops on the current backend."""

import collections
import sys
from pathlib import Path

import keras
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import operation_count  # noqa: E402

from keras_nrnm import NRNM  # noqa: E402

pytestmark = pytest.mark.core


def _only_on(backend):
    return pytest.mark.skipif(keras.backend.backend() != backend,
                              reason=f"counts {backend}'s loops")


@_only_on("tensorflow")
def test_tensorflow_counts_the_loop_body_without_bookkeeping():
    import tensorflow as tf

    @tf.function
    def function(x):
        def body(i, x):
            x = tf.cond(x[0] > 0.0, lambda: x * 2.0 + 1.0, lambda: x)
            return i + 1, x * 2.0 + 1.0

        return tf.while_loop(lambda i, x: i < 3, body, (tf.constant(0), x))

    graph = function.get_concrete_function(
        tf.TensorSpec((2,), tf.float32)).graph
    # i + 1, the loop counter that `while_loop` adds, the larger branch
    # (x * 2 + 1) and x * 2 + 1; x[0] > 0. Constants, Identity and NoOp
    # nodes are left out, the `If` node is replaced by its larger branch.
    assert operation_count.tf_loop_counts(graph) == [collections.Counter(
        {"AddV2": 4, "Mul": 2, "StridedSlice": 1, "Greater": 1})]


@_only_on("jax")
def test_jax_counts_the_scan_body_through_its_wrappers():
    import jax
    import jax.numpy as jnp

    double = jax.jit(lambda c: c * 2.0)

    def body(c, x):
        return double(c) + x, jnp.tanh(c)

    jaxpr = jax.make_jaxpr(
        lambda c, xs: jax.lax.scan(jax.checkpoint(body), c, xs)
    )(jnp.zeros(2), jnp.zeros((3, 2)))
    # The body is one `checkpoint` equation holding a `jit` one: both are
    # counted as what they hold.
    assert operation_count.jax_loop_counts(jaxpr) == [
        collections.Counter({"mul": 1, "add": 1, "tanh": 1})]


@_only_on("torch")
def test_torch_counts_dispatched_operations_without_aliases():
    import torch

    x = torch.zeros(3)
    counts = operation_count.torch_counts(
        lambda: torch.tanh(x * 2 + 1).detach())
    assert counts == collections.Counter({"mul": 1, "add": 1, "tanh": 1})


def _lstm_step(training=False):
    return operation_count.loop_operations(
        keras.layers.LSTM(8, use_cudnn=False), (2, 8, 3), training=training)


def test_lstm_step_holds_its_gates_and_is_stable():
    counts = _lstm_step()
    # An LSTM step: two products (input and recurrent), three sigmoid gates
    # and two tanh, whatever else the backend's loop adds.
    products, sigmoid, tanh = {
        "tensorflow": ("MatMul", "Sigmoid", "Tanh"),
        "jax": ("dot_general", "logistic", "tanh"),
        "torch": ("mm", "sigmoid", "tanh"),
    }[keras.backend.backend()]
    assert counts[products] == 2
    assert counts[sigmoid] == 3
    assert counts[tanh] == 2
    assert operation_count.total(counts) == operation_count.total(
        _lstm_step())
    assert (operation_count.total(_lstm_step(training=True))
            > operation_count.total(counts))


def test_nrnm_window_runs_more_operations_per_step_than_the_lstm():
    window = 4
    nrnm = operation_count.total(operation_count.loop_operations(
        NRNM(8, block_size=4, stride=2, window=window, num_heads=2),
        (2, 8, 3), steps_per_iteration=window))
    lstm = operation_count.total(_lstm_step())
    assert lstm > 0
    assert nrnm > window * lstm


@_only_on("tensorflow")
@pytest.mark.parametrize("training", [False, True])
def test_nrnm_window_reads_no_weight(training):
    # The weights are read once before the loop (`fast_path`'s
    # `_weights_read_once`), not at every window as the LSTM's are.
    counts = operation_count.loop_operations(
        NRNM(8, block_size=4, stride=2, window=4, num_heads=2), (2, 8, 3),
        training=training)
    assert counts["ReadVariableOp"] == 0
    assert _lstm_step(training)["ReadVariableOp"] > 0  # reads are seen


@_only_on("tensorflow")
def test_nrnm_window_reads_no_shape_when_the_batch_is_unknown():
    # A model traced without a batch size (the last, smaller batch of
    # `fit`, an exported model) reshapes with -1 for the batch
    # (`products.leading_shape`), not with the tensor's dynamic shape.
    import tensorflow as tf

    layer = NRNM(8, block_size=4, stride=2, window=4, num_heads=2)
    function = tf.function(lambda x: layer(x))
    graph = function.get_concrete_function(
        tf.TensorSpec((None, 8, 3), "float32")).graph
    [counts] = operation_count.tf_loop_counts(graph)
    assert counts["Shape"] == 0
    assert counts["Reshape"] > 0
