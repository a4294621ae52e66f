"""`BidirectionalNRNM`: the bidirectional memory of Eq. 18 for step-wise
labelling (the paper's protein secondary structure experiment, Sec. 4.3)."""

from typing import Any

import keras
from keras import ops

from keras_nrnm import validation
from keras_nrnm._typing import Shape, ShapeLike, Tensor
from keras_nrnm.cell import with_legacy_defaults
from keras_nrnm.layer import CELL_ARGS, NRNM, CallRecording, checked_mask

# NRNM arguments that also configure the backward LSTM.
LSTM_ARGS = (
    "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias",
    "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
    "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
    "recurrent_dropout", "seed",
)


@keras.saving.register_keras_serializable(package="keras_nrnm")
class BidirectionalNRNM(CallRecording, keras.layers.Layer):
    """NRNM whose memory also sees a backward pass (Eq. 18).

    A backward LSTM runs over the sequence first. A forward `NRNM` then reads
    the inputs, and its memory's source units are the forward hidden states,
    the backward hidden states at the same sampled steps, and the inputs of
    the block: `C = [h->_{..}, h<-_{..}, x_{..}]` (Eq. 18). The output at each
    step is `[h->_t, h<-_t]`.

    This differs from `keras.layers.Bidirectional(NRNM(...))`, which runs two
    independent NRNM layers (two memories, one per direction, each seeing
    only its own direction). Here one memory sees both directions.

    Args:
        units: Positive integer, width of each direction (the output has
            `2 * units` features).
        return_sequences: Boolean. `True` (default, for step-wise labelling)
            returns every step; `False` returns the forward last output and
            the backward final output.
        **kwargs: Any argument of `NRNM` (`block_size`, `stride`, `strides`,
            `fusion_activation`, `window`, `num_heads`, `attention`,
            `backbone`, `memory_dropout`, `zoneout`, `layer_norm_epsilon`,
            the LSTM arguments), and the
            base layer's (`name`, `dtype`, `trainable`). The LSTM arguments
            configure the backward LSTM too.

    Call arguments:
        inputs: `(batch, timesteps, features)`.
        mask: Optional boolean `(batch, timesteps)`.
        training: Python boolean.

    Returns:
        `(batch, timesteps, 2 * units)`, or `(batch, 2 * units)`.

    Examples:
        >>> import numpy as np
        >>> from keras_nrnm import BidirectionalNRNM
        >>> x = np.random.random((2, 12, 5)).astype("float32")
        >>> tuple(BidirectionalNRNM(8, num_heads=2)(x).shape)
        (2, 12, 16)
    """

    def __init__(self, units: int, return_sequences: bool = True,
                 **kwargs: Any) -> None:
        memory_kwargs = {k: kwargs.pop(k) for k in list(kwargs)
                         if k in CELL_ARGS}
        if "backward_states" in memory_kwargs:
            raise ValueError(
                "BidirectionalNRNM sets `backward_states` itself; do not pass it."
            )
        for name in ("return_state", "stateful", "go_backwards", "unroll"):
            if name in kwargs:
                raise ValueError(
                    f"BidirectionalNRNM does not support `{name}` (use NRNM "
                    f"for it). Received: {name}={kwargs[name]!r}"
                )
        super().__init__(**kwargs)
        self.units = validation.positive_int("units", units)
        self.return_sequences = validation.boolean("return_sequences",
                                                   return_sequences)
        self.memory_kwargs = memory_kwargs
        self.supports_masking = True
        self.forward_layer = NRNM(
            units, backward_states=True, return_sequences=return_sequences,
            name="forward", dtype=self.dtype_policy, **memory_kwargs)
        self.backward_layer = keras.layers.LSTM(
            units, return_sequences=True, go_backwards=True, name="backward",
            dtype=self.dtype_policy,
            **{k: v for k, v in memory_kwargs.items() if k in LSTM_ARGS})

    def build(self, input_shape: ShapeLike) -> None:
        self.backward_layer.build(input_shape)
        self.forward_layer.build(
            tuple(input_shape[:-1]) + (input_shape[-1] + self.units,))
        # Another feature size fails at the door with Keras's message, not
        # in the backward LSTM's matrix product.
        self.input_spec = keras.layers.InputSpec(
            ndim=3, axes={-1: input_shape[-1]})
        self.built = True

    def forward_inputs(self, inputs: Tensor, mask: Tensor | None = None,
                       training: bool = False) -> tuple[Tensor, Tensor]:
        """Eq. 18's wiring: the backward LSTM runs over `inputs`, and the
        forward `NRNM` reads the inputs and the backward hidden states of
        each step, `[x_t, h<-_t]` (its memory takes the backward states as
        source units; `NRNM(backward_states=True)`).

        Args:
            inputs: `(batch, timesteps, features)`.
            mask: Optional boolean `(batch, timesteps)`, already checked
                (`layer.checked_mask`).
            training: Python boolean.

        Returns:
            `(forward_inputs, backward)`: `(batch, timesteps, features +
            units)` and the backward hidden states `(batch, timesteps,
            units)`, both in step order.
        """
        # go_backwards returns the steps in processing order: flip them back.
        backward = ops.flip(
            self.backward_layer(inputs, mask=mask, training=training), axis=1)
        forward_inputs = ops.concatenate(
            [inputs, ops.cast(backward, inputs.dtype)], -1)
        return forward_inputs, backward

    def call(self, inputs: Tensor, mask: Tensor | None = None,
             training: bool = False) -> Tensor:
        self._record_call(inputs, mask)
        # The mask is checked, and the skipped steps zeroed for the backward
        # LSTM too (a NaN there would make its gradients NaN).
        inputs, mask = checked_mask(inputs, mask, self.name)
        forward_inputs, backward = self.forward_inputs(inputs, mask,
                                                       training)
        forward = self.forward_layer(forward_inputs, mask=mask,
                                     training=training)
        if self.return_sequences:
            return ops.concatenate([forward, backward], axis=-1)
        # The backward pass ends at the first step.
        return ops.concatenate([forward, backward[:, 0]], axis=-1)

    def compute_output_shape(self, input_shape: ShapeLike) -> Shape:
        if self.return_sequences:
            return tuple(input_shape[:-1]) + (2 * self.units,)
        return (input_shape[0], 2 * self.units)

    def compute_mask(self, inputs: Tensor, mask: Tensor | None = None
                     ) -> Tensor | None:
        return mask if self.return_sequences else None

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        forward = self.forward_layer.get_config()
        config.update({k: forward[k] for k in CELL_ARGS
                       if k != "backward_states"})
        config.update(units=self.units, return_sequences=self.return_sequences)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "BidirectionalNRNM":
        return cls(**with_legacy_defaults(config))
