"""The non-local memory of NRNM: one memory update per call (Eq. 5-9).

`NonLocalMemory` knows nothing about time. It is given one memory block (the
last `block_size` hidden states and projected inputs, and which of them are
real steps rather than padding before the sequence start) and the previous
memory state `M_{t-win}`, and returns the new memory state `M_t`. The cell
(`cell.py`) decides *when* to call it and keeps the block buffers; the fast
path (`fast_path.py`) calls it once per window.
"""

import functools
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_nrnm import validation
from keras_nrnm._keras_internals import attention_projections
from keras_nrnm._typing import (
    Activation, Initializer, Regularizer, Shape, ShapeLike, Strides, Tensor)
from keras_nrnm.products import dense_over_last_axis, last_axis_product
from keras_nrnm.schedule import Schedule

# Layouts of the channel maps of the memory gates (Eq. 9).
GATE_LAYOUTS = ("separate", "tied")


def _dense_kwargs(layer):
    return dict(
        kernel_initializer=layer.kernel_initializer,
        bias_initializer=layer.bias_initializer,
        kernel_regularizer=layer.kernel_regularizer,
        bias_regularizer=layer.bias_regularizer,
        dtype=layer.dtype_policy,
    )


@keras.saving.register_keras_serializable(package="keras_nrnm")
class NonLocalBlock(keras.layers.Layer):
    """Eq. 5-6 for one stride: the memory embedding `M~` of one block.

    The queries are the `num_slots` sampled hidden states; keys and values are
    those and the block's inputs (the source units `C`). With
    `attention=False` ("NRNM w/o SA", Fig. 7) the attention is replaced by a
    linear map of all the units concatenated.

    Args:
        units: width `d` of every unit.
        num_slots: number of queries (memory slots).
        num_units: number of source units (`num_slots` + the block's inputs).
        num_heads: attention heads (dividing `units`).
        attention: `True` for self-attention, `False` for the ablation.
        output_projection: `True` maps the concatenated heads through an
            output projection `W^o` (Keras's `MultiHeadAttention`); `False`
            uses the concatenated heads as they are, as Eq. 5 and the
            authors' code do.
        layer_norm_epsilon: Epsilon of the two layer norms of Eq. 6.
        kernel_initializer: Initializer for the dense kernels.
        bias_initializer: Initializer for the dense biases.
        kernel_regularizer: Regularizer for the dense kernels.
        bias_regularizer: Regularizer for the dense biases.

    Call arguments:
        hidden_units: `(batch, num_slots, units)`.
        source: `(batch, num_units, units)`, hidden units first; without
            all the input units when `projected` holds theirs.
        unit_mask: boolean `(batch, num_units)`, `False` for padding.
        projected: optional `(keys, values)`, each `(batch, units_given,
            units)`: the keys and values (`key_value_map`) of the last
            source units, computed by the caller; `source` then holds only
            the others.

    Returns:
        `(embedding, scores)`: `(batch, num_slots, units)` and the attention
        weights `W_att` `(batch, heads, num_slots, num_units)` (`None` without
        attention).
    """

    def __init__(self, units: int, num_slots: int, num_units: int,
                 num_heads: int = 4, attention: bool = True,
                 output_projection: bool = True,
                 layer_norm_epsilon: float = 1e-5,
                 kernel_initializer: Initializer = "glorot_uniform",
                 bias_initializer: Initializer = "zeros",
                 kernel_regularizer: Regularizer = None,
                 bias_regularizer: Regularizer = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = validation.positive_int("units", units)
        self.layer_norm_epsilon = validation.positive_float(
            "layer_norm_epsilon", layer_norm_epsilon)
        self.num_slots = validation.positive_int("num_slots", num_slots)
        self.num_units = validation.positive_int("num_units", num_units)
        self.num_heads = validation.positive_int("num_heads", num_heads)
        validation.divides("num_heads", self.num_heads, "units", self.units)
        self.use_attention = bool(attention)
        self.output_projection = bool(output_projection)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    def build(self, hidden_units_shape: ShapeLike | None = None,
              source_shape: ShapeLike | None = None,
              unit_mask_shape: ShapeLike | None = None) -> None:
        d, n = self.units, self.num_slots
        if self.use_attention and self.output_projection:
            # Eq. 5's W^q, W^k, W^v and an output projection W^o.
            self.attention = keras.layers.MultiHeadAttention(
                num_heads=self.num_heads, key_dim=d // self.num_heads,
                name="attention", **_dense_kwargs(self))
            self.attention.build((None, n, d), (None, self.num_units, d))
        elif self.use_attention:
            # Eq. 5 as written: W^q, W^k, W^v, the heads concatenated.
            for name in ("query", "key", "value"):
                dense = keras.layers.Dense(d, name=name, **_dense_kwargs(self))
                dense.build((None, d))
                setattr(self, f"{name}_dense", dense)
        else:
            # Fig. 7 "w/o SA": concatenation of the units + a linear map.
            self.mixing = keras.layers.Dense(n * d, name="mixing",
                                             **_dense_kwargs(self))
            self.mixing.build((None, self.num_units * d))
        # Eq. 6: residual + LayerNorm, a non-linear FC layer, residual + norm.
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="attention_norm",
            dtype=self.dtype_policy)
        self.attention_norm.build((None, n, d))
        self.fc = keras.layers.Dense(d, activation="relu", name="fc",
                                     **_dense_kwargs(self))
        self.fc.build((None, n, d))
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="output_norm",
            dtype=self.dtype_policy)
        self.output_norm.build((None, n, d))
        self.built = True

    def projections(
            self
    ) -> tuple[keras.layers.Layer, keras.layers.Layer, keras.layers.Layer,
               keras.layers.Layer | None]:
        """Eq. 5's dense maps `(W^q, W^k, W^v, W^o)`, `W^o` `None` without
        the output projection."""
        if self.output_projection:
            return attention_projections(self.attention)
        return self.query_dense, self.key_dense, self.value_dense, None

    def key_value_map(self) -> tuple[Tensor, Tensor]:
        """Eq. 5's `W^k` and `W^v` side by side, `(kernel, bias)` with kernel
        `(units, 2 * units)`: a unit's key and value in one product
        (`keys_and_values`). The fast path projects each input unit once,
        when it enters the block (`NRNMCell.input_terms`), instead of once
        per block holding it."""
        _, key_dense, value_dense, _ = self.projections()
        kernel = ops.concatenate(
            [ops.reshape(key_dense.kernel, (self.units, -1)),
             ops.reshape(value_dense.kernel, (self.units, -1))], axis=1)
        return kernel, ops.concatenate([ops.reshape(key_dense.bias, (-1,)),
                                        ops.reshape(value_dense.bias, (-1,))])

    def attend(self, hidden_units: Tensor, source: Tensor, unit_mask: Tensor,
               projected: Sequence[Tensor] | None = None
               ) -> tuple[Tensor, Tensor]:
        """Eq. 5: multi-head scaled dot-product attention from the slots to
        the source units; returns the attention's output and its weights
        `W_att` `(batch, heads, num_slots, num_units)` (Figs. 8, 10)."""
        return multi_head_attention(self.projections(), self.num_heads,
                                    hidden_units, source, unit_mask, projected)

    def call(self, hidden_units: Tensor, source: Tensor, unit_mask: Tensor,
             projected: Sequence[Tensor] | None = None
             ) -> tuple[Tensor, Tensor | None]:
        scores = None
        if self.use_attention:
            attended, scores = self.attend(hidden_units, source, unit_mask,
                                           projected)
        elif projected is not None:
            raise ValueError("Without attention the source units have no "
                             "keys and values: `projected` must be None.")
        else:
            keep = ops.cast(unit_mask, source.dtype)[:, :, None]
            flat = ops.reshape(source * keep, (-1, self.num_units * self.units))
            attended = ops.reshape(self.mixing(flat),
                                   (-1, self.num_slots, self.units))
        slots = self.attention_norm(hidden_units + attended)  # M^i
        embedding = self.output_norm(
            slots + dense_over_last_axis(self.fc, slots))  # M~_t
        return embedding, scores

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units, num_slots=self.num_slots,
            num_units=self.num_units, num_heads=self.num_heads,
            attention=self.use_attention,
            output_projection=self.output_projection,
            layer_norm_epsilon=self.layer_norm_epsilon,
            **_serialized_init_reg(self))
        return config


def keys_and_values(units, key_value_map):
    """Eq. 5's keys and values of units, the only place they are computed
    for the input units (the cell path, the fast path and the input kernel
    that folds them in all call it).

    Args:
        units: `(..., units)`.
        key_value_map: `(kernel, bias)`, `NonLocalBlock.key_value_map()`:
            `W^k` and `W^v` side by side. A `None` bias leaves the bias out
            (the linear part, which `NRNMCell.input_weights` folds into the
            input kernel).

    Returns:
        `(..., 2 * units)`: `units [W^k, W^v] + [b^k, b^v]`, keys first.
    """
    kernel, bias = key_value_map
    keys_values = last_axis_product(units, kernel)
    return keys_values if bias is None else keys_values + bias


def multi_head_attention(projections, num_heads, queries, source,
                         unit_mask=None, projected=None):
    """Multi-head attention from `queries` to `source` with `unit_mask`
    (boolean `(batch, source units)`) as the attention mask:
    `(output, weights)`. `projected`, if given, is `(keys, values)` of
    further source units, already projected, that follow `source`'s (the
    mask covers both). `projections` are the dense maps
    `(query, key, value, output)` (`output` may be `None`: the heads
    concatenated). With a `keras.layers.MultiHeadAttention`'s maps
    (`_keras_internals.attention_projections`) this is what
    `layer(queries, source, return_attention_scores=True)` computes.

    The explicit-scores path (the fused one asks XLA's CPU backend for an
    f16 x f16 -> f32 product it lacks, JAX with mixed_float16), on the
    layer's weights, with 2-D and batched matrix products: on TensorFlow the
    layer's `EinsumDense` projections take longer to differentiate
    (docs/design.md, choice 4).

    The heads are kept apart without transposes: each query appears once per
    head with only that head's channels (the others zero), so one product
    with the unsplit keys gives every head's scores, and a product with the
    unsplit values followed by the same channel selection gives every head's
    output. That multiplies `heads` times the attention's few multiply-adds
    (queries are memory slots, a handful) but needs no transposes to split
    and merge the heads: on TensorFlow's CPU kernels each costs more than
    the products of a narrow layer (docs/benchmarks.md).
    """
    query_dense, key_dense, value_dense, output_dense = projections
    queries = _project(queries, query_dense)
    num_queries, width = queries.shape[1], queries.shape[-1]
    # The heads' width from the projection itself (the queries' own width
    # may differ from the attention's).
    head_dim = width // num_heads
    channels = _head_channels(num_heads, head_dim)
    head_channels = ops.convert_to_tensor(channels, dtype=queries.dtype)
    query_channels = ops.convert_to_tensor(channels * head_dim ** -0.5,
                                           dtype=queries.dtype)

    keys = _project(source, key_dense)
    values = _project(source, value_dense)
    if projected is not None:
        keys = ops.concatenate([keys, projected[0]], axis=1)
        values = ops.concatenate([values, projected[1]], axis=1)
    # (batch, heads * queries, width): row (h, i) is query i in head h.
    spread = queries[:, None] * query_channels
    spread = ops.reshape(spread, (-1, num_heads * num_queries, width))
    scores = ops.matmul(spread, ops.transpose(keys, (0, 2, 1)))
    if unit_mask is None:
        weights = ops.softmax(scores, axis=-1)
    else:
        # Padding units get no weight (as `keras.layers.Softmax` masks).
        mask = unit_mask[:, None, :]
        scores = ops.where(mask, scores, _large_negative(scores.dtype))
        weights = ops.where(mask, ops.softmax(scores, axis=-1), 0.0)
    mixed = ops.matmul(weights, values)  # (batch, heads * queries, width)
    mixed = ops.reshape(mixed, (-1, num_heads, num_queries, width))
    attended = ops.sum(mixed * head_channels, axis=1)
    weights = ops.reshape(weights, (-1, num_heads, num_queries,
                                    weights.shape[-1]))
    if output_dense is None:
        return attended, weights
    return _project(attended, output_dense), weights


@functools.lru_cache(maxsize=None)
def _head_channels(num_heads, head_dim):
    """`(1, heads, 1, heads * head_dim)`: 1 on head h's channels, else 0.
    Built once per shape (PyTorch runs `multi_head_attention` eagerly, once
    per window), read-only since it is shared."""
    channels = np.repeat(np.eye(num_heads), head_dim, axis=1)[None, :, None]
    channels.setflags(write=False)
    return channels


def _project(x, dense):
    """A `Dense` map, or an `EinsumDense` projection of `MultiHeadAttention`
    (to or from the heads), as one 2-D product:
    `(batch, units, d) -> (batch, units, d)`."""
    kernel, bias = dense.kernel, dense.bias
    width = x.shape[-1]
    y = last_axis_product(x, ops.reshape(kernel, (width, -1)))
    if bias is not None:
        y = y + ops.reshape(bias, (-1,))
    return y


def _mix_units(mixing, units):
    """Eq. 9's unit mixing: `mixing` `(gates, slots, units)` applied to
    `units` `(batch, units, d)`, one `(batch, slots, d)` per gate, in one
    matrix product broadcast over the batch."""
    gates, slots = mixing.shape[0], mixing.shape[1]
    flat = ops.reshape(mixing, (gates * slots, units.shape[1]))
    return ops.split(ops.matmul(flat, units), gates, axis=1)


def _at_positions(block, positions):
    """`ops.take(block, positions, axis=1)` for evenly spaced ascending
    `positions` (`Schedule.slot_positions`, `input_positions`), as a slice:
    on TensorFlow the gradient of a gather is a scatter-add with
    transposes, that of a slice a dense copy."""
    step = positions[1] - positions[0] if len(positions) > 1 else 1
    if step == 1 and len(positions) == block.shape[1]:
        return block
    return block[:, positions[0]:positions[-1] + 1:step]


def _large_negative(dtype):
    """The score of a masked unit, as `keras.layers.Softmax` sets it."""
    if keras.backend.standardize_dtype(dtype) == "float16":
        return -3e4
    return -1e9


def _serialized_init_reg(layer):
    return dict(
        kernel_initializer=keras.initializers.serialize(layer.kernel_initializer),
        bias_initializer=keras.initializers.serialize(layer.bias_initializer),
        kernel_regularizer=keras.regularizers.serialize(layer.kernel_regularizer),
        bias_regularizer=keras.regularizers.serialize(layer.bias_regularizer),
    )


@keras.saving.register_keras_serializable(package="keras_nrnm")
class NonLocalMemory(keras.layers.Layer):
    """Non-local memory update of NRNM (Pei et al., IJCV 2022, Sec. 3.2).

    For one memory block, the last `block_size` steps, it computes

    - Eq. 5-6, once per stride `s` (`NonLocalBlock`): self-attention from the
      `num_slots` hidden states sampled every `s` steps (queries) to those and
      the inputs of the last `s * num_slots` steps (keys and values), then
      residual layer norms and an FC layer: the embedding `M~^s`;
    - Eq. 7, with several strides: self-attention across the scales'
      embeddings, concatenation per slot, and an FC layer back to `units`
      (with `fusion_activation`, ReLU by default, like Eq. 6's);
    - Eq. 9: the memory gates `G_i, G_f` from the block's inputs and the
      previous memory;
    - Eq. 8: `M_t = G_i * tanh(M~_t) + G_f * M_{t-win}`.

    Args:
        units: Positive integer, width `d` of units and memory slots.
        block_size: Positive integer, steps in the block (the largest
            stride's block). Each stride `s` samples
            `num_slots = block_size / max(strides)` hidden states.
        strides: Tuple of positive integers, one memory embedding per
            stride (Eq. 7); a single stride is the plain model. Every stride
            must be at most `block_size` and `max(strides)` must divide it.
        num_heads: Positive integer dividing `units`, attention heads.
        attention: `False` replaces self-attention by concatenation and a
            linear map (the paper's "NRNM w/o SA").
        attention_output_projection: `True` adds an output projection
            `W^o` to the attention of Eq. 5 (Keras's `MultiHeadAttention`);
            `False` is Eq. 5 as written (and the authors' code).
        backward_states: `True` when a backward pass's hidden states join
            the source units (Eq. 18): sampled at the same positions as the
            forward ones, after them.
        unit_forget_bias: If `True`, the memory forget gate's bias starts
            at 1 (as in the authors' code).
        gates: `"tied"` (one channel map shared by the block's inputs and
            the old memory in Eq. 9) or `"separate"` (a channel map each,
            as in the authors' code). Default: `"tied"`.
        layer_norm_epsilon: Epsilon of the layer norms of Eq. 6.
        fusion_activation: Activation of the FC layer that fuses the
            scales (Eq. 7; only with several `strides`), anything
            `keras.activations.get` accepts. Default: `"relu"`, the
            paper's non-linear FC layer (as Eq. 6's); configs saved without
            this argument load with `None` (linear), as they were built.
        kernel_initializer: Initializer for every dense kernel of the memory.
        bias_initializer: Initializer for every bias of the memory.
        kernel_regularizer: Regularizer for every dense kernel of the memory.
        bias_regularizer: Regularizer for every bias of the memory.

    Call arguments:
        hidden_block: `(batch, block_size, units)`, the block's hidden
            states, oldest first.
        input_block: `(batch, block_size, units)`, the block's projected
            inputs, oldest first.
        memory: `(batch, num_slots, units)`, the previous memory `M_{t-win}`.
        real: boolean `(batch, block_size)`, `False` for positions before
            the start of the sequence (padding, ignored as keys and gate
            inputs).
        backward_block: `(batch, block_size, units)`, the backward hidden
            states of the block (with `backward_states=True`).
        input_keys_values: optional list, one `(batch, block_size,
            2 * units)` per stride: the keys and values of the block's
            inputs under that stride's `input_key_value_maps()`, computed
            once per input by the caller (the fast path) instead of here.
        return_attention_scores: also return the list of `W_att`, one
            `(batch, heads, num_slots, units of that stride)` per stride.

    Returns:
        `(batch, num_slots, units)`, the new memory state `M_t`.
    """

    def __init__(self, units: int, block_size: int,
                 strides: Strides = (4,), num_heads: int = 4,
                 attention: bool = True,
                 attention_output_projection: bool = True,
                 backward_states: bool = False, unit_forget_bias: bool = True,
                 gates: str = "tied", layer_norm_epsilon: float = 1e-5,
                 fusion_activation: Activation = "relu",
                 kernel_initializer: Initializer = "glorot_uniform",
                 bias_initializer: Initializer = "zeros",
                 kernel_regularizer: Regularizer = None,
                 bias_regularizer: Regularizer = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = validation.positive_int("units", units)
        # The block's layout only: the memory knows nothing about time.
        self.schedule = Schedule(block_size, strides)
        self.block_size = self.schedule.block_size
        self.strides = self.schedule.strides
        self.num_heads = validation.positive_int("num_heads", num_heads)
        validation.divides("num_heads", self.num_heads, "units", self.units)
        self.attention = validation.boolean("attention", attention)
        self.attention_output_projection = validation.boolean(
            "attention_output_projection", attention_output_projection)
        self.backward_states = validation.boolean("backward_states",
                                                  backward_states)
        self.unit_forget_bias = validation.boolean("unit_forget_bias",
                                                   unit_forget_bias)
        self.gate_layout = validation.one_of("gates", gates, GATE_LAYOUTS)
        self.layer_norm_epsilon = validation.positive_float(
            "layer_norm_epsilon", layer_norm_epsilon)
        self.fusion_activation = validation.keras_object(
            "fusion_activation", keras.activations.get, fusion_activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.num_slots = self.schedule.num_slots

    # Which block positions each stride reads (see `schedule`) ---------------
    def slot_positions(self, stride: int) -> list[int]:
        """Block positions (0 = oldest) of the hidden states sampled with
        `stride`: steps `t, t-s, ..., t-(l-1)s`, oldest first."""
        return self.schedule.slot_positions(stride)

    def input_positions(self, stride: int) -> list[int]:
        """Block positions of the inputs of that stride's block, the last
        `stride * num_slots` steps."""
        return self.schedule.input_positions(stride)

    def build(self, hidden_block_shape: ShapeLike | None = None, *args: Any,
              **kwargs: Any) -> None:
        d, n = self.units, self.num_slots
        hidden_units = 2 * n if self.backward_states else n
        self.blocks = [
            NonLocalBlock(
                d, n, hidden_units + len(self.input_positions(s)),
                self.num_heads,
                attention=self.attention,
                output_projection=self.attention_output_projection,
                layer_norm_epsilon=self.layer_norm_epsilon,
                name="non_local" if len(self.strides) == 1 else f"non_local_s{s}",
                **_dense_kwargs(self))
            for s in self.strides
        ]
        for block in self.blocks:
            block.build()
        if len(self.strides) > 1:
            # Eq. 7: fuse the scales by self-attention and an FC layer, with
            # a non-linear activation like Eq. 6's (`fusion_activation`).
            self.fusion_attention = keras.layers.MultiHeadAttention(
                num_heads=self.num_heads, key_dim=d // self.num_heads,
                name="fusion_attention", **_dense_kwargs(self))
            tokens = (None, n * len(self.strides), d)
            self.fusion_attention.build(tokens, tokens)
            self.fusion = keras.layers.Dense(
                d, activation=self.fusion_activation, name="fusion",
                **_dense_kwargs(self))
            self.fusion.build((None, n, d * len(self.strides)))
        # Eq. 9: W_im, W_fm act on [x_{t-k+1..t}, M_{t-win}]. A dense map of
        # that whole block to the whole memory would need (k+n)*n*d^2 weights
        # per gate; it is factored into a unit-mixing matrix (which units feed
        # which slot) and channel maps (d x d): one for the block's inputs and
        # one for the old memory, or one shared by both ("tied").
        gate_units = self.block_size + n
        self.gate_mixing = self.add_weight(
            shape=(2, n, gate_units),
            initializer=keras.initializers.Constant(1.0 / gate_units),
            regularizer=self.kernel_regularizer, name="gate_mixing")
        channel_maps = (("gate_kernel",) if self.gate_layout == "tied"
                        else ("gate_input_kernel", "gate_memory_kernel"))
        for name in channel_maps:
            setattr(self, name, self.add_weight(
                shape=(2, d, d), initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer, name=name))

        def gate_bias_initializer(shape, dtype=None):
            bias = self.bias_initializer(shape, dtype=dtype)
            if self.unit_forget_bias:
                bias = ops.concatenate([bias[:1], ops.ones_like(bias[1:])], 0)
            return bias

        self.gate_bias = self.add_weight(
            shape=(2, n, d), initializer=gate_bias_initializer,
            regularizer=self.bias_regularizer, name="gate_bias")
        self.built = True

    # Eq. 5-7 -----------------------------------------------------------------
    def input_key_value_maps(self) -> list[tuple[Tensor, Tensor]] | None:
        """Per stride, `NonLocalBlock.key_value_map`: the keys and values
        of an input unit; `None` without attention (no keys)."""
        if not self.attention:
            return None
        return [block.key_value_map() for block in self.blocks]

    def input_keys_values(
            self, input_units: Tensor,
            maps: Sequence[tuple[Tensor, Tensor]] | None = None
    ) -> list[Tensor]:
        """Per stride, `keys_and_values` of input units `(..., units)`
        under `input_key_value_maps()` (or `maps`, the same built once by
        the caller): `(..., 2 * units)` each."""
        return [keys_and_values(input_units, key_value_map)
                for key_value_map in (maps or  # type: ignore[union-attr]
                                      self.input_key_value_maps())]

    def scale_embeddings(
            self, hidden_block: Tensor, input_block: Tensor, real: Tensor,
            backward_block: Tensor | None = None,
            input_keys_values: Sequence[Tensor] | None = None
    ) -> tuple[list[Tensor], list[Tensor | None]]:
        """Eq. 5-6 once per stride: lists of `M~^s` and of `W_att`. The
        source units are the sampled hidden states, [the backward ones,]
        then the inputs of that stride's block, whose keys and values are
        `keys_and_values` of the inputs (or taken from `input_keys_values`
        when given)."""
        embeddings, scores = [], []
        for i, (stride, block) in enumerate(zip(self.strides, self.blocks)):
            slots = self.slot_positions(stride)
            inputs = self.input_positions(stride)
            hidden_units = _at_positions(hidden_block, slots)
            units = [hidden_units]
            masks = [_at_positions(real, slots)]
            if self.backward_states:
                units.append(_at_positions(backward_block, slots))
                masks.append(masks[0])
            masks.append(_at_positions(real, inputs))
            projected = None
            if not self.attention:  # "w/o SA": the inputs are plain units
                units.append(_at_positions(input_block, inputs))
            else:
                if input_keys_values is None:
                    keys_values = keys_and_values(
                        _at_positions(input_block, inputs),
                        block.key_value_map())
                else:
                    keys_values = _at_positions(input_keys_values[i], inputs)
                projected = ops.split(keys_values, 2, axis=-1)
            source = ops.concatenate(units, axis=1)
            unit_mask = ops.concatenate(masks, axis=1)
            embedding, score = block(hidden_units, source, unit_mask,
                                     projected)
            embeddings.append(embedding)
            scores.append(score)
        return embeddings, scores

    def fuse(self, embeddings: Sequence[Tensor]) -> Tensor:
        """Eq. 7: self-attention across the scales' slots, concatenation per
        slot, and the FC layer `fusion` (with `fusion_activation`) back to
        `units`."""
        if len(embeddings) == 1:
            return embeddings[0]
        tokens = ops.concatenate(embeddings, axis=1)  # (batch, N*l, d)
        fused, _ = multi_head_attention(
            attention_projections(self.fusion_attention), self.num_heads,
            tokens, tokens)
        n, d, scales = self.num_slots, self.units, len(embeddings)
        per_slot = ops.reshape(fused, (-1, scales, n, d))
        per_slot = ops.reshape(ops.transpose(per_slot, (0, 2, 1, 3)),
                               (-1, n, scales * d))
        return dense_over_last_axis(self.fusion, per_slot)

    # Eq. 9 -------------------------------------------------------------------
    def gates(self, input_block: Tensor, memory: Tensor, real: Tensor
              ) -> tuple[Tensor, Tensor]:
        """Eq. 9: memory input and forget gates `(G_i, G_f)`,
        `sigmoid(A_x x^ B_x + A_m M B_m + b)` with `A = [A_x, A_m]` the
        unit mixing and `B_x`, `B_m` the channel maps (`B_x = B_m` when
        tied)."""
        inputs = input_block * ops.cast(real, input_block.dtype)[:, :, None]
        k = self.block_size
        if self.gate_layout == "tied":
            terms = [(self.gate_mixing,
                      ops.concatenate([inputs, memory], axis=1),  # [x.., M]
                      self.gate_kernel)]
        else:
            terms = [(self.gate_mixing[:, :, :k], inputs,
                      self.gate_input_kernel),
                     (self.gate_mixing[:, :, k:], memory,
                      self.gate_memory_kernel)]
        # Per gate, `A units B` as plain matrix products: inside the loop,
        # TensorFlow's CPU einsum costs more than the products even at
        # narrow widths (docs/benchmarks.md, "TensorFlow: no transposes or
        # einsums in the window").
        per_term = [
            [last_axis_product(mixed, channel_map) for mixed, channel_map in
             zip(_mix_units(mixing, units),
                 ops.unstack(ops.convert_to_tensor(channel_maps)))]
            for mixing, units, channel_maps in terms]
        biases = ops.unstack(ops.convert_to_tensor(self.gate_bias))
        input_gate, forget_gate = (
            ops.sigmoid(sum(products[1:], products[0]) + bias)
            for *products, bias in zip(*per_term, biases))
        return input_gate, forget_gate

    # Eq. 8 -------------------------------------------------------------------
    def call(self, hidden_block: Tensor, input_block: Tensor, memory: Tensor,
             real: Tensor, backward_block: Tensor | None = None,
             input_keys_values: Sequence[Tensor] | None = None,
             return_attention_scores: bool = False
             ) -> Tensor | tuple[Tensor, list[Tensor | None]]:
        if self.backward_states and backward_block is None:
            raise ValueError(
                "This NonLocalMemory was made with backward_states=True: "
                "pass `backward_block`.")
        embeddings, scores = self.scale_embeddings(
            hidden_block, input_block, real, backward_block, input_keys_values)
        embedding = self.fuse(embeddings)
        input_gate, forget_gate = self.gates(input_block, memory, real)
        new_memory = input_gate * ops.tanh(embedding) + forget_gate * memory
        if return_attention_scores:
            return new_memory, scores
        return new_memory

    def compute_output_shape(self, hidden_block_shape: ShapeLike, *args: Any,
                             **kwargs: Any) -> Shape:
        return (hidden_block_shape[0], self.num_slots, self.units)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units, block_size=self.block_size,
            strides=list(self.strides), num_heads=self.num_heads,
            attention=self.attention,
            attention_output_projection=self.attention_output_projection,
            backward_states=self.backward_states,
            unit_forget_bias=self.unit_forget_bias, gates=self.gate_layout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            fusion_activation=keras.activations.serialize(
                self.fusion_activation),
            **_serialized_init_reg(self))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "NonLocalMemory":
        # Configs saved before `gates` existed describe the tied layout;
        # those saved before `fusion_activation`, a linear Eq. 7 fusion.
        return cls(**{"gates": "tied", "fusion_activation": None, **config})
