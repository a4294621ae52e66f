"""How far back NRNM's memory sees, and what it costs.

`keras_nrnm.reach` (the function, exported by the package) and
`keras_nrnm.Reach` live here. The module is not named `reach`: the
package's `reach` attribute is the function, which would hide a module of
that name. This is also the one home of NRNM's multiply-add accounting
(`multiply_adds`, `lstm_multiply_adds`); the hyperparameter guide and the
benchmarks page quote it.
"""

import dataclasses
from typing import Any

from keras_nrnm import validation
from keras_nrnm._typing import Strides
from keras_nrnm.memory import GATE_LAYOUTS
from keras_nrnm.schedule import Schedule


@dataclasses.dataclass(frozen=True)
class Reach:
    """What `keras_nrnm.reach` returns; `str()` gives a readable summary.

    Steps are 0-based. "Cost" fields are `None` unless `units` and
    `input_dim` were given.

    Attributes:
        block_size: Steps one memory update attends over (`t-k+1 .. t`).
        window: The memory is rebuilt after every `window`-th step.
        strides: The memory's strides (`(stride,)` for a single scale).
        num_slots: Memory slots `n = block_size / max(strides)`.
        slot_offsets: Steps of the sampled hidden states (the slots'
            queries) relative to the update's step `t`, oldest first.
        lookback: The most steps back, counting the current one, that the
            memory read at a step holds: the last update's block plus the
            up to `window - 1` steps since that update.
        blocks_per_step: `(fewest, most)` memory blocks a step belongs to
            once the sequence is long enough; `0` means some steps are in
            no block (`window > block_size`).
        steps: The sequence length asked about, or `None`.
        update_steps: The steps after which the memory is rebuilt
            (`None` without `steps`).
        chain_steps: Steps `0 .. last update` that the final memory
            carries through the gated chain `M_t = G_i * tanh(M~_t) +
            G_f * M_{t-win}` (Eq. 8); the steps after the last update reach
            the output through the LSTM state only. 0 when no update
            happens (`steps < window`).
        units: Layer width `d`, or `None`.
        input_dim: Input features `D`, or `None`.
        memory_gates: `"separate"` or `"tied"` (Eq. 9 layout).
        attention_output_projection: Whether the attention has an output
            projection `W^o`.
        params: Weights of one `NRNM` layer (biases included).
        lstm_params: Weights of a `keras.layers.LSTM` of the same width.
        multiply_adds: Multiply-adds per step and sample of the NRNM layer,
            the once-per-window work spread over the window's steps.
        lstm_multiply_adds: The same for the LSTM, `4 d (D + d)`.
    """

    block_size: int
    window: int
    strides: tuple
    num_slots: int
    slot_offsets: tuple
    lookback: int
    blocks_per_step: tuple
    steps: int | None = None
    update_steps: tuple | None = None
    chain_steps: int | None = None
    units: int | None = None
    input_dim: int | None = None
    memory_gates: str = "tied"
    attention_output_projection: bool = True
    params: int | None = None
    lstm_params: int | None = None
    multiply_adds: float | None = None
    lstm_multiply_adds: int | None = None

    @property
    def extra_params(self) -> int | None:
        """Weights beyond the same-width LSTM's (`None` without costs)."""
        if self.params is None or self.lstm_params is None:
            return None
        return self.params - self.lstm_params

    @property
    def multiply_add_ratio(self) -> float | None:
        """NRNM's multiply-adds per step over the LSTM's."""
        if self.multiply_adds is None or not self.lstm_multiply_adds:
            return None
        return self.multiply_adds / self.lstm_multiply_adds

    def __str__(self):
        scales = (f"stride {self.strides[0]}" if len(self.strides) == 1
                  else f"strides {self.strides}")
        offsets = ", ".join(f"t{o:+d}" if o else "t" for o in self.slot_offsets)
        fewest, most = self.blocks_per_step
        in_blocks = (f"{fewest}" if fewest == most else f"{fewest}-{most}")
        lines = [
            f"NRNM memory, block_size={self.block_size}, window={self.window}, "
            f"{scales} ({self.num_slots} slots):",
            f"  each update attends over the last {self.block_size} steps "
            f"(slots sampled at {offsets}"
            + (", largest stride" if len(self.strides) > 1 else "")
            + f"); one every {self.window} steps",
            f"  a step reads memory of at most {self.lookback} steps back "
            f"(itself included); each step is in {in_blocks} memory "
            + ("block" if most == 1 else "blocks"),
        ]
        if self.steps is not None:
            updates = self.update_steps
            if updates:
                shown = ", ".join(str(u) for u in updates[:3])
                more = f", ..., {updates[-1]}" if len(updates) > 3 else ""
                lines.append(
                    f"  over {self.steps} steps: {len(updates)} updates, after "
                    f"steps {shown}{more}; the gated chain carries steps "
                    f"0-{self.chain_steps - 1} to the end")
            else:
                lines.append(f"  over {self.steps} steps: no memory update "
                             f"(the first comes after step {self.window - 1})")
        if self.params is not None:
            lines.append(
                f"  cost at units={self.units}, input_dim={self.input_dim} "
                f"({self.memory_gates} gates): {self.params:,} weights, "
                f"{self.extra_params:,} more than an LSTM's "
                f"{self.lstm_params:,} ({self.params / self.lstm_params:.2f}x)")
            lines.append(
                f"  {self.multiply_adds:,.0f} multiply-adds per step and sample, "
                f"{self.multiply_add_ratio:.2f}x the LSTM's "
                f"{self.lstm_multiply_adds:,}")
        return "\n".join(lines)


def reach(*, block_size: int = 8, window: int = 4, stride: int = 4,
          strides: Strides | None = None, num_heads: int = 4,
          steps: int | None = None, units: int | None = None,
          input_dim: int | None = None, memory_gates: str = "tied",
          attention_output_projection: bool = True) -> Reach:
    """How far back NRNM's memory sees, and what it costs over an LSTM.

    The arguments are those of `keras_nrnm.NRNM` (same defaults), plus the
    sequence length `steps` and, for the costs, the layer's `units` and
    `input_dim` (both or neither). The weights are counted on layers built
    for the purpose (`count_params`); the multiply-adds follow the layer's
    equations (see `multiply_adds`).

    Args:
        block_size: Steps per memory block `k`. Default: 8.
        window: The memory is updated every `window` steps. Default: 4.
        stride: Every `stride`-th hidden state of a block becomes a memory
            slot; must divide `block_size`. Default: 4.
        strides: Tuple of strides of the multi-scale memory; replaces
            `stride`. Default: `None`.
        num_heads: Attention heads, must divide `units`. Default: 4.
        steps: Optional sequence length: when the memory is updated over
            it, and how much of it the final memory carries.
        units: Optional layer width `d`, for the costs.
        input_dim: Optional input features `D`, for the costs.
        memory_gates: `"tied"` or `"separate"` (as `NRNM`). Default:
            `"tied"`.
        attention_output_projection: As `NRNM`. Default: `True`.

    Returns:
        A frozen `Reach`; `print` it for a summary.

    Raises:
        ValueError: an argument out of range (the message names it), or
            only one of `units` and `input_dim`.
        TypeError: an argument that is not an integer.

    Examples:
        >>> from keras_nrnm import reach
        >>> r = reach(block_size=8, window=4, steps=100)
        >>> r.lookback, r.update_steps[:3], r.chain_steps
        (11, (3, 7, 11), 100)
        >>> r = reach(units=64, input_dim=6)
        >>> r.extra_params, round(r.multiply_add_ratio, 2)
        (55464, 2.66)
    """
    schedule = Schedule.from_layer_arguments(block_size, stride, strides,
                                             window)
    block_size, window = schedule.block_size, schedule.window
    scales = schedule.strides
    num_heads = validation.positive_int("num_heads", num_heads)
    memory_gates = validation.one_of("memory_gates", memory_gates, GATE_LAYOUTS)
    attention_output_projection = validation.boolean(
        "attention_output_projection", attention_output_projection)
    positions = schedule.slot_positions(max(scales))
    slot_offsets = tuple(p - (block_size - 1) for p in positions)

    fields: dict[str, Any] = {}
    if steps is not None:
        steps = validation.positive_int("steps", steps)
        updates = tuple(schedule.update_steps(steps))
        fields.update(steps=steps, update_steps=updates,
                      chain_steps=updates[-1] + 1 if updates else 0)
    if (units is None) != (input_dim is None):
        missing = "input_dim" if input_dim is None else "units"
        raise ValueError(
            f"Argument `{missing}` is needed with "
            f"`{'units' if missing == 'input_dim' else 'input_dim'}`: the "
            f"costs depend on both. Received: units={units}, "
            f"input_dim={input_dim}")
    if units is not None:
        units = validation.positive_int("units", units)
        input_dim = validation.positive_int("input_dim", input_dim)
        validation.divides("num_heads", num_heads, "units", units)
        params, lstm_params = _count_params(
            units, input_dim, block_size=block_size, stride=scales[0],
            strides=None if strides is None else scales, window=window,
            num_heads=num_heads, memory_gates=memory_gates,
            attention_output_projection=attention_output_projection)
        fields.update(
            units=units, input_dim=input_dim, params=params,
            lstm_params=lstm_params,
            multiply_adds=multiply_adds(
                units, input_dim, block_size=block_size, strides=scales,
                window=window, memory_gates=memory_gates,
                attention_output_projection=attention_output_projection),
            lstm_multiply_adds=lstm_multiply_adds(units, input_dim))
    return Reach(
        block_size=block_size, window=window, strides=scales,
        num_slots=schedule.num_slots, slot_offsets=slot_offsets,
        lookback=schedule.lookback(),
        blocks_per_step=schedule.blocks_per_step(),
        memory_gates=memory_gates,
        attention_output_projection=attention_output_projection, **fields)


def _count_params(units, input_dim, **memory):
    import keras

    from keras_nrnm.layer import NRNM

    layer = NRNM(units, **memory)
    layer.build((None, None, input_dim))
    lstm = keras.layers.LSTM(units)
    lstm.build((None, None, input_dim))
    return layer.count_params(), lstm.count_params()


def lstm_multiply_adds(units, input_dim):
    """Multiply-adds per step and sample of an LSTM: `x W + h U`."""
    return 4 * units * (input_dim + units)


def multiply_adds(units, input_dim, block_size=8, strides=(4,), window=4,
                  memory_gates="tied", attention_output_projection=True,
                  per_part=False):
    """Multiply-adds per step and sample of one NRNM layer (LSTM backbone).

    Matrix products only (activations, norms and additions are left out),
    the once-per-window memory update spread over the window's `window`
    steps, as `NRNM`'s fast path computes them. With `d = units`,
    `D = input_dim`, `k = block_size`, `n = k / max(strides)` slots, for
    one stride `s` (`s n` input units):

    - LSTM, every step: `4 d (D + d)`;
    - input units and memory-gate input term, every step: `D d + D n d`;
    - keys and values of the input unit, every step and stride:
      `2 min(D, d) d` (each input is projected once, when it enters the
      block, and `W_x` is folded into `W^k`, `W^v` when `D < d`; the cell
      path projects the `s n` inputs of every block again);
    - memory contribution `P (g_m * v_m)`, every step: `n d^2`;
    - per window: memory-gate memory term `U_m v_m`: `(n d)^2`; per stride,
      attention queries `n d^2`, keys and values of the slots `2 n d^2`,
      scores and weighted values `2 n (n + s n) d`, output projection
      `n d^2`
      (with `attention_output_projection`), and the FC of
      Eq. 6 `n d^2`; with several strides the fusion (Eq. 7): attention
      over the `N n` slots of the `N` strides, `4 N n d^2 + 2 (N n)^2 d`,
      and its dense map `N n d^2`; the memory gates (Eq. 9): unit mixing
      `2 n (k + n) d` and channel maps `2 n d^2` per map (two maps when
      `separate`, one when `tied`).

    Args:
        units: Layer width `d`.
        input_dim: Input features `D`.
        block_size: Steps per block `k`. Default: 8.
        strides: The memory's strides. Default: `(4,)`.
        window: Steps between memory updates. Default: 4.
        memory_gates: `"tied"` or `"separate"`. Default: `"tied"`.
        attention_output_projection: Whether Eq. 5 has `W^o`. Default:
            `True`.
        per_part: If `True`, return a dict of the parts above (per step)
            instead of their sum.

    Returns:
        A float (or a dict of floats): multiply-adds per step and sample.
    """
    schedule = Schedule(block_size, tuple(strides), window)
    d, D, k, n = units, input_dim, schedule.block_size, schedule.num_slots
    strides = schedule.strides
    per_window = {
        "memory-gate memory term": (n * d) ** 2,
        "attention": 0,
        "FC and gates": 0,
    }
    for s in strides:
        sources = n + s * n  # the slots' hidden states and s n inputs
        projections = 2 if attention_output_projection else 1  # W^q [, W^o]
        per_window["attention"] += (projections * n * d * d
                                    + 2 * n * d * d  # the slots' keys, values
                                    + 2 * n * sources * d)
        per_window["FC and gates"] += n * d * d
    if len(strides) > 1:
        tokens = len(strides) * n
        per_window["attention"] += 4 * tokens * d * d + 2 * tokens * tokens * d
        per_window["FC and gates"] += tokens * d * d
    maps = 2 if memory_gates == "separate" else 1
    per_window["FC and gates"] += 2 * n * (k + n) * d + maps * 2 * n * d * d
    parts = {
        "LSTM": lstm_multiply_adds(d, D),
        "input units and memory-gate input term": D * d + D * n * d,
        "keys and values of the inputs": len(strides) * 2 * min(D, d) * d,
        "memory contribution": n * d * d,
        **{name: value / schedule.window
           for name, value in per_window.items()},
    }
    return parts if per_part else float(sum(parts.values()))
