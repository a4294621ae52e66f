"""When NRNM updates its memory and which steps a memory block holds
(Sec. 3.2), in one place for the cell, the fast path and `attention_maps`.

Steps are 0-based. The memory is rebuilt after the last step of every window
(steps `win-1, 2 win-1, ...`); the block of the update after step `t` covers
steps `t-k+1 .. t`, position 0 being the oldest. Positions before the start
of the sequence are padding ("not real").
"""

import numpy as np
from keras import ops


def update_steps(num_steps, window):
    """The steps after which the memory is rebuilt, for a fresh state."""
    return range(window - 1, num_steps, window)


def block_steps(step, block_size):
    """The steps `t-k+1 .. t` of the block of the update after `step`
    (negative before the sequence start), oldest first."""
    return step - block_size + 1 + np.arange(block_size)


def advance(phase, steps_seen, window, block_size):
    """The counters after one more real step: the phase in the window and
    the steps in the block (at most `block_size`). The memory is rebuilt
    when the new phase is 0."""
    return (ops.mod(phase + 1.0, float(window)),
            ops.minimum(steps_seen + 1.0, float(block_size)))


def real_positions(block_size, steps_seen):
    """Boolean `(batch, block_size)`: `True` at the block positions that hold
    real steps, given how many steps each sample has seen (per sample)."""
    positions = ops.arange(block_size, dtype="float32")[None, :]
    first_real = float(block_size) - ops.cast(steps_seen, "float32")
    return positions >= first_real[:, None]


def slot_positions(block_size, stride, num_slots):
    """Block positions of the hidden states sampled with `stride` (the memory
    slots' queries): steps `t, t-s, ..., t-(l-1)s`, oldest first."""
    first = block_size - stride * num_slots + stride - 1
    return list(range(first, block_size, stride))


def input_positions(block_size, stride, num_slots):
    """Block positions of the inputs of `stride`'s block, the last
    `stride * num_slots` steps."""
    return list(range(block_size - stride * num_slots, block_size))


def slide(block, entries):
    """The block buffer after new steps joined it: `block` `(batch, k * d)`
    and `entries` `(batch, m * d)`, both flat and oldest first; the oldest
    `m` steps drop out."""
    return ops.concatenate([block, entries], axis=1)[:, entries.shape[1]:]
