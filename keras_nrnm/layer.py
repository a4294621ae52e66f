"""`NRNM`: the whole-sequence layer, a drop-in for `keras.layers.LSTM`."""

import contextlib
import inspect
import typing
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import keras
from keras import ops

from keras_nrnm import _keras_internals
from keras_nrnm import fast_path
from keras_nrnm import validation
from keras_nrnm._typing import (
    Activation, Constraint, Initializer, Regularizer, Shape, ShapeLike,
    Strides, Tensor)
from keras_nrnm.cell import (KERAS_OBJECT_READERS, NRNMCell,
                             with_legacy_defaults)
from keras_nrnm.state import NRNMState

# Arguments of NRNMCell that NRNM passes through, in NRNMCell's order: read
# off its signature, so that a new cell argument needs no list of its own.
CELL_ARGS = tuple(
    name for name in inspect.signature(NRNMCell.__init__).parameters
    if name not in ("self", "units", "kwargs"))


class LayerCall(NamedTuple):
    """What a layer received in one call (`CallRecording.recording_calls`):
    its inputs and the mask Keras passed it (`None` without masking)."""

    inputs: Any
    mask: Any


class CallRecording:
    """`recording_calls()`, for the layers whose inputs `attention_maps`
    needs (`NRNM`, `BidirectionalNRNM`): their `call` hands what it
    receives to `_record_call`."""

    # While `recording_calls` is open: the record's `append` (a method, not
    # a list, so that Keras does not track it as an attribute of the layer).
    _on_call = None

    @contextlib.contextmanager
    def recording_calls(self):
        """Records what the layer receives while the context is open.

        Each call of the layer inside the context appends a `LayerCall`
        `(inputs, mask)` to the list the context yields: the inputs as the
        layer's `call` receives them (what the layers before it made, at
        any depth of a model; the first call of a shared layer first) and
        the mask Keras passes it. Calls are recorded as they run: eager
        calls give tensors, traced ones (`tf.function`, `jax.jit`) symbolic
        values. Nothing is recorded outside the context.

        Yields:
            The list of `LayerCall`, filled as the layer is called.

        Examples:
            >>> import numpy as np, keras
            >>> from keras_nrnm import NRNM
            >>> layer = NRNM(8, num_heads=2, name="memory")
            >>> model = keras.Sequential([keras.Input((5, 3)),
            ...                           keras.layers.Dense(4), layer])
            >>> with layer.recording_calls() as calls:
            ...     _ = model(np.zeros((2, 5, 3), "float32"))
            >>> len(calls), tuple(calls[0].inputs.shape), calls[0].mask
            (1, (2, 5, 4), None)
        """
        if self._on_call is not None:
            raise RuntimeError(
                f"Layer '{self.name}' is already recording its calls.")
        calls = []
        self._on_call = calls.append
        try:
            yield calls
        finally:
            del self._on_call

    def _record_call(self, inputs, mask):
        if self._on_call is not None:
            self._on_call(LayerCall(inputs, mask))


@keras.saving.register_keras_serializable(package="keras_nrnm")
class NRNM(CallRecording, keras.layers.RNN):
    """Non-local Recurrent Neural Memory layer (Pei et al., IJCV 2022).

    An LSTM whose cell state also reads a memory that is rebuilt every
    `window` steps by multi-head self-attention over the last `block_size`
    steps (their hidden states and inputs), and carried from block to block
    by gates. Used exactly like `keras.layers.LSTM`.

    `NRNM` subclasses `keras.layers.RNN`, not `LSTM`, so that
    `keras.layers.Bidirectional` never sends it to the cuDNN LSTM kernel
    (which would drop the memory).

    Args:
        units: Positive integer, dimensionality of the output space.
        block_size: Steps per memory block `k`. Default: 8.
        stride: Every `stride`-th hidden state of a block becomes a memory
            slot; must divide `block_size`. Default: 4.
        strides: Tuple of strides for the multi-scale dilated memory
            (Eq. 7), e.g. `(1, 3, 5)`, one memory embedding per stride, fused
            by self-attention and an FC layer (`fusion_activation`);
            replaces `stride`. Default: `None`.
        window: The memory is updated every `window` steps. Default: 4.
        num_heads: Attention heads, a positive integer dividing `units`, or
            `None`: the largest of 4, 2 and 1 that divides `units` (4, the
            paper's choice, whenever `units` is a multiple of 4; so
            `NRNM(units)` works for every `units`, as `LSTM(units)` does).
            The config stores the number used. Default: `None`.
        attention: `False` for the "NRNM w/o SA" ablation (Fig. 7).
        attention_output_projection: `True` maps the attention's heads
            through an output projection `W^o`; `False` is Eq. 5 as written
            (and the authors' code). Default: `True`.
        backbone: `"lstm"` (default), `"gru"` or `"simple"` (Fig. 7).
        reset_after: Boolean, the GRU backbone's convention, as in
            `keras.layers.GRU`: `True` applies the reset gate after the
            recurrent matrix product, with a separate recurrent bias (a
            `(2, 3 * units)` bias), so that a fresh
            `NRNM(units, backbone="gru")` computes exactly
            `keras.layers.GRU(units)` with the same kernels; `False` applies
            it before the product (the classic form). Ignored by the other
            backbones. Configs saved without it (before it existed) load
            with `False`, as they were built. Default: `True`.
        backward_states: `True` when the inputs end with a backward pass's
            hidden states for the memory (Eq. 18; see `BidirectionalNRNM`).
        memory_dropout: Dropout on the memory read by the backbone.
        zoneout: Zoneout rate on `h` and `c`.
        memory_gates: `"tied"` (Eq. 9's gates map the block's inputs and
            the old memory through one shared channel map) or `"separate"`
            (a map each, as in the authors' code; `2 units^2` more
            weights). Default: `"tied"`.
        layer_norm_epsilon: Epsilon of the memory's layer norms (Eq. 6);
            raise it (e.g. to 1.0) when the inputs are very small, such as a
            freshly initialised `Embedding`. Default: 1e-5.
        fusion_activation: Activation of the FC layer that fuses the scales
            of the multi-scale memory (Eq. 7); it matters only with
            `strides`. Default: `"relu"`, the paper's non-linear FC layer
            (as Eq. 6's); configs saved without this argument load with
            `None` (linear), as they were built.
        activation: Activation of the candidate and output. Default: `"tanh"`.
        recurrent_activation: Activation of the gates, the memory gate
            included. Default: `"sigmoid"`.
        use_bias: Boolean, whether the backbone uses bias vectors.
        kernel_initializer: Initializer for the input kernels (backbone,
            input units, memory gate), the memory projection and the
            memory's dense maps. Default: `"glorot_uniform"`.
        recurrent_initializer: Initializer for the recurrent kernels
            (backbone and memory gate). Default: `"orthogonal"`.
        bias_initializer: Initializer for the biases. Default: `"zeros"`.
        memory_projection_initializer: Initializer for the projection of the
            memory term into `c_t` (Eq. 10). The default `"zeros"` starts
            the layer as exactly its LSTM, which then learns to open the
            memory. Default: `"zeros"`.
        unit_forget_bias: Boolean. Add 1 to the LSTM forget-gate bias and
            start the memory forget-gate bias at 1. Default: `True`.
        kernel_regularizer: Regularizer for every input kernel and the
            memory's dense kernels.
        recurrent_regularizer: Regularizer for the recurrent kernels.
        bias_regularizer: Regularizer for the biases.
        activity_regularizer: Regularizer for the layer's output.
        kernel_constraint: Constraint for the backbone's input kernel.
        recurrent_constraint: Constraint for the backbone's recurrent kernel.
        bias_constraint: Constraint for the backbone's bias.
        dropout: Float in [0, 1), dropout on the inputs (one mask per
            sequence).
        recurrent_dropout: Float in [0, 1), dropout on `h_{t-1}` in the
            recurrent product.
        seed: Random seed for the dropout and zoneout masks.
        return_sequences: Boolean. Whether to return the last output or the
            full sequence. Default: `False`.
        return_state: `False`, `True` or `"full"`. `True` returns
            `[output, h, c]` like `keras.layers.LSTM` (`[output, h]` with
            the gru and simple backbones, like `GRU` and `SimpleRNN`).
            `"full"` returns `[output, *states]` with all 6 `NRNMCell`
            states (h, c, memory, the block's hidden states and projected
            inputs, the step counters; 7 with `backward_states=True`):
            fed back as `initial_state`, they continue the sequence exactly,
            so a long sequence can be processed in chunks. Default: `False`.
        go_backwards: Boolean. Process the sequence backwards.
        stateful: Boolean. Keep the whole state (memory included) from one
            batch to the next.
        unroll: Boolean. Unroll the loop (short sequences only).
        zero_output_for_mask: Boolean. Output zeros at masked steps instead
            of repeating the last output.
        use_cudnn: `"auto"` (default) or `False`, accepted for compatibility
            with `keras.layers.LSTM`; NRNM has no cuDNN kernel (its memory
            is not in cuDNN's LSTM), so it always runs its own loop, and
            `True` raises a `ValueError`. Not saved in the config (as in
            Keras).
        implementation: Accepted for compatibility with
            `keras.layers.LSTM` (0, 1 or 2) and ignored: NRNM has one
            implementation. Not saved in the config (as in Keras).

    Call arguments:
        inputs: A 3D tensor `(batch, timesteps, features)`.
        mask: Boolean `(batch, timesteps)`, `False` for steps to skip. A
            skipped step changes no state, counters included, so left- and
            right-padded sequences give the same result as unpadded ones.
        training: Python boolean, whether dropout and zoneout are active.
        initial_state: `[h, c]` (`[h]`, or the tensor `h` alone as
            `keras.layers.GRU` takes it, for the gru and simple backbones;
            the memory and block buffers start empty), or the full list of
            `NRNMCell` states, e.g. those returned with
            `return_state="full"` (the sequence then continues where they
            left it: memory, block buffers and window phase included).

    Returns:
        `(batch, units)`, or `(batch, timesteps, units)` with
        `return_sequences=True`; with `return_state=True`, the tuple
        `(output, h, c)` as `keras.layers.LSTM` returns it (`(output, h)`
        for the gru and simple backbones); with `return_state="full"`,
        `(output, *states)` (all cell states).

    Examples:
        >>> import numpy as np
        >>> from keras_nrnm import NRNM
        >>> x = np.random.random((4, 12, 8)).astype("float32")
        >>> tuple(NRNM(16, block_size=4, stride=2, window=2)(x).shape)
        (4, 16)
        >>> seq, h, c = NRNM(16, return_sequences=True, return_state=True)(x)
        >>> tuple(seq.shape), tuple(h.shape), tuple(c.shape)
        ((4, 12, 16), (4, 16), (4, 16))
        >>> chunked = NRNM(16, return_sequences=True, return_state="full")
        >>> first, *states = chunked(x[:, :5])
        >>> second, *states = chunked(x[:, 5:], initial_state=states)
        >>> len(states), tuple(second.shape)
        (6, (4, 7, 16))
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
        activity_regularizer: Regularizer = None,
        kernel_constraint: Constraint = None,
        recurrent_constraint: Constraint = None,
        bias_constraint: Constraint = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        return_sequences: bool = False,
        return_state: bool | str = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        use_cudnn: str | bool = "auto",
        **kwargs: Any,
    ) -> None:
        cell_kwargs = {name: value for name, value in locals().items()
                       if name in CELL_ARGS}
        use_cudnn = validation.use_cudnn(use_cudnn)
        return_state = validation.return_state(return_state)
        return_sequences, go_backwards, stateful, unroll, zero_output_for_mask = (
            validation.boolean(name, value) for name, value in (
                ("return_sequences", return_sequences),
                ("go_backwards", go_backwards), ("stateful", stateful),
                ("unroll", unroll),
                ("zero_output_for_mask", zero_output_for_mask)))
        cell = NRNMCell(
            units,
            **cell_kwargs,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name="nrnm_cell",
            # As `keras.layers.LSTM`: accepted for compatibility, ignored.
            implementation=kwargs.pop("implementation", 2),
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            zero_output_for_mask=zero_output_for_mask,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self.use_cudnn = use_cudnn

    def _complete_initial_state(self, initial_state, batch_size):
        """Accepts `[h, c]` (like LSTM) and adds empty memory and buffers."""
        if initial_state is None:
            return None
        received = ("a single tensor"
                    if not keras.tree.is_nested(initial_state)
                    else f"a list of {len(initial_state)} tensors")
        initial_state = as_state_list(initial_state)
        full = len(self.cell.state_size)
        if len(initial_state) == full:
            return initial_state
        given = self._backbone_states
        if len(initial_state) != given:
            names = "`[h, c]`" if given == 2 else "`[h]` (or `h` alone)"
            raise ValueError(
                f"Argument `initial_state` must be {names} or the full list "
                f"of {full} NRNMCell states. Received {received}."
            )
        fresh = NRNMState.split(self.cell.get_initial_state(batch_size))
        return fresh._replace(**dict(zip(("h", "c"), initial_state))).join()

    def build(
            self, sequences_shape: ShapeLike,
            initial_state_shape: ShapeLike | Sequence[ShapeLike] | None = None
    ) -> None:
        super().build(sequences_shape, initial_state_shape)
        if self.stateful:
            # Without this, PyTorch under mixed precision never carries the
            # state (see `_keras_internals.keep_state_variables_uncast`).
            _keras_internals.keep_state_variables_uncast(self.states)
        # From now on a call with another feature size fails at the door,
        # with Keras's message naming the layer, the expected and the
        # received shapes, instead of a shape error deep in a matmul.
        self.input_spec = keras.layers.InputSpec(
            ndim=3, axes={-1: sequences_shape[-1]}
        )

    def inner_loop(self, sequences: Tensor, initial_state: Sequence[Tensor],
                   mask: "Tensor | MaskAndStart | Sequence[Tensor] | None",
                   training: bool = False, counters_at_zero: bool = False
                   ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """The windowed fast path (`keras_nrnm/fast_path.py`); the cell path
        of `keras.layers.RNN` only with `unroll=True`. Both give the same
        values. `counters_at_zero`: every sample starts at window phase 0
        (a fresh state), so the fast path needs no spare window; `call`
        passes it with the mask (`MaskAndStart`)."""
        if isinstance(mask, MaskAndStart):
            mask, counters_at_zero = mask
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.unroll:
            return super().inner_loop(
                sequences, initial_state, mask=mask, training=training
            )
        return fast_path.windowed_inner_loop(
            self, sequences, list(initial_state), mask=mask, training=training,
            counters_at_zero=counters_at_zero)

    def call(self, sequences: Tensor,
             initial_state: Tensor | Sequence[Tensor] | None = None,
             mask: Tensor | None = None, training: bool = False
             ) -> Tensor | tuple[Tensor, ...]:
        self._record_call(sequences, mask)
        dtype = keras.backend.standardize_dtype(sequences.dtype)
        if not keras.backend.is_float_dtype(dtype):
            raise TypeError(
                f"Layer '{self.name}' expects floating-point inputs "
                "(cast integer token ids with an Embedding layer first). "
                f"Received inputs of dtype {dtype}."
            )
        sequences, mask = checked_mask(sequences, mask, self.name)
        # Without a carried state or a full initial state every sample starts
        # at window phase 0.
        counters_at_zero = not self.stateful and (
            initial_state is None
            or len(as_state_list(initial_state)) == self._backbone_states)
        initial_state = self._complete_initial_state(
            initial_state, ops.shape(sequences)[0]
        )
        result = super().call(sequences, initial_state=initial_state,
                              mask=MaskAndStart(mask, counters_at_zero),
                              training=training)
        if self.return_state:
            return tuple(self._returned(result))  # as LSTM
        return result

    def compute_output_spec(
            self, sequences: Tensor,
            initial_state: Tensor | Sequence[Tensor] | None = None,
            mask: Tensor | None = None, training: bool = False
    ) -> Tensor | tuple[Tensor, ...]:
        # Symbolic calls (building a functional model) check the mask too.
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        validation.sequence_mask(mask, sequences, self.name)
        return super().compute_output_spec(
            sequences, initial_state=initial_state, mask=mask,
            training=training)

    @property
    def _backbone_states(self):
        """`h, c` for the LSTM backbone, `h` for the others."""
        return 2 if self.cell.backbone == "lstm" else 1

    def _returned(self, output_and_states):
        """Of `[output, *states]` (tensors, shapes or masks, one per cell
        state), what `return_state` returns: the output and the backbone's
        states, or every state with `return_state="full"`."""
        output, *states = output_and_states
        if self.return_state == "full":
            return [output, *states]
        return [output, *self.cell.public_states(states)]

    def compute_output_shape(
            self, sequences_shape: ShapeLike,
            initial_state_shape: ShapeLike | Sequence[ShapeLike] | None = None
    ) -> Shape | tuple[Shape, ...]:
        shapes = super().compute_output_shape(sequences_shape)
        if self.return_state:
            # A tuple, as LSTM returns: `keras.layers.Bidirectional` adds the
            # two directions' state shapes with `+`.
            return tuple(self._returned(shapes))
        return shapes

    def compute_mask(self, _: Tensor, mask: Tensor | None
                     ) -> Tensor | list[Tensor | None] | None:
        output_mask = super().compute_mask(_, mask)
        if self.return_state:
            return self._returned(output_mask)
        return output_mask

    def get_config(self) -> dict[str, Any]:
        config = {name: value for name, value in self.cell.get_config().items()
                  if name in CELL_ARGS}
        config["units"] = self.cell.units
        base_config = super().get_config()
        del base_config["cell"]
        return {**base_config, **config}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "NRNM":
        return cls(**with_legacy_defaults(config))


class MaskAndStart(NamedTuple):
    """What `NRNM.call` hands `NRNM.inner_loop` as its `mask` argument
    (`keras.layers.RNN.call` passes `mask` on as it got it): the mask, and
    whether every sample starts at window phase 0."""

    mask: Any
    counters_at_zero: bool


def as_state_list(initial_state):
    """`initial_state` as a list: a single tensor (Keras's RNN layers take
    one for a cell with one state, e.g. `h` for `GRU`) becomes `[tensor]`."""
    if keras.tree.is_nested(initial_state):
        return list(initial_state)
    return [initial_state]


def checked_mask(sequences, mask, layer_name):
    """`(sequences, mask)` with the mask checked against the inputs
    (`validation.sequence_mask`) and made boolean, and the inputs zeroed at
    its skipped steps.

    The skipped steps never reach the outputs (every update is selected by
    `where`), but in the backward pass a NaN or inf there, multiplied by its
    zero gradient, would still make the weights' gradients NaN. Selecting
    zeros before any product keeps the gradients finite (the gradient of
    `where` with respect to the discarded branch is an exact zero)."""
    if isinstance(mask, (list, tuple)):  # one mask per input
        mask = mask[0]
    if mask is None:
        return sequences, None
    if not hasattr(mask, "shape"):
        mask = ops.convert_to_tensor(mask)
    validation.sequence_mask(mask, sequences, layer_name)
    mask = ops.cast(mask, "bool")
    sequences = ops.where(mask[..., None], sequences,
                          ops.zeros_like(sequences))
    return sequences, mask


# The type of each `NRNMCell` attribute that `NRNM` reads through: that of
# the cell's argument of the same name, or what the cell makes of it
# (`num_heads` resolved, `strides` a tuple, the Keras objects as their
# readers return them).
CELL_ATTRIBUTE_TYPES = {
    **{name: kind for name, kind in typing.get_type_hints(
        NRNMCell.__init__).items() if name in ("units",) + CELL_ARGS},
    "num_slots": int,
    "num_heads": int,
    "strides": tuple[int, ...] | None,
    **{name: (Callable[..., Any] if read is keras.activations.get
              else Callable[..., Any] | None)
       for name, read in KERAS_OBJECT_READERS.items()},
}


def _cell_property(name: str) -> property:
    def read_through(self: NRNM) -> Any:
        return getattr(self.cell, name)

    # The property's type, for `typing.get_type_hints` (and the API docs).
    read_through.__annotations__["return"] = CELL_ATTRIBUTE_TYPES[name]
    return property(
        read_through,
        doc=f"`{name}` of the layer's `NRNMCell`.",
    )


# `layer.units`, `layer.block_size`, ... read through to the cell, as
# `keras.layers.LSTM` exposes its cell's arguments.
for _name in ("units", "num_slots") + CELL_ARGS:
    setattr(NRNM, _name, _cell_property(_name))
