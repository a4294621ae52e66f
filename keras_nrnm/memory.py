"""The non-local memory of NRNM: one memory update per call (Eq. 5, 6, 8, 9).

`NonLocalMemory` knows nothing about time. It is given the source units of one
memory block (the sampled hidden states and the projected inputs of the block),
the previous memory state `M_{t-win}`, and which units are real (not padding),
and returns the new memory state `M_t`. The recurrent cell (`cell.py`) decides
*when* to call it and keeps the block buffers; a whole-sequence fast path can
call it once per window for every window at once.
"""

import keras
from keras import ops

from keras_nrnm import validation


@keras.saving.register_keras_serializable(package="keras_nrnm")
class NonLocalMemory(keras.layers.Layer):
    """Non-local memory update of NRNM (Pei et al., IJCV 2022, Sec. 3.2).

    Computes, for one memory block,

    - Eq. 5: multi-head self-attention over the source units
      `C = [h_tau for tau in S_t] + [x^_tau for tau in block]`, where the
      queries are the sampled hidden states (one per memory slot) and the keys
      and values are all the block's units;
    - Eq. 6 (read per slot): `M^i = LayerNorm(C^i + M_att^i)`,
      `M~ = LayerNorm(M + FC(M))`;
    - Eq. 9: the memory input and forget gates `G_i, G_f` from the block's
      inputs and the previous memory;
    - Eq. 8: `M_t = G_i * tanh(M~) + G_f * M_{t-win}`.

    Args:
        units: Positive integer, width `d` of every source unit and memory slot.
        num_slots: Positive integer, number of memory slots `k/s` (one per
            sampled hidden state).
        block_size: Positive integer, number of input units `k` in a block.
        num_heads: Positive integer dividing `units`, attention heads.
        unit_forget_bias: Boolean. If `True`, the memory forget gate's bias
            starts at 1 (as in the authors' code), like LSTM's forget gate.
        kernel_initializer: Initializer for the dense kernels.
        bias_initializer: Initializer for the biases.
        kernel_regularizer: Regularizer for the dense kernels.
        bias_regularizer: Regularizer for the biases.

    Call arguments:
        hidden_units: `(batch, num_slots, units)`, sampled hidden states of
            the block, oldest first.
        input_units: `(batch, block_size, units)`, projected inputs of the
            block, oldest first.
        memory: `(batch, num_slots, units)`, the previous memory `M_{t-win}`.
        unit_mask: Optional boolean `(batch, num_slots + block_size)`, `True`
            for real units and `False` for padding (steps before the start of
            the sequence). Padding is ignored as attention key and gate input.

    Returns:
        `(batch, num_slots, units)`, the new memory state `M_t`.
    """

    def __init__(
        self,
        units,
        num_slots,
        block_size,
        num_heads=4,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = validation.positive_int("units", units)
        self.num_slots = validation.positive_int("num_slots", num_slots)
        self.block_size = validation.positive_int("block_size", block_size)
        self.num_heads = validation.positive_int("num_heads", num_heads)
        validation.divides("num_heads", self.num_heads, "units", self.units)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)

    @property
    def num_units(self):
        """Number of source units per block: hidden states plus inputs."""
        return self.num_slots + self.block_size

    def build(self, hidden_units_shape=None, *args, **kwargs):
        d = self.units
        dense_kwargs = dict(
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
        )
        # Eq. 5: W^q, W^k, W^v (and the usual output projection).
        self.attention = keras.layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=d // self.num_heads,
            name="attention",
            dtype=self.dtype_policy,
            **dense_kwargs,
        )
        self.attention.build((None, self.num_slots, d), (None, self.num_units, d))
        # Eq. 6: two residual + LayerNorm stages around a non-linear FC layer.
        self.attention_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, name="attention_norm", dtype=self.dtype_policy
        )
        self.attention_norm.build((None, self.num_slots, d))
        self.fc = keras.layers.Dense(
            d, activation="relu", name="fc", dtype=self.dtype_policy,
            **dense_kwargs,
        )
        self.fc.build((None, self.num_slots, d))
        self.output_norm = keras.layers.LayerNormalization(
            epsilon=1e-5, name="output_norm", dtype=self.dtype_policy
        )
        self.output_norm.build((None, self.num_slots, d))
        # Eq. 9: W_im, W_fm act on [x_{t-k+1..t}, M_{t-win}]. A dense map of
        # that whole block to the whole memory would need (k+n)*n*d^2 weights
        # per gate; it is factored into a unit-mixing matrix (which units feed
        # which slot) and a channel-mixing matrix (d x d), see docs/design.md.
        self.gate_mixing = self.add_weight(
            shape=(2, self.num_slots, self.num_units),
            initializer=keras.initializers.Constant(1.0 / self.num_units),
            regularizer=self.kernel_regularizer,
            name="gate_mixing",
        )
        self.gate_kernel = self.add_weight(
            shape=(2, d, d),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            name="gate_kernel",
        )

        def gate_bias_initializer(shape, dtype=None):
            bias = self.bias_initializer(shape, dtype=dtype)
            if self.unit_forget_bias:
                bias = ops.concatenate(
                    [bias[:1], ops.ones_like(bias[1:])], axis=0
                )
            return bias

        self.gate_bias = self.add_weight(
            shape=(2, self.num_slots, d),
            initializer=gate_bias_initializer,
            regularizer=self.bias_regularizer,
            name="gate_bias",
        )
        self.built = True

    # Eq. 5 and 6 -----------------------------------------------------------
    def non_local(self, hidden_units, input_units, unit_mask=None,
                  return_attention_scores=False):
        """Eq. 5-6: the memory embedding `M~_t` of one block.

        Returns `(batch, num_slots, units)`, and the attention weights
        `W_att` `(batch, heads, num_slots, num_units)` if asked.
        """
        source = ops.concatenate([hidden_units, input_units], axis=1)  # C
        attention_mask = None
        if unit_mask is not None:
            attention_mask = ops.broadcast_to(
                unit_mask[:, None, :],
                (ops.shape(source)[0], self.num_slots, self.num_units),
            )
        # The explicit-scores path of MultiHeadAttention: its fused path asks
        # XLA's CPU backend for an f16 x f16 -> f32 product it lacks (JAX,
        # mixed_float16), and the scores are the paper's W_att (Figs. 8, 10).
        attended, scores = self.attention(
            hidden_units,
            source,
            attention_mask=attention_mask,
            return_attention_scores=True,
        )
        slots = self.attention_norm(hidden_units + attended)  # M^i
        embedding = self.output_norm(slots + self.fc(slots))  # M~_t
        if return_attention_scores:
            return embedding, scores
        return embedding

    # Eq. 9 -----------------------------------------------------------------
    def gates(self, input_units, memory, unit_mask=None):
        """Eq. 9: memory input and forget gates `(G_i, G_f)`."""
        block = ops.concatenate([input_units, memory], axis=1)  # [x.., M]
        if unit_mask is not None:
            input_mask = unit_mask[:, self.num_slots:]
            ones = ops.ones_like(unit_mask[:, : self.num_slots])
            keep = ops.concatenate([input_mask, ones], axis=1)
            block = block * ops.cast(keep, block.dtype)[:, :, None]
        mixed = ops.einsum("gsu,bud->bgsd", self.gate_mixing, block)
        pre = ops.einsum("bgsd,gde->bgse", mixed, self.gate_kernel)
        gates = ops.sigmoid(pre + self.gate_bias)
        return gates[:, 0], gates[:, 1]

    # Eq. 8 -----------------------------------------------------------------
    def call(self, hidden_units, input_units, memory, unit_mask=None):
        embedding = self.non_local(hidden_units, input_units, unit_mask)
        input_gate, forget_gate = self.gates(input_units, memory, unit_mask)
        return input_gate * ops.tanh(embedding) + forget_gate * memory

    def compute_output_shape(self, hidden_units_shape, *args, **kwargs):
        return tuple(hidden_units_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_slots": self.num_slots,
                "block_size": self.block_size,
                "num_heads": self.num_heads,
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "bias_regularizer": keras.regularizers.serialize(
                    self.bias_regularizer
                ),
            }
        )
        return config
