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
