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
"""

import keras
from keras import ops

from keras_nrnm._keras_internals import rnn_loop
from keras_nrnm.schedule import slide
from keras_nrnm.state import Blocks, NRNMState, join_counters


# Windows of up to this many steps are unrolled in the loop body; longer
# windows run their steps in an inner loop.
MAX_UNROLLED_STEPS = 16


def _scan(body, carry, xs):
    """`ops.scan(body, carry, xs)`: loops over the leading axis of `xs`.

    On TensorFlow, `keras.ops.scan` (Keras 3.15) stores the per-step outputs
    in arrays shaped like the carry, so outputs of another shape fail; the
    loop of `keras.layers.RNN` (`backend.rnn`, TensorArrays) is used there.
    """
    if keras.backend.backend() != "tensorflow":
        return ops.scan(body, carry, xs)

    def step(inputs, states):
        new_carry, ys = body(tuple(states), inputs)
        return ys, list(new_carry)

    # `backend.rnn` reads the length from `inputs.shape[1]` unless given (a
    # list around a dynamic length keeps it from being read as a bool).
    length = ops.shape(xs[0])[0]
    _, ys, new_carry = rnn_loop(
        step, xs, list(carry),
        input_length=length if isinstance(length, int) else [length])
    return tuple(new_carry), ys


def _saving_only_products(window_step):
    """On JAX, `window_step` under `jax.checkpoint`, keeping the outputs of
    its matrix products for the gradient and recomputing the rest.

    Without it, the gradient of the loop keeps every intermediate value of
    every window (2.2-2.3x the LSTM's peak memory at the paper's NTU
    setting); recomputing the whole window (`keras.remat`) keeps 1.4-1.5x
    but repeats the window's products in the backward pass. Keeping the
    products: 1.9-2.0x, and a train step about 9 % faster than with either
    (docs/benchmarks.md)."""
    import jax

    return jax.checkpoint(
        window_step,
        policy=jax.checkpoint_policies.dots_with_no_batch_dims_saveable)


def _flat_take(table, index):
    """`table[index]` along axis 0, for int indices of any shape."""
    taken = ops.take(table, ops.reshape(index, (-1,)), axis=0)
    return ops.reshape(
        taken, tuple(ops.shape(index)) + tuple(ops.shape(table)[1:])
    )


def windowed_inner_loop(layer, sequences, initial_state, mask=None,
                        training=False, counters_at_zero=False):
    """`NRNM.inner_loop` by windows: `(last_output, outputs, states)` with the
    conventions of `backend.rnn` (outputs in processing order).
    `counters_at_zero`: the caller knows that every sample starts at window
    phase 0 (a fresh state), so no spare window is needed."""
    cell = layer.cell
    schedule = cell.schedule
    d, k, win = cell.units, cell.block_size, cell.window
    dtype = sequences.dtype
    initial_state = list(initial_state)
    if keras.backend.backend() == "torch" and layer.stateful:
        # As `RNN.inner_loop`: the state variables are assigned in place.
        initial_state = [ops.copy(s) for s in initial_state]
    state0 = NRNMState.split(initial_state)
    h0, c0, memory0 = state0.h, state0.c, state0.memory
    # Block buffers: hidden states, projected inputs[, backward states].
    blocks0 = [ops.reshape(b, (-1, k * d)) for b in state0.blocks.buffers()]

    if layer.go_backwards:
        sequences = ops.flip(sequences, axis=1)
        if mask is not None:
            mask = ops.flip(mask, axis=1)

    # Masks made once per sequence by `RNN.call` (cached on the cell).
    recurrent_mask = memory_mask = None
    if training:
        if cell.dropout > 0:
            input_mask = cell.get_dropout_mask(sequences[:, 0, :])
            sequences = sequences * ops.expand_dims(input_mask, 1)
        if cell.recurrent_dropout > 0:
            recurrent_mask = cell.get_recurrent_dropout_mask(h0)
        if cell.memory_dropout > 0:
            memory_mask = cell.get_memory_dropout_mask(h0)

    shape = ops.shape(sequences)
    batch, steps, features = shape[0], shape[1], shape[2]
    batch_ids = ops.arange(batch, dtype="int32")

    # Per-sample phase in the window, steps already in the block, and number
    # of real steps.
    phase, seen0 = schedule.read_counters(state0.counters)
    step_ids = ops.arange(steps, dtype="int32")
    order = counts = None
    if mask is None:
        lengths = ops.full((batch,), steps, dtype="int32")
    else:
        mask = ops.cast(mask, "bool")
        counts = ops.cumsum(ops.cast(mask, "int32"), axis=1)
        lengths = counts[:, -1]
        # Real steps first, in order, then the masked ones (unique keys).
        keys = ops.where(mask, step_ids[None, :], step_ids[None, :] + steps)
        order = ops.cast(ops.argsort(keys, axis=1), "int32")

    # The timeline: sample b's real step j sits at position phase_b + j.
    # A fresh state needs ceil(T / win) windows; one more makes room for any
    # phase (windows without a real step are skipped, but on TensorFlow they
    # run). Laid out `(window, batch, step in window, ...)`, so that a
    # window's steps reach the block buffers (batch-major) without a
    # transpose: on TensorFlow's CPU kernels a transpose costs more than the
    # products of a narrow layer.
    num_windows = schedule.num_windows(steps, counters_at_zero)
    # The common case, known at trace time: a fresh state, no mask and whole
    # windows. Every timeline position is then a real step and none holds an
    # initial buffer, so the masking below is left out of the loop (fewer
    # operations per window, which is what narrow layers pay for).
    every_step_real = (counters_at_zero and mask is None
                       and isinstance(steps, int)
                       and schedule.whole_windows(steps))
    total_length = num_windows * win
    positions = ops.reshape(ops.arange(total_length, dtype="int32"),
                            (num_windows, 1, win))
    rank = positions - phase[None, :, None]  # (windows, batch, win)
    active = ops.logical_and(rank >= 0, rank < lengths[None, :, None])
    source = ops.clip(rank, 0, steps - 1)
    if order is not None:
        source = _flat_take(ops.reshape(order, (-1,)),
                            batch_ids[None, :, None] * steps + source)
    timeline = _flat_take(ops.reshape(sequences, (-1, features)),
                          batch_ids[None, :, None] * steps + source)

    # Zoneout: a fresh keep-mask for every timeline position and unit, all
    # drawn here, before the loop (a draw inside it would repeat on JAX,
    # whose loops cannot advance the seed generator).
    zoneout_keep = ()
    if training and cell.zoneout > 0:
        zoneout_keep = cell.zoneout_masks((num_windows, batch, win), dtype)

    def timeline_row(position, sample):
        """Row of (position, sample) in the timeline's layout flattened."""
        window, in_window = schedule.window_and_phase(position)
        return (window * batch + sample) * win + in_window

    # The input kernels side by side, once per sequence (not per window).
    # With attention, the keys and values of each input are computed once,
    # with the window's input terms, and carried in blocks of their own
    # (one per stride), instead of once per block holding the input.
    with_keys_values = cell.attention
    input_weights = cell.input_weights(with_keys_values)

    def split_inputs(x):
        """Backbone inputs and, with `backward_states`, backward states."""
        if cell.backward_states:
            return x[..., :-d], x[..., -d:]
        return x, None

    # The initial block buffers on the timeline: position u < phase holds the
    # buffer's entry k - phase + u; positions -k..-1 start the tails.
    def buffer_on_timeline(block):
        rows = ops.reshape(block, (-1, d))  # (batch * k, d)
        index = ops.arange(k + win, dtype="int32")[None, :] - phase[:, None]
        valid = ops.logical_and(index >= 0, index < k)
        taken = _flat_take(
            rows, batch_ids[:, None] * k + ops.clip(index, 0, k - 1)
        )  # (batch, k + win, d)
        taken = ops.where(valid[..., None], taken, ops.zeros_like(taken))
        return ops.reshape(taken[:, :k], (-1, k * d)), taken[:, k:]

    tails0, fills = zip(*[buffer_on_timeline(b) for b in blocks0])

    # The keys and values of the initial input buffer, in the same layout.
    num_blocks = len(blocks0)
    if with_keys_values:
        maps = cell.memory.input_key_value_maps()
        tail_keys_values = cell.memory.input_keys_values(
            ops.reshape(tails0[1], (-1, k, d)), maps)
        tails0 += tuple(ops.reshape(kv, (-1, k * 2 * d))
                        for kv in tail_keys_values)
        fills += tuple(cell.memory.input_keys_values(fills[1], maps))

    # When the window divides the block, a block rides through the loop in
    # pieces of one window each, oldest first: sliding it drops the oldest
    # piece. (Slicing the joined block instead has a gradient as large as
    # the block and the window together: 4 % of the operations' time in a
    # TensorFlow train step at the paper's setting.)
    window_divides_block = schedule.window_divides_block
    pieces_per_block = (schedule.windows_per_block if window_divides_block
                        else 1)

    def to_pieces(block):
        if pieces_per_block == 1:
            return (block,)
        return tuple(ops.split(block, pieces_per_block, axis=1))

    def slide_pieces(pieces, entries):
        """A block's pieces after a window's `(batch, win, width)` entries
        joined it."""
        entries = ops.reshape(entries, (-1, win * entries.shape[-1]))
        if window_divides_block:
            return pieces[1:] + (entries,)
        return (slide(pieces[0], entries),)

    def joined(pieces):
        if len(pieces) == 1:
            return pieces[0]
        return ops.concatenate(pieces, axis=1)

    def window_step(carry, xs):
        h, c, memory, *carried = carry
        old_pieces = [tuple(carried[start:start + pieces_per_block])
                      for start in range(0, len(carried), pieces_per_block)]
        x, is_active, is_prefix, seen, *zoneout_keep = xs
        x, backward_h = split_inputs(x)
        # The window's input terms in one product (projecting the whole
        # sequence at once is no faster on CPU and keeps a large tensor
        # alive through the loop), and the memory term once for the window.
        x_gates, x_memory, x_units, *x_keys_values = cell.input_terms(
            x, input_weights, with_keys_values)
        memory_read = memory if memory_mask is None else memory * memory_mask
        memory_term = cell.memory_term(x_memory, memory_read)

        def step(h, c, x_gates, memory_term, is_active, *zoneout_keep):
            h_in = h if recurrent_mask is None else h * recurrent_mask
            h_new, c_new = cell.recurrent_step(x_gates, memory_term, h, c,
                                               h_in, zoneout_keep)
            if every_step_real:
                return h_new, c_new
            return (ops.where(is_active, h_new, h),
                    ops.where(is_active, c_new, c))

        if win <= MAX_UNROLLED_STEPS:
            # `unstack`, not `x[i]`: the gradient of each slice would be a
            # zero tensor of the whole window's size.
            outputs = []
            for step_xs in zip(*(ops.unstack(t, axis=1) for t in (
                    x_gates, memory_term, is_active, *zoneout_keep))):
                h, c = step(h, c, *step_xs)
                outputs.append(h)
            outputs = ops.stack(outputs, axis=1)
        else:
            def inner(state, step_xs):
                new = step(*state, *step_xs)
                return new, new[0]

            (h, c), outputs = _scan(
                inner, (h, c),
                tuple(ops.swapaxes(t, 0, 1)
                      for t in (x_gates, memory_term, is_active,
                                *zoneout_keep)))
            outputs = ops.swapaxes(outputs, 0, 1)
        # Slide the blocks by the window; before the sequence start the
        # timeline holds the initial buffers.
        entries = ([outputs, x_units]
                   + ([backward_h] if cell.backward_states else [])
                   + (x_keys_values[0] if with_keys_values else []))
        pieces = [
            slide_pieces(old, new if every_step_real
                         else ops.where(is_prefix, fill, new))
            for old, fill, new in zip(old_pieces, fills, entries)
        ]
        blocks = [joined(block) for block in pieces]
        new_memory = cell.update_memory(
            memory, Blocks(*blocks[:num_blocks]), seen[:, 0],
            input_keys_values=(blocks[num_blocks:] if with_keys_values
                               else None))
        if every_step_real:
            memory = new_memory
        else:
            memory = ops.where(is_active[:, -1], new_memory, memory)
        return (h, c, memory, *(piece for block in pieces for piece in block)
                ), outputs

    # Windows where no sample has a real step are skipped at run time
    # (JAX, PyTorch).
    def maybe_window_step(carry, xs):
        return ops.cond(
            ops.any(xs[1]),
            lambda: window_step(carry, xs),
            lambda: (carry, ops.zeros((batch, win, d), dtype)),
        )

    seen = schedule.steps_seen_at_window_ends(phase, seen0, num_windows)
    xs = (timeline, active[..., None], (rank < 0)[..., None],
          ops.cast(seen, dtype)[..., None], *zoneout_keep)
    # On TensorFlow every window runs: XLA miscompiles the gradient of a
    # `cond` inside this loop when the batch size is unknown at trace time
    # (`fit` with `jit_compile=True`). A window without a real step changes
    # nothing (every update above is masked by `where`), it only costs time.
    body = (window_step
            if keras.backend.backend() == "tensorflow" or every_step_real
            else maybe_window_step)
    if keras.backend.backend() == "jax":
        body = _saving_only_products(body)
    carry, outputs = _scan(
        body, (h0, c0, memory0,
               *(piece for tail in tails0 for piece in to_pieces(tail))), xs)
    h, c, memory, *_ = carry

    # Final block buffers: the last k steps, from the initial buffers where a
    # sample has fewer than k real steps.
    offsets = ops.arange(k, dtype="int32")[None, :]
    from_buffer = (lengths[:, None] + offsets) < k  # (batch, k)
    buffer_index = batch_ids[:, None] * k + ops.clip(
        lengths[:, None] + offsets, 0, k - 1
    )
    timeline_index = timeline_row(ops.clip(
        (phase + lengths)[:, None] + offsets - k, 0, total_length - 1
    ), batch_ids[:, None])
    last_inputs, last_backward = split_inputs(
        _flat_take(ops.reshape(timeline, (-1, features)), timeline_index)
    )
    last_entries = [
        _flat_take(ops.reshape(outputs, (-1, d)), timeline_index),
        cell.input_terms(last_inputs, input_weights)[2],
    ] + ([last_backward] if cell.backward_states else [])
    blocks = Blocks(*(
        ops.reshape(
            ops.where(from_buffer[..., None],
                      _flat_take(ops.reshape(block0, (-1, d)), buffer_index),
                      new),
            (-1, k * d),
        )
        for block0, new in zip(blocks0, last_entries)
    ))
    new_counters = join_counters(
        *schedule.counters_after(phase, seen0, lengths),
        state0.counters.dtype)
    states = NRNMState(h, c, memory, blocks, new_counters).join()

    # Outputs back at their original positions. A masked step repeats the
    # previous output, as `backend.rnn` does; before the first real step
    # that is zeros (on JAX: the initial `h`, its `states[0]`).
    if layer.zero_output_for_mask or keras.backend.backend() != "jax":
        before_first = ops.zeros_like(h0)
    else:
        before_first = h0
    flat_outputs = ops.reshape(outputs, (-1, d))
    if layer.return_sequences:
        done = step_ids[None, :] + 1 if counts is None else counts
        index = ops.clip(phase[:, None] + done - 1, 0, total_length - 1)
        valid = done >= 1
        if mask is not None and layer.zero_output_for_mask:
            valid = ops.logical_and(valid, mask)
        sequence = _flat_take(flat_outputs,
                              timeline_row(index, batch_ids[:, None]))
        sequence = ops.where(valid[..., None], sequence, before_first[:, None])
        return sequence[:, -1], sequence, states
    index = ops.clip(phase + lengths - 1, 0, total_length - 1)
    valid = lengths >= 1
    if mask is not None and layer.zero_output_for_mask:
        valid = ops.logical_and(valid, mask[:, -1])
    last = _flat_take(flat_outputs, timeline_row(index, batch_ids))
    last = ops.where(valid[:, None], last, before_first)
    return last, last[:, None], states
