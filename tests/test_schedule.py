"""`Schedule` (the one home of the memory's timing) and `NRNMState` (the
cell's state by name): the closed forms against step-by-step iteration, the
validation shared by every layer, and the state layout Keras sees."""

import pathlib
import re

import keras
import numpy as np
import pytest
from keras import ops

from keras_nrnm import NRNM, NRNMCell, NonLocalMemory, reach
from keras_nrnm.schedule import MAX_COUNTER, Schedule
from keras_nrnm.state import Blocks, NRNMState, join_counters

pytestmark = pytest.mark.core

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "keras_nrnm"


def numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


@pytest.mark.parametrize("block_size, window", [(8, 4), (6, 4), (4, 7),
                                                (5, 1)])
def test_closed_forms_equal_one_step_at_a_time(block_size, window):
    schedule = Schedule(block_size, (1,), window)
    phase0 = np.array([0, 1, window - 1, 0, window - 1])
    seen0 = np.array([0, 2, block_size, block_size, 1])
    num_windows = 4
    ends = schedule.steps_seen_at_window_ends(
        ops.convert_to_tensor(phase0, "int32"),
        ops.convert_to_tensor(seen0, "int32"), num_windows)
    for sample, (p0, s0) in enumerate(zip(phase0, seen0)):
        phase, seen = float(p0), float(s0)
        # The timeline starts at the sample's phase: window j ends after
        # (j + 1) * window - p0 of its steps.
        for n in range(1, num_windows * window - p0 + 1):
            phase, seen = (float(v) for v in schedule.advance(phase, seen))
            after = schedule.counters_after(np.int32(p0), np.int32(s0), n)
            assert (int(after[0]), int(after[1])) == (phase, seen)
            assert (phase == 0) == schedule.is_update_step(p0 + n - 1)
            if (p0 + n) % window == 0:
                assert numpy(ends)[(p0 + n) // window - 1, sample] == max(
                    seen, 1)


def test_read_counters_rounds_and_clips():
    schedule = Schedule(4, (2,), 3)
    counters = ops.convert_to_tensor([[2.0, 3.0], [3.0, 9.0], [0.9, -1.0]])
    phase, seen = schedule.read_counters(counters)
    assert numpy(phase).tolist() == [2, 0, 1]
    assert numpy(seen).tolist() == [3, 4, 0]


@pytest.mark.parametrize("steps, at_zero, expected", [
    (8, True, 2), (9, True, 3), (8, False, 3), (1, False, 2)])
def test_num_windows(steps, at_zero, expected):
    assert Schedule(8, (4,), 4).num_windows(steps, at_zero) == expected


def test_positions_blocks_and_reach():
    schedule = Schedule(10, (1, 3, 5), 4)
    assert schedule.num_slots == 2
    assert [schedule.slot_positions(s) for s in (1, 3, 5)] == [
        [8, 9], [6, 9], [4, 9]]
    assert schedule.input_positions(3) == [4, 5, 6, 7, 8, 9]
    assert list(schedule.update_steps(12)) == [3, 7, 11]
    assert schedule.block_steps(3).tolist() == list(range(-6, 4))
    assert schedule.steps_in_block(3) == 4 and schedule.steps_in_block(20) == 10
    sequence = ops.convert_to_tensor(
        np.arange(2 * 12 * 3, dtype="float32").reshape(2, 12, 3))
    block = numpy(schedule.block_of(sequence, 3))
    assert block.shape == (2, 10, 3)
    np.testing.assert_array_equal(block[:, :6], 0.0)
    np.testing.assert_array_equal(block[:, 6:], numpy(sequence)[:, :4])
    np.testing.assert_array_equal(numpy(schedule.block_of(sequence, 11)),
                                  numpy(sequence)[:, 2:])


@pytest.mark.parametrize("block_size, window", [(8, 4), (8, 3), (8, 12),
                                                (4, 1), (5, 2)])
def test_blocks_per_step_counts_the_blocks(block_size, window):
    schedule = Schedule(block_size, (1,), window)
    start = 3 * (block_size + window)
    counts = [sum(1 for t in schedule.update_steps(start + 3 * block_size)
                  if t - block_size < step <= t)
              for step in range(start, start + window)]
    assert schedule.blocks_per_step() == (min(counts), max(counts))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(block_size=0), ValueError, "block_size=0"),
    (dict(block_size=8, stride=3), ValueError,
     "`stride` must divide `block_size`. Received: stride=3, block_size=8"),
    (dict(window=0), ValueError, "window=0"),
    (dict(window=2.0), TypeError, "`window` must be a positive integer"),
    (dict(block_size=8, strides=(1, 3, 5)), ValueError,
     "The largest of `strides` must divide `block_size`. "
     "Received: strides=(1, 3, 5), block_size=8"),
])
def test_one_validation_for_every_layer(kwargs, error, message):
    """The cell, `reach` and (for its arguments) the memory check the
    schedule's arguments through `Schedule`: one message each."""
    with pytest.raises(error, match=re.escape(message)):
        NRNMCell(8, **kwargs)
    with pytest.raises(error, match=re.escape(message)):
        reach(**kwargs)
    if "window" not in kwargs and "stride" not in kwargs:
        memory_kwargs = {"strides": (4,), **kwargs}
        with pytest.raises(error, match=re.escape(message)):
            NonLocalMemory(8, **{"block_size": 8, **memory_kwargs})


def test_the_counted_limit_is_the_cells_only():
    with pytest.raises(ValueError, match=f"at most {MAX_COUNTER}"):
        NRNMCell(8, window=MAX_COUNTER + 1)
    assert reach(block_size=300, stride=4).num_slots == 75
    assert NonLocalMemory(8, block_size=300, strides=(4,)).num_slots == 75


@pytest.mark.parametrize("backward_states, expected", [
    (False, [16, 16, 32, 64, 64, 2]), (True, [16, 16, 32, 64, 64, 64, 2])])
def test_state_layout_is_unchanged(backward_states, expected):
    cell = NRNMCell(16, block_size=4, stride=2, window=2,
                    backward_states=backward_states)
    assert list(cell.state_size) == expected
    state = NRNMState.split(cell.state_size)
    assert (state.h, state.memory, state.counters) == (16, 32, 2)
    assert state.blocks == Blocks(64, 64, 64 if backward_states else None)
    assert state.join() == expected


def test_state_split_join_round_trip_and_checks():
    flat = ["h", "c", "m", "hidden", "inputs", "backward", "counters"]
    state = NRNMState.split(flat)
    assert state.blocks == Blocks("hidden", "inputs", "backward")
    assert state.join() == flat
    with pytest.raises(ValueError, match="Received 5"):
        NRNMState.split(flat[:5])
    counters = join_counters(ops.convert_to_tensor([1.0, 2.0]),
                             ops.convert_to_tensor([3.0, 4.0]), "float16")
    assert numpy(counters).tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert keras.backend.standardize_dtype(counters.dtype) == "float16"


def test_call_leaves_no_attribute_behind():
    """What the fast path needs from `call` is an argument, not an
    attribute set for the call's duration."""
    layer = NRNM(8, block_size=4, stride=2, window=2, num_heads=2)
    before = set(vars(layer))
    layer(np.zeros((2, 5, 3), "float32"))
    assert not {name for name in set(vars(layer)) - before
                if "counter" in name}


def test_no_schedule_arithmetic_outside_the_schedule():
    """The slot count and the window's arithmetic have one home."""
    pattern = re.compile(r"% ?window|// ?max\(")
    found = [f"{path.name}:{number}"
             for path in sorted(PACKAGE.glob("*.py"))
             if path.name != "schedule.py"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert not found
