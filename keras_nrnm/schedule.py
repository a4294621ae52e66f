"""When NRNM updates its memory and which steps a memory block holds
(Sec. 3.2): `Schedule`, in one place for the cell, the memory, the fast
path, `reach` and `attention_maps`.

Steps are 0-based. The memory is rebuilt after the last step of every window
(steps `win-1, 2 win-1, ...`); the block of the update after step `t` covers
steps `t-k+1 .. t`, position 0 being the oldest. Positions before the start
of the sequence are padding ("not real").

The cell carries two counters per sample (`state.NRNMState.counters`): the
phase in the window (`0 .. win-1`) and the steps the block holds (at most
`k`). `Schedule.advance` moves them by one step; the fast path uses their
closed forms over many steps (`counters_after`, `steps_seen_at_window_ends`).
"""

import numpy as np
from keras import ops

from keras_nrnm import validation
from keras_nrnm.state import split_counters

# The counters are states, cast to the compute dtype; bfloat16 counts
# exactly up to 256, so `block_size` and `window` are at most this.
MAX_COUNTER = 256


class Schedule:
    """The memory's schedule, built and validated once.

    Args:
        block_size: Positive integer `k`, steps per memory block.
        strides: Tuple of positive strides; the largest must divide
            `block_size` (every stride then samples `num_slots` steps).
        window: Positive integer `win`, steps between memory updates, or
            `None` where only the block's layout is needed (`NonLocalMemory`
            knows nothing about time).
        maximum: Largest `block_size` and `window` allowed (`MAX_COUNTER`
            where they are counted in a state), or `None`.

    Raises:
        ValueError, TypeError: an argument out of range or of the wrong
            type; the message names it.

    Examples:
        >>> from keras_nrnm.schedule import Schedule
        >>> s = Schedule(8, (4,), window=4)
        >>> s.num_slots, s.slot_positions(4), list(s.update_steps(12))
        (2, [3, 7], [3, 7, 11])
    """

    def __init__(self, block_size, strides, window=None, maximum=None):
        self.block_size = validation.positive_int("block_size", block_size,
                                                  maximum=maximum)
        self.strides = validation.strides(strides, self.block_size)
        self.window = (None if window is None else validation.positive_int(
            "window", window, maximum=maximum))
        self.num_slots = self.block_size // max(self.strides)

    @classmethod
    def from_layer_arguments(cls, block_size, stride, strides, window,
                             maximum=None):
        """The schedule of `NRNM`'s arguments: `strides`, or `(stride,)`
        when `strides` is `None` (`stride` must then divide
        `block_size`; it must be a positive integer either way)."""
        block_size = validation.positive_int("block_size", block_size,
                                             maximum=maximum)
        stride = validation.positive_int("stride", stride)
        if strides is None:
            validation.divides("stride", stride, "block_size", block_size)
            strides = (stride,)
        return cls(block_size, strides, window, maximum)

    def __repr__(self):
        return (f"Schedule(block_size={self.block_size}, "
                f"strides={self.strides}, window={self.window})")

    # Which block positions each stride reads --------------------------------
    def slot_positions(self, stride):
        """Block positions of the hidden states sampled with `stride` (the
        memory slots' queries): steps `t, t-s, ..., t-(n-1)s`, oldest
        first."""
        first = self.block_size - stride * self.num_slots + stride - 1
        return list(range(first, self.block_size, stride))

    def input_positions(self, stride):
        """Block positions of the inputs of `stride`'s block, the last
        `stride * num_slots` steps."""
        return list(range(self.block_size - stride * self.num_slots,
                          self.block_size))

    def real_positions(self, steps_seen):
        """Boolean `(batch, block_size)`: `True` at the block positions that
        hold real steps, given how many steps each sample has seen."""
        return real_positions(self.block_size, steps_seen)

    # When the memory is rebuilt, for a fresh state --------------------------
    def update_steps(self, num_steps):
        """The steps after which the memory is rebuilt."""
        return range(self.window - 1, num_steps, self.window)

    def is_update_step(self, step):
        """Whether the memory is rebuilt after `step`."""
        return step % self.window == self.window - 1

    def block_steps(self, step):
        """The steps `t-k+1 .. t` of the block of the update after `step`
        (negative before the sequence start), oldest first."""
        return step - self.block_size + 1 + np.arange(self.block_size)

    def steps_in_block(self, step):
        """How many real steps the block of the update after `step` holds."""
        return min(step + 1, self.block_size)

    def block_of(self, sequence, step):
        """The block of the update after `step` taken from a whole
        `sequence` `(batch, steps, width)`: steps `t-k+1 .. t`, zeros before
        the start of the sequence."""
        first = step - self.block_size + 1
        part = sequence[:, max(first, 0): step + 1]
        if first < 0:
            zeros = ops.zeros((ops.shape(sequence)[0], -first,
                               sequence.shape[-1]), part.dtype)
            part = ops.concatenate([zeros, part], axis=1)
        return part

    def lookback(self):
        """The most steps back, counting the current one, that the memory
        read at a step holds: the last update's block, and the up to
        `window - 1` steps since that update."""
        return self.block_size + self.window - 1

    def blocks_per_step(self):
        """`(fewest, most)` blocks holding one step, away from the start."""
        # Update after step t holds t-k+1 .. t; look at one window of steps
        # late enough that every block before them is complete.
        start = self.block_size + self.window
        counts = [sum(1 for t in range(step, step + self.block_size)
                      if self.is_update_step(t))
                  for step in range(start, start + self.window)]
        return min(counts), max(counts)

    # The counters: one step, and closed forms over many ---------------------
    def advance(self, phase, steps_seen):
        """The counters after one more real step: the phase in the window and
        the steps in the block (at most `block_size`). The memory is rebuilt
        when the new phase is 0."""
        return (ops.mod(phase + 1.0, float(self.window)),
                ops.minimum(steps_seen + 1.0, float(self.block_size)))

    def read_counters(self, counters):
        """`(phase, steps_seen)` of a state's counters (any float dtype), as
        int32 and in range."""
        counters = ops.cast(ops.round(ops.cast(counters, "float32")), "int32")
        phase, steps_seen = split_counters(counters)
        return (ops.mod(phase, self.window),
                ops.clip(steps_seen, 0, self.block_size))

    def counters_after(self, phase, steps_seen, num_steps):
        """`advance` applied `num_steps` times (int tensors, per sample)."""
        return (ops.mod(phase + num_steps, self.window),
                ops.minimum(steps_seen + num_steps, self.block_size))

    def num_windows(self, num_steps, counters_at_zero):
        """Windows that hold `num_steps` steps starting at any phase: one
        more than from phase 0, unless every sample starts at phase 0."""
        return ((num_steps + self.window - 1) // self.window
                + (0 if counters_at_zero else 1))

    def whole_windows(self, num_steps):
        """Whether `num_steps` (a Python int) fills whole windows."""
        return num_steps % self.window == 0

    def window_and_phase(self, position):
        """`(window, phase)` of the step at `position` of a timeline that
        starts at phase 0."""
        return position // self.window, position % self.window

    def steps_seen_at_window_ends(self, phase, steps_seen, num_windows):
        """`(num_windows, batch)`: the steps each sample's block holds at the
        end of each window of its timeline (that starts at `phase` with
        `steps_seen`), at least 1 (where it is read, the window holds a
        real step)."""
        window_ends = self.window * (ops.arange(num_windows, dtype="int32")
                                     + 1)
        return ops.clip(
            steps_seen[None, :] + window_ends[:, None] - phase[None, :],
            1, self.block_size)

    @property
    def window_divides_block(self):
        return self.block_size % self.window == 0

    @property
    def windows_per_block(self):
        """Windows per block, when the window divides the block."""
        return self.block_size // self.window


def real_positions(block_size, steps_seen):
    """Boolean `(batch, block_size)`: `True` at the block positions that hold
    real steps, given how many steps each sample has seen (per sample)."""
    positions = ops.arange(block_size, dtype="float32")[None, :]
    first_real = float(block_size) - ops.cast(steps_seen, "float32")
    return positions >= first_real[:, None]


def slide(block, entries):
    """The block buffer after new steps joined it: `block` `(batch, k * d)`
    and `entries` `(batch, m * d)`, both flat and oldest first; the oldest
    `m` steps drop out."""
    return ops.concatenate([block, entries], axis=1)[:, entries.shape[1]:]
