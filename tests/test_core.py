"""Core behaviour of NRNMCell and NRNM, checked by value. Backend-independent
(marked `core`: CI also runs these on JAX and PyTorch)."""

import keras
import numpy as np
import pytest
from keras import ops

from conftest import random_inputs, randomize_weights
from keras_nrnm import NRNM, NRNMCell
import reference

pytestmark = pytest.mark.core

# (block_size, stride, window, T): T below k, T not a multiple of win,
# window larger and smaller than the block, one slot and many slots.
CONFIGS = [
    (4, 2, 2, 11),
    (8, 4, 4, 6),
    (6, 3, 4, 13),
    (4, 1, 3, 10),
    (3, 3, 5, 12),
    (2, 1, 1, 7),
]


def sequence_model(units, block_size, stride, window, num_heads=2, **kwargs):
    return NRNM(units, block_size=block_size, stride=stride, window=window,
                num_heads=num_heads, return_sequences=True, **kwargs)


def numpy_of(x):
    return ops.convert_to_numpy(x)


@pytest.mark.parametrize("block_size,stride,window,steps", CONFIGS)
def test_matches_numpy_reference(block_size, stride, window, steps):
    layer = sequence_model(8, block_size, stride, window)
    x = random_inputs((3, steps, 5), seed=steps)
    layer(x)
    randomize_weights(layer, seed=block_size + window)
    expected = reference.nrnm_forward(layer.cell, x)
    np.testing.assert_allclose(numpy_of(layer(x)), expected, atol=1e-5)


def test_matches_reference_without_bias():
    layer = sequence_model(8, 4, 2, 2, use_bias=False)
    x = random_inputs((2, 9, 3), seed=4)
    layer(x)
    randomize_weights(layer, seed=4)
    np.testing.assert_allclose(
        numpy_of(layer(x)), reference.nrnm_forward(layer.cell, x), atol=1e-5)


def test_tied_gates_match_reference_and_differ_from_separate():
    x = random_inputs((2, 11, 3), seed=6)
    outputs = {}
    for gates in ("tied", "separate"):
        layer = sequence_model(8, 4, 2, 2, memory_gates=gates)
        layer(x)
        randomize_weights(layer, seed=6)
        outputs[gates] = numpy_of(layer(x))
        np.testing.assert_allclose(
            outputs[gates], reference.nrnm_forward(layer.cell, x), atol=1e-5)
    assert np.abs(outputs["tied"] - outputs["separate"]).max() > 1e-3


def test_separate_gates_with_equal_maps_equal_tied_gates():
    # Eq. 9 untied is a generalisation: B_x = B_m = B gives the tied layer.
    x = random_inputs((2, 11, 3), seed=7)
    tied = sequence_model(8, 4, 2, 2, memory_gates="tied")
    separate = sequence_model(8, 4, 2, 2, memory_gates="separate")
    tied(x), separate(x)
    randomize_weights(tied, seed=7)
    def inner_path(variable):  # the path without the layer's own name
        return variable.path.split("/", 1)[1]

    by_path = {inner_path(v): v for v in tied.weights}
    for variable in separate.weights:
        path = inner_path(variable)
        for name in ("gate_input_kernel", "gate_memory_kernel"):
            path = path.replace(name, "gate_kernel")
        variable.assign(by_path[path])
    np.testing.assert_allclose(numpy_of(separate(x)), numpy_of(tied(x)),
                               atol=1e-6)


def test_without_output_projection_matches_reference():
    # Eq. 5 as written: the heads concatenated, no W^o; multi-scale, so the
    # fusion (Eq. 7, which keeps Keras's MultiHeadAttention) is covered too.
    layer = NRNM(8, block_size=6, strides=(1, 3), window=2, num_heads=2,
                 return_sequences=True, attention_output_projection=False)
    x = random_inputs((2, 11, 3), seed=8)
    layer(x)
    randomize_weights(layer, seed=8)
    assert not any("attention/output" in v.path for v in layer.weights)
    np.testing.assert_allclose(
        numpy_of(layer(x)), reference.nrnm_forward(layer.cell, x), atol=1e-5)


def test_identity_output_projection_equals_none():
    # W^o = I, b^o = 0 gives the layer without W^o: the two code paths of
    # `multi_head_attention` agree.
    x = random_inputs((2, 11, 3), seed=9)
    plain = sequence_model(8, 4, 2, 2, attention_output_projection=False)
    projected = sequence_model(8, 4, 2, 2)
    plain(x), projected(x)
    randomize_weights(projected, seed=9)
    block = projected.cell.memory.blocks[0]
    query, key, value, output = block.projections()
    output.kernel.assign(np.eye(8).reshape(output.kernel.shape))
    output.bias.assign(np.zeros(8))
    plain_block = plain.cell.memory.blocks[0]
    for source, target in zip((query, key, value), plain_block.projections()):
        target.kernel.assign(ops.reshape(source.kernel, (8, 8)))
        target.bias.assign(ops.reshape(source.bias, (8,)))
    by_path = {v.path.split("/", 1)[1]: v for v in projected.weights}
    for variable in plain.weights:
        path = variable.path.split("/", 1)[1]
        if path in by_path:
            variable.assign(by_path[path])
    assert (len(projected.weights) - len(plain.weights)) == 2
    np.testing.assert_allclose(numpy_of(plain(x)), numpy_of(projected(x)),
                               atol=1e-6)
    assert np.abs(numpy_of(plain(x))).max() > 0.1


def test_fresh_layer_is_exactly_its_lstm():
    # memory_projection starts at zeros: the memory adds nothing to c_t
    # until training moves the projection, so a new NRNM is an LSTM.
    x = random_inputs((2, 13, 3), seed=8)
    layer = sequence_model(8, 4, 2, 2)
    lstm = keras.layers.LSTM(8, return_sequences=True)
    layer(x), lstm(x)
    for name in ("kernel", "recurrent_kernel", "bias"):
        getattr(lstm.cell, name).assign(getattr(layer.cell, name))
    np.testing.assert_allclose(numpy_of(layer(x)), numpy_of(lstm(x)),
                               atol=1e-6)
    # ... and the projection still gets a gradient, so the memory opens.
    model = keras.Sequential([keras.Input((13, 3)), layer,
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    before = numpy_of(layer.cell.memory_projection).copy()
    model.train_on_batch(x, np.ones((2, 1), "float32"))
    assert np.abs(numpy_of(layer.cell.memory_projection) - before).max() > 0


@pytest.mark.parametrize("reset_after", [True, False])
def test_fresh_gru_backbone_is_exactly_keras_gru(reset_after):
    # With the memory projection at zero (a fresh layer), the GRU backbone
    # is `keras.layers.GRU` in either convention, biases included (with
    # `reset_after`, Keras's (2, 3 units) bias), though every other weight
    # of the memory is random here.
    x = random_inputs((2, 13, 3), seed=8)
    layer = sequence_model(8, 4, 2, 2, backbone="gru", reset_after=reset_after)
    gru = keras.layers.GRU(8, return_sequences=True, reset_after=reset_after)
    layer(x), gru(x)
    randomize_weights(layer, seed=8)
    layer.cell.memory_projection.assign(np.zeros((16, 8), "float32"))
    assert tuple(layer.cell.bias.shape) == tuple(gru.cell.bias.shape)
    for name in ("kernel", "recurrent_kernel", "bias"):
        getattr(gru.cell, name).assign(getattr(layer.cell, name))
    np.testing.assert_allclose(numpy_of(layer(x)), numpy_of(gru(x)),
                               atol=1e-6)
    # The other convention, with the same kernels and no biases, differs.
    other = keras.layers.GRU(8, return_sequences=True, use_bias=False,
                             reset_after=not reset_after)
    plain = sequence_model(8, 4, 2, 2, backbone="gru", use_bias=False,
                           reset_after=reset_after)
    other(x), plain(x)
    for name in ("kernel", "recurrent_kernel"):
        getattr(plain.cell, name).assign(getattr(layer.cell, name))
        getattr(other.cell, name).assign(getattr(layer.cell, name))
    assert np.abs(numpy_of(plain(x)) - numpy_of(other(x))).max() > 1e-3


def test_gru_backbone_defaults_to_keras_gru_layout():
    layer, gru = NRNM(8, backbone="gru"), keras.layers.GRU(8)
    x = random_inputs((2, 5, 3), seed=1)
    layer(x), gru(x)
    assert layer.cell.reset_after and gru.cell.reset_after
    assert tuple(layer.cell.bias.shape) == tuple(gru.cell.bias.shape) == (2, 24)
    classic = NRNM(8, backbone="gru", reset_after=False)
    classic(x)
    assert tuple(classic.cell.bias.shape) == (24,)
    # The other backbones ignore the argument.
    for backbone, shape in (("lstm", (32,)), ("simple", (8,))):
        other = NRNM(8, backbone=backbone, reset_after=True)
        other(x)
        assert tuple(other.cell.bias.shape) == shape, backbone


def test_layer_norm_epsilon_reaches_eq6():
    # Small inputs, so that the epsilon matters against the norms' variance.
    x = 0.05 * random_inputs((2, 10, 3), seed=5)
    outputs = {}
    for epsilon in (1e-5, 1.0):
        layer = sequence_model(8, 4, 2, 2, layer_norm_epsilon=epsilon)
        layer(x)
        randomize_weights(layer, seed=5)
        outputs[epsilon] = numpy_of(layer(x))
        np.testing.assert_allclose(
            outputs[epsilon], reference.nrnm_forward(layer.cell, x), atol=1e-5)
    assert np.abs(outputs[1e-5] - outputs[1.0]).max() > 1e-3


class Ramp(keras.initializers.Initializer):
    """A deterministic initializer, identical on every backend."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def __call__(self, shape, dtype=None):
        size = int(np.prod(shape))
        values = np.sin(np.linspace(self.low, self.high, size)) * 0.4
        return ops.convert_to_tensor(values.reshape(shape), dtype=dtype)

    def get_config(self):
        return {"low": self.low, "high": self.high}


def golden_layer():
    # Tied gates (the default) and the memory projection drawn like the
    # kernels (version 0.1's initialisation), so that the memory term is not
    # zero at the start: the golden values below date from version 0.1.
    return NRNM(
        4, block_size=2, stride=1, window=2, num_heads=2,
        memory_gates="tied", memory_projection_initializer=Ramp(0.0, 7.0),
        kernel_initializer=Ramp(0.0, 7.0),
        recurrent_initializer=Ramp(1.0, -5.0),
        bias_initializer=Ramp(0.5, 2.5),
        return_sequences=True,
    )


GOLDEN_INPUT = np.linspace(-1.0, 1.0, 2 * 5 * 3).reshape(2, 5, 3)
# Computed once by tests/reference.py (float64) from the initializers above.
# They change only if the model's arithmetic changes.
GOLDEN_LAST_OUTPUT = np.array([[0.17808067, 0.29168063, 0.35501138, 0.37081463],
     [0.24300930, 0.37877068, 0.45090987, 0.47043059]])


def test_attend_equals_multi_head_attention_call():
    """`NonLocalBlock.attend` (2-D products) computes what its
    `MultiHeadAttention` computes, outputs and weights, with padding; and
    so does `multi_head_attention` without a mask."""
    from keras_nrnm.memory import NonLocalBlock, multi_head_attention

    block = NonLocalBlock(16, num_slots=2, num_units=7, num_heads=4)
    block.build()
    randomize_weights(block, seed=3)
    hidden = random_inputs((5, 2, 16), seed=1)
    source = random_inputs((5, 7, 16), seed=2)
    unit_mask = np.random.default_rng(4).random((5, 7)) > 0.4
    unit_mask[:, 0] = True  # the latest step is always a real unit
    attended, weights = block.attend(hidden, source, unit_mask)
    expected, expected_weights = block.attention(
        hidden, source, attention_mask=np.repeat(unit_mask[:, None], 2, axis=1),
        return_attention_scores=True)
    np.testing.assert_allclose(ops.convert_to_numpy(attended),
                               ops.convert_to_numpy(expected), atol=1e-5)
    weights = ops.convert_to_numpy(weights)
    np.testing.assert_allclose(weights, ops.convert_to_numpy(expected_weights),
                               atol=1e-6)
    assert np.all(weights[~np.broadcast_to(unit_mask[:, None, None], weights.shape)] == 0)
    assert np.abs(ops.convert_to_numpy(attended)).max() > 0.1

    # Without a mask (the fusion of scales, Eq. 7), queries from the source.
    fused, _ = multi_head_attention(block.projections(), 4, source, source)
    np.testing.assert_allclose(ops.convert_to_numpy(fused),
                               ops.convert_to_numpy(block.attention(source, source)),
                               atol=1e-5)


def test_golden_values_from_fixed_initializers():
    layer = golden_layer()
    out = numpy_of(layer(GOLDEN_INPUT.astype("float32")))
    np.testing.assert_allclose(out[:, -1], GOLDEN_LAST_OUTPUT, atol=1e-6)


def test_causal():
    layer = sequence_model(8, 4, 2, 2)
    x = random_inputs((2, 12, 4), seed=1)
    layer(x)
    randomize_weights(layer, seed=1)
    base = numpy_of(layer(x))
    for t in (0, 5, 9):
        changed = x.copy()
        changed[:, t + 1:] += 3.0
        out = numpy_of(layer(changed))
        np.testing.assert_allclose(out[:, : t + 1], base[:, : t + 1], atol=1e-6)
        assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 1e-3


def run_cell_steps(cell, x):
    """Steps the cell by hand; returns the list of state lists after each step."""
    states = cell.get_initial_state(batch_size=x.shape[0])
    history = []
    for t in range(x.shape[1]):
        _, states = cell(x[:, t], states)
        history.append([numpy_of(s) for s in states])
    return history


def test_memory_changes_only_at_update_steps():
    cell = NRNMCell(8, block_size=4, stride=2, window=3, num_heads=2)
    x = random_inputs((2, 14, 5), seed=2)
    cell(x[:, 0], cell.get_initial_state(batch_size=2))
    randomize_weights(cell, seed=2)
    history = run_cell_steps(cell, x)
    previous = np.zeros_like(history[0][2])
    for t, states in enumerate(history):
        changed = not np.allclose(states[2], previous)
        assert changed == ((t + 1) % 3 == 0), t
        previous = states[2]


def test_input_reaches_later_outputs_through_the_memory():
    cell = NRNMCell(8, block_size=4, stride=2, window=2, num_heads=2)
    x = random_inputs((1, 8, 5), seed=3)
    cell(x[:, 0], cell.get_initial_state(batch_size=1))
    randomize_weights(cell, seed=3)
    changed = x.copy()
    changed[:, 2] += 1.0  # step 2 lies in the block of the update at step 3
    base, other = run_cell_steps(cell, x), run_cell_steps(cell, changed)
    assert not np.allclose(base[3][2], other[3][2])  # the memory differs
    # Same h, c and buffers as the unchanged run, only the memory differs:
    # the output at step 4 still changes, so it flows through the memory.
    states = [ops.convert_to_tensor(s) for s in base[3]]
    states[2] = ops.convert_to_tensor(other[3][2])
    out_mem, _ = cell(x[:, 4], states)
    out_base, _ = cell(x[:, 4], [ops.convert_to_tensor(s) for s in base[3]])
    assert np.abs(numpy_of(out_mem) - numpy_of(out_base)).max() > 1e-4


def test_stateful_chunks_equal_whole_sequence():
    x = random_inputs((2, 13, 4), seed=5)
    whole = sequence_model(8, 4, 2, 3)
    whole(x)
    randomize_weights(whole, seed=5)
    expected = numpy_of(whole(x))
    chunked = sequence_model(8, 4, 2, 3, stateful=True)
    chunked(x[:, :5])
    chunked.set_weights(whole.get_weights())
    chunked.reset_state()
    pieces = [numpy_of(chunked(x[:, a:b])) for a, b in ((0, 5), (5, 6), (6, 13))]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), expected,
                               atol=1e-5)


@pytest.mark.parametrize("padding", ["left", "right"])
def test_masking_matches_unpadded_sequences(padding):
    lengths = [5, 11, 8]
    total = 12
    raw = [random_inputs((n, 4), seed=10 + n) for n in lengths]
    padded = np.zeros((len(lengths), total, 4), "float32")
    for i, seq in enumerate(raw):
        if padding == "left":
            padded[i, total - len(seq):] = seq
        else:
            padded[i, : len(seq)] = seq
    inputs = keras.Input((total, 4))
    masked = keras.layers.Masking(0.0)(inputs)
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2)
    model = keras.Model(inputs, layer(masked))
    randomize_weights(layer, seed=6)
    batch_out = numpy_of(model(padded))
    for i, seq in enumerate(raw):
        single = numpy_of(layer(seq[None]))
        np.testing.assert_allclose(batch_out[i], single[0], atol=1e-5)


def test_return_state_and_initial_state():
    x = random_inputs((2, 9, 4), seed=7)
    layer = NRNM(8, num_heads=2, return_sequences=True, return_state=True)
    seq, h, c = layer(x)
    np.testing.assert_allclose(numpy_of(h), numpy_of(seq)[:, -1], atol=1e-6)
    assert tuple(c.shape) == (2, 8)
    # [h, c] from LSTM-style code starts the memory empty: equal to the
    # full state list with zero memory and buffers.
    h0 = random_inputs((2, 8), seed=8)
    c0 = random_inputs((2, 8), seed=9)
    short = layer(x, initial_state=[h0, c0])
    full_state = [h0, c0] + [np.zeros((2, size), "float32")
                             for size in layer.cell.state_size[2:]]
    full = layer(x, initial_state=full_state)
    for a, b in zip(short, full):
        np.testing.assert_allclose(numpy_of(a), numpy_of(b), atol=1e-6)
    assert not np.allclose(numpy_of(short[0]), numpy_of(seq))
    with pytest.raises(ValueError, match="initial_state"):
        layer(x, initial_state=[h0])
    # A single tensor is `[h]` (Keras's GRU takes one), not the LSTM's state.
    with pytest.raises(ValueError, match=r"`\[h, c\]` or the full list of 6 "
                                         r"NRNMCell states. Received a "
                                         r"single tensor"):
        layer(x, initial_state=h0)


def test_go_backwards_is_reversed_input():
    x = random_inputs((2, 10, 4), seed=11)
    forward = NRNM(8, num_heads=2)
    backward = NRNM(8, num_heads=2, go_backwards=True)
    forward(x)
    backward(x)
    randomize_weights(forward, seed=12)
    backward.set_weights(forward.get_weights())
    np.testing.assert_allclose(numpy_of(backward(x)),
                               numpy_of(forward(x[:, ::-1])), atol=1e-6)


def test_gradients_reach_first_step_and_are_finite():
    x = ops.convert_to_tensor(random_inputs((2, 16, 4), seed=13))
    layer = NRNM(8, num_heads=2, block_size=4, stride=2, window=2)
    layer(x)
    randomize_weights(layer, seed=13, scale=0.3)
    grads = input_gradient(layer, x)
    assert np.all(np.isfinite(grads))
    assert np.abs(grads[:, 0]).max() > 1e-6
    weights_grads = weight_gradients(layer, x)
    for name, g in weights_grads.items():
        assert np.all(np.isfinite(g)), name
        assert np.abs(g).max() > 0, name


def input_gradient(layer, x):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = ops.sum(layer(x))
        return tape.gradient(loss, x).numpy()
    if backend == "jax":
        import jax
        values = [v.value for v in layer.trainable_variables]
        fixed = [v.value for v in layer.non_trainable_variables]

        def f(xx):
            out, _ = layer.stateless_call(values, fixed, xx)
            return ops.sum(out)
        return np.asarray(jax.grad(f)(x))
    import torch
    xt = x.clone().detach().requires_grad_(True)
    ops.sum(layer(xt)).backward()
    return xt.grad.cpu().numpy()


def weight_gradients(layer, x):
    backend = keras.backend.backend()
    variables = layer.trainable_variables
    if backend == "tensorflow":
        import tensorflow as tf
        with tf.GradientTape() as tape:
            loss = ops.sum(layer(x))
        grads = tape.gradient(loss, [v.value for v in variables])
        grads = [g.numpy() for g in grads]
    elif backend == "jax":
        import jax
        fixed = [v.value for v in layer.non_trainable_variables]

        def f(values):
            out, _ = layer.stateless_call(values, fixed, x)
            return ops.sum(out)
        grads = jax.grad(f)([v.value for v in variables])
    else:
        for v in variables:
            v.value.grad = None
        ops.sum(layer(x)).backward()
        grads = [v.value.grad.cpu().numpy() for v in variables]
    return {v.path: np.asarray(g) for v, g in zip(variables, grads)}


def test_dropout_and_zoneout_are_off_at_inference_and_on_in_training():
    x = random_inputs((2, 9, 4), seed=14)
    plain = NRNM(8, num_heads=2, return_sequences=True)
    noisy = NRNM(8, num_heads=2, return_sequences=True, dropout=0.3,
                 recurrent_dropout=0.3, memory_dropout=0.3, seed=1)
    plain(x)
    noisy(x)
    randomize_weights(plain, seed=15)
    noisy.set_weights(plain.get_weights())
    np.testing.assert_allclose(numpy_of(noisy(x, training=False)),
                               numpy_of(plain(x)), atol=1e-6)
    assert not np.allclose(numpy_of(noisy(x, training=True)), numpy_of(plain(x)))
    zoned = NRNM(8, num_heads=2, return_sequences=True, zoneout=0.25, seed=2)
    zoned(x)
    zoned.set_weights(plain.get_weights())
    # At inference zoneout keeps 25 % of the previous state in expectation.
    assert not np.allclose(numpy_of(zoned(x)), numpy_of(plain(x)))
    assert np.all(np.isfinite(numpy_of(zoned(x, training=True))))


def zoneout_layers():
    """NRNM (its fast path) and, where the backend can draw inside Keras's
    loop, `keras.layers.RNN(NRNMCell)`: zoneout 0.5 on 16 units."""
    layers = [NRNM(16, num_heads=2, zoneout=0.5, return_sequences=True,
                   seed=3)]
    if keras.backend.backend() != "jax":
        layers.append(keras.layers.RNN(
            NRNMCell(16, num_heads=2, zoneout=0.5, seed=3),
            return_sequences=True))
    return layers


@pytest.mark.parametrize("which", [0, 1])
def test_zoneout_draws_a_fresh_mask_at_every_step(which):
    layers = zoneout_layers()
    if which >= len(layers):
        pytest.skip("keras.layers.RNN(NRNMCell) refuses zoneout on JAX "
                    "(test_zoneout_in_keras_rnn_loop_on_jax_is_refused)")
    h = numpy_of(layers[which](random_inputs((4, 30, 3), seed=20),
                               training=True))
    kept = h[:, 1:] == h[:, :-1]  # (sample, step, unit): zoned out
    # Every unit of every sequence kept its value at some steps and took a
    # new one at others; none sat at its initial value, 0, all along.
    assert kept.any(axis=1).all() and (~kept).any(axis=1).all()
    assert not (h == 0).all(axis=1).any()
    assert 0.4 < kept.mean() < 0.6


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX only")
def test_zoneout_in_keras_rnn_loop_on_jax_is_refused():
    rnn = keras.layers.RNN(NRNMCell(8, num_heads=2, zoneout=0.2),
                           return_sequences=True)
    x = random_inputs((2, 5, 3), seed=21)
    rnn(x)  # inference: the expectation, no draw
    with pytest.raises(ValueError, match="fresh mask at every step"):
        rnn(x, training=True)


def test_zoneout_at_inference_is_the_expectation():
    x = random_inputs((2, 11, 4), seed=22)
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
                 zoneout=0.3, return_sequences=True)
    layer(x)
    randomize_weights(layer, seed=23)
    np.testing.assert_allclose(
        numpy_of(layer(x)), reference.nrnm_forward(layer.cell, x), atol=1e-5)


def test_rnn_of_cell_equals_nrnm_layer():
    x = random_inputs((2, 9, 4), seed=16)
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
                 return_sequences=True)
    rnn = keras.layers.RNN(NRNMCell(8, block_size=4, stride=2, window=3,
                                    num_heads=2), return_sequences=True)
    layer(x)
    rnn(x)
    randomize_weights(layer, seed=16)
    rnn.set_weights(layer.get_weights())
    np.testing.assert_allclose(numpy_of(rnn(x)), numpy_of(layer(x)), atol=1e-6)


def test_stacks_with_keras_cells_and_bidirectional():
    x = random_inputs((2, 7, 4), seed=17)
    stacked = keras.layers.RNN(
        [keras.layers.LSTMCell(8), NRNMCell(8, num_heads=2),
         keras.layers.GRUCell(6)], return_sequences=True)
    assert tuple(stacked(x).shape) == (2, 7, 6)
    bidirectional = keras.layers.Bidirectional(
        NRNM(8, num_heads=2, return_sequences=True), merge_mode=None)
    forward_out, backward_out = bidirectional(x)
    forward = bidirectional.forward_layer
    np.testing.assert_allclose(
        numpy_of(forward_out), reference.nrnm_forward(forward.cell, x),
        atol=1e-5)
    backward = bidirectional.backward_layer
    expected_backward = reference.nrnm_forward(backward.cell, x[:, ::-1])
    np.testing.assert_allclose(numpy_of(backward_out),
                               expected_backward[:, ::-1], atol=1e-5)


def test_weights_are_created_in_build_and_counted():
    layer = NRNM(16, block_size=8, stride=4, window=4, num_heads=4)
    layer.build((None, None, 10))
    d, n, D = 16, 2, 10
    attention = 4 * (d * d + d)
    expected = (
        4 * d * (D + d + 1)  # LSTM
        + D * d + d  # input projection
        + D * n * d + (n * d) ** 2 + n * d  # memory gate (Eq. 12)
        + n * d * d  # memory projection (Eq. 10)
        + attention + 2 * 2 * d + d * d + d  # Eq. 5-6
        + 2 * n * (n + 8) + 2 * d * d + 2 * n * d  # Eq. 9 gates (tied)
    )
    assert layer.count_params() == expected
    separate = NRNM(16, block_size=8, stride=4, window=4, num_heads=4,
                    memory_gates="separate")
    separate.build((None, None, 10))
    assert separate.count_params() == expected + 2 * d * d


def test_bidirectional_return_state_on_a_symbolic_input():
    """`Bidirectional` adds the two directions' state shapes with `+`, which
    needs tuples, as `LSTM.compute_output_shape` returns."""
    layer = NRNM(8, num_heads=2, return_state=True)
    assert layer.compute_output_shape((None, 12, 5)) == (
        (None, 8), (None, 8), (None, 8))
    inputs = keras.Input((12, 5))
    output, h_f, c_f, h_b, c_b = keras.layers.Bidirectional(
        NRNM(8, num_heads=2, return_state=True))(inputs)
    assert tuple(output.shape) == (None, 16)
    assert [tuple(s.shape) for s in (h_f, c_f, h_b, c_b)] == [(None, 8)] * 4
    gru = keras.layers.Bidirectional(
        NRNM(8, num_heads=2, backbone="gru", return_state=True))(inputs)
    assert [tuple(t.shape) for t in gru] == [(None, 16), (None, 8), (None, 8)]
    # The model built on the symbolic graph gives the eager values.
    model = keras.Model(inputs, [output, h_f, h_b])
    x = random_inputs((2, 12, 5), seed=30)
    out, forward_h, backward_h = (numpy_of(t) for t in model(x))
    np.testing.assert_allclose(out, np.concatenate([forward_h, backward_h], -1),
                               atol=1e-6)


def test_rnn_of_cell_returns_every_state_and_public_states_picks_h_c():
    x = random_inputs((2, 9, 4), seed=31)
    cell = NRNMCell(8, block_size=4, stride=2, window=3, num_heads=2)
    output, *states = keras.layers.RNN(cell, return_state=True)(x)
    assert [s.shape[1] for s in states] == cell.state_size == [8, 8, 16, 32, 32, 2]
    h, c = cell.public_states(states)
    np.testing.assert_allclose(numpy_of(h), numpy_of(output), atol=0)
    layer = NRNM(8, block_size=4, stride=2, window=3, num_heads=2,
                 return_state=True)
    layer(x)
    layer.set_weights([numpy_of(w) for w in cell.weights])
    _, layer_h, layer_c = layer(x)
    np.testing.assert_allclose(numpy_of(layer_h), numpy_of(h), atol=1e-6)
    np.testing.assert_allclose(numpy_of(layer_c), numpy_of(c), atol=1e-6)
    with pytest.raises(ValueError, match="`states` must be the full list of 6"):
        cell.public_states(states[:2])
    gru = NRNMCell(8, num_heads=2, backbone="gru")
    _, *gru_states = keras.layers.RNN(gru, return_state=True)(x)
    assert len(gru.public_states(gru_states)) == 1
