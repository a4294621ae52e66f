"""Attention maps (Figs. 8 and 10): the W_att of every memory update."""

import numpy as np
import pytest

from conftest import random_inputs, randomize_weights
from keras_nrnm import BidirectionalNRNM, NRNM, attention_maps, plot_attention
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
    path = plot_attention(attention_maps(layer, x), str(tmp_path / "att.png"),
                          sample=1, title="test")
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 400
    assert image[..., :3].std() > 0.05  # not a blank canvas
    assert list(tmp_path.iterdir()) == [tmp_path / "att.png"]  # no temp left


def test_bad_arguments():
    with pytest.raises(TypeError, match="`layer` must be a built keras_nrnm.NRNM or"):
        attention_maps(object(), np.zeros((1, 4, 3)))
    layer = NRNM(8, num_heads=2)
    layer(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(ValueError, match="inputs.shape=\\(4, 3\\)"):
        attention_maps(layer, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`maps` is empty"):
        plot_attention([], "/tmp/never.png")
    ablation = NRNM(8, num_heads=2, attention=False)
    ablation(np.zeros((1, 9, 3), "float32"))
    assert attention_maps(ablation, np.zeros((1, 9, 3))) == []
