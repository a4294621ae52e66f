"""The state of an `NRNMCell` by name: `NRNMState`.

Keras sees the state as a flat list, in the order of `state_size`: `h`, `c`,
the memory, the block buffers (hidden states, projected inputs and, with
`backward_states`, backward hidden states) and the counters. `NRNMState.split`
reads that list and `NRNMState.join` writes it; nothing else in the package
knows the order.
"""

from typing import Any, NamedTuple

from keras import ops


class Blocks(NamedTuple):
    """The block buffers, each `(batch, block_size * units)`, oldest step
    first: the hidden states, the projected inputs and, with
    `backward_states`, the backward hidden states (else `None`)."""

    hidden: Any
    inputs: Any
    backward: Any = None

    def buffers(self):
        """The buffers held, in the state's order."""
        return tuple(block for block in self if block is not None)


class NRNMState(NamedTuple):
    """The cell's state: `h`, `c` (zero with the gru and simple backbones),
    the memory `(batch, slots * units)`, the `Blocks` and the counters
    `(batch, 2)` (phase in the window, steps seen; see `schedule`). The
    fields may hold tensors, sizes or shapes alike.

    Examples:
        >>> from keras_nrnm.state import Blocks, NRNMState
        >>> state = NRNMState.split(["h", "c", "m", "hb", "ib", "n"])
        >>> state.blocks, state.counters
        (Blocks(hidden='hb', inputs='ib', backward=None), 'n')
        >>> state._replace(h="h2").join()
        ['h2', 'c', 'm', 'hb', 'ib', 'n']
    """

    h: Any
    c: Any
    memory: Any
    blocks: Blocks
    counters: Any

    @classmethod
    def split(cls, states):
        """The state of the flat list `states` (in `state_size` order)."""
        if len(states) not in (6, 7):
            raise ValueError(
                "Argument `states` must be the 6 states of an NRNMCell (7 "
                f"with `backward_states=True`). Received {len(states)}.")
        h, c, memory, *buffers, counters = states
        return cls(h, c, memory, Blocks(*buffers), counters)

    def join(self):
        """The flat list, in `state_size` order."""
        return [self.h, self.c, self.memory, *self.blocks.buffers(),
                self.counters]


def split_counters(counters):
    """`(phase, steps_seen)`: the columns of a `(batch, 2)` counters state."""
    return counters[:, 0], counters[:, 1]


def join_counters(phase, steps_seen, dtype):
    """The `(batch, 2)` counters state of `phase` and `steps_seen`, in
    `dtype` (the loop-carried dtype, e.g. bfloat16 under mixed
    precision)."""
    return ops.cast(ops.stack([phase, steps_seen], axis=1), dtype)
