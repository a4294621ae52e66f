"""Attention maps (Figs. 8 and 10): the W_att of every memory update."""

import os
import stat
import sys

import keras
import numpy as np
import pytest
from keras import ops

from conftest import random_inputs, randomize_weights
from keras_nrnm import BidirectionalNRNM, NRNM, attention_maps, plot_attention
from keras_nrnm.attention_weights import default_updates
import reference

pytestmark = pytest.mark.core


def test_maps_equal_the_reference_attention_weights():
    layer = NRNM(8, block_size=6, strides=(1, 3), window=4, num_heads=2)
    x = random_inputs((2, 11, 3), seed=1)
    layer(x)
    randomize_weights(layer, seed=1)
    maps = attention_maps(layer, x)
    assert [(m["step"], m["stride"]) for m in maps] == [
        (3, 1), (3, 3), (7, 1), (7, 3)]
    w = reference.cell_weights(layer.cell)
    for sample in range(2):
        outputs = reference.run_sequence(w, x[sample], 8, 6, (1, 3), 4)[0]
        inputs = x[sample].astype("float64") @ w["W_x"] + w["b_x"]
        for entry in maps:
            scale = w["scales"][(1, 3).index(entry["stride"])]
            steps = entry["key_steps"]
            n = len(entry["query_steps"])
            pick = lambda seq, s: seq[s] if s >= 0 else np.zeros(8)  # noqa: E731
            units = np.stack([pick(outputs, s) for s in steps[:n]]
                             + [pick(inputs, s) for s in steps[n:]])
            _, expected = reference.attention(
                scale["attention"], units[:n], units, steps >= 0)
            np.testing.assert_allclose(entry["weights"][sample], expected,
                                       atol=1e-5)


def test_bidirectional_maps_include_the_backward_states():
    """Eq. 18: the source units are [h, backward h, x] of the block."""
    layer = BidirectionalNRNM(8, block_size=4, stride=2, window=2, num_heads=2)
    x = random_inputs((1, 7, 3), seed=4)
    layer(x)
    randomize_weights(layer, seed=4)
    maps = attention_maps(layer, x)
    assert [m["step"] for m in maps] == [1, 3, 5]
    assert maps[0]["key_kinds"] == ["h", "h", "b", "b", "x", "x", "x", "x"]
    cell = layer.forward_layer.cell
    w = reference.cell_weights(cell)
    backward = reference.lstm_forward(layer.backward_layer.cell,
                                      x[0, ::-1])[::-1]
    outputs = reference.run_sequence(
        w, np.concatenate([x[0], backward], axis=1), 8, 4, (2,), 2,
        backward_states=True)[0]
    inputs = x[0].astype("float64") @ w["W_x"] + w["b_x"]
    pick = lambda seq, s: seq[s] if s >= 0 else np.zeros(8)  # noqa: E731
    for entry in maps:
        steps, kinds = entry["key_steps"], entry["key_kinds"]
        source = {"h": outputs, "b": backward, "x": inputs}
        units = np.stack([pick(source[kind], s) for kind, s in zip(kinds, steps)])
        _, expected = reference.attention(
            w["scales"][0]["attention"], units[:2], units, steps >= 0)
        np.testing.assert_allclose(entry["weights"][0], expected, atol=1e-5)


def test_rows_sum_to_one_and_padding_gets_nothing():
    layer = NRNM(8, block_size=8, stride=2, window=3, num_heads=4)
    x = random_inputs((1, 10, 3), seed=2)
    layer(x)
    maps = attention_maps(layer, x)
    first = maps[0]  # after step 2: block steps -5 .. 2
    assert list(first["query_steps"]) == [-4, -2, 0, 2]  # t, t-2, t-4, t-6
    assert list(first["key_steps"][4:]) == list(range(-5, 3))
    assert first["key_kinds"] == ["h"] * 4 + ["x"] * 8
    np.testing.assert_allclose(first["weights"].sum(-1), 1.0, atol=1e-5)
    assert np.all(first["weights"][..., first["key_steps"] < 0] == 0.0)


def test_plot_writes_a_png(tmp_path):
    layer = NRNM(8, block_size=4, stride=2, window=2, num_heads=2)
    x = random_inputs((2, 9, 3), seed=3)
    layer(x)
    path = tmp_path / "att.png"
    old = os.umask(0o022)
    try:
        figure = plot_attention(attention_maps(layer, x), str(path),
                                sample=1, title="test")
    finally:
        os.umask(old)
    import matplotlib.figure
    import matplotlib.image

    assert isinstance(figure, matplotlib.figure.Figure)
    assert figure.get_suptitle() == "test"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert image[..., :3].std() > 0.05  # not a blank canvas
    assert list(tmp_path.iterdir()) == [path]  # no temp left
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # as open() makes it


def test_plot_leaves_matplotlib_global_state_alone(monkeypatch):
    """No `matplotlib.use` (it would switch a notebook's inline backend
    off) and no pyplot figure left open; nothing written without a path."""
    import matplotlib

    def forbidden(*args, **kwargs):
        raise AssertionError("plot_attention called matplotlib.use")

    monkeypatch.setattr(matplotlib, "use", forbidden)
    layer = NRNM(8, block_size=4, stride=2, window=2, num_heads=2)
    x = random_inputs((1, 9, 3), seed=3)
    layer(x)
    before = matplotlib.get_backend()
    figure = plot_attention(attention_maps(layer, x))
    assert matplotlib.get_backend() == before
    assert figure.canvas.get_default_filetype() == "png"
    assert len(figure.axes) == 4  # two panels and their colour bars
    if "matplotlib.pyplot" in sys.modules:
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


def test_default_panels_start_with_a_block_of_real_steps():
    layer = NRNM(8, block_size=8, stride=2, window=2, num_heads=2)
    x = random_inputs((1, 12, 3), seed=5)
    layer(x)
    maps = attention_maps(layer, x)
    assert [m["step"] for m in maps] == [1, 3, 5, 7, 9, 11]
    # Blocks after steps 1, 3, 5 reach back before step 0; after 7: 0 .. 7.
    assert default_updates(maps) == [3, 5]
    figure = plot_attention(maps)
    titles = [axis.get_title() for axis in figure.axes[:2]]
    assert titles == ["memory update after step 7 (stride 2)",
                      "memory update after step 11 (stride 2)"]
    assert "pad" not in [label.get_text()
                         for label in figure.axes[0].get_xticklabels()]
    short = attention_maps(layer, x[:, :4])  # no block without padding
    assert default_updates(short) == [0, 1]


def assert_same_maps(actual, expected):
    assert len(actual) == len(expected) > 0
    for a, e in zip(actual, expected):
        assert (a["step"], a["stride"], a["key_kinds"]) == (
            e["step"], e["stride"], e["key_kinds"])
        np.testing.assert_array_equal(a["key_steps"], e["key_steps"])
        np.testing.assert_allclose(a["weights"], e["weights"], atol=1e-5)


def test_maps_of_a_layer_deep_in_a_model_from_the_model_inputs():
    inputs = keras.Input((10, 3))
    below = keras.layers.Dense(6, name="below")
    h = below(inputs)
    layer = NRNM(8, block_size=4, stride=2, window=2, num_heads=2,
                 return_sequences=True, name="memory")
    h = layer(h)
    h = NRNM(8, num_heads=2, name="second")(h)
    model = keras.Model(inputs, h)
    randomize_weights(layer, seed=6)
    x = random_inputs((2, 10, 3), seed=6)
    expected = attention_maps(layer, below(x))
    assert_same_maps(attention_maps(model, "memory", x), expected)
    assert_same_maps(attention_maps(model, layer, x), expected)
    # The calls of earlier versions keep working.
    assert_same_maps(attention_maps(layer=layer, inputs=below(x)), expected)
    # The layer's own inputs are checked: the model's would fail deep in
    # a matrix product.
    with pytest.raises(ValueError, match="expected axis -1 of input shape to "
                       "have value 6.*layer 'memory'.*attention_maps\\(model"):
        attention_maps(layer, x)
    with pytest.raises(ValueError, match="no NRNM layer named 'nrnm'.*"
                       "\\['memory', 'second'\\]"):
        attention_maps(model, "nrnm", x)
    with pytest.raises(ValueError, match="`layer` is needed.*2 NRNM layers"):
        attention_maps(model, x)
    with pytest.raises(ValueError, match="`layer` \\('below'\\) is not an "
                       "NRNM layer"):
        attention_maps(model, below, x)


def test_maps_of_a_shared_encoder_inside_a_siamese_model():
    encoder = keras.Sequential([
        keras.Input((9, 3)), keras.layers.Dense(4),
        NRNM(8, block_size=4, stride=2, window=2, num_heads=2, name="nrnm"),
    ], name="encoder")
    a, b = keras.Input((9, 3)), keras.Input((9, 3))
    siamese = keras.Model([a, b], keras.layers.Subtract()([encoder(a),
                                                           encoder(b)]))
    layer = encoder.get_layer("nrnm")
    randomize_weights(layer, seed=7)
    xa, xb = random_inputs((1, 9, 3), seed=7), random_inputs((1, 9, 3), seed=8)
    expected = attention_maps(layer, encoder.layers[0](xa))  # the first call
    assert_same_maps(attention_maps(siamese, "nrnm", [xa, xb]), expected)
    assert_same_maps(attention_maps(siamese, [xa, xb]), expected)
    # The layer is left as it was.
    assert "call" not in vars(layer) and "_on_call" not in vars(layer)


def test_maps_of_the_backward_nrnm_of_a_keras_bidirectional():
    inputs = keras.Input((9, 3))
    both = keras.layers.Bidirectional(
        NRNM(8, block_size=4, stride=2, window=2, num_heads=2))
    model = keras.Model(inputs, both(inputs))
    backward = both.backward_layer
    randomize_weights(backward, seed=10)
    x = random_inputs((1, 9, 3), seed=10)
    assert_same_maps(attention_maps(model, backward.name, x),
                     attention_maps(backward, x))
    assert attention_maps(model, backward, x)[0]["step"] == 1


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_masked_padding_is_dropped_like_the_layer_skips_it(padding):
    layer = BidirectionalNRNM(8, block_size=4, stride=2, window=2,
                              num_heads=2, name="bi")
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, layer(keras.layers.Masking(0.0)(inputs)))
    randomize_weights(layer, seed=9)
    x = random_inputs((1, 7, 3), seed=9)
    pad = np.zeros((1, 4, 3), "float32")
    padded = np.concatenate([x, pad] if padding == "post" else [pad, x], 1)
    assert_same_maps(attention_maps(model, "bi", padded),
                     attention_maps(layer, x))
    two = np.concatenate([padded, np.concatenate([x, x[:, :4]], 1)])
    with pytest.raises(ValueError, match="`inputs` holds sequences of "
                       "different real lengths \\(\\[7, 11\\]"):
        attention_maps(model, "bi", two)


def test_bad_arguments():
    with pytest.raises(TypeError, match="`layer` must be a built keras_nrnm.NRNM or"):
        attention_maps(object(), np.zeros((1, 4, 3)))
    layer = NRNM(8, num_heads=2)
    layer(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(ValueError, match="inputs.shape=\\(4, 3\\)"):
        attention_maps(layer, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`maps` is empty"):
        plot_attention([], "/tmp/never.png")
    with pytest.raises(ValueError, match="`sample` must index the batch of 1"):
        plot_attention(attention_maps(layer, np.zeros((1, 9, 3))), sample=1)
    with pytest.raises(TypeError, match="`model` must be a keras.Model"):
        attention_maps(layer, "nrnm", np.zeros((1, 4, 3)))
    ablation = NRNM(8, num_heads=2, attention=False)
    ablation(np.zeros((1, 9, 3), "float32"))
    assert attention_maps(ablation, np.zeros((1, 9, 3))) == []


def test_recording_calls_records_what_the_layer_receives():
    """`recording_calls`, the hook `attention_maps` finds a layer's input
    with: the inputs and mask of every call inside the context, at any
    depth (here after a Masking layer, inside a nested model, the layer
    shared), and nothing outside it."""
    inner = NRNM(8, block_size=4, stride=2, window=2, num_heads=2,
                 name="memory")
    bidirectional = BidirectionalNRNM(8, block_size=4, stride=2, window=2,
                                      num_heads=2, name="bi")
    encoder = keras.Sequential([keras.Input((None, 3)),
                                keras.layers.Masking(0.0),
                                keras.layers.Dense(4), inner])
    a, b = keras.Input((None, 3)), keras.Input((None, 3))
    model = keras.Model([a, b], [encoder(a), encoder(b),
                                 bidirectional(keras.layers.Masking(0.0)(a))])
    xa, xb = random_inputs((2, 6, 3), seed=1), random_inputs((2, 6, 3), 2)
    xa[0, 4:] = 0.0  # padding that Masking masks
    model([xa, xb])  # outside the context: nothing recorded
    with inner.recording_calls() as calls, \
            bidirectional.recording_calls() as bidirectional_calls:
        with pytest.raises(RuntimeError, match="already recording"):
            with inner.recording_calls():
                pass
        model([xa, xb])
    model([xa, xb])
    assert len(calls) == 2 and len(bidirectional_calls) == 1
    # The model may run its two branches in either order.
    dense = encoder.layers[1]
    if not np.allclose(ops.convert_to_numpy(calls[0].inputs),
                       ops.convert_to_numpy(dense(xa)), atol=1e-6):
        calls.reverse()
    for call, x in zip(calls, (xa, xb)):
        np.testing.assert_allclose(ops.convert_to_numpy(call.inputs),
                                   ops.convert_to_numpy(dense(x)), atol=1e-6)
    mask = ops.convert_to_numpy(calls[0].mask)
    np.testing.assert_array_equal(mask, np.any(xa != 0.0, axis=-1))
    assert mask[0].tolist() == [True] * 4 + [False] * 2
    bidirectional_call = bidirectional_calls[0]
    np.testing.assert_array_equal(
        ops.convert_to_numpy(bidirectional_call.inputs), xa)
    np.testing.assert_array_equal(ops.convert_to_numpy(bidirectional_call.mask),
                                  mask)
    for layer in (inner, bidirectional):
        assert "_on_call" not in vars(layer)


def test_the_package_attribute_is_the_function_not_a_module():
    import types

    import keras_nrnm

    assert not isinstance(keras_nrnm.attention_maps, types.ModuleType)
    assert keras_nrnm.attention_maps is attention_maps
    assert attention_maps.__module__ == "keras_nrnm.attention_weights"
