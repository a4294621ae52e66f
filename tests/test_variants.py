"""The paper's variants: multi-scale dilated memory (Eq. 7, Fig. 4) and
"NRNM w/o SA" (Fig. 7), checked against the NumPy reference and by the
behaviour that sets each apart."""

import keras
import numpy as np
import pytest
from keras import ops

from conftest import random_inputs, randomize_weights
from keras_nrnm import NRNM, NonLocalMemory
import reference

pytestmark = pytest.mark.core


# The multi-scale rows fuse with the default `fusion_activation="relu"`
# (Eq. 7's non-linear FC layer), unless they name another.
@pytest.mark.parametrize("kwargs,steps", [
    (dict(block_size=10, strides=(1, 3, 5), window=4), 13),
    (dict(block_size=4, strides=(2, 1), window=3), 7),
    (dict(block_size=6, stride=3, window=2, attention=False), 9),
    (dict(block_size=6, strides=(1, 3), window=5, attention=False), 11),
    (dict(block_size=4, strides=(1, 2), window=2, fusion_activation=None), 9),
    (dict(block_size=4, strides=(1, 2), window=2, fusion_activation="tanh"), 9),
])
def test_variant_matches_numpy_reference(kwargs, steps):
    layer = NRNM(8, num_heads=2, return_sequences=True, **kwargs)
    x = random_inputs((2, steps, 3), seed=steps)
    layer(x)
    randomize_weights(layer, seed=steps)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)),
                               reference.nrnm_forward(layer.cell, x), atol=1e-5)


def scale_embeddings(memory, hidden, inputs):
    real = np.ones(hidden.shape[:2], bool)
    embeddings, _ = memory.scale_embeddings(hidden, inputs, real)
    return [ops.convert_to_numpy(e) for e in embeddings]


def test_larger_strides_see_steps_smaller_ones_do_not():
    # block 10, strides (1, 3, 5), 2 sampled steps each: stride 1 reads the
    # hidden states at block positions 8, 9; stride 3 at 6, 9; stride 5 at
    # 4, 9. Inputs: the last 2, 6 and 10 steps.
    memory = NonLocalMemory(8, block_size=10, strides=(1, 3, 5), num_heads=2)
    memory.build()
    randomize_weights(memory, seed=1)
    assert [memory.slot_positions(s) for s in (1, 3, 5)] == [[8, 9], [6, 9], [4, 9]]
    hidden = random_inputs((1, 10, 8), seed=2)
    inputs = random_inputs((1, 10, 8), seed=3)
    base = scale_embeddings(memory, hidden, inputs)

    def changed_scales(hidden_change=None, input_change=None):
        h, x = hidden.copy(), inputs.copy()
        if hidden_change is not None:
            h[:, hidden_change] += 1.0
        if input_change is not None:
            x[:, input_change] += 1.0
        out = scale_embeddings(memory, h, x)
        return [not np.allclose(a, b, atol=1e-6) for a, b in zip(base, out)]

    assert changed_scales(hidden_change=4) == [False, False, True]
    assert changed_scales(hidden_change=6) == [False, True, False]
    assert changed_scales(hidden_change=5) == [False, False, False]  # unsampled
    assert changed_scales(input_change=2) == [False, False, True]
    assert changed_scales(input_change=5) == [False, True, True]
    assert changed_scales(input_change=9) == [True, True, True]


def test_multiscale_memory_shape_and_weights():
    layer = NRNM(8, block_size=10, strides=(1, 3, 5), num_heads=2)
    layer.build((None, None, 3))
    assert layer.num_slots == 2 and layer.cell.state_size[2] == 2 * 8
    memory = layer.cell.memory
    assert len(memory.blocks) == 3
    assert [b.num_units for b in memory.blocks] == [2 + 2, 2 + 6, 2 + 10]
    assert memory.fusion.kernel.shape == (3 * 8, 8)


def test_fusion_is_a_non_linear_fc_layer():
    # Eq. 7's f_fc-layer is Eq. 6's "fully-connected layer (with non-linear
    # activation function)": ReLU by default. With the same weights, the
    # linear fusion (what configs saved before `fusion_activation` load as)
    # is its pre-activation, and the outputs differ after the first update.
    kwargs = dict(block_size=10, strides=(1, 3, 5), window=4, num_heads=2,
                  return_sequences=True)
    x = random_inputs((2, 13, 3), seed=21)
    relu = NRNM(8, **kwargs)
    linear = NRNM(8, fusion_activation=None, **kwargs)
    assert keras.activations.serialize(relu.fusion_activation) == "relu"
    for layer in (relu, linear):
        layer(x)
        randomize_weights(layer, seed=21)
    embeddings = [random_inputs((2, 2, 8), seed=s) for s in (1, 2, 3)]
    fused_relu = ops.convert_to_numpy(relu.cell.memory.fuse(embeddings))
    fused_linear = ops.convert_to_numpy(linear.cell.memory.fuse(embeddings))
    assert (fused_linear < -0.1).any() and (fused_linear > 0.1).any()
    np.testing.assert_allclose(fused_relu, np.maximum(fused_linear, 0.0),
                               atol=1e-6)
    out_relu = ops.convert_to_numpy(relu(x))
    out_linear = ops.convert_to_numpy(linear(x))
    # The first update follows step 3: before it, no fusion was used.
    np.testing.assert_array_equal(out_relu[:, :4], out_linear[:, :4])
    assert np.abs(out_relu[:, 4:] - out_linear[:, 4:]).max() > 1e-3


def test_fusion_activation_matters_only_with_strides():
    kwargs = dict(block_size=4, stride=2, window=2, num_heads=2,
                  return_sequences=True)
    x = random_inputs((2, 9, 3), seed=22)
    relu = NRNM(8, **kwargs)
    linear = NRNM(8, fusion_activation=None, **kwargs)
    for layer in (relu, linear):
        layer(x)
        randomize_weights(layer, seed=22)
    assert not hasattr(relu.cell.memory, "fusion")
    np.testing.assert_array_equal(ops.convert_to_numpy(relu(x)),
                                  ops.convert_to_numpy(linear(x)))


def test_without_self_attention_uses_a_linear_map():
    x = random_inputs((2, 9, 3), seed=4)
    plain = NRNM(8, block_size=4, stride=2, window=2, num_heads=2,
                 return_sequences=True)
    ablated = NRNM(8, block_size=4, stride=2, window=2, num_heads=2,
                   attention=False, return_sequences=True)
    plain(x)
    ablated(x)
    block = ablated.cell.memory.blocks[0]
    assert not hasattr(block, "attention")
    # concatenation of the 2 + 4 units of width 8, mapped to 2 slots of 8
    assert block.mixing.kernel.shape == (6 * 8, 2 * 8)
    randomize_weights(ablated, seed=5)
    memory = ablated.cell.memory
    real = np.ones((2, 4), bool)
    _, scores = memory.scale_embeddings(random_inputs((2, 4, 8)),
                                        random_inputs((2, 4, 8), seed=1), real)
    assert scores == [None]


# Both GRU forms: reset gate after the product (Keras's default) and before.
@pytest.mark.parametrize("backbone,reset_after", [
    ("gru", True), ("gru", False), ("simple", True)])
def test_backbones_match_reference_and_return_h(backbone, reset_after):
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
                 backbone=backbone, reset_after=reset_after,
                 return_sequences=True, return_state=True)
    x = random_inputs((2, 10, 3), seed=6)
    layer(x)
    randomize_weights(layer, seed=6)
    seq, h = layer(x)  # [output, h], like keras.layers.GRU / SimpleRNN
    np.testing.assert_allclose(ops.convert_to_numpy(seq),
                               reference.nrnm_forward(layer.cell, x), atol=1e-5)
    np.testing.assert_allclose(ops.convert_to_numpy(h),
                               ops.convert_to_numpy(seq)[:, -1], atol=1e-6)
    gates = {"gru": 3, "simple": 1}[backbone]
    assert layer.cell.kernel.shape == (3, gates * 8)
    h0 = random_inputs((2, 8), seed=7)
    short = layer(x, initial_state=[h0])
    full = layer(x, initial_state=[h0] + [np.zeros((2, s), "float32")
                                          for s in layer.cell.state_size[1:]])
    np.testing.assert_allclose(ops.convert_to_numpy(short[0]),
                               ops.convert_to_numpy(full[0]), atol=1e-6)
    # `h` alone, as keras.layers.GRU takes it, is `[h]`.
    alone = layer(x, initial_state=h0)
    for a, b in zip(alone, short):
        np.testing.assert_allclose(ops.convert_to_numpy(a),
                                   ops.convert_to_numpy(b), atol=1e-6)
    assert not np.allclose(ops.convert_to_numpy(alone[0]),
                           ops.convert_to_numpy(seq), atol=1e-3)
    with pytest.raises(ValueError, match=r"`\[h\]` \(or `h` alone\) or the "
                                         r"full list"):
        layer(x, initial_state=[h0, h0])


def test_gru_backbone_takes_h_alone_in_a_functional_model():
    # As `keras.layers.GRU(units)(x, initial_state=h)` in a functional model.
    layer = NRNM(8, block_size=4, stride=2, window=3, backbone="gru",
                 return_sequences=True)
    inputs, h_input = keras.Input((None, 3)), keras.Input((8,))
    model = keras.Model([inputs, h_input], layer(inputs, initial_state=h_input))
    x, h0 = random_inputs((2, 10, 3), seed=3), random_inputs((2, 8), seed=4)
    randomize_weights(layer, seed=3)
    np.testing.assert_allclose(
        ops.convert_to_numpy(model([x, h0])),
        ops.convert_to_numpy(layer(x, initial_state=[h0])), atol=1e-6)


def test_memory_reaches_gru_and_simple_backbones():
    # Before the first update (after step win-1) the memory is empty and the
    # backbone is a plain RNN; after it, the memory changes the outputs.
    for backbone in ("gru", "simple"):
        layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
                     backbone=backbone, return_sequences=True)
        x = random_inputs((1, 8, 3), seed=8)
        layer(x)
        randomize_weights(layer, seed=8)
        base = ops.convert_to_numpy(layer(x))
        layer.cell.memory_projection.assign(
            np.zeros(layer.cell.memory_projection.shape, "float32"))
        cut = ops.convert_to_numpy(layer(x))
        np.testing.assert_allclose(cut[:, :3], base[:, :3], atol=1e-6)
        assert np.abs(cut[:, 3:] - base[:, 3:]).max() > 1e-4, backbone


def test_bidirectional_memory_matches_reference():
    from keras_nrnm import BidirectionalNRNM

    layer = BidirectionalNRNM(8, block_size=4, stride=2, window=2, num_heads=2)
    x = random_inputs((2, 9, 3), seed=9)
    assert tuple(layer(x).shape) == (2, 9, 16)
    randomize_weights(layer, seed=9)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(x)),
                               reference.bidirectional_forward(layer, x),
                               atol=1e-5)
    # Eq. 18: 2 forward + 2 backward hidden units + 4 inputs per block.
    assert layer.forward_layer.cell.memory.blocks[0].num_units == 8


def test_bidirectional_memory_sees_the_future_through_the_memory():
    from keras_nrnm import BidirectionalNRNM

    bidirectional = BidirectionalNRNM(8, block_size=4, stride=2, window=2,
                                      num_heads=2)
    x = random_inputs((1, 10, 3), seed=10)
    bidirectional(x)
    randomize_weights(bidirectional, seed=10)
    changed = x.copy()
    changed[:, -1] += 2.0  # the last step only
    forward = lambda inp: ops.convert_to_numpy(bidirectional(inp))[..., :8]  # noqa: E731
    before, after = forward(x), forward(changed)
    # Steps 0-1 precede the first memory update: a forward pass cannot know
    # the future there. From step 2 on, the memory holds backward states,
    # which saw the last step.
    np.testing.assert_allclose(after[:, :2], before[:, :2], atol=1e-6)
    assert np.abs(after[:, 2:9] - before[:, 2:9]).max() > 1e-4
