"""The windowed fast path of `NRNM` (`keras_nrnm/fast_path.py`) equals the
cell path (`keras.layers.RNN.inner_loop` stepping `NRNMCell`) to 1e-5 in
float32: outputs and every final state, under masking, go_backwards,
stateful use, initial states, return_sequences, training-mode masks, and
the model variants (backbones, multi-scale strides, no attention, backward
states).
Backend-independent (marked `core`: CI also runs these on JAX and PyTorch)."""

import keras
import numpy as np
import pytest
from keras import ops

from conftest import random_inputs, randomize_weights
from keras_nrnm import BidirectionalNRNM, NRNM, NRNMCell, _keras_internals
from keras_nrnm import fast_path
import reference

pytestmark = pytest.mark.core

ATOL = 1e-5
FEATURES = 5
UNITS = 8


def numpy_of(x):
    return ops.convert_to_numpy(x)


def built_layer(block_size=4, stride=2, window=3, weights_seed=0, **kwargs):
    layer = NRNM(UNITS, block_size=block_size, stride=stride, window=window,
                 num_heads=2, **kwargs)
    layer.build((None, None, FEATURES))
    randomize_weights(layer, seed=weights_seed)
    return layer


def full_initial_state(layer, batch, seed, phases=None, seen=None):
    """A random full state list, with valid counters (phase < window,
    steps seen <= block size)."""
    rng = np.random.default_rng(seed)
    cell = layer.cell
    states = [rng.uniform(-1, 1, (batch, size)).astype("float32")
              for size in cell.state_size[:-1]]
    if phases is None:
        phases = rng.integers(0, cell.window, batch)
    if seen is None:
        seen = rng.integers(0, cell.block_size + 1, batch)
    counters = np.stack([phases, seen], axis=1).astype("float32")
    return states + [counters]


def both_paths(layer, x, mask=None, initial_state=None, training=False):
    """`(fast, cell)`, each `(last_output, outputs, states)` as NumPy, from
    one layer, with the dropout masks prepared once as `RNN.call` does."""
    x = ops.convert_to_tensor(x)
    if initial_state is None:
        initial_state = layer.get_initial_state(x.shape[0])
    initial_state = [ops.convert_to_tensor(s) for s in initial_state]
    if mask is not None:
        mask = ops.convert_to_tensor(mask)
    _keras_internals.prepare_dropout_masks(layer, x[:, 0], initial_state)
    results = []
    for loop in (layer.inner_loop, keras.layers.RNN.inner_loop):
        if loop is keras.layers.RNN.inner_loop:
            last, outputs, states = loop(layer, x, initial_state, mask,
                                         training=training)
        else:
            last, outputs, states = loop(x, initial_state, mask,
                                         training=training)
        results.append((numpy_of(last), numpy_of(outputs),
                        [numpy_of(s) for s in states]))
    layer._maybe_reset_dropout_masks(layer.cell)
    return results


def assert_same(fast, cell, return_sequences=True):
    np.testing.assert_allclose(fast[0], cell[0], atol=ATOL)
    if return_sequences:
        np.testing.assert_allclose(fast[1], cell[1], atol=ATOL)
    assert len(fast[2]) == len(cell[2])
    for i, (a, b) in enumerate(zip(fast[2], cell[2])):
        np.testing.assert_allclose(a, b, atol=ATOL, err_msg=f"state {i}")


def padding_mask(kind, batch, steps, seed=0):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, steps), bool)
    for i in range(batch):
        n = int(rng.integers(0, steps // 2 + 1)) if i else 0
        if kind == "left":
            mask[i, :n] = False
        elif kind == "right":
            mask[i, steps - n:] = False
        elif kind == "interior":
            start = int(rng.integers(0, steps))
            mask[i, start: start + n] = False
        elif kind == "random":
            mask[i] = rng.random(steps) < 0.7
    return mask


# (block_size, stride, window, steps): T below k, T not a multiple of win,
# window larger and smaller than the block, stride 1 and stride = k; a
# window dividing the block once, twice and three times (the loop carries
# the block in pieces of a window), and not dividing it; a window longer
# than `MAX_UNROLLED_STEPS` (its steps in an inner loop).
SHAPES = [
    (4, 2, 2, 11),
    (4, 2, 4, 9),
    (6, 3, 2, 13),
    (8, 4, 4, 6),
    (6, 3, 4, 13),
    (4, 1, 3, 10),
    (3, 3, 5, 12),
    (2, 1, 1, 7),
    (4, 4, 8, 17),
    (4, 2, 18, 40),
]


@pytest.mark.parametrize("inner_loop", [False, True])
def test_both_loops_of_a_window_equal_the_reference(monkeypatch, inner_loop):
    """A window's steps unrolled (`window <= MAX_UNROLLED_STEPS`) or in an
    inner loop (the limit lowered below the window): the NumPy reference's
    outputs either way, and the loop asked for is the one taken."""
    if inner_loop:
        monkeypatch.setattr(fast_path, "MAX_UNROLLED_STEPS", 2)
    scans = []
    scan = fast_path._scan

    def counting_scan(*args, **kwargs):
        scans.append(1)
        return scan(*args, **kwargs)

    monkeypatch.setattr(fast_path, "_scan", counting_scan)
    layer = built_layer(4, 2, 3, weights_seed=23, return_sequences=True)
    x = random_inputs((2, 10, FEATURES), seed=23)
    np.testing.assert_allclose(numpy_of(layer(x)),
                               reference.nrnm_forward(layer.cell, x),
                               atol=ATOL)
    # The loop over windows, and with the inner loop one more per window
    # traced (one on TensorFlow and JAX, one per window run on PyTorch).
    assert (len(scans) > 1) == inner_loop


@pytest.mark.parametrize("block_size,stride,window,steps", SHAPES)
def test_equals_cell_path(block_size, stride, window, steps):
    layer = built_layer(block_size, stride, window, weights_seed=steps,
                        return_sequences=True)
    x = random_inputs((3, steps, FEATURES), seed=steps)
    assert_same(*both_paths(layer, x))


@pytest.mark.parametrize("padding,go_backwards", [
    ("left", False), ("right", False), ("interior", False), ("random", False),
    ("left", True), ("interior", True),
])
def test_masking_and_go_backwards(padding, go_backwards):
    layer = built_layer(4, 2, 3, weights_seed=1, return_sequences=True,
                        go_backwards=go_backwards)
    x = random_inputs((3, 14, FEATURES), seed=2)
    mask = padding_mask(padding, 3, 14, seed=3)
    assert_same(*both_paths(layer, x, mask))


@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_masked_outputs_follow_backend_rnn(zero_output_for_mask,
                                           return_sequences):
    # Leading and trailing masked steps, an empty sample, and a non-zero
    # initial h (JAX repeats h0 before the first real step, TF/torch zeros).
    layer = built_layer(4, 2, 2, weights_seed=4,
                        return_sequences=return_sequences,
                        zero_output_for_mask=zero_output_for_mask)
    x = random_inputs((3, 9, FEATURES), seed=4)
    mask = np.ones((3, 9), bool)
    mask[0, :3] = False
    mask[1, 6:] = False
    mask[2] = False
    state = full_initial_state(layer, 3, seed=5)
    assert_same(*both_paths(layer, x, mask, state),
                return_sequences=return_sequences)


@pytest.mark.parametrize("phases,seen,steps", [
    ([0, 0, 0], [0, 0, 0], 9),
    ([1, 1, 1], [4, 4, 4], 12),  # one more window than a fresh state
    ([0, 1, 2], [4, 1, 0], 3),
    ([2, 0, 1], [2, 3, 4], 10),
])
@pytest.mark.parametrize("window", [3, 2])  # not dividing k, dividing it
def test_full_initial_state_any_phase(phases, seen, steps, window):
    layer = built_layer(4, 2, window, weights_seed=6, return_sequences=True)
    x = random_inputs((3, steps, FEATURES), seed=7)
    state = full_initial_state(layer, 3, seed=8,
                               phases=[p % window for p in phases], seen=seen)
    assert_same(*both_paths(layer, x, initial_state=state))


@pytest.mark.parametrize("dropouts,training", [
    (dict(dropout=0.3), True),
    (dict(recurrent_dropout=0.3), True),
    (dict(memory_dropout=0.5), True),
    (dict(dropout=0.2, recurrent_dropout=0.2, zoneout=0.3,
          memory_dropout=0.4), False),
])
def test_dropout_and_zoneout(dropouts, training):
    layer = built_layer(4, 2, 2, weights_seed=9, return_sequences=True,
                        seed=5, **dropouts)
    x = random_inputs((3, 10, FEATURES), seed=9)
    mask = padding_mask("random", 3, 10, seed=9)
    assert_same(*both_paths(layer, x, mask, training=training))


def fixed_zoneout_masks(cell, batch, seed, steps=64):
    """Replace `cell.zoneout_masks` by one fixed table of keep-masks
    `(steps, batch, 2, units)`, so that both paths use the same masks: the
    fast path takes the rows of its whole timeline at once (step t at
    position t: a fresh state, no padding), the cell path one row per
    call, in order. Returns the table."""
    rng = np.random.default_rng(seed)
    table = (rng.random((steps, batch, 2, cell.units)) >= cell.zoneout
             ).astype("float32")
    calls = iter(table)

    def zoneout_masks(shape, dtype):
        if len(shape) == 3:  # (windows, batch, window): the fast path
            windows, _, window = shape
            rows = table[:windows * window].reshape(
                windows, window, batch, 2, cell.units).swapaxes(1, 2)
        else:  # (batch,): one step of the cell path
            rows = next(calls)
        states = 2 if cell.backbone == "lstm" else 1
        return tuple(ops.convert_to_tensor(rows[..., i, :], dtype)
                     for i in range(states))

    cell.zoneout_masks = zoneout_masks
    return table


# Windows dividing the block and not, and one longer than
# `MAX_UNROLLED_STEPS` (its steps in an inner loop); both GRU forms.
@pytest.mark.parametrize("backbone,window,steps,reset_after", [
    ("lstm", 3, 10, True), ("lstm", 2, 9, True), ("gru", 3, 10, True),
    ("gru", 2, 9, False), ("simple", 18, 20, True)])
def test_zoneout_paths_and_reference_agree_given_the_masks(backbone, window,
                                                           steps, reset_after):
    layer = built_layer(4, 2, window, weights_seed=9, return_sequences=True,
                        zoneout=0.4, backbone=backbone,
                        reset_after=reset_after)
    x = random_inputs((3, steps, FEATURES), seed=9)
    table = fixed_zoneout_masks(layer.cell, 3, seed=4)
    state = [ops.convert_to_tensor(s) for s in layer.get_initial_state(3)]
    fast = layer.inner_loop(ops.convert_to_tensor(x), state, None,
                            training=True)
    layer.unroll = True  # the cell path calls the cell once per step
    cell = keras.layers.RNN.inner_loop(layer, ops.convert_to_tensor(x), state,
                                       None, training=True)
    as_numpy = [(numpy_of(r[0]), numpy_of(r[1]), [numpy_of(s) for s in r[2]])
                for r in (fast, cell)]
    assert_same(*as_numpy)
    expected = reference.nrnm_forward(layer.cell, x,
                                      table[:steps].swapaxes(0, 1))
    np.testing.assert_allclose(as_numpy[0][1], expected, atol=ATOL)
    # The masks matter: without them (the expectation) the outputs differ.
    assert not np.allclose(expected, reference.nrnm_forward(layer.cell, x),
                           atol=1e-3)


def random_config(rng):
    block_size = int(rng.integers(1, 9))
    strides = [s for s in range(1, block_size + 1) if block_size % s == 0]
    config = dict(
        block_size=block_size,
        stride=int(rng.choice(strides)),
        window=int(rng.integers(1, 10)),
        return_sequences=bool(rng.integers(0, 2)),
        go_backwards=bool(rng.integers(0, 2)),
        zero_output_for_mask=bool(rng.integers(0, 2)),
        use_bias=bool(rng.random() < 0.8),
    )
    if rng.random() < 0.5:
        config.update(dropout=0.2, recurrent_dropout=0.1, zoneout=0.2,
                      memory_dropout=0.3, seed=int(rng.integers(100)))
    return config


@pytest.mark.parametrize("draw", range(10))
def test_random_configs(draw):
    rng = np.random.default_rng(1000 + draw)
    config = random_config(rng)
    batch = int(rng.integers(2, 4))
    steps = int(rng.integers(1, 21))
    layer = built_layer(weights_seed=draw, **config)
    x = random_inputs((batch, steps, FEATURES), seed=draw)
    mask = None
    if rng.random() < 0.6:
        mask = padding_mask(
            str(rng.choice(["left", "right", "interior", "random"])),
            batch, steps, seed=draw)
    state = None
    kind = rng.integers(0, 3)
    if kind == 1:
        state = full_initial_state(layer, batch, seed=draw)
        state[2:] = [np.zeros_like(s) for s in state[2:]]  # [h, c]
    elif kind == 2:
        state = full_initial_state(layer, batch, seed=draw)
    training = bool(rng.integers(0, 2))
    if training:
        # The paths draw zoneout's per-step masks differently; they agree
        # given the same masks (`test_zoneout_paths_and_reference_agree...`).
        layer.cell.zoneout = 0.0
    assert_same(*both_paths(layer, x, mask, state, training),
                return_sequences=config["return_sequences"])


@pytest.mark.parametrize("variant", [
    dict(backbone="gru"),  # reset_after=True, Keras's GRU form
    dict(backbone="gru", reset_after=False),  # the classic form
    dict(backbone="gru", use_bias=False),
    dict(memory_gates="separate"),
    dict(backbone="simple"),  # with zoneout: test_zoneout_paths_and_reference_...
    dict(strides=(1, 2, 4), block_size=8),
    dict(attention=False),
    dict(backward_states=True),
    dict(backward_states=True, backbone="gru", strides=(1, 2), block_size=4),
    # Inputs at least as wide as the layer: the input units' keys and
    # values from the units, not folded into the input product.
    dict(input_dim=UNITS + 3),
    dict(input_dim=UNITS, strides=(1, 2), block_size=4, use_bias=False),
    dict(use_bias=False, strides=(1, 2), block_size=4),
])
def test_model_variants(variant):
    config = dict(block_size=4, stride=2, window=3)
    config.update(variant)
    features = (config.pop("input_dim", FEATURES)
                + (UNITS if config.get("backward_states") else 0))
    layer = NRNM(UNITS, num_heads=2, return_sequences=True, **config)
    layer.build((None, None, features))
    randomize_weights(layer, seed=24)
    x = random_inputs((3, 11, features), seed=24)
    mask = padding_mask("random", 3, 11, seed=24)
    state = full_initial_state(layer, 3, seed=24)
    assert_same(*both_paths(layer, x, mask, state, training=True))
    assert_same(*both_paths(layer, x))


# Through the public API: NRNM against keras.layers.RNN(NRNMCell) ----------

CELL_ARGS = ("block_size", "stride", "window", "num_heads", "dropout",
             "recurrent_dropout", "zoneout", "memory_dropout", "seed",
             "use_bias")


def layer_pair(x, **kwargs):
    cell_kwargs = {key: kwargs.pop(key) for key in list(kwargs)
                   if key in CELL_ARGS}
    cell_kwargs.setdefault("num_heads", 2)
    fast = NRNM(UNITS, **cell_kwargs, **kwargs)
    cell = keras.layers.RNN(NRNMCell(UNITS, **cell_kwargs), **kwargs)
    fast(x)
    cell(x)
    randomize_weights(fast, seed=11)
    cell.set_weights(fast.get_weights())
    return fast, cell


# 12 steps fill 3 windows of 4: without a mask the fast path then leaves the
# masking out of its loop (`every_step_real`); 13 do not.
@pytest.mark.parametrize("steps", [13, 12])
def test_layer_equals_rnn_of_cell_with_return_state(steps):
    x = random_inputs((2, steps, FEATURES), seed=12)
    fast, cell = layer_pair(x, block_size=6, stride=2, window=4,
                            return_sequences=True, return_state=True)
    seq, h, c = fast(x)
    expected = cell(x)
    for a, b in zip((seq, h, c), expected[:3]):
        np.testing.assert_allclose(numpy_of(a), numpy_of(b), atol=ATOL)
    # initial_state as [h, c] and as the full list (from the cell path).
    h0 = random_inputs((2, UNITS), seed=13)
    c0 = random_inputs((2, UNITS), seed=14)
    full = [numpy_of(s) for s in expected[1:]]
    for state in ([h0, c0], full):
        cell_state = state if len(state) == 6 else (
            [h0, c0] + [np.zeros_like(s) for s in full[2:]])
        got = fast(x, initial_state=state)
        want = cell(x, initial_state=cell_state)
        for a, b in zip(got, want[:3]):
            np.testing.assert_allclose(numpy_of(a), numpy_of(b), atol=ATOL)


@pytest.mark.parametrize("steps", [12, 13])
def test_full_final_state_equals_rnn_of_cell(steps):
    """Every final state (memory, block buffers, counters), from a fresh
    state, through the public API: `return_state="full"` against
    `keras.layers.RNN(cell, return_state=True)`."""
    x = random_inputs((2, steps, FEATURES), seed=16)
    cell_args = dict(block_size=8, stride=4, window=4, num_heads=2)
    fast = NRNM(UNITS, return_state="full", **cell_args)
    cell = keras.layers.RNN(NRNMCell(UNITS, **cell_args), return_state=True)
    fast(x)
    cell(x)
    randomize_weights(fast, seed=17)
    cell.set_weights(fast.get_weights())
    got, want = fast(x), cell(x)
    assert len(got) == len(want) == 7
    for a, b in zip(got, want):
        np.testing.assert_allclose(numpy_of(a), numpy_of(b), atol=ATOL)


@pytest.mark.parametrize("steps", [11, 12])
def test_training_mode_equals_rnn_of_cell(steps):
    x = random_inputs((3, steps, FEATURES), seed=15)
    # Zoneout's per-step masks are drawn differently by the two paths:
    # test_zoneout_paths_and_reference_agree_given_the_masks.
    fast, cell = layer_pair(x, block_size=4, stride=2, window=3, dropout=0.3,
                            recurrent_dropout=0.2, memory_dropout=0.4, seed=3,
                            return_sequences=True)
    a = fast(x, training=True)
    b = cell(x, training=True)
    np.testing.assert_allclose(numpy_of(a), numpy_of(b), atol=ATOL)


@pytest.mark.parametrize("padding", ["left", "right", "interior"])
def test_masking_layer_in_a_model(padding):
    steps = 12
    x = random_inputs((3, steps, FEATURES), seed=16)
    x[~padding_mask(padding, 3, steps, seed=16)] = 0.0
    outputs = []
    fast, cell = layer_pair(x, block_size=4, stride=2, window=3,
                            return_sequences=True)
    for layer in (fast, cell):
        inputs = keras.Input((steps, FEATURES))
        model = keras.Model(inputs, layer(keras.layers.Masking(0.0)(inputs)))
        outputs.append(numpy_of(model(x)))
    np.testing.assert_allclose(outputs[0], outputs[1], atol=ATOL)


def test_stateful_chunks():
    steps = 14
    x = random_inputs((2, steps, FEATURES), seed=17)
    mask = padding_mask("random", 2, steps, seed=17)
    whole, cell = layer_pair(x, block_size=4, stride=2, window=3,
                             return_sequences=True)
    chunked = NRNM(UNITS, block_size=4, stride=2, window=3, num_heads=2,
                   return_sequences=True, stateful=True)
    stepped = keras.layers.RNN(
        NRNMCell(UNITS, block_size=4, stride=2, window=3, num_heads=2),
        return_sequences=True, stateful=True)
    for layer in (chunked, stepped):
        layer(x[:, :5])
        layer.set_weights(whole.get_weights())
        layer.reset_state()
    expected = numpy_of(whole(x, mask=mask))
    pieces, stepped_pieces = [], []
    for a, b in ((0, 5), (5, 6), (6, 14)):
        chunk_mask = mask[:, a:b]
        pieces.append(numpy_of(chunked(x[:, a:b], mask=chunk_mask)))
        stepped_pieces.append(numpy_of(stepped(x[:, a:b], mask=chunk_mask)))
        for v, w in zip(chunked.states, stepped.states):  # all six states
            np.testing.assert_allclose(numpy_of(v), numpy_of(w), atol=ATOL)
    got = np.concatenate(pieces, axis=1)
    np.testing.assert_allclose(
        got, np.concatenate(stepped_pieces, axis=1), atol=ATOL)
    # Real steps agree with the whole sequence; masked ones repeat a
    # chunk-local output.
    np.testing.assert_allclose(got[mask], expected[mask], atol=ATOL)


def test_unroll_takes_the_cell_path():
    x = random_inputs((2, 7, FEATURES), seed=18)
    fast, _ = layer_pair(x, block_size=4, stride=2, window=2,
                         return_sequences=True)
    unrolled = NRNM(UNITS, block_size=4, stride=2, window=2, num_heads=2,
                    return_sequences=True, unroll=True)
    unrolled(x)
    unrolled.set_weights(fast.get_weights())
    np.testing.assert_allclose(numpy_of(unrolled(x)), numpy_of(fast(x)),
                               atol=ATOL)


def test_matches_numpy_reference():
    layer = built_layer(6, 3, 4, weights_seed=19, return_sequences=True)
    x = random_inputs((3, 15, FEATURES), seed=19)
    np.testing.assert_allclose(numpy_of(layer(x)),
                               reference.nrnm_forward(layer.cell, x),
                               atol=ATOL)


def small_model(layer_cls, steps):
    memory_args = dict(block_size=4, stride=2, window=3, num_heads=2)
    inputs = keras.Input((steps, FEATURES))
    if layer_cls is NRNM:
        hidden = NRNM(UNITS, **memory_args)(inputs)
    else:
        hidden = keras.layers.RNN(NRNMCell(UNITS, **memory_args))(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(hidden)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("steps", [10, 12])
def test_gradients_equal_cell_path(steps):
    x = random_inputs((3, steps, FEATURES), seed=20)
    y = np.array([0, 2, 1])
    fast = small_model(NRNM, steps)
    randomize_weights(fast, seed=20)
    cell = small_model(keras.layers.RNN, steps)
    cell.set_weights(fast.get_weights())
    for model in (fast, cell):
        model.compile(optimizer=keras.optimizers.SGD(0.5),
                      loss="sparse_categorical_crossentropy")
    loss_fast = fast.train_on_batch(x, y)
    loss_cell = cell.train_on_batch(x, y)
    np.testing.assert_allclose(loss_fast, loss_cell, atol=ATOL)
    for a, b in zip(fast.get_weights(), cell.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)


@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="the loop body is rematerialised on JAX only")
def test_jax_rematerialises_each_window_but_its_products():
    """On JAX the loop over windows runs its body under `jax.checkpoint`
    with a policy that keeps the matrix products: the gradient keeps those
    and the carry per window and recomputes the element-wise work
    (docs/benchmarks.md); `test_gradients_equal_cell_path` checks the
    gradient's values."""
    import jax

    layer = built_layer()
    x = random_inputs((2, 9, FEATURES), seed=3)
    jaxpr = jax.make_jaxpr(lambda x: layer(x))(x).jaxpr

    def policies(jaxpr):  # of every equation, nested ones included
        for eqn in jaxpr.eqns:
            yield eqn.params.get("policy")
            for value in eqn.params.values():
                subs = value if isinstance(value, (list, tuple)) else [value]
                for sub in subs:
                    sub = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr's Jaxpr
                    if hasattr(sub, "eqns"):
                        yield from policies(sub)

    assert (jax.checkpoint_policies.dots_with_no_batch_dims_saveable
            in list(policies(jaxpr)))


@pytest.mark.skipif(keras.backend.backend() not in ("tensorflow", "jax"),
                    reason="jit_compile is checked on TensorFlow and JAX")
def test_jit_compile_equals_eager_graph():
    steps = 10
    x = random_inputs((3, steps, FEATURES), seed=21)
    y = np.array([1, 0, 2])
    models = []
    for jit in (False, True):
        model = small_model(NRNM, steps)
        randomize_weights(model, seed=21)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      jit_compile=jit)
        models.append(model)
    np.testing.assert_allclose(models[0].predict(x, verbose=0),
                               models[1].predict(x, verbose=0), atol=ATOL)
    losses = [model.train_on_batch(x, y) for model in models]
    np.testing.assert_allclose(losses[0], losses[1], atol=ATOL)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)


# TensorFlow only: there the retrace leaves the batch size unknown inside
# the XLA-compiled loop. JAX traces every batch size with static shapes, and
# its jit against eager equality is `test_jit_compile_equals_eager_graph`'s.
@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="an unknown batch size inside XLA: TensorFlow's")
@pytest.mark.parametrize("variant", [
    dict(),
    dict(strides=(1, 2), bidirectional=True),
])
def test_fit_with_jit_compile_and_a_partial_last_batch(variant):
    """`fit` retraces the train step for the smaller last batch with an
    unknown batch size; XLA must still compile the layer's gradient (it once
    failed on TensorFlow's rank-3 matmuls inside the loop) and get it right
    (it once did not, through a `cond` inside the loop). The losses equal
    those of the same model trained without XLA."""
    steps, variant = 9, dict(variant)
    memory_args = dict(block_size=4, stride=2, window=3, num_heads=2)
    bidirectional = variant.pop("bidirectional", False)
    memory_args.update(variant)
    x = random_inputs((10, steps, FEATURES), seed=23)
    x[7, 6:] = 0.0  # right padding, masked below
    y = np.arange(10) % 3
    histories = []
    for jit in (False, True):
        inputs = keras.Input((steps, FEATURES))
        hidden = keras.layers.Masking(0.0)(inputs)
        if bidirectional:
            hidden = BidirectionalNRNM(UNITS, return_sequences=False,
                                       **memory_args)(hidden)
        else:
            hidden = NRNM(UNITS, **memory_args)(hidden)
        if len(hidden.shape) == 3:
            hidden = keras.layers.GlobalAveragePooling1D()(hidden)
        model = keras.Model(
            inputs, keras.layers.Dense(3, activation="softmax")(hidden))
        randomize_weights(model, seed=23)
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss="sparse_categorical_crossentropy", jit_compile=jit)
        history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False,
                            verbose=0)
        histories.append(history.history["loss"])
    np.testing.assert_allclose(histories[1], histories[0], rtol=1e-4)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="only TensorFlow traces with an unknown length")
def test_unknown_length_in_a_tf_function():
    import tensorflow as tf

    layer = built_layer(4, 2, 3, weights_seed=22, return_sequences=True)
    traced = tf.function(
        layer, input_signature=[tf.TensorSpec((None, None, FEATURES))])
    for steps in (7, 2):
        x = random_inputs((3, steps, FEATURES), seed=steps)
        fast, cell = both_paths(layer, x)
        np.testing.assert_allclose(numpy_of(traced(x)), cell[1], atol=ATOL)


def test_bidirectional_with_masking():
    steps = 10
    x = random_inputs((3, steps, FEATURES), seed=23)
    mask = padding_mask("right", 3, steps, seed=23)
    fast, cell = layer_pair(x, block_size=4, stride=2, window=3,
                            return_sequences=True)
    outputs = []
    for layer in (fast, cell):
        wrapper = keras.layers.Bidirectional(layer)
        wrapper(x)
        outputs.append(wrapper)
    outputs[1].set_weights(outputs[0].get_weights())
    np.testing.assert_allclose(numpy_of(outputs[0](x, mask=mask)),
                               numpy_of(outputs[1](x, mask=mask)), atol=ATOL)
