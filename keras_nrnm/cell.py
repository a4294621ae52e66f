"""`NRNMCell`: one time step of an LSTM backbone with a non-local memory."""

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
from keras import ops

from keras_nrnm import validation
from keras_nrnm._keras_internals import DropoutRNNCell, in_stateless_scope
from keras_nrnm._typing import (
    Activation, Constraint, DType, Initializer, Regularizer, ShapeLike,
    Strides, Tensor)
from keras_nrnm.memory import GATE_LAYOUTS, NonLocalMemory, keys_and_values
from keras_nrnm.products import last_axis_product
from keras_nrnm.schedule import MAX_COUNTER, Schedule, slide
from keras_nrnm.state import Blocks, NRNMState, join_counters, split_counters

# Backbone -> number of gate blocks in its kernels.
BACKBONES = {"lstm": 4, "gru": 3, "simple": 1}

# Arguments that Keras's own readers take, each error naming the argument.
KERAS_OBJECT_READERS = {
    "fusion_activation": keras.activations.get,
    "activation": keras.activations.get,
    "recurrent_activation": keras.activations.get,
    "kernel_initializer": keras.initializers.get,
    "recurrent_initializer": keras.initializers.get,
    "bias_initializer": keras.initializers.get,
    "memory_projection_initializer": keras.initializers.get,
    "kernel_regularizer": keras.regularizers.get,
    "recurrent_regularizer": keras.regularizers.get,
    "bias_regularizer": keras.regularizers.get,
    "kernel_constraint": keras.constraints.get,
    "recurrent_constraint": keras.constraints.get,
    "bias_constraint": keras.constraints.get,
}


class InputWeights(NamedTuple):
    """The input kernels side by side (`NRNMCell.input_weights`)."""

    kernel: Any
    bias: Any  # None without any bias
    key_value_maps: Any  # per stride `(kernel, bias)` to apply, or None


class InputTerms(NamedTuple):
    """What a step computes from its input alone (`NRNMCell.input_terms`)."""

    gates: Any  # x W + b, the backbone's gate inputs (Eq. 11)
    memory: Any  # x W_m + b_m, the memory gate's input part (Eq. 12)
    units: Any  # x W_x + b_x, the input as a unit (Eq. 5)
    keys_values: tuple = ()  # per stride, the input unit's keys and values


@keras.saving.register_keras_serializable(package="keras_nrnm")
class NRNMCell(keras.layers.Layer, DropoutRNNCell):
    """Cell class for the `NRNM` layer: an LSTM step with a non-local memory.

    At every step the LSTM backbone reads the current memory state through a
    memory gate (Eq. 10-13). Every `window` steps the memory is rebuilt from
    the last `block_size` steps by self-attention (Eq. 5-6) and merged with
    the previous memory by gates (Eq. 8-9). See `docs/design.md`.

    This class processes one step; `keras_nrnm.NRNM` processes a whole
    sequence (and is faster). The cell works in `keras.layers.RNN`, in a list
    of cells together with Keras's own cells, and inside
    `keras.layers.Bidirectional(keras.layers.RNN(...))`.

    `keras.layers.RNN(NRNMCell(...), return_state=True)` returns the output
    followed by every state of the cell, in the order of `state_size`: `h`,
    `c`, the memory, the block buffers and the step counters (6 tensors, 7
    with `backward_states=True`), where `keras.layers.LSTM` returns
    `[output, h, c]`. `cell.public_states(states)` picks `[h, c]` out of
    them (`[h]` for the gru and simple backbones); `keras_nrnm.NRNM` returns
    `[output, h, c]` itself.

    Args:
        units: Positive integer, dimensionality of the output space and of
            each memory slot.
        block_size: Positive integer `k`, number of steps a memory block
            covers (steps `t-k+1 .. t`). Default: 8 (best in the paper).
        stride: Positive integer `s` dividing `block_size`: every `s`-th
            hidden state of the block becomes a memory slot, so the memory has
            `block_size // stride` slots. Default: 4 (2 slots, as in the
            authors' code).
        strides: Optional tuple of strides for the multi-scale dilated
            memory (Eq. 7, Fig. 4), e.g. `(1, 3, 5)`: one memory embedding per
            stride, each over `block_size / max(strides)` sampled steps, fused
            by self-attention and an FC layer (see `fusion_activation`).
            Replaces `stride`; the largest stride must divide `block_size`,
            which is the largest stride's block. Default: `None` (single
            scale).
        window: Positive integer `win`, the memory is updated every `window`
            steps (after steps `win-1, 2*win-1, ...`). Default: 4.
        num_heads: Positive integer dividing `units`, attention heads, or
            `None`: the largest of 4, 2 and 1 that divides `units` (4, as in
            the paper, whenever `units` is a multiple of 4). The config
            stores the number used. Default: `None`.
        attention: Boolean. `False` replaces the self-attention by
            concatenation and a linear map (the paper's "NRNM w/o SA"
            ablation, Fig. 7). Default: `True`.
        attention_output_projection: Boolean. `True` maps the attention's
            concatenated heads through an output projection `W^o` (as
            `keras.layers.MultiHeadAttention` does); `False` is Eq. 5 as
            written and as in the authors' code, `units^2 + units` fewer
            weights per stride. Default: `True`.
        backbone: The recurrent backbone that reads the memory: `"lstm"`
            (the paper's instantiation), `"gru"` or `"simple"` (a vanilla
            RNN) (Fig. 7). Without a cell state, the memory term of Eq. 10
            enters the candidate state before its activation; see
            `docs/design.md`. Default: `"lstm"`.
        reset_after: Boolean, the GRU backbone's convention, as in
            `keras.layers.GRUCell`: `True` applies the reset gate after the
            recurrent matrix product, with a separate recurrent bias (the
            bias is then `(2, 3 * units)`), so that a fresh cell computes
            exactly `keras.layers.GRUCell` with the same kernels; `False`
            applies it before the product (the classic form). Ignored by
            the other backbones. Configs saved without this argument (before
            it existed) load with `False`, the form they were built with.
            Default: `True` (Keras's default).
        backward_states: Boolean. If `True`, the last `units` input features
            are the hidden states of a backward pass over the sequence, and
            they join the memory's source units (Eq. 18); the backbone reads
            only the other features. Used by `BidirectionalNRNM`.
        memory_dropout: Float in [0, 1), dropout on the memory as the
            backbone reads it (one mask per sequence). Default: 0.
        zoneout: Float in [0, 1), zoneout rate on `h` and `c` (Krueger et
            al. 2017, as the paper cites): in training, at every step, each
            unit keeps its previous value with this probability (a fresh
            mask per step); at inference the expectation. Default: 0.
        memory_gates: `"tied"` (Eq. 9's gates map the block's inputs and
            the old memory through one shared `units x units` channel map;
            what configs saved without this argument load as) or
            `"separate"` (a channel map each, as in the authors' code;
            `2 units^2` more weights). Tied was level or better in the
            package's measurements. Default: `"tied"`.
        layer_norm_epsilon: Positive float, the epsilon of the memory's
            layer norms (Eq. 6). They rescale the attention's output to unit
            variance, so with very small inputs (a Keras `Embedding` starts
            at +-0.05) they amplify the first blocks' gradients; a larger
            epsilon (e.g. 1.0) bounds that. Default: 1e-5.
        fusion_activation: Activation of the FC layer that fuses the
            scales of the multi-scale memory (Eq. 7), anything
            `keras.activations.get` accepts; it matters only with
            `strides`. Default: `"relu"`, the paper's non-linear FC layer
            (as Eq. 6's). Configs saved without this argument (before it
            existed) load with `None`, the linear fusion they were built
            with.
        activation: Activation of the cell candidate and output.
            Default: `"tanh"`.
        recurrent_activation: Activation of the gates, memory gate included.
            Default: `"sigmoid"`.
        use_bias: Boolean, whether the backbone uses bias vectors.
        kernel_initializer: Initializer for the input kernels (LSTM, input
            projection, memory gate) and the memory projection.
        recurrent_initializer: Initializer for the recurrent kernels (LSTM
            and memory gate).
        bias_initializer: Initializer for the bias vectors.
        memory_projection_initializer: Initializer for the map that brings
            the memory term `g_m * v_m` to `units` (Eq. 10). The default
            `"zeros"` starts the layer as exactly its backbone (an LSTM),
            whose gradient then moves the projection and opens the memory;
            a random start adds the untrained memory to `c_t` at full scale
            from the first update (see `docs/results.md`). Default:
            `"zeros"`.
        unit_forget_bias: Boolean. If `True`, add 1 to the LSTM forget gate
            bias and start the memory forget gate bias at 1.
        kernel_regularizer: Regularizer for every input kernel.
        recurrent_regularizer: Regularizer for the recurrent kernels.
        bias_regularizer: Regularizer for the bias vectors.
        kernel_constraint: Constraint for the LSTM input kernel.
        recurrent_constraint: Constraint for the LSTM recurrent kernel.
        bias_constraint: Constraint for the LSTM bias.
        dropout: Float in [0, 1), dropout on the inputs (one mask per
            sequence, as in `keras.layers.LSTMCell`).
        recurrent_dropout: Float in [0, 1), dropout on `h_{t-1}` in the
            recurrent product.
        seed: Random seed for the dropout and zoneout masks.
        implementation: Accepted, as by `keras.layers.LSTMCell`, for
            compatibility (0, 1 or 2), and ignored: the cell has one
            implementation. Not saved in the config (as in Keras).

    Call arguments:
        inputs: A 2D tensor `(batch, features)`.
        states: List of the 6 state tensors, in the order of `state_size`:
            `h` (units), `c` (units), the memory (`slots * units`), the
            block's hidden states and projected inputs (`block_size * units`
            each), and two step counters (phase in the window, steps seen).
        training: Python boolean, whether dropout and zoneout are active.

    Returns:
        `(h, new_states)`.

    Examples:
        >>> import numpy as np, keras
        >>> from keras_nrnm import NRNMCell
        >>> x = np.random.random((4, 10, 8)).astype("float32")
        >>> rnn = keras.layers.RNN(NRNMCell(16, block_size=4, stride=2, window=2))
        >>> tuple(rnn(x).shape)
        (4, 16)
        >>> stacked = keras.layers.RNN(
        ...     [keras.layers.LSTMCell(16), NRNMCell(16, num_heads=2)])
        >>> tuple(stacked(x).shape)
        (4, 16)
        >>> cell = NRNMCell(16, block_size=4, stride=2, window=2)
        >>> output, *states = keras.layers.RNN(cell, return_state=True)(x)
        >>> len(states)
        6
        >>> h, c = cell.public_states(states)
        >>> tuple(h.shape), tuple(c.shape)
        ((4, 16), (4, 16))
    """

    def __init__(
        self,
        units: int,
        block_size: int = 8,
        stride: int = 4,
        strides: Strides | None = None,
        window: int = 4,
        num_heads: int | None = None,
        attention: bool = True,
        attention_output_projection: bool = True,
        backbone: str = "lstm",
        reset_after: bool = True,
        backward_states: bool = False,
        memory_dropout: float = 0.0,
        zoneout: float = 0.0,
        memory_gates: str = "tied",
        layer_norm_epsilon: float = 1e-5,
        fusion_activation: Activation = "relu",
        activation: Activation = "tanh",
        recurrent_activation: Activation = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Initializer = "glorot_uniform",
        recurrent_initializer: Initializer = "orthogonal",
        bias_initializer: Initializer = "zeros",
        memory_projection_initializer: Initializer = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Regularizer = None,
        recurrent_regularizer: Regularizer = None,
        bias_regularizer: Regularizer = None,
        kernel_constraint: Constraint = None,
        recurrent_constraint: Constraint = None,
        bias_constraint: Constraint = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        # As `keras.layers.LSTMCell`: accepted for compatibility, ignored.
        implementation = validation.implementation(
            kwargs.pop("implementation", 2))
        super().__init__(**kwargs)
        self.implementation = implementation
        self.units = validation.positive_int("units", units)
        self._read_schedule(block_size, stride, strides, window)
        self._read_structure(attention, attention_output_projection, backbone,
                             reset_after, backward_states, num_heads,
                             memory_gates, layer_norm_epsilon)
        self.memory_dropout = validation.rate("memory_dropout", memory_dropout)
        self.zoneout = validation.rate("zoneout", zoneout)
        self.dropout = validation.rate("dropout", dropout)
        self.recurrent_dropout = validation.rate(
            "recurrent_dropout", recurrent_dropout
        )
        given = locals()
        for name, read in KERAS_OBJECT_READERS.items():
            setattr(self, name, validation.keras_object(name, read,
                                                        given[name]))
        self.use_bias = validation.boolean("use_bias", use_bias)
        self.unit_forget_bias = validation.boolean("unit_forget_bias",
                                                   unit_forget_bias)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)

        d, k = self.units, self.block_size
        # `c` stays zero with the gru and simple backbones, so that every
        # backbone shares one state layout.
        self.state_size = NRNMState(
            h=d, c=d, memory=self.num_slots * d,
            blocks=Blocks(hidden=k * d, inputs=k * d,
                          backward=k * d if self.backward_states else None),
            counters=2).join()
        self.output_size = d

    def _read_schedule(self, block_size, stride, strides, window):
        """The `Schedule`, and its arguments as it validated them (for the
        config). The counters are states: `block_size` and `window` are at
        most `MAX_COUNTER`."""
        self.schedule = Schedule.from_layer_arguments(
            block_size, stride, strides, window, maximum=MAX_COUNTER)
        self.block_size = self.schedule.block_size
        self.stride = int(stride)
        self.strides = None if strides is None else self.schedule.strides
        self.window = self.schedule.window

    def _read_structure(self, attention, attention_output_projection,
                        backbone, reset_after, backward_states, num_heads,
                        memory_gates, layer_norm_epsilon):
        """The arguments that shape the backbone and the memory, validated."""
        self.attention = validation.boolean("attention", attention)
        self.attention_output_projection = validation.boolean(
            "attention_output_projection", attention_output_projection)
        self.backbone = validation.one_of("backbone", backbone, BACKBONES)
        self.reset_after = validation.boolean("reset_after", reset_after)
        self.backward_states = validation.boolean("backward_states",
                                                  backward_states)
        self.num_heads = validation.num_heads(num_heads, self.units)
        self.memory_gates = validation.one_of("memory_gates", memory_gates,
                                              GATE_LAYOUTS)
        self.layer_norm_epsilon = validation.positive_float(
            "layer_norm_epsilon", layer_norm_epsilon
        )

    @property
    def num_slots(self) -> int:
        """Memory slots, `block_size / max(strides)` (`Schedule.num_slots`)."""
        return self.schedule.num_slots

    @property
    def _has_recurrent_bias(self):
        return self.use_bias and self.backbone == "gru" and self.reset_after

    def backbone_biases(self) -> tuple[Tensor | None, Tensor | None]:
        """`(b, b_U)`: the backbone's input bias (added to `x W`) and its
        recurrent bias (added to `h U`: the GRU with `reset_after` only, the
        rows of its `(2, 3 * units)` bias; `None` otherwise). Both `None`
        without `use_bias`."""
        if self.bias is None:
            return None, None
        if self._has_recurrent_bias:
            return self.bias[0], self.bias[1]
        return self.bias, None

    @property
    def memory_strides(self) -> tuple[int, ...]:
        """The strides of the memory: `strides`, or `(stride,)`."""
        return self.schedule.strides

    def build(self, input_shape: ShapeLike) -> None:
        input_dim = self._backbone_input_dim(input_shape)
        self._build_kernels(input_dim)
        self._build_biases()
        self.memory = NonLocalMemory(
            self.units,
            block_size=self.block_size,
            strides=self.memory_strides,
            num_heads=self.num_heads,
            attention=self.attention,
            attention_output_projection=self.attention_output_projection,
            backward_states=self.backward_states,
            unit_forget_bias=self.unit_forget_bias,
            gates=self.memory_gates,
            layer_norm_epsilon=self.layer_norm_epsilon,
            fusion_activation=self.fusion_activation,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            dtype=self.dtype_policy,
            name="memory",
        )
        self.memory.build((None, self.block_size, self.units))
        self.built = True

    def _backbone_input_dim(self, input_shape):
        """The features the backbone reads: all but the backward states."""
        input_dim = input_shape[-1]
        if self.backward_states:
            input_dim -= self.units
            if input_dim < 1:
                raise ValueError(
                    "With `backward_states=True` the inputs end with the "
                    f"{self.units} backward hidden states, so they need more "
                    f"than {self.units} features. Received input shape "
                    f"{tuple(input_shape)}."
                )
        return input_dim

    def _weight(self, name, shape, kind="kernel", constrained=False,
                initializer=None):
        """A weight with the initializer, regularizer and (`constrained`)
        constraint of its `kind`: `"kernel"`, `"recurrent"` or `"bias"`."""
        initializer = initializer or {
            "kernel": self.kernel_initializer,
            "recurrent": self.recurrent_initializer,
            "bias": self.bias_initializer,
        }[kind]
        regularizer = {
            "kernel": self.kernel_regularizer,
            "recurrent": self.recurrent_regularizer,
            "bias": self.bias_regularizer,
        }[kind]
        constraint = None
        if constrained:
            constraint = {
                "kernel": self.kernel_constraint,
                "recurrent": self.recurrent_constraint,
                "bias": self.bias_constraint,
            }[kind]
        return self.add_weight(
            shape=shape,
            name=name,
            initializer=initializer,
            regularizer=regularizer,
            constraint=constraint,
        )

    def _build_kernels(self, input_dim):
        """The backbone's kernels and those that read the memory. (The
        weights' order is the saved files' layout: do not reorder.)"""
        d, n = self.units, self.num_slots
        gates = BACKBONES[self.backbone]
        # Eq. 11 and the other gates, in Keras's layouts: LSTM (i, f, c, o),
        # GRU (z, r, h), simple RNN (h).
        self.kernel = self._weight("kernel", (input_dim, gates * d),
                                   constrained=True)
        self.recurrent_kernel = self._weight(
            "recurrent_kernel", (d, gates * d), "recurrent", constrained=True
        )
        # Eq. 5: inputs are projected to the memory width to join the
        # attention as units of their own.
        self.input_projection_kernel = self._weight(
            "input_projection_kernel", (input_dim, d)
        )
        # Eq. 12: memory gate g_m = sigmoid(W_m x_t + U_m v_m + b_m).
        self.memory_gate_kernel = self._weight("memory_gate_kernel",
                                               (input_dim, n * d))
        self.memory_gate_recurrent_kernel = self._weight(
            "memory_gate_recurrent_kernel", (n * d, n * d), "recurrent"
        )
        # Eq. 10: g_m * v_m has n*d entries and c_t has d; a learned map
        # brings it to d (as in the authors' code).
        self.memory_projection = self._weight(
            "memory_projection", (n * d, d),
            initializer=self.memory_projection_initializer)

    def _build_biases(self):
        """The backbone's bias (with the LSTM's unit forget bias), the input
        projection's and the memory gate's; `None` without `use_bias`."""
        d, n = self.units, self.num_slots
        if not self.use_bias:
            self.bias = None
            self.input_projection_bias = None
            self.memory_gate_bias = None
            return
        gates = BACKBONES[self.backbone]
        if self.unit_forget_bias and self.backbone == "lstm":

            def bias_initializer(_, *args, **kwargs):
                return ops.concatenate(
                    [
                        self.bias_initializer((d,), *args, **kwargs),
                        keras.initializers.get("ones")((d,), *args, **kwargs),
                        self.bias_initializer((2 * d,), *args, **kwargs),
                    ]
                )

        else:
            bias_initializer = self.bias_initializer
        # The GRU with `reset_after` has a recurrent bias of its own:
        # Keras's `(2, 3 units)` layout, input row then recurrent row.
        self.bias = self.add_weight(
            shape=((2, gates * d) if self._has_recurrent_bias
                   else (gates * d,)),
            name="bias",
            initializer=bias_initializer,
            regularizer=self.bias_regularizer,
            constraint=self.bias_constraint,
        )
        self.input_projection_bias = self._weight(
            "input_projection_bias", (d,), "bias"
        )
        self.memory_gate_bias = self._weight("memory_gate_bias", (n * d,),
                                             "bias")

    # Random masks -----------------------------------------------------------
    def get_recurrent_dropout_mask(self, step_state: Tensor) -> Tensor | None:
        # `keras.layers.RNN` calls this with `h` before its loop: build the
        # memory-dropout mask here too, so the loop is stateless (required
        # on JAX).
        if self.memory_dropout > 0:
            self.get_memory_dropout_mask(step_state)
        return super().get_recurrent_dropout_mask(step_state)

    def reset_recurrent_dropout_mask(self) -> None:
        super().reset_recurrent_dropout_mask()
        self._memory_dropout_mask = None

    def get_memory_dropout_mask(self, h: Tensor) -> Tensor:
        """The memory-dropout mask, one per sequence (made before the loop),
        so that a dropped slot stays dropped until the sequence ends instead
        of compounding across memory updates."""
        if getattr(self, "_memory_dropout_mask", None) is None:
            ones = ops.ones((ops.shape(h)[0], self.num_slots * self.units),
                            h.dtype)
            self._memory_dropout_mask = keras.random.dropout(
                ones, self.memory_dropout, seed=self.seed_generator)
        return self._memory_dropout_mask

    def zoneout_masks(self, shape: Sequence[int | Tensor], dtype: DType
                      ) -> tuple[Tensor, ...]:
        """Zoneout's keep-masks (Krueger et al. 2017), fresh for every step
        and unit: 1 where a unit takes its new value, 0 (with probability
        `zoneout`) where it keeps its previous one. `shape` is the leading
        shape: `(batch,)` for one step (`call`), `(windows, batch, window)`
        for a whole timeline (the fast path). Returns `(keep_h, keep_c)`,
        each `shape + (units,)`, or `(keep_h,)` for the backbones without a
        cell state."""
        states = 2 if self.backbone == "lstm" else 1
        noise = keras.random.uniform(tuple(shape) + (states, self.units),
                                     dtype=dtype, seed=self.seed_generator)
        return tuple(ops.unstack(ops.cast(noise >= self.zoneout, dtype),
                                 axis=-2))

    # Eq. 5, 10-13: the only home of the step equations ---------------------
    # `NRNMCell.call` applies them to one step; the fast path (`fast_path.py`)
    # to a window of steps at once. Only `recurrent_step` reads `h_{t-1}`.
    def input_weights(self, keys_values: bool = False) -> InputWeights:
        """The input kernels (and biases) of `input_terms` side by side. The
        fast path builds them once per sequence.

        Args:
            keys_values: Boolean (needs `attention`): with inputs narrower
                than `units`, the keys and values of the input unit (Eq. 5,
                `memory.keys_and_values`) join the product, folded:
                `(x W_x + b_x) W^kv + b^kv = x (W_x W^kv) + (b_x W^kv +
                b^kv)`, a product of width `input_dim` instead of `units`.

        Returns:
            An `InputWeights`: `kernel`, `bias` (`None` without any bias)
            and `key_value_maps`: with `keys_values` and inputs at least
            `units` wide, the memory's maps
            (`NonLocalMemory.input_key_value_maps()`) to apply to the input
            unit; else `None`.
        """
        kernels = [self.kernel, self.memory_gate_kernel,
                   self.input_projection_kernel]
        biases = [self.backbone_biases()[0], self.memory_gate_bias,
                  self.input_projection_bias]
        key_value_maps = (self.memory.input_key_value_maps() if keys_values
                          else None)
        if keys_values and self._folds_keys_values():
            for kv_kernel, kv_bias in key_value_maps:  # type: ignore[union-attr]
                linear = (kv_kernel, None)
                kernels.append(keys_and_values(self.input_projection_kernel,
                                               linear))
                if self.use_bias:
                    kv_bias = kv_bias + keys_and_values(
                        self.input_projection_bias[None], linear)[0]
                biases.append(kv_bias)
            key_value_maps = None
        bias = None
        if any(b is not None for b in biases):
            # Without `use_bias` the folded keys and values still have the
            # attention's biases: zeros stand in for the others.
            bias = ops.concatenate(
                [ops.zeros_like(k[0]) if b is None else b
                 for k, b in zip(kernels, biases)])
        return InputWeights(ops.concatenate(kernels, axis=1), bias,
                            key_value_maps)

    def _folds_keys_values(self):
        return self.input_projection_kernel.shape[0] < self.units

    def input_terms(self, inputs: Tensor, weights: InputWeights | None = None,
                    keys_values: bool = False) -> InputTerms:
        """What each step computes from `x_t` alone, in one matrix product.

        Args:
            inputs: `(..., input_dim)`, any leading axes (one step, a
                window, a sequence).
            weights: `input_weights(keys_values)`, when the caller has it
                already.
            keys_values: Boolean (needs `attention`): also the input unit's
                keys and values (the fast path).

        Returns:
            An `InputTerms`: `gates` `x W + b` (the backbone's gate inputs,
            Eq. 11), `memory` `x W_m + b_m` (the memory gate's input part,
            Eq. 12), `units` `x W_x + b_x` (the input as a unit of width
            `units` for the attention, Eq. 5) and `keys_values`: with
            `keys_values`, per stride, the input unit's keys and values
            under `NonLocalMemory.input_key_value_maps()`, `(..., 2 *
            units)`; else `()`.
        """
        kernel, bias, key_value_maps = weights or self.input_weights(
            keys_values)
        terms = last_axis_product(inputs, kernel)
        if bias is not None:
            terms = terms + bias
        d = self.units
        gates_end = self.kernel.shape[1]
        memory_end = gates_end + self.num_slots * d
        # The input unit, then (folded) each stride's keys and values. One
        # split, not slices: the gradient of each slice would be a zero
        # tensor as wide as all the terms, which shows in a TensorFlow train
        # step (docs/benchmarks.md, "Splits instead of slices").
        parts = ops.split(
            terms, [gates_end, memory_end,
                    *range(memory_end + d, kernel.shape[1], 2 * d)], axis=-1)
        split = InputTerms(*parts[:3])
        if not keys_values:
            return split
        if self._folds_keys_values():
            return split._replace(keys_values=tuple(parts[3:]))
        return split._replace(keys_values=tuple(
            self.memory.input_keys_values(split.units, key_value_maps)))

    def memory_term(self, x_memory: Tensor, memory_read: Tensor) -> Tensor:
        """Eq. 12 and Eq. 10's memory term: `g_m = sigmoid(x W_m + b_m +
        v_m U_m)` and `(g_m * v_m) P`, `P` bringing `slots * units` to
        `units`. `x_memory` is `input_terms(...).memory`, `(batch, ...,
        slots * units)`; `memory_read` is `v_m`, `(batch, slots * units)`,
        broadcast over the axes between (the memory is constant within a
        window)."""
        def between(t):  # (batch, n) -> (batch, 1, ..., n) like x_memory
            if len(x_memory.shape) == 2:
                return t
            return ops.reshape(t, (-1,) + (1,) * (len(x_memory.shape) - 2)
                               + (t.shape[-1],))

        memory_gate = self.recurrent_activation(x_memory + between(
            ops.matmul(memory_read, self.memory_gate_recurrent_kernel)))
        return last_axis_product(memory_gate * between(memory_read),
                                 self.memory_projection)

    def recurrent_step(self, x_gates: Tensor, memory_term: Tensor,
                       h_tm1: Tensor, c_tm1: Tensor, h_in: Tensor,
                       zoneout_keep: Sequence[Tensor] | None = None
                       ) -> tuple[Tensor, Tensor]:
        """Eq. 10, 11, 13 (or the GRU and simple backbones) and zoneout: one
        step from `x W + b` (`input_terms`), the memory term (`memory_term`)
        and the previous state. `h_in` is `h_tm1` after recurrent dropout;
        `zoneout_keep` is this step's `zoneout_masks` in training, `None`
        or empty at inference. Returns `(h_t, c_t)`."""
        act, rec_act = self.activation, self.recurrent_activation
        if self.backbone == "lstm":
            z = x_gates + ops.matmul(h_in, self.recurrent_kernel)
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            c = (rec_act(z_f) * c_tm1 + rec_act(z_i) * act(z_c)  # Eq. 10
                 + memory_term)
            h = rec_act(z_o) * act(c)  # Eq. 13
        elif self.backbone == "gru":
            h, c = self._gru_step(x_gates, memory_term, h_tm1, h_in), c_tm1
        else:  # "simple"
            h = act(x_gates + ops.matmul(h_in, self.recurrent_kernel)
                    + memory_term)
            c = c_tm1
        if not self.zoneout:
            return h, c
        keep = zoneout_keep or (None, None)
        h = self.zoneout_step(h, h_tm1, keep[0])
        if self.backbone == "lstm":
            c = self.zoneout_step(c, c_tm1, keep[1])
        return h, c

    def _gru_step(self, x_gates, memory_term, h_tm1, h_in):
        """`h_t` of the GRU backbone (for `recurrent_step`); the memory term
        joins the candidate's pre-activation. With `reset_after` (Keras's
        default): `h~ = act(x W_h + b_h + r * (h U_h + b^U_h) + m)`, the
        gates `z, r` reading `h U + b^U`; without it, the classic form
        `h~ = act(x W_h + b_h + (r * h) U_h + m)`. Then
        `h_t = z * h_{t-1} + (1 - z) * h~`."""
        act, rec_act = self.activation, self.recurrent_activation
        d = self.units
        x_z, x_r, x_h = ops.split(x_gates, 3, axis=-1)
        if self.reset_after:
            h_zrh = ops.matmul(h_in, self.recurrent_kernel)
            recurrent_bias = self.backbone_biases()[1]
            if recurrent_bias is not None:
                h_zrh = h_zrh + recurrent_bias
            h_z, h_r, h_h = ops.split(h_zrh, 3, axis=-1)
            z, r = rec_act(x_z + h_z), rec_act(x_r + h_r)
            candidate = act(x_h + r * h_h + memory_term)
        else:
            h_zr = ops.matmul(h_in, self.recurrent_kernel[:, : 2 * d])
            z = rec_act(x_z + h_zr[:, :d])
            r = rec_act(x_r + h_zr[:, d:])
            candidate = act(
                x_h + ops.matmul(r * h_in, self.recurrent_kernel[:, 2 * d:])
                + memory_term)
        return z * h_tm1 + (1.0 - z) * candidate

    def zoneout_step(self, new: Tensor, old: Tensor, keep: Tensor | None
                     ) -> Tensor:
        """Zoneout: `keep * new + (1 - keep) * old` in training; at
        inference the expectation `(1 - p) new + p old`."""
        if keep is None:
            return (1.0 - self.zoneout) * new + self.zoneout * old
        return keep * new + (1.0 - keep) * old

    def _check_fresh_masks_per_step(self):
        # On JAX, `keras.layers.RNN` traces the step once and runs it in a
        # stateless scope: the seed generator cannot advance between steps,
        # so every step would reuse one mask (and `fit` would leak a tracer).
        if keras.backend.backend() == "jax" and in_stateless_scope():
            raise ValueError(
                "NRNMCell's zoneout draws a fresh mask at every step, which "
                "the JAX backend cannot do inside the loop of "
                "`keras.layers.RNN` (Keras runs it in a stateless scope). "
                "Use `keras_nrnm.NRNM` (the same model; it draws the masks "
                "before its loop), set `zoneout=0`, or use the TensorFlow "
                "or PyTorch backend.")

    # Memory update (Eq. 5-9) -----------------------------------------------
    def update_memory(self, memory: Tensor, blocks: Blocks, steps_seen: Tensor,
                      input_keys_values: Sequence[Tensor] | None = None
                      ) -> Tensor:
        """A new memory state from the block buffers, a `state.Blocks`
        (flattened shapes, as in the state); `input_keys_values`: per
        stride, the keys and values of the input block (`input_terms(...)
        .keys_values` of its steps, `(batch, k * 2 * units)`)."""
        d, n, k = self.units, self.num_slots, self.block_size

        def as_units(block, width=d):
            return None if block is None else ops.reshape(block,
                                                          (-1, k, width))

        if input_keys_values is not None:
            input_keys_values = [as_units(kv, 2 * d)
                                 for kv in input_keys_values]
        new_memory = self.memory(
            as_units(blocks.hidden),
            as_units(blocks.inputs),
            ops.reshape(memory, (-1, n, d)),
            self.schedule.real_positions(steps_seen),
            backward_block=as_units(blocks.backward),
            input_keys_values=input_keys_values,
        )
        return ops.reshape(new_memory, (-1, n * d))

    def call(self, inputs: Tensor, states: Sequence[Tensor],
             training: bool = False) -> tuple[Tensor, list[Tensor]]:
        state = NRNMState.split(states)
        h_tm1, c_tm1, memory = state.h, state.c, state.memory
        d = self.units

        if training and self.dropout > 0:
            inputs = inputs * self.get_dropout_mask(inputs)
        backward_h = None
        if self.backward_states:
            inputs, backward_h = inputs[:, :-d], inputs[:, -d:]
        h_in = h_tm1
        if training and self.recurrent_dropout > 0:
            h_in = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        memory_read = memory
        if training and self.memory_dropout > 0:
            memory_read = memory * self.get_memory_dropout_mask(h_tm1)
        zoneout_keep = None
        if training and self.zoneout > 0:
            self._check_fresh_masks_per_step()
            zoneout_keep = self.zoneout_masks(ops.shape(h_tm1)[:1],
                                              h_tm1.dtype)

        terms = self.input_terms(inputs)
        h, c = self.recurrent_step(
            terms.gates, self.memory_term(terms.memory, memory_read), h_tm1,
            c_tm1, h_in, zoneout_keep)

        # The blocks take this step in.
        blocks = Blocks(
            hidden=slide(state.blocks.hidden, h),
            inputs=slide(state.blocks.inputs, terms.units),
            backward=(None if backward_h is None
                      else slide(state.blocks.backward, backward_h)))
        phase, steps_seen = self.schedule.advance(
            *split_counters(state.counters))
        # Keep the loop-carried dtype (float16/bfloat16 under mixed precision).
        counters = join_counters(phase, steps_seen, state.counters.dtype)

        # Under masking each sample has its own phase, so whether the memory
        # is rebuilt is decided per sample.
        is_update = phase == 0.0
        new_memory = ops.cond(
            ops.any(is_update),
            lambda: self.update_memory(memory, blocks, steps_seen),
            lambda: memory,
        )
        memory = ops.where(is_update[:, None], new_memory, memory)
        return h, NRNMState(h, c, memory, blocks, counters).join()

    def public_states(self, states: Sequence[Tensor]) -> list[Tensor]:
        """The states that `keras.layers.LSTM` would return: `[h, c]`.

        Args:
            states: The cell's full list of states, in the order of
                `state_size`, e.g. what follows the output in the list
                returned by `keras.layers.RNN(cell, return_state=True)`.

        Returns:
            `[h, c]` for the lstm backbone, `[h]` for the gru and simple
            backbones (like `keras.layers.GRU` and `SimpleRNN`). The memory,
            block buffers and counters are internal.

        Examples:
            >>> import numpy as np, keras
            >>> from keras_nrnm import NRNMCell
            >>> cell = NRNMCell(8, num_heads=2, backbone="gru")
            >>> x = np.zeros((2, 5, 3), "float32")
            >>> output, *states = keras.layers.RNN(cell, return_state=True)(x)
            >>> [tuple(s.shape) for s in cell.public_states(states)]
            [(2, 8)]
        """
        states = list(states)
        if len(states) != len(self.state_size):
            raise ValueError(
                f"Argument `states` must be the full list of "
                f"{len(self.state_size)} states of this NRNMCell (what "
                "follows the output of `keras.layers.RNN(cell, "
                f"return_state=True)`). Received a list of {len(states)}."
            )
        state = NRNMState.split(states)
        return [state.h, state.c] if self.backbone == "lstm" else [state.h]

    def get_initial_state(self, batch_size: int | Tensor | None = None
                          ) -> list[Tensor]:
        return [
            ops.zeros((batch_size, size), dtype=self.compute_dtype)
            for size in self.state_size
        ]

    def get_config(self) -> dict[str, Any]:
        config = {
            "units": self.units,
            "block_size": self.block_size,
            "stride": self.stride,
            "strides": None if self.strides is None else list(self.strides),
            "window": self.window,
            "num_heads": self.num_heads,
            "attention": self.attention,
            "attention_output_projection": self.attention_output_projection,
            "backbone": self.backbone,
            "reset_after": self.reset_after,
            "backward_states": self.backward_states,
            "memory_dropout": self.memory_dropout,
            "zoneout": self.zoneout,
            "memory_gates": self.memory_gates,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "fusion_activation": keras.activations.serialize(
                self.fusion_activation),
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(
                self.recurrent_activation
            ),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(
                self.kernel_initializer
            ),
            "recurrent_initializer": keras.initializers.serialize(
                self.recurrent_initializer
            ),
            "bias_initializer": keras.initializers.serialize(
                self.bias_initializer
            ),
            "memory_projection_initializer": keras.initializers.serialize(
                self.memory_projection_initializer
            ),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": keras.regularizers.serialize(
                self.kernel_regularizer
            ),
            "recurrent_regularizer": keras.regularizers.serialize(
                self.recurrent_regularizer
            ),
            "bias_regularizer": keras.regularizers.serialize(
                self.bias_regularizer
            ),
            "kernel_constraint": keras.constraints.serialize(
                self.kernel_constraint
            ),
            "recurrent_constraint": keras.constraints.serialize(
                self.recurrent_constraint
            ),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "NRNMCell":
        return cls(**with_legacy_defaults(config))


def with_legacy_defaults(config):
    """`config` with the values that configs saved before these keys existed
    (version 0.1, or before `fusion_activation` and `reset_after` for those
    keys) were built with: tied Eq. 9 gates, the memory projection drawn by
    `kernel_initializer`, the attention's output projection, a linear Eq. 7
    fusion, and the classic GRU backbone (reset gate before the product,
    one bias)."""
    legacy = {
        "memory_gates": "tied",
        "attention_output_projection": True,
        "memory_projection_initializer": config.get(
            "kernel_initializer", "glorot_uniform"),
        "fusion_activation": None,
        "reset_after": False,
    }
    return {**legacy, **config}
