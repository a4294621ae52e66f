"""The windowed fast path of `NRNM`: the cell path's values, by windows.

Inside one window of `window` steps the memory is constant, so everything
that depends only on the inputs and the memory is computed for the whole
window in batched products instead of once per step:

- the input terms (`x W + b`, `x W_m + b_m`, `x W_x + b_x` and, with
  attention, the input unit's keys and values) of the window's steps in one
  matrix product (`NRNMCell.input_terms`); the keys and values ride in
  block buffers of their own, so each input is projected once, not once
  per block that holds it;
- the memory term of Eq. 10 and 12 for all the window's steps at once
  (`NRNMCell.memory_term`, with `v_m U_m` computed once);
- one memory update (`NRNMCell.update_memory`: the attention) for the whole
  batch.

Only `NRNMCell.recurrent_step` (the product `h_{t-1} U`) runs step by step,
in a short unrolled loop of `window` steps inside an outer loop over
windows. This module holds no equation of its own: it arranges the steps
(the timeline below) and calls the cell's functions.

Per-sample step counts and phases are handled by a *timeline*: each sample's
real (unmasked) steps are gathered to consecutive positions starting at its
window phase `p` (0 for a fresh state), so that the timeline's window ends are
exactly the steps after which the cell path updates the memory. The `p`
positions before a sample's first step stand for the steps already held in
its block buffers (the initial state); positions after its last real step
leave its state unchanged. Outputs are gathered back to their original
positions at the end. So left, right and interior padding, `stateful=True`
and a full `initial_state` (any phase per sample) all take this path.

The result equals `keras.layers.RNN(NRNMCell(...))` with the same weights:
outputs, every final state (block buffers and counters included), the masked
outputs of the backend's `backend.rnn`, and in training the same dropout and
memory-dropout masks (made once per sequence by `RNN.call`). Zoneout draws a
fresh mask at every step: the fast path draws the whole timeline's before
its loop, the cell one step's at a time, so the two paths agree on the
values given the same masks (the tests give both the same), not on the
random draws.

The loop in pieces: `make_timeline` lays the steps out, `initial_buffers`
puts the initial block buffers on it, `run_windows` runs `window_step` once
per window (its carry is a `Carry`), `final_state` reads the state after
each sample's last real step and `gather_outputs` puts the outputs back at
their steps.
"""

import functools
from typing import Any, NamedTuple

import keras
from keras import ops

from keras_nrnm._keras_internals import rnn_loop
from keras_nrnm.cell import NRNMCell
from keras_nrnm.schedule import Schedule, slide
from keras_nrnm.state import Blocks, NRNMState, join_counters

# Windows of up to this many steps are unrolled in the loop body; longer
# windows run their steps in an inner loop.
MAX_UNROLLED_STEPS = 16


class Timeline(NamedTuple):
    """Each sample's real steps laid out in windows (`make_timeline`):
    sample `b`'s real step `j` sits at position `phase[b] + j`. Arrays are
    laid out `(windows, batch, window, ...)`."""

    inputs: Any  # (windows, batch, window, features)
    active: Any  # bool (windows, batch, window): a real step
    before_start: Any  # bool, as `active`: an initial buffer's entry
    phase: Any  # int32 (batch,): the window phase of the first step
    steps_seen: Any  # int32 (batch,): real steps the initial block holds
    lengths: Any  # int32 (batch,): real steps
    counts: Any  # int32 (batch, steps): real steps up to each step; None
    # without a mask
    batch: Any  # the batch size (a tensor where unknown at trace time)
    batch_ids: Any  # int32 (batch,)
    step_ids: Any  # int32 (steps,)
    num_windows: Any  # int, or a tensor where the length is unknown
    total_length: Any  # num_windows * window
    # Known at trace time: every position is a real step and none holds an
    # initial buffer (a fresh state, no mask, whole windows).
    every_step_real: bool


class Buffers(NamedTuple):
    """What the loop slides window by window: the state's block buffers
    (a `state.Blocks`) and, with attention, per stride the keys and values
    of the input buffer (`(batch, block_size * 2 * units)` each; `()`
    without attention). The same structure holds the buffers flat, their
    entries on the first window (`initial_buffers`) and, in the loop's
    carry, each buffer as a tuple of pieces (`()` for an absent one)."""

    blocks: Blocks
    keys_values: tuple


class Carry(NamedTuple):
    """The carry of the loop over windows."""

    h: Any
    c: Any
    memory: Any
    buffers: Buffers  # in pieces (`to_pieces`)


class WindowConstants(NamedTuple):
    """What every window reads, made once per sequence."""

    input_weights: Any  # `NRNMCell.input_weights`
    fills: Buffers  # the initial buffers' entries on the first window
    recurrent_mask: Any  # recurrent dropout, or None
    memory_mask: Any  # memory dropout, or None
    every_step_real: bool


def windowed_inner_loop(layer, sequences, initial_state, mask=None,
                        training=False, counters_at_zero=False):
    """`NRNM.inner_loop` by windows.

    Args:
        layer: The `NRNM` layer (its `cell` and loop options).
        sequences: `(batch, steps, features)`.
        initial_state: The cell's full list of states.
        mask: Boolean `(batch, steps)`, or `None`.
        training: Whether the dropout and zoneout masks apply.
        counters_at_zero: The caller knows that every sample starts at
            window phase 0 (a fresh state), so no spare window is needed.

    Returns:
        `(last_output, outputs, states)` with the conventions of
        `backend.rnn` (outputs in processing order).
    """
    cell = layer.cell
    initial_state = list(initial_state)
    if keras.backend.backend() == "torch" and layer.stateful:
        # As `RNN.inner_loop`: the state variables are assigned in place.
        initial_state = [ops.copy(s) for s in initial_state]
    state0 = NRNMState.split(initial_state)
    if layer.go_backwards:
        sequences = ops.flip(sequences, axis=1)
        if mask is not None:
            mask = ops.flip(mask, axis=1)
    if mask is not None:
        mask = ops.cast(mask, "bool")
    sequences, recurrent_mask, memory_mask = _apply_dropout(
        cell, sequences, state0.h, training)
    timeline = make_timeline(cell.schedule, sequences, state0.counters,
                             mask, counters_at_zero)
    zoneout_keep = ()
    if training and cell.zoneout > 0:
        zoneout_keep = cell.zoneout_masks(
            (timeline.num_windows, timeline.batch, cell.window),
            sequences.dtype)
    # The input kernels side by side, once per sequence (not per window).
    # With attention, the keys and values of each input are computed once,
    # with the window's input terms, and carried in blocks of their own
    # (one per stride), instead of once per block holding the input.
    input_weights = cell.input_weights(keys_values=cell.attention)
    blocks0 = Blocks(*(None if block is None
                       else ops.reshape(block, (-1, cell.block_size
                                                * cell.units))
                       for block in state0.blocks))
    tails, fills = initial_buffers(cell, blocks0, timeline)
    constants = WindowConstants(input_weights, fills, recurrent_mask,
                                memory_mask, timeline.every_step_real)
    carry = Carry(state0.h, state0.c, state0.memory, _map_buffers(
        functools.partial(to_pieces, cell.schedule), tails))
    carry, outputs = run_windows(cell, carry, timeline, constants,
                                 zoneout_keep)
    states = final_state(cell, state0, blocks0, timeline, carry, outputs,
                         input_weights)
    last, sequence = gather_outputs(layer, timeline, outputs, state0.h, mask)
    return last, sequence, states


def _apply_dropout(cell, sequences, h0, training):
    """The masks made once per sequence by `RNN.call` (cached on the cell):
    `(sequences, recurrent_mask, memory_mask)`, the input mask applied to
    the sequences; `None` for a mask that does not apply."""
    recurrent_mask = memory_mask = None
    if training:
        if cell.dropout > 0:
            input_mask = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(input_mask, 1)
        if cell.recurrent_dropout > 0:
            recurrent_mask = cell.get_recurrent_dropout_mask(h0)
        if cell.memory_dropout > 0:
            memory_mask = cell.get_memory_dropout_mask(h0)
    return sequences, recurrent_mask, memory_mask


def make_timeline(schedule: Schedule, sequences, counters, mask,
                  counters_at_zero):
    """The `Timeline` of `sequences` (with the boolean `mask`, or `None`)
    from the initial `counters`: each
    sample's real steps gathered to consecutive positions from its window
    phase, so that the timeline's window ends are exactly the steps after
    which the cell path updates the memory.

    A fresh state needs `ceil(steps / window)` windows; one more makes room
    for any phase (windows without a real step are skipped, but on
    TensorFlow they run). The layout puts a window's steps in the block
    buffers (batch-major) without a transpose: on TensorFlow's CPU kernels a
    transpose costs more than the products of a narrow layer."""
    shape = ops.shape(sequences)
    batch, steps, features = shape[0], shape[1], shape[2]
    batch_ids = ops.arange(batch, dtype="int32")
    phase, steps_seen = schedule.read_counters(counters)
    step_ids = ops.arange(steps, dtype="int32")
    order = counts = None
    if mask is None:
        lengths = ops.full((batch,), steps, dtype="int32")
    else:
        counts = ops.cumsum(ops.cast(mask, "int32"), axis=1)
        lengths = counts[:, -1]
        # Real steps first, in order, then the masked ones (unique keys).
        keys = ops.where(mask, step_ids[None, :], step_ids[None, :] + steps)
        order = ops.cast(ops.argsort(keys, axis=1), "int32")
    num_windows = schedule.num_windows(steps, counters_at_zero)
    # The common case, known at trace time, whose loop leaves the masking
    # out (fewer operations per window, which is what narrow layers pay for).
    every_step_real = (counters_at_zero and mask is None
                       and isinstance(steps, int)
                       and schedule.whole_windows(steps))
    win = schedule.window
    total_length = num_windows * win
    positions = ops.reshape(ops.arange(total_length, dtype="int32"),
                            (num_windows, 1, win))
    rank = positions - phase[None, :, None]  # (windows, batch, win)
    active = ops.logical_and(rank >= 0, rank < lengths[None, :, None])
    source = ops.clip(rank, 0, steps - 1)
    if order is not None:
        source = _flat_take(ops.reshape(order, (-1,)),
                            batch_ids[None, :, None] * steps + source)
    inputs = _flat_take(ops.reshape(sequences, (-1, features)),
                        batch_ids[None, :, None] * steps + source)
    return Timeline(inputs, active, rank < 0, phase, steps_seen, lengths,
                    counts, batch, batch_ids, step_ids, num_windows,
                    total_length, every_step_real)


def timeline_row(schedule: Schedule, timeline, position, sample):
    """Row of (position, sample) in the timeline's layout flattened."""
    window, in_window = schedule.window_and_phase(position)
    return (window * timeline.batch + sample) * schedule.window + in_window


def initial_buffers(cell: NRNMCell, blocks0, timeline):
    """The initial block buffers `blocks0` (a flat `Blocks`) on the
    timeline: `(tails, fills)`, two `Buffers`. Position `u < phase` holds
    the buffer's entry `k - phase + u` (`fills`, `(batch, window, width)`
    each); the positions `-k .. -1` start the buffers the loop slides
    (`tails`, flat)."""
    d, k, win = cell.units, cell.block_size, cell.window
    batch_ids, phase = timeline.batch_ids, timeline.phase

    def on_timeline(block):
        rows = ops.reshape(block, (-1, d))  # (batch * k, d)
        index = ops.arange(k + win, dtype="int32")[None, :] - phase[:, None]
        valid = ops.logical_and(index >= 0, index < k)
        taken = _flat_take(
            rows, batch_ids[:, None] * k + ops.clip(index, 0, k - 1)
        )  # (batch, k + win, d)
        taken = ops.where(valid[..., None], taken, ops.zeros_like(taken))
        return ops.reshape(taken[:, :k], (-1, k * d)), taken[:, k:]

    placed = [None if block is None else on_timeline(block)
              for block in blocks0]
    tails = Blocks(*(None if p is None else p[0] for p in placed))
    fills = Blocks(*(None if p is None else p[1] for p in placed))
    if not cell.attention:
        return Buffers(tails, ()), Buffers(fills, ())
    # The keys and values of the initial input buffer, in the same layout.
    maps = cell.memory.input_key_value_maps()
    tail_keys_values = tuple(
        ops.reshape(kv, (-1, k * 2 * d)) for kv in
        cell.memory.input_keys_values(ops.reshape(tails.inputs, (-1, k, d)),
                                      maps))
    fill_keys_values = tuple(cell.memory.input_keys_values(fills.inputs,
                                                           maps))
    return (Buffers(tails, tail_keys_values),
            Buffers(fills, fill_keys_values))


def to_pieces(schedule: Schedule, block):
    """A flat block buffer as the loop carries it: when the window divides
    the block, in pieces of one window each, oldest first (sliding it then
    drops the oldest piece; slicing the joined block instead has a gradient
    as large as the block and the window together, which shows in a
    TensorFlow train step: docs/benchmarks.md, "Splits instead of
    slices"); else whole. `()` for an absent buffer (`None`)."""
    if block is None:
        return ()
    if not schedule.window_divides_block or schedule.windows_per_block == 1:
        return (block,)
    return tuple(ops.split(block, schedule.windows_per_block, axis=1))


def slide_pieces(schedule: Schedule, pieces, entries):
    """A block's pieces after a window's `(batch, window, width)` entries
    joined it."""
    if not pieces:
        return ()
    entries = ops.reshape(entries, (-1, schedule.window * entries.shape[-1]))
    if schedule.window_divides_block:
        return pieces[1:] + (entries,)
    return (slide(pieces[0], entries),)


def joined(pieces):
    """The flat block buffer of its pieces; `None` for an absent one."""
    if not pieces:
        return None
    if len(pieces) == 1:
        return pieces[0]
    return ops.concatenate(pieces, axis=1)


def _map_buffers(function, buffers, *others):
    """`Buffers` of `function(buffer, *the others' same buffer)` for every
    buffer (block buffers, then keys and values)."""
    return Buffers(
        Blocks(*(function(*each) for each in zip(
            buffers.blocks, *(other.blocks for other in others)))),
        tuple(function(*each) for each in zip(
            buffers.keys_values, *(other.keys_values for other in others))))


def run_windows(cell: NRNMCell, carry, timeline, constants, zoneout_keep):
    """`window_step` over the timeline's windows: `(carry, outputs)`, the
    outputs `(windows, batch, window, units)`."""
    seen = cell.schedule.steps_seen_at_window_ends(
        timeline.phase, timeline.steps_seen, timeline.num_windows)
    dtype = timeline.inputs.dtype
    xs = WindowInputs(timeline.inputs, timeline.active[..., None],
                      timeline.before_start[..., None],
                      ops.cast(seen, dtype)[..., None], zoneout_keep)
    body = functools.partial(window_step, cell, constants)
    # On TensorFlow every window runs: XLA miscompiles the gradient of a
    # `cond` inside this loop when the batch size is unknown at trace time
    # (`fit` with `jit_compile=True`). A window without a real step changes
    # nothing (every update is masked by `where`), it only costs time.
    if (keras.backend.backend() != "tensorflow"
            and not timeline.every_step_real):
        body = functools.partial(_skipping_empty_windows, body,
                                 (timeline.batch, cell.window, cell.units),
                                 dtype)
    if keras.backend.backend() == "jax":
        body = _saving_only_products(body)
    if keras.backend.backend() == "tensorflow":
        with _weights_read_once(cell):
            return _scan(body, carry, xs)
    return _scan(body, carry, xs)


def _weights_read_once(cell):
    """A scope in which the cell's weights are tensors read before the
    loop: TensorFlow would otherwise read every weight from its variable at
    every window (a `ReadVariableOp` each, and in the gradient an
    accumulator per weight). `keras.StatelessScope` maps each variable to
    its value (`ops.copy`: a tensor; `convert_to_tensor` would give
    TensorFlow's variable back); the weights are not assigned inside the
    loop."""
    return keras.StatelessScope(
        state_mapping=[(w, ops.copy(w)) for w in cell.weights])


class WindowInputs(NamedTuple):
    """What the loop over windows reads of one window: the timeline's
    `inputs`, `active` and `before_start` (each `(batch, window, ...)`, the
    last two with a trailing axis of 1), the steps the block holds at the
    window's end `(batch, 1)`, and the window's zoneout keep-masks (`()`
    without zoneout)."""

    inputs: Any
    active: Any
    before_start: Any
    steps_seen: Any
    zoneout_keep: tuple


def _skipping_empty_windows(window_step_fn, output_shape, dtype, carry, xs):
    """`window_step_fn`, skipped at run time (JAX, PyTorch) for a window
    where no sample has a real step."""
    return ops.cond(
        ops.any(xs.active),
        lambda: window_step_fn(carry, xs),
        lambda: (carry, ops.zeros(output_shape, dtype)),
    )


def window_step(cell: NRNMCell, constants, carry, xs):
    """One window: the input terms of its steps in one product (projecting
    the whole sequence at once is no faster on CPU and keeps a large tensor
    alive through the loop), the memory term once, the steps, then the
    blocks slid and the memory updated. Returns `(carry, outputs)`, the
    outputs `(batch, window, units)`."""
    x, backward_h = _split_inputs(cell, xs.inputs)
    terms = cell.input_terms(x, constants.input_weights,
                             keys_values=cell.attention)
    memory_read = carry.memory
    if constants.memory_mask is not None:
        memory_read = carry.memory * constants.memory_mask
    memory_term = cell.memory_term(terms.memory, memory_read)
    h, c, outputs = window_steps(
        cell, constants, carry.h, carry.c,
        (terms.gates, memory_term, xs.active, *xs.zoneout_keep))
    # Slide the buffers by the window; before the sequence start the
    # timeline holds the initial buffers.
    entries = Buffers(Blocks(outputs, terms.units, backward_h),
                      terms.keys_values)
    if not constants.every_step_real:
        entries = _map_buffers(
            lambda fill, new: None if new is None else ops.where(
                xs.before_start, fill, new),
            constants.fills, entries)
    pieces = _map_buffers(functools.partial(slide_pieces, cell.schedule),
                          carry.buffers, entries)
    buffers = _map_buffers(joined, pieces)
    new_memory = cell.update_memory(
        carry.memory, buffers.blocks, xs.steps_seen[:, 0],
        input_keys_values=buffers.keys_values or None)
    if constants.every_step_real:
        memory = new_memory
    else:
        memory = ops.where(xs.active[:, -1], new_memory, carry.memory)
    return Carry(h, c, memory, pieces), outputs


def _split_inputs(cell, x):
    """Backbone inputs and, with `backward_states`, the backward states
    (else `None`)."""
    if cell.backward_states:
        return x[..., :-cell.units], x[..., -cell.units:]
    return x, None


def window_steps(cell: NRNMCell, constants, h, c, per_step):
    """The window's steps, `NRNMCell.recurrent_step` each: `(h, c,
    outputs)`. `per_step`: `(x_gates, memory_term, active, *zoneout_keep)`,
    each `(batch, window, ...)`."""
    every_step_real = constants.every_step_real

    def step(h, c, x_gates, memory_term, is_active, *zoneout_keep):
        h_in = h
        if constants.recurrent_mask is not None:
            h_in = h * constants.recurrent_mask
        h_new, c_new = cell.recurrent_step(x_gates, memory_term, h, c,
                                           h_in, zoneout_keep)
        if every_step_real:
            return h_new, c_new
        return (ops.where(is_active, h_new, h),
                ops.where(is_active, c_new, c))

    if cell.window <= MAX_UNROLLED_STEPS:
        # `unstack`, not `x[i]`: the gradient of each slice would be a zero
        # tensor of the whole window's size.
        outputs = []
        for step_xs in zip(*(ops.unstack(t, axis=1) for t in per_step)):
            h, c = step(h, c, *step_xs)
            outputs.append(h)
        return h, c, ops.stack(outputs, axis=1)

    def inner(state, step_xs):
        new = step(*state, *step_xs)
        return new, new[0]

    (h, c), outputs = _scan(
        inner, (h, c), tuple(ops.swapaxes(t, 0, 1) for t in per_step))
    return h, c, ops.swapaxes(outputs, 0, 1)


def final_state(cell: NRNMCell, state0, blocks0, timeline, carry, outputs,
                input_weights):
    """The state after each sample's last real step, as the flat list: the
    carry's `h`, `c` and memory, the block buffers of the last `k` steps
    (from the initial buffers `blocks0` where a sample has fewer than `k`
    real steps), and the counters."""
    d, k, schedule = cell.units, cell.block_size, cell.schedule
    lengths, batch_ids = timeline.lengths, timeline.batch_ids
    offsets = ops.arange(k, dtype="int32")[None, :]
    from_buffer = (lengths[:, None] + offsets) < k  # (batch, k)
    buffer_index = batch_ids[:, None] * k + ops.clip(
        lengths[:, None] + offsets, 0, k - 1
    )
    timeline_index = timeline_row(schedule, timeline, ops.clip(
        (timeline.phase + lengths)[:, None] + offsets - k, 0,
        timeline.total_length - 1
    ), batch_ids[:, None])
    last_inputs, last_backward = _split_inputs(cell, _flat_take(
        ops.reshape(timeline.inputs, (-1, timeline.inputs.shape[-1])),
        timeline_index))
    last_entries = Blocks(
        _flat_take(ops.reshape(outputs, (-1, d)), timeline_index),
        cell.input_terms(last_inputs, input_weights).units,
        last_backward)

    def last_steps(block0, new):
        if block0 is None:
            return None
        return ops.reshape(
            ops.where(from_buffer[..., None],
                      _flat_take(ops.reshape(block0, (-1, d)), buffer_index),
                      new),
            (-1, k * d))

    blocks = Blocks(*map(last_steps, blocks0, last_entries))
    phase, steps_seen = schedule.counters_after(
        timeline.phase, timeline.steps_seen, lengths)
    counters = join_counters(phase, steps_seen, state0.counters.dtype)
    return NRNMState(carry.h, carry.c, carry.memory, blocks,
                     counters).join()


def gather_outputs(layer, timeline, outputs, h0, mask):
    """`(last_output, outputs)` at the sequence's own steps. A masked step
    repeats the previous output, as `backend.rnn` does; before the first
    real step that is zeros (on JAX: the initial `h`, its `states[0]`)."""
    schedule = layer.cell.schedule
    if layer.zero_output_for_mask or keras.backend.backend() != "jax":
        before_first = ops.zeros_like(h0)
    else:
        before_first = h0
    flat_outputs = ops.reshape(outputs, (-1, layer.cell.units))
    phase, last_position = timeline.phase, timeline.total_length - 1
    if layer.return_sequences:
        done = (timeline.step_ids[None, :] + 1 if timeline.counts is None
                else timeline.counts)
        index = ops.clip(phase[:, None] + done - 1, 0, last_position)
        valid = done >= 1
        if mask is not None and layer.zero_output_for_mask:
            valid = ops.logical_and(valid, mask)
        sequence = _flat_take(flat_outputs, timeline_row(
            schedule, timeline, index, timeline.batch_ids[:, None]))
        sequence = ops.where(valid[..., None], sequence, before_first[:, None])
        return sequence[:, -1], sequence
    index = ops.clip(phase + timeline.lengths - 1, 0, last_position)
    valid = timeline.lengths >= 1
    if mask is not None and layer.zero_output_for_mask:
        valid = ops.logical_and(valid, mask[:, -1])
    last = _flat_take(flat_outputs, timeline_row(schedule, timeline, index,
                                                 timeline.batch_ids))
    last = ops.where(valid[:, None], last, before_first)
    return last, last[:, None]


def _scan(body, carry, xs):
    """`ops.scan(body, carry, xs)`: loops over the leading axis of `xs`;
    `carry` and `xs` may be nested (named tuples).

    On TensorFlow, `keras.ops.scan` (Keras 3.15) stores the per-step outputs
    in arrays shaped like the carry, so outputs of another shape fail; the
    loop of `keras.layers.RNN` (`backend.rnn`, TensorArrays) is used there.
    """
    if keras.backend.backend() != "tensorflow":
        return ops.scan(body, carry, xs)
    flat_xs = keras.tree.flatten(xs)

    def step(inputs, states):
        new_carry, ys = body(keras.tree.pack_sequence_as(carry, states),
                             keras.tree.pack_sequence_as(xs, inputs))
        return ys, keras.tree.flatten(new_carry)

    # `backend.rnn` reads the length from `inputs.shape[1]` unless given (a
    # list around a dynamic length keeps it from being read as a bool).
    length = ops.shape(flat_xs[0])[0]
    _, ys, new_carry = rnn_loop(
        step, flat_xs, keras.tree.flatten(carry),
        input_length=length if isinstance(length, int) else [length])
    return keras.tree.pack_sequence_as(carry, new_carry), ys


def _saving_only_products(window_step_fn):
    """On JAX, `window_step_fn` under `jax.checkpoint`, keeping the outputs
    of its matrix products for the gradient and recomputing the rest.

    Without it, the gradient of the loop keeps every intermediate value of
    every window; recomputing the whole window (`keras.remat`) keeps less
    but repeats the window's products in the backward pass. Keeping the
    products holds the peak memory between the two and makes a train step
    faster than either (docs/benchmarks.md, "JAX: keep the window's
    products for the gradient")."""
    import jax

    return jax.checkpoint(
        window_step_fn,
        policy=jax.checkpoint_policies.dots_with_no_batch_dims_saveable)


def _flat_take(table, index):
    """`table[index]` along axis 0, for int indices of any shape."""
    taken = ops.take(table, ops.reshape(index, (-1,)), axis=0)
    return ops.reshape(
        taken, tuple(ops.shape(index)) + tuple(ops.shape(table)[1:])
    )
