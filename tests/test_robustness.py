"""Bad arguments and inputs, edge shapes, mixed precision, non-finite inputs,
masks, full state, broken data files: what a hurried user or a broken file
gives every public entry point."""

import gzip

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import ops

from conftest import random_inputs, randomize_weights
from keras_nrnm import (BidirectionalNRNM, NRNM, NRNMCell, NonLocalMemory,
                        attention_maps)
from keras_nrnm.datasets import (load_protein_file, load_video_features,
                                 read_ntu_skeleton, read_ts_file,
                                 read_video_labels)
import reference

pytestmark = pytest.mark.core

# Every constructor check: (arguments, error type, text the message must hold).
BAD_ARGUMENTS = [
    (dict(units=0), ValueError, "`units` must be a positive integer. Received: units=0"),
    (dict(units=-3), ValueError, "units=-3"),
    (dict(units=2.5), TypeError, "`units` must be a positive integer"),
    (dict(units="8"), TypeError, "units='8'"),
    (dict(units=8, block_size=0), ValueError, "block_size=0"),
    (dict(units=8, block_size=300), ValueError, "`block_size` must be at most 256"),
    (dict(units=8, block_size=8, stride=3), ValueError,
     "`stride` must divide `block_size`. Received: stride=3, block_size=8"),
    (dict(units=8, stride=0), ValueError, "stride=0"),
    (dict(units=8, window=0), ValueError, "window=0"),
    (dict(units=8, window=-1), ValueError, "window=-1"),
    (dict(units=8, window=1000), ValueError, "`window` must be at most 256"),
    (dict(units=10, num_heads=4), ValueError,
     "`num_heads` must divide `units`. Received: num_heads=4, units=10. "
     "Leave `num_heads=None` to use the largest of (4, 2, 1) that divides "
     "`units`."),
    (dict(units=8, num_heads=0), ValueError, "num_heads=0"),
    (dict(units=8, num_heads="4"), TypeError, "num_heads='4'"),
    (dict(units=8, backbone="gru", reset_after="False"), TypeError,
     "Argument `reset_after` must be a boolean. Received: reset_after='False'"),
    (dict(units=8, implementation=3), ValueError,
     "Argument `implementation` must be one of (0, 1, 2) (accepted for "
     "compatibility with `keras.layers.LSTM`, and ignored). Received: "
     "implementation=3"),
    (dict(units=8, implementation="2"), TypeError, "implementation='2'"),
    (dict(units=8, dropout=1.0), ValueError, "`dropout` must be a float in [0, 1). Received: dropout=1.0"),
    (dict(units=8, dropout=-0.1), ValueError, "dropout=-0.1"),
    (dict(units=8, recurrent_dropout=1.5), ValueError, "recurrent_dropout=1.5"),
    (dict(units=8, memory_dropout=1.0), ValueError, "memory_dropout=1.0"),
    (dict(units=8, zoneout=2), ValueError, "zoneout=2"),
    (dict(units=8, zoneout="high"), TypeError, "zoneout='high'"),
    (dict(units=8, layer_norm_epsilon=0.0), ValueError,
     "`layer_norm_epsilon` must be a positive float. Received: layer_norm_epsilon=0.0"),
    (dict(units=8, layer_norm_epsilon="1e-3"), TypeError, "layer_norm_epsilon='1e-3'"),
    (dict(units=8, strides=()), ValueError,
     "`strides` must be a non-empty tuple of positive integers. Received: strides=()"),
    (dict(units=8, strides=5), TypeError, "strides=5"),
    (dict(units=8, strides=(1, 0)), ValueError, "strides=0"),
    (dict(units=8, strides=(2, 2)), ValueError, "must not repeat a stride"),
    (dict(units=8, block_size=8, strides=(1, 3, 5)), ValueError,
     "The largest of `strides` must divide `block_size`. "
     "Received: strides=(1, 3, 5), block_size=8"),
    # Unhashable or wrongly typed choices, flags and Keras objects.
    (dict(units=8, backbone=["lstm"]), TypeError,
     "Argument `backbone` must be one of ['gru', 'lstm', 'simple']. "
     "Received: backbone=['lstm'] (of type list)"),
    (dict(units=8, backbone="LSTM"), ValueError, "backbone='LSTM'"),
    (dict(units=8, memory_gates={"tied"}), TypeError, "memory_gates={'tied'}"),
    (dict(units=8, attention="no"), TypeError,
     "Argument `attention` must be a boolean. Received: attention='no'"),
    (dict(units=8, attention_output_projection=0), TypeError,
     "attention_output_projection=0"),
    (dict(units=8, use_bias=None), TypeError, "use_bias=None"),
    (dict(units=8, unit_forget_bias="True"), TypeError, "unit_forget_bias='True'"),
    (dict(units=8, backward_states=[]), TypeError, "backward_states=[]"),
    (dict(units=8, activation="tanhh"), ValueError,
     "Argument `activation` could not be interpreted"),
    (dict(units=8, recurrent_activation=3), ValueError, "recurrent_activation=3"),
    (dict(units=8, fusion_activation="rleu"), ValueError,
     "Argument `fusion_activation` could not be interpreted"),
    (dict(units=8, block_size=4, strides=(1, 2), fusion_activation=3),
     ValueError, "fusion_activation=3"),
    (dict(units=8, block_size=4, strides=(1, 2), fusion_activation=["relu"]),
     ValueError, "fusion_activation=['relu']"),
    (dict(units=8, kernel_initializer="glorot"), ValueError,
     "Argument `kernel_initializer` could not be interpreted"),
    (dict(units=8, kernel_regularizer="l3"), ValueError, "kernel_regularizer='l3'"),
    (dict(units=8, bias_constraint="positive"), ValueError, "bias_constraint='positive'"),
]

# Arguments only the whole-sequence layer has.
BAD_LAYER_ARGUMENTS = [
    (dict(units=8, return_state="yes"), ValueError,
     'Argument `return_state` must be True, False or "full". '
     "Received: return_state='yes'"),
    (dict(units=8, return_state=None), ValueError, "return_state=None"),
    (dict(units=8, return_state=2), ValueError, "return_state=2"),
    (dict(units=8, return_sequences="True"), TypeError,
     "Argument `return_sequences` must be a boolean"),
    (dict(units=8, stateful=None), TypeError, "stateful=None"),
    (dict(units=8, go_backwards="no"), TypeError, "go_backwards='no'"),
    (dict(units=8, unroll=1), TypeError, "unroll=1"),
    (dict(units=8, zero_output_for_mask="False"), TypeError,
     "zero_output_for_mask='False'"),
    (dict(units=8, use_cudnn=True), ValueError,
     "Argument `use_cudnn` cannot be True: NRNM has no cuDNN kernel"),
    (dict(units=8, use_cudnn="yes"), ValueError,
     'Argument `use_cudnn` must be one of {"auto", False}'),
]


@pytest.mark.parametrize("cls", [NRNM, NRNMCell])
@pytest.mark.parametrize("kwargs,error,message", BAD_ARGUMENTS)
def test_bad_arguments_name_the_argument(cls, kwargs, error, message):
    with pytest.raises(error) as info:
        cls(**kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("kwargs,error,message", BAD_LAYER_ARGUMENTS)
def test_bad_layer_arguments_name_the_argument(kwargs, error, message):
    with pytest.raises(error) as info:
        NRNM(**kwargs)
    assert message in str(info.value)


def test_bidirectional_checks_its_arguments():
    with pytest.raises(ValueError, match="does not support `return_state`"):
        BidirectionalNRNM(8, return_state=True)
    with pytest.raises(ValueError, match="does not support `stateful`"):
        BidirectionalNRNM(8, stateful=True)
    with pytest.raises(TypeError, match="`return_sequences` must be a boolean"):
        BidirectionalNRNM(8, return_sequences="yes")
    with pytest.raises(TypeError, match=r"backbone=\['lstm'\]"):
        BidirectionalNRNM(8, backbone=["lstm"])
    with pytest.raises(ValueError, match="fusion_activation='rleu'"):
        BidirectionalNRNM(8, strides=(1, 2), block_size=4,
                          fusion_activation="rleu")
    with pytest.raises(ValueError, match="units=0"):
        BidirectionalNRNM(0)


def test_memory_layer_checks_its_arguments():
    with pytest.raises(ValueError, match="strides=0"):
        NonLocalMemory(8, block_size=4, strides=(0,))
    with pytest.raises(ValueError, match="`num_heads` must divide `units`"):
        NonLocalMemory(6, block_size=4, num_heads=4)
    with pytest.raises(ValueError, match="Argument `fusion_activation` could "
                                         "not be interpreted"):
        NonLocalMemory(8, block_size=4, strides=(1, 2), fusion_activation="x")


def test_wrong_input_rank_dtype_and_width():
    layer = NRNM(8, num_heads=2, name="memory_lstm")
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layer(np.ones((2, 5), "float32"))
    with pytest.raises(TypeError, match="'memory_lstm' expects floating-point inputs.*int32"):
        layer(np.ones((2, 5, 3), "int32"))
    layer(np.ones((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.ones((2, 5, 4), "float32"))


@pytest.mark.parametrize("steps", [1, 2, 3, 9])
@pytest.mark.parametrize("batch", [1, 2])
def test_edge_shapes(steps, batch):
    """T = 1, T below the block and the window, T not a multiple of the
    window: the outputs and the returned `h`, `c` are the NumPy
    reference's (random weights, so that every term counts)."""
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
                 return_sequences=True, return_state=True)
    x = random_inputs((batch, steps, 3), seed=steps)
    layer.build((None, None, 3))
    randomize_weights(layer, seed=steps + 10 * batch)
    seq, h, c = (ops.convert_to_numpy(t) for t in layer(x))
    assert seq.shape == (batch, steps, 8)
    weights = reference.cell_weights(layer.cell)
    for sample in range(batch):
        outputs, h_expected, c_expected, _, _ = reference.run_sequence(
            weights, x[sample], 8, 4, (2,), 3)
        np.testing.assert_allclose(seq[sample], outputs, atol=1e-5)
        np.testing.assert_allclose(h[sample], h_expected, atol=1e-5)
        np.testing.assert_allclose(c[sample], c_expected, atol=1e-5)


def test_long_sequence_inference_is_finite():
    steps = 10_000
    x = random_inputs((1, steps, 2), seed=3) * 3.0
    inputs = keras.Input((steps, 2))
    model = keras.Model(inputs, NRNM(4, block_size=4, stride=2, window=2,
                                     num_heads=2)(inputs))
    out = model.predict(x, verbose=0)
    assert np.all(np.isfinite(out)) and np.abs(out).max() <= 1.0


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_training(policy):
    keras.config.set_dtype_policy(policy)
    compute = policy.split("_")[1]
    inputs = keras.Input((12, 3))
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2, zoneout=0.1,
                 memory_dropout=0.1, return_sequences=True, return_state=True)
    seq, h, c = layer(inputs)
    assert seq.dtype == compute and h.dtype == compute and c.dtype == compute
    output = keras.layers.Dense(2, dtype="float32")(keras.layers.Flatten()(seq))
    model = keras.Model(inputs, output)
    assert all(w.dtype == "float32" for w in model.weights)
    model.compile("adam", "mse")
    x = random_inputs((8, 12, 3), seed=4)
    history = model.fit(x, np.ones((8, 2), "float32"), epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


def test_non_finite_input_propagates_forward_only():
    # Documented behaviour: a NaN at step t makes the outputs from t on NaN
    # (there is no silent masking); earlier outputs are untouched.
    layer = NRNM(8, block_size=4, stride=2, window=2, num_heads=2,
                 return_sequences=True)
    x = random_inputs((1, 10, 3), seed=5)
    x[0, 6, 1] = np.nan
    out = ops.convert_to_numpy(layer(x))
    assert np.all(np.isfinite(out[0, :6]))
    assert np.all(np.isnan(out[0, 6:]))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    slots=st.integers(1, 3),
    stride=st.integers(1, 3),
    window=st.integers(1, 6),
    heads=st.sampled_from([1, 2, 4]),
    steps=st.integers(1, 14),
    batch=st.integers(1, 3),
)
def test_property_finite_outputs_and_exact_config(slots, stride, window, heads,
                                                   steps, batch):
    layer = NRNM(4, block_size=slots * stride, stride=stride, window=window,
                 num_heads=heads, return_sequences=True)
    out = ops.convert_to_numpy(layer(random_inputs((batch, steps, 3)) * 5.0))
    assert out.shape == (batch, steps, 4)
    assert np.all(np.isfinite(out)) and np.abs(out).max() <= 1.0 + 1e-6
    assert NRNM.from_config(layer.get_config()).get_config() == layer.get_config()


# Masks --------------------------------------------------------------------
STEPS = 6
# (batch, 1) and (1, T) used to broadcast into a silently wrong result (all
# NaN on JAX); the others failed deep in a backend op without naming `mask`.
BAD_MASK_SHAPES = [(3, 1), (1, STEPS), (3, STEPS + 2), (3, STEPS - 1), (3,),
                   (3, STEPS, 1)]
LAYER_KINDS = ["fast_path", "unroll", "bidirectional", "keras_bidirectional"]


def small_layer(kind, **kwargs):
    args = dict(block_size=4, stride=2, window=2, num_heads=2, **kwargs)
    if kind == "bidirectional":
        return BidirectionalNRNM(4, **args)
    layer = NRNM(4, unroll=kind == "unroll", **args)
    if kind == "keras_bidirectional":
        return keras.layers.Bidirectional(layer)
    return layer


@pytest.mark.parametrize("kind", LAYER_KINDS)
@pytest.mark.parametrize("shape", BAD_MASK_SHAPES)
def test_mask_of_wrong_shape_names_mask(kind, shape):
    x = random_inputs((3, STEPS, 4))
    layer = small_layer(kind)
    with pytest.raises(ValueError) as info:
        layer(x, mask=np.ones(shape, bool))
    message = str(info.value)
    assert "argument `mask` must have shape (batch, timesteps) = (3, 6)" in message
    assert f"Received: mask.shape={shape}" in message


@pytest.mark.parametrize("mask_steps", [1, STEPS + 2])
def test_mask_of_wrong_length_fails_when_the_model_is_built(mask_steps):
    inputs = keras.Input((STEPS, 4))
    mask = keras.Input((mask_steps,), dtype="bool")
    with pytest.raises(ValueError, match=r"`mask` must have shape .*"
                       rf"Received: mask.shape=\(None, {mask_steps}\)"):
        small_layer("fast_path")(inputs, mask=mask)


@pytest.mark.parametrize("kind", ["fast_path", "bidirectional"])
@pytest.mark.parametrize("mask_steps", [1, STEPS + 2])
@pytest.mark.parametrize("method", ["predict", "fit"])
def test_mask_of_wrong_length_fails_in_predict_and_fit(kind, mask_steps,
                                                       method):
    # Lengths unknown when the model is built: checked inside predict/fit.
    # (A fresh model each time: on JAX, a model whose predict or fit raised
    # is left without its variables' values by Keras.)
    inputs = keras.Input((None, 4))
    mask = keras.Input((None,), dtype="bool")
    layer = small_layer(kind, return_sequences=False)
    model = keras.Model([inputs, mask], layer(inputs, mask=mask))
    model.compile("sgd", "mse")
    data = [random_inputs((4, STEPS, 4)), np.ones((4, mask_steps), bool)]
    with pytest.raises(ValueError, match="argument `mask` must have shape"):
        if method == "predict":
            model.predict(data, verbose=0)
        else:
            model.fit(data, np.zeros((4, model.output_shape[-1])), verbose=0)


@pytest.mark.parametrize("kind", ["fast_path", "unroll", "bidirectional"])
def test_integer_and_float_masks_equal_boolean_masks(kind):
    x = random_inputs((3, STEPS, 4), seed=2)
    mask = np.arange(STEPS)[None, :] < np.array([[6], [3], [1]])
    layer = small_layer(kind)
    expected = ops.convert_to_numpy(layer(x, mask=mask))
    for like in ("int32", "float32"):
        np.testing.assert_allclose(
            ops.convert_to_numpy(layer(x, mask=mask.astype(like))), expected,
            atol=1e-6)


@pytest.mark.parametrize("kind", ["fast_path", "unroll", "bidirectional"])
def test_non_finite_values_at_masked_steps_keep_training_finite(kind):
    # The backward pass used to multiply the masked steps' NaN by a zero
    # gradient: one fit step turned every weight into NaN.
    batch, steps = 6, 8
    inputs = keras.Input((steps, 3))
    mask = keras.Input((steps,), dtype="bool")
    layer = small_layer(kind, return_sequences=False)
    output = keras.layers.Dense(1)(layer(inputs, mask=mask))
    model = keras.Model([inputs, mask], output)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    lengths = np.array([8, 5, 3, 8, 1, 6])
    valid = np.arange(steps)[None, :] < lengths[:, None]
    valid[3, :2] = False  # left padding too
    clean = random_inputs((batch, steps, 3), seed=3)
    clean[~valid] = 0.0
    dirty = clean.copy()
    dirty[~valid] = np.nan
    dirty[1, 6, 0], dirty[2, 4, 2] = np.inf, -np.inf
    # Forward: the skipped steps' values change nothing.
    np.testing.assert_array_equal(model.predict([dirty, valid], verbose=0),
                                  model.predict([clean, valid], verbose=0))
    history = model.fit([dirty, valid], np.ones((batch, 1), "float32"),
                        epochs=3, batch_size=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    for weight in model.weights:
        assert np.all(np.isfinite(ops.convert_to_numpy(weight))), weight.path
    assert np.all(np.isfinite(model.predict([dirty, valid], verbose=0)))


# State ----------------------------------------------------------------------
@pytest.mark.parametrize("policy,atol", [("mixed_float16", 5e-3),
                                         ("mixed_bfloat16", 3e-2)])
def test_stateful_carries_the_state_under_mixed_precision(policy, atol):
    # On PyTorch the state was written to a cast copy of the state variable
    # and lost: a second call repeated the first call's state.
    keras.config.set_dtype_policy(policy)
    x = random_inputs((2, 12, 3), seed=8)
    args = dict(block_size=4, stride=2, window=3, num_heads=2,
                return_sequences=True)
    whole = NRNM(8, **args)
    whole(x)
    randomize_weights(whole, seed=8)
    chunked = NRNM(8, stateful=True, **args)
    chunked(x[:, :5])
    chunked.set_weights(whole.get_weights())
    chunked.reset_state()
    first = ops.convert_to_numpy(ops.cast(chunked(x[:, :5]), "float32"))
    assert np.abs(ops.convert_to_numpy(
        ops.cast(chunked.states[0], "float32"))).max() > 0.01
    second = ops.convert_to_numpy(ops.cast(chunked(x[:, 5:]), "float32"))
    expected = ops.convert_to_numpy(ops.cast(whole(x), "float32"))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1),
                               expected, atol=atol)


def chunk_masks(batch, steps, split):
    """Right padding on one sample, left padding on another."""
    mask = np.ones((batch, steps), bool)
    mask[0, steps - 4:] = False
    mask[1, :split + 1] = False
    return mask


@pytest.mark.parametrize("return_sequences,backbone,masked", [
    (True, "lstm", False), (False, "lstm", True), (True, "gru", True),
    (False, "simple", False)])
def test_full_state_chunks_equal_whole_sequence(return_sequences, backbone,
                                                masked):
    x = random_inputs((3, 13, 4), seed=21)
    split = 5  # not a multiple of the window: the phase is carried
    mask = chunk_masks(3, 13, split) if masked else None
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
                 backbone=backbone, return_sequences=return_sequences,
                 return_state="full")
    layer(x)
    randomize_weights(layer, seed=21)
    whole, *whole_states = layer(x, mask=mask)
    assert len(whole_states) == len(layer.cell.state_size) == 6
    first, *states = layer(
        x[:, :split], mask=None if mask is None else mask[:, :split])
    second, *states = layer(x[:, split:], initial_state=states,
                            mask=None if mask is None else mask[:, split:])
    joined = second
    if return_sequences:
        joined = ops.concatenate([first, second], axis=1)
    np.testing.assert_allclose(ops.convert_to_numpy(joined),
                               ops.convert_to_numpy(whole), atol=1e-5)
    for got, expected in zip(states, whole_states):
        np.testing.assert_allclose(ops.convert_to_numpy(got),
                                   ops.convert_to_numpy(expected), atol=1e-5)


def test_return_state_full_is_every_cell_state_and_round_trips():
    x = random_inputs((2, 9, 4), seed=22)
    layer = NRNM(8, num_heads=2, return_sequences=True, return_state="full")
    seq, *states = layer(x)
    cell = layer.cell
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    expected = rnn(x)
    np.testing.assert_allclose(ops.convert_to_numpy(seq),
                               ops.convert_to_numpy(expected[0]), atol=1e-5)
    for got, want in zip(states, expected[1:]):
        np.testing.assert_allclose(ops.convert_to_numpy(got),
                                   ops.convert_to_numpy(want), atol=1e-5)
    config = layer.get_config()
    assert config["return_state"] == "full"
    assert NRNM.from_config(config).return_state == "full"
    # Symbolic use: one output per state.
    outputs = NRNM(8, num_heads=2, return_state="full")(keras.Input((None, 4)))
    assert [tuple(o.shape) for o in outputs] == [
        (None, 8)] + [(None, size) for size in cell.state_size]


# Inputs of another width --------------------------------------------------
def test_attention_maps_and_bidirectional_check_the_feature_width():
    x = random_inputs((2, 8, 3))
    wide = random_inputs((2, 8, 5))
    for layer in (NRNM(8, block_size=4, stride=2, window=2, num_heads=2),
                  BidirectionalNRNM(8, block_size=4, stride=2, window=2,
                                    num_heads=2)):
        layer(x)
        expected = ("expected axis -1 of input shape to have value 3, but "
                    "received input with shape (2, 8, 5)")
        with pytest.raises(ValueError) as info:
            attention_maps(layer, wide)
        assert expected in str(info.value)
        with pytest.raises(ValueError) as info:
            layer(wide)
        assert expected in str(info.value)


# Broken data files ----------------------------------------------------------
def test_ntu_header_with_huge_frame_count_fails_before_allocating(tmp_path):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("1000000000000\n0\n0\n")
    with pytest.raises(ValueError) as info:
        read_ntu_skeleton(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line 1: the header claims "
                              "1000000000000 frames, but only 2 lines follow")


def test_ntu_bad_max_bodies_and_empty_file(tmp_path):
    path = tmp_path / "empty.skeleton"
    path.write_text("")
    with pytest.raises(ValueError, match=r"empty\.skeleton, line 1: file ends early"):
        read_ntu_skeleton(path)
    path.write_text("1\n0\n")
    with pytest.raises(ValueError, match=r"`max_bodies` must be a positive "
                       r"integer. Received: max_bodies=-1"):
        read_ntu_skeleton(path, max_bodies=-1)
    with pytest.raises(ValueError, match="max_bodies=0"):
        read_ntu_skeleton(path, max_bodies=0)
    with pytest.raises(TypeError, match="max_bodies=1.5"):
        read_ntu_skeleton(path, max_bodies=1.5)
    assert read_ntu_skeleton(path, max_bodies=1).shape == (1, 1, 25, 3)


def write_npy_header(path, shape, dtype="<f4"):
    """A `.npy` file whose header claims `shape` but holds 8 bytes."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape})
    header += " " * (63 - len(header) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little")
                     + header.encode("latin1") + b"\0" * 8)


def test_protein_file_that_is_not_a_numeric_array_names_the_file(tmp_path):
    strings = tmp_path / "strings.npy"
    np.save(strings, np.full((2, 700 * 57), "0.5"))
    with pytest.raises(ValueError, match=r"strings\.npy: array of dtype <U3, "
                       "not numbers; expected a .npy"):
        load_protein_file(strings)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"objects\.npy: cannot read"):
        load_protein_file(objects)
    empty = tmp_path / "empty.npy.gz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.npy\.gz: cannot read"):
        load_protein_file(empty)
    corrupt = tmp_path / "corrupt.npy.gz"
    data = bytearray(gzip.compress(np.zeros((2, 700 * 57), "f4").tobytes()))
    data[20:40] = b"\xff" * 20
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt\.npy\.gz: cannot read"):
        load_protein_file(corrupt)
    huge = tmp_path / "huge.npy"
    write_npy_header(huge, (10**12, 700 * 57))
    with pytest.raises(ValueError, match=r"huge\.npy: cannot read"):
        load_protein_file(huge)


def test_video_labels_not_utf8_name_the_file_and_line(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_bytes("id,classes\nv1,1 2\nvid\u00e9o,3\n".encode("latin-1"))
    with pytest.raises(ValueError) as info:
        read_video_labels(labels)
    assert str(info.value) == (
        f"{labels}, line 3: not UTF-8 text (byte 0xe9); save the labels file "
        "as UTF-8.")
    labels.write_text("id,classes\nv1,1 2\nvid\u00e9o,3\n", encoding="utf-8")
    assert read_video_labels(labels) == (["v1", "vid\u00e9o"], [[1, 2], [3]])


def test_video_feature_files_that_are_not_numeric_name_the_file(tmp_path):
    feats = tmp_path / "feats"
    feats.mkdir()
    labels = tmp_path / "labels.csv"
    labels.write_text("v1,1\n")
    np.save(feats / "v1.npy", np.array([["a", "b"]]))
    with pytest.raises(ValueError, match=r"v1\.npy: array of dtype <U1"):
        load_video_features(feats, labels, num_classes=3)
    (feats / "v1.npy").write_bytes(b"")
    with pytest.raises(ValueError, match=r"v1\.npy: cannot read"):
        load_video_features(feats, labels, num_classes=3)
    with pytest.raises(ValueError, match="num_classes=0"):
        load_video_features(feats, labels, num_classes=0)


def test_ts_file_of_binary_garbage_names_the_file(tmp_path):
    path = tmp_path / "garbage.ts"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    with pytest.raises(ValueError, match=r"garbage\.ts, line 1: expected a @tag"):
        read_ts_file(path)
