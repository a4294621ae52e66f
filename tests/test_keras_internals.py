"""The non-public Keras parts that keras-nrnm relies on
(`keras_nrnm/_keras_internals.py`): each test fails when a Keras release
changes one of them, naming what changed."""

import inspect

import keras
import numpy as np
import pytest
from keras import ops

from keras_nrnm import NRNMCell, _keras_internals

pytestmark = pytest.mark.core


def test_rnn_makes_masks_for_dropout_rnn_cells():
    # keras.layers.RNN resets and makes a cell's masks once per sequence
    # only for DropoutRNNCell instances; NRNMCell's memory-dropout mask uses
    # that.
    from keras.src.layers.rnn import rnn as rnn_module

    assert "DropoutRNNCell" in inspect.getsource(rnn_module.RNN), (
        "keras.layers.RNN no longer refers to DropoutRNNCell")
    for name in ("get_dropout_mask", "get_recurrent_dropout_mask",
                 "reset_dropout_mask", "reset_recurrent_dropout_mask"):
        assert hasattr(_keras_internals.DropoutRNNCell, name), name
    assert issubclass(NRNMCell, _keras_internals.DropoutRNNCell)
    assert hasattr(keras.layers.RNN, "_maybe_config_dropout_masks"), (
        "keras.layers.RNN._maybe_config_dropout_masks is gone "
        "(_keras_internals.prepare_dropout_masks uses it)")


def test_attention_projections_are_the_layers_weights():
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    layer.build((None, 4, 6), (None, 5, 6))
    projections = _keras_internals.attention_projections(layer)
    assert [tuple(p.kernel.shape) for p in projections] == [
        (6, 2, 3), (6, 2, 3), (6, 2, 3), (2, 3, 6)]
    # Together they are every weight of the layer, each once.
    paths = sorted(v.path for p in projections for v in p.weights)
    assert paths == sorted(v.path for v in layer.weights)


def test_rnn_loop_time_major():
    def step(inputs, states):
        total = states[0] + inputs[0]
        return total * 2.0, [total]

    xs = (ops.convert_to_tensor(np.arange(6, dtype="float32").reshape(3, 2, 1)),)
    last, outputs, states = _keras_internals.rnn_loop(
        step, xs, [ops.zeros((2, 1))], input_length=3)
    np.testing.assert_allclose(ops.convert_to_numpy(states[0])[:, 0], [6, 9])
    np.testing.assert_allclose(ops.convert_to_numpy(outputs)[:, :, 0],
                               [[0, 2], [4, 8], [12, 18]])
    np.testing.assert_allclose(ops.convert_to_numpy(last)[:, 0], [12, 18])


def test_state_variables_without_autocast_keep_assignments():
    # keep_state_variables_uncast relies on `Variable._autocast`: inside an
    # autocast scope an assignment must reach the float32 variable itself.
    from keras.src.backend.common.variables import AutocastScope

    variable = keras.Variable(np.zeros((2, 3), "float32"), trainable=False)
    assert hasattr(variable, "_autocast"), "keras.Variable._autocast is gone"
    _keras_internals.keep_state_variables_uncast([variable])
    with AutocastScope("float16"):
        assert keras.backend.standardize_dtype(variable.value.dtype) == "float32"
        variable.assign(np.ones((2, 3), "float16"))
    np.testing.assert_array_equal(ops.convert_to_numpy(variable), 1.0)


def test_check_input_spec_gives_keras_message():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to "
                       "have value 3"):
        _keras_internals.check_input_spec(layer, np.ones((1, 4), "float32"))


def test_stateless_scope_is_detected():
    # NRNMCell refuses per-step zoneout draws inside one on JAX (where Keras
    # runs the loop of keras.layers.RNN in a stateless scope:
    # test_core.test_zoneout_in_keras_rnn_loop_on_jax_is_refused).
    assert not _keras_internals.in_stateless_scope()
    with keras.StatelessScope():
        assert _keras_internals.in_stateless_scope()


# keras-team/keras#20585: `_keras_internals.patch_multi_worker_fit` wraps two
# functions of Keras's TensorFlow trainer. These tests fail when a Keras
# release changes them: then check whether the bug is fixed (and set
# `MULTI_WORKER_FIT_FIXED_IN`) or the wrappers still fit. The two-worker
# training itself is tests/test_distributed.py.
tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="patches the TensorFlow backend's trainer")


@tensorflow_only
def test_multi_worker_fit_bug_is_still_in_keras():
    from keras.src.backend.tensorflow import trainer

    assert _keras_internals.multi_worker_fit_is_broken()
    assert callable(trainer._collective_all_reduce_multi_worker)
    # Scalar losses and metrics averaged over the workers along axis 0.
    source = inspect.getsource(trainer.reduce_per_replica)
    assert 'strategy.reduce("MEAN", v, axis=0)' in source, (
        "Keras changed reduce_per_replica: is keras-team/keras#20585 fixed?")
    assert list(inspect.signature(trainer.reduce_per_replica).parameters) == [
        "values", "strategy", "reduction"]
    # The first batch averaged over all replicas to learn its shapes
    # (Keras >= 3.5).
    build = getattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build", None)
    if build is not None:
        source = inspect.getsource(build)
        assert "self.distribute_strategy.reduce(" in source, (
            "Keras changed TensorFlowTrainer._maybe_symbolic_build: is "
            "keras-team/keras#20585 fixed?")
        assert list(inspect.signature(build).parameters) == [
            "self", "iterator", "data_batch"]


def test_multi_worker_fit_fix_applies_below_the_fixed_release(monkeypatch):
    monkeypatch.setattr(_keras_internals, "MULTI_WORKER_FIT_FIXED_IN", "3.17.0")
    assert _keras_internals.multi_worker_fit_is_broken("3.16.2")
    assert not _keras_internals.multi_worker_fit_is_broken("3.17.0")
    assert not _keras_internals.multi_worker_fit_is_broken("3.17.1.dev2026")
    assert not _keras_internals.multi_worker_fit_is_broken("3.18.0rc1")
    assert not _keras_internals.multi_worker_fit_is_broken("3.17.0+local")
    # On a fixed release it leaves Keras alone.
    monkeypatch.setattr(_keras_internals, "MULTI_WORKER_FIT_FIXED_IN", "3.0.0")
    assert not _keras_internals.patch_multi_worker_fit()


@tensorflow_only
def test_multi_worker_fit_patch(monkeypatch):
    # Without a cluster, a one-device MirroredStrategy stands in for a
    # multi-worker one (`_collective_all_reduce_multi_worker` says so): Keras
    # then fails as across workers (scalar losses reduced along axis 0), and
    # the patched trainer fits.
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    # Undone after the test: Keras's functions, and "not patched yet".
    monkeypatch.setattr(trainer, "reduce_per_replica",
                        trainer.reduce_per_replica)
    monkeypatch.setattr(trainer.TensorFlowTrainer, "_maybe_symbolic_build",
                        trainer.TensorFlowTrainer._maybe_symbolic_build)
    monkeypatch.setattr(trainer, "_keras_nrnm_multi_worker_fit", False,
                        raising=False)
    monkeypatch.setattr(trainer, "_collective_all_reduce_multi_worker",
                        lambda strategy: True)

    def fit():
        strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
        with strategy.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.compile("sgd", "sparse_categorical_crossentropy",
                          metrics=["accuracy"])
        x = np.ones((8, 3), "float32")
        y = np.arange(8) % 2
        return model.fit(x, y, batch_size=4, epochs=1, verbose=0)

    with pytest.raises(ValueError, match="Invalid reduction dimension 0"):
        fit()
    assert _keras_internals.patch_multi_worker_fit()
    assert _keras_internals.patch_multi_worker_fit()  # patches once
    history = fit()
    assert np.isfinite(history.history["loss"][0])
