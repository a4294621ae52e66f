"""`keras_nrnm.reach`: the memory's schedule, and its costs against counts
made independently (built layers, the guide's weight formulas, the
benchmarks page's multiply-add table)."""

import dataclasses

import keras
import pytest

from keras_nrnm import NRNM, Reach, reach
from keras_nrnm.reach_and_cost import multiply_adds

pytestmark = pytest.mark.core


def test_schedule_of_the_defaults():
    r = reach(steps=10)
    assert isinstance(r, Reach)
    assert (r.block_size, r.window, r.strides, r.num_slots) == (8, 4, (4,), 2)
    assert r.slot_offsets == (-4, 0)      # slots at t-4 and t
    assert r.lookback == 11               # 8-step block + up to 3 steps since
    assert r.blocks_per_step == (2, 2)    # blocks overlap by half
    assert r.update_steps == (3, 7)
    assert r.chain_steps == 8             # steps 8, 9 only in the LSTM state
    assert r.params is None and r.extra_params is None
    assert r.multiply_add_ratio is None


@pytest.mark.parametrize("block_size, window, expected", [
    (8, 8, (1, 1)),    # disjoint blocks
    (8, 3, (2, 3)),
    (8, 12, (0, 1)),   # 4 steps of every 12 in no block
    (4, 1, (4, 4)),
])
def test_blocks_per_step(block_size, window, expected):
    assert reach(block_size=block_size, window=window, stride=2
                 ).blocks_per_step == expected


def test_no_update_in_a_short_sequence():
    r = reach(window=6, steps=5)
    assert r.update_steps == () and r.chain_steps == 0
    assert "no memory update (the first comes after step 5)" in str(r)


def test_multi_scale():
    r = reach(block_size=10, strides=(1, 3, 5), steps=12)
    assert r.strides == (1, 3, 5) and r.num_slots == 2
    assert r.slot_offsets == (-5, 0)
    assert r.update_steps == (3, 7, 11)


@pytest.mark.parametrize("gates, maps", [("separate", 2), ("tied", 1)])
def test_weights_follow_the_guides_formulas(gates, maps):
    d, D, k, n = 16, 6, 8, 2
    r = reach(units=d, input_dim=D, num_heads=2, memory_gates=gates)
    lstm = 4 * d * (D + d + 1)
    memory = (D * d + d                               # input units
              + D * n * d + (n * d) ** 2 + n * d      # memory gate
              + n * d * d                             # memory projection
              + 4 * (d * d + d) + 4 * d + d * d + d   # attention, norms, FC
              + 2 * n * (k + n) + maps * 2 * d * d + 2 * n * d)  # Eq. 9
    assert r.lstm_params == lstm == 1472
    assert r.params == lstm + memory
    assert r.extra_params == memory
    layer = NRNM(d, num_heads=2, memory_gates=gates)
    layer.build((None, None, D))
    assert r.params == layer.count_params()


@pytest.mark.parametrize("strides", [(4,), (1, 2, 4)])
def test_output_projection_costs(strides):
    # W^o: d^2 + d weights and n d^2 multiply-adds per stride and update.
    d, D, n = 16, 6, 2
    with_wo, without = (
        reach(units=d, input_dim=D, strides=strides, num_heads=2,
              attention_output_projection=flag) for flag in (True, False))
    assert with_wo.params - without.params == len(strides) * (d * d + d)
    assert (with_wo.multiply_adds - without.multiply_adds
            == len(strides) * n * d * d / 4)
    layer = NRNM(d, strides=strides, num_heads=2,
                 attention_output_projection=False)
    layer.build((None, None, D))
    assert without.params == layer.count_params()
    assert not without.attention_output_projection


def test_multi_scale_weights_match_the_built_layer():
    r = reach(units=16, input_dim=3, block_size=10, strides=(1, 3, 5))
    layer = NRNM(16, block_size=10, strides=(1, 3, 5))
    layer.build((None, None, 3))
    lstm = keras.layers.LSTM(16)
    lstm.build((None, None, 3))
    assert (r.params, r.lstm_params) == (layer.count_params(), lstm.count_params())


def test_multiply_adds_at_the_papers_setting():
    # docs/benchmarks.md, "Why NRNM costs 2-3 LSTMs here" (tied gates,
    # d = 512, k = 8, n = 2, window 4): the table's parts, with the
    # attention's weighted sum of the values (n (n + k) d per update)
    # counted as well as its scores.
    d = 512
    tied = multiply_adds(d, 150, memory_gates="tied", per_part=True)
    assert tied["LSTM"] == 1_355_776
    assert tied["input units and memory-gate input term"] == 230_400
    # Each input's keys and values once, folded (D = 150 < d): 2 D d.
    assert tied["keys and values of the inputs"] == 2 * 150 * d == 153_600
    assert tied["memory contribution"] == 524_288
    assert tied["memory-gate memory term"] == 262_144
    # Per update: W^q and W^o on 2 slots, keys and values of the 2 slots,
    # scores and weighted values over 2 + 8 units.
    assert tied["attention"] == (2 * 2 * d * d + 2 * 2 * d * d
                                 + 2 * 2 * 10 * d) / 4 == 529_408
    assert tied["FC and gates"] == 398_336
    assert sum(tied.values()) == 3_453_952
    # Inputs as wide as the layer: keys and values from the input unit.
    assert multiply_adds(d, d, memory_gates="tied") == 5_122_048
    assert multiply_adds(d, d, per_part=True)[
        "keys and values of the inputs"] == 2 * d * d
    # The default (tied gates), and separate Eq. 9 maps: 2 n d^2 more per
    # update and 2 d^2 more weights.
    r = reach(units=d, input_dim=150)
    assert r.multiply_adds == 3_453_952
    assert r.lstm_multiply_adds == 1_355_776
    assert r.multiply_add_ratio == pytest.approx(2.5476, abs=1e-4)
    assert (r.params, r.lstm_params) == (5_004_328, 1_357_824)
    separate = reach(units=d, input_dim=150, memory_gates="separate")
    assert separate.multiply_adds == 3_453_952 + 2 * 2 * d ** 2 / 4 == 3_716_096
    assert separate.multiply_add_ratio == pytest.approx(2.7409, abs=1e-4)
    assert separate.params == 5_004_328 + 2 * d ** 2 == 5_528_616


def test_multiply_adds_count_keys_and_values_per_stride():
    # Three strides: each has its own W^k, W^v, so each input is projected
    # three times (once per stride), and each stride's slots once.
    d, D = 16, 3
    one = multiply_adds(d, D, block_size=12, strides=(4,), per_part=True)
    three = multiply_adds(d, D, block_size=12, strides=(1, 2, 4),
                          per_part=True)
    assert one["keys and values of the inputs"] == 2 * D * d
    assert three["keys and values of the inputs"] == 3 * 2 * D * d


def test_summary_and_frozen():
    r = reach(units=64, input_dim=6, steps=20)
    text = str(r)
    assert "block_size=8, window=4, stride 4 (2 slots)" in text
    assert "5 updates, after steps 3, 7, 11, ..., 19" in text
    assert f"{r.params:,} weights, {r.extra_params:,} more than an LSTM's" in text
    assert f"{r.multiply_add_ratio:.2f}x the LSTM's" in text
    assert repr(r).startswith("Reach(block_size=8, window=4,")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.window = 2


@pytest.mark.parametrize("kwargs, name", [
    (dict(window=0), "window"),
    (dict(block_size=-1), "block_size"),
    (dict(steps=0), "steps"),
    (dict(stride=3), "stride"),
    (dict(block_size=8, strides=(3,)), "strides"),
    (dict(memory_gates="shared"), "memory_gates"),
    (dict(units=16), "input_dim"),
    (dict(input_dim=16), "units"),
    (dict(units=10, input_dim=3, num_heads=4), "num_heads"),
    (dict(units=0, input_dim=3), "units"),
])
def test_errors_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        reach(**kwargs)


def test_type_errors_name_the_argument():
    with pytest.raises(TypeError, match="`window`"):
        reach(window=2.5)


def test_speed_benchmark_prints_the_models_multiply_adds():
    """`benchmarks/speed.py` reads its ratios against this floor: both
    layers' multiply-adds, the second reading the first's units."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import speed

    args = speed.parse_args(["--units", "64", "--features", "6",
                             "--layers", "2", "--window", "8"])
    nrnm = (multiply_adds(64, 6, window=8) + multiply_adds(64, 64, window=8))
    lstm = 4 * 64 * (6 + 64) + 4 * 64 * (64 + 64)
    assert speed.multiply_adds_line(args) == (
        f"multiply-adds per step and sample (keras_nrnm.reach): "
        f"NRNM {nrnm:,.0f}, LSTM {lstm:,} ({nrnm / lstm:.2f}x)")


def test_the_function_and_its_module_do_not_share_a_name():
    """`keras_nrnm.reach` is the function; its module has a name of its own
    (a module `keras_nrnm/reach.py` would be hidden by the function, so
    `import keras_nrnm.reach` and the attribute would disagree)."""
    import importlib
    import importlib.util

    import keras_nrnm

    module = importlib.import_module("keras_nrnm.reach_and_cost")
    assert keras_nrnm.reach is module.reach and callable(keras_nrnm.reach)
    assert keras_nrnm.Reach is module.Reach
    assert importlib.util.find_spec("keras_nrnm.reach") is None
