"""The attention weights `W_att` (Eq. 5) of every memory update, and a
figure of them in the style of the paper's Figs. 8 and 10:
`attention_maps` and `plot_attention`."""

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_nrnm import _keras_internals
from keras_nrnm._files import atomic_path
from keras_nrnm._typing import AttentionMap, Figure, StrPath, TensorLike
from keras_nrnm.bidirectional import BidirectionalNRNM
from keras_nrnm.layer import NRNM


def attention_maps(
        model: keras.Model | keras.layers.Layer | None = None,
        layer: str | keras.layers.Layer | TensorLike | None = None,
        inputs: TensorLike | None = None) -> list[AttentionMap]:
    """Attention weights `W_att` (Eq. 5) of every memory update of a layer.

    Runs an `NRNM` (or `BidirectionalNRNM`) layer from a zero state over a
    batch of sequences at inference (no dropout or zoneout noise) and, for
    each memory update and each stride, returns which steps the update
    covered and how much each memory slot attended to each source unit.

    Two forms:

    - `attention_maps(model, layer, inputs)`: `inputs` are the *model's*
      inputs; the model runs on them once and the layer's own input is
      taken where the model feeds it, however deep the layer sits (after
      other layers, inside a nested model, or shared, e.g. a siamese
      encoder: its first call). Padding that the model masks
      (`Masking`, `Embedding(mask_zero=True)`) is dropped, as the masked
      layer skips it.
    - `attention_maps(layer, inputs)`: `inputs` are what the layer itself
      receives; masking is not applied, so pass unpadded sequences.

    Args:
        model: A `keras.Model` that contains the layer (any depth); or, in
            the two-argument form, the layer itself.
        layer: The `keras_nrnm.NRNM` or `keras_nrnm.BidirectionalNRNM`
            layer, or its name (found at any depth of `model`); in the
            two-argument form, the layer's inputs. With `model` and
            `inputs` only, the model's single NRNM layer.
        inputs: The model's inputs (a batch). With masking, the sequences
            of one batch must have the same real length: pass one sequence
            at a time otherwise. For an `NRNM` made with
            `backward_states=True` the last `units` features of the layer's
            input are the backward hidden states (what `BidirectionalNRNM`
            feeds it).

    Returns:
        A list of dicts, one per (memory update, stride), in update order:
        `"step"`: the 0-based step after which the update ran (in processing
        order, i.e. reversed with `go_backwards=True`); `"stride"`;
        `"query_steps"`: `(slots,)` steps of the hidden states that query
        (one per memory slot); `"key_steps"`: `(units,)` steps of the source
        units, hidden states first and then inputs (negative: before the
        start of the sequence, where the weight is 0); `"key_kinds"`: `"h"`
        (hidden state), `"b"` (backward hidden state, Eq. 18) or `"x"`
        (input) per source unit; `"weights"`: float array
        `(batch, heads, slots, units)` whose rows sum to 1. With
        `attention=False` there are no attention weights and the list is
        empty.

    Examples:
        >>> import numpy as np, keras
        >>> from keras_nrnm import NRNM, attention_maps
        >>> model = keras.Sequential([
        ...     keras.Input((9, 3)),
        ...     keras.layers.Dense(5),
        ...     NRNM(8, block_size=4, stride=2, window=4, num_heads=2,
        ...          name="memory"),
        ... ])
        >>> x = np.random.random((1, 9, 3)).astype("float32")
        >>> maps = attention_maps(model, "memory", x)
        >>> [m["step"] for m in maps], maps[0]["weights"].shape
        ([3, 7], (1, 2, 2, 6))
        >>> layer = model.get_layer("memory")   # the layer and its own input
        >>> len(attention_maps(layer, model.layers[0](x)))
        2
    """
    if isinstance(model, keras.Model) and inputs is None and not (
            isinstance(layer, (str, keras.layers.Layer))):
        inputs, layer = layer, None  # attention_maps(model, inputs)
    if inputs is None:  # attention_maps(layer, inputs)
        return _layer_maps(model, layer)
    if model is None:  # attention_maps(layer=..., inputs=...), as before 0.2
        return _layer_maps(layer, inputs)
    if not isinstance(model, keras.Model):
        raise TypeError(
            "Argument `model` must be a keras.Model when `layer` and "
            "`inputs` are given (or call attention_maps(layer, "
            f"layer_inputs)). Received: model={model!r}"
        )
    layer = _find_layer(model, layer)
    sequences, mask = _layer_input(model, layer, inputs)
    if mask is not None:
        mask = np.asarray(ops.convert_to_numpy(mask)).astype(bool)
        lengths = mask.sum(axis=1)
        if np.any(lengths != lengths[0]):
            raise ValueError(
                "Argument `inputs` holds sequences of different real "
                f"lengths ({sorted(set(lengths.tolist()))} unmasked steps): "
                "the memory updates then fall at different steps. Pass one "
                "sequence at a time, e.g. inputs[:1]."
            )
        # Masked steps change no state (NRNM.call), so the real steps alone
        # give the masked layer's values, wherever the padding was.
        sequences = np.asarray(ops.convert_to_numpy(sequences))
        sequences = np.stack([s[m] for s, m in zip(sequences, mask)])
    return _layer_maps(layer, sequences)


def _nrnm_layers(model):
    """Every NRNM and BidirectionalNRNM in `model`, at any depth (the two
    NRNMs of a `keras.layers.Bidirectional` included)."""
    found = []
    for sublayer in getattr(model, "layers", []):
        if _is_memory_layer(sublayer):
            found.append(sublayer)
        elif isinstance(sublayer, keras.layers.Bidirectional):
            found.extend(layer for layer in (sublayer.forward_layer,
                                             sublayer.backward_layer)
                         if _is_memory_layer(layer))
        else:
            found.extend(_nrnm_layers(sublayer))
    return found


def _is_memory_layer(layer):
    return isinstance(layer, (NRNM, BidirectionalNRNM))


def _find_layer(model, layer):
    candidates = _nrnm_layers(model)
    names = [candidate.name for candidate in candidates]
    if layer is None:
        if len(candidates) != 1:
            raise ValueError(
                "Argument `layer` is needed: model "
                f"'{model.name}' has {len(candidates)} NRNM layers {names}."
            )
        return candidates[0]
    if isinstance(layer, str):
        for candidate in candidates:
            if candidate.name == layer:
                return candidate
        raise ValueError(
            f"Argument `layer`: model '{model.name}' has no NRNM layer named "
            f"'{layer}'. Its NRNM layers: {names}."
        )
    if not any(candidate is layer for candidate in candidates):
        raise ValueError(
            f"Argument `layer` ({getattr(layer, 'name', layer)!r}) is not an "
            f"NRNM layer of model '{model.name}'. Its NRNM layers: {names}."
        )
    return layer


def _layer_input(model, layer, inputs):
    """What `layer` receives, and its mask, the first time `model` calls it
    on `inputs` (at inference), recorded by the layer's own
    `recording_calls`: at any depth, for nested and shared layers alike."""
    with layer.recording_calls() as calls:
        model(inputs, training=False)
    if not calls:
        raise ValueError(
            f"Argument `layer`: model '{model.name}' did not call layer "
            f"'{layer.name}' on these inputs."
        )
    return calls[0]


def _layer_maps(layer, inputs):
    """The maps of `layer` (an `NRNM` or `BidirectionalNRNM`) on what it
    receives, `inputs`."""
    x = _checked_inputs(layer, inputs)
    if isinstance(layer, BidirectionalNRNM):
        # Eq. 18: the forward NRNM reads the inputs and the backward states,
        # wired as the layer wires them.
        x = layer.forward_inputs(x)[0]
        layer = layer.forward_layer
    cell = getattr(layer, "cell", None)
    memory = getattr(cell, "memory", None)
    if memory is None:
        raise TypeError(
            "Argument `layer` must be a built keras_nrnm.NRNM or "
            f"BidirectionalNRNM layer. Received: layer={layer!r}"
        )
    if not memory.attention:
        return []
    hidden = keras.layers.RNN(cell, return_sequences=True,
                              go_backwards=layer.go_backwards)(x)
    if layer.go_backwards:
        x = ops.flip(x, axis=1)
    backward = None
    if cell.backward_states:
        x, backward = x[..., :-cell.units], x[..., -cell.units:]
    units = cell.input_terms(x).units  # the inputs as units (Eq. 5)
    maps = []
    for t in cell.schedule.update_steps(x.shape[1]):
        maps += _update_maps(cell, t, hidden, units, backward)
    return maps


def _checked_inputs(layer, inputs):
    """`inputs` as a float32 tensor `(batch, steps, features)`, checked
    against the layer's input spec."""
    if ops.is_tensor(inputs):
        # Detached from any autograd graph (PyTorch records the model's run).
        inputs = ops.convert_to_numpy(inputs)
    x = ops.convert_to_tensor(np.asarray(inputs, dtype="float32"))
    if len(x.shape) != 3:
        raise ValueError(
            "Argument `inputs` must have shape (batch, timesteps, features). "
            f"Received: inputs.shape={tuple(x.shape)}"
        )
    if getattr(layer, "input_spec", None) is not None:
        try:
            # The layer's own "expected axis -1 ..." error, not a matmul's.
            _keras_internals.check_input_spec(layer, x)
        except ValueError as error:
            raise ValueError(
                f"{error} Pass what layer '{layer.name}' receives, or the "
                "model and its inputs: attention_maps(model, layer, inputs)."
            ) from None
    return x


def _update_maps(cell, t, hidden, units, backward):
    """The maps of the memory update after step `t`, one per stride, from
    the whole sequences of hidden states, input units and (or `None`)
    backward states."""
    schedule, memory = cell.schedule, cell.memory
    block_steps = schedule.block_steps(t)
    real = schedule.real_positions(
        ops.full((units.shape[0],), schedule.steps_in_block(t), "float32"))
    _, scores = memory.scale_embeddings(
        schedule.block_of(hidden, t), schedule.block_of(units, t), real,
        None if backward is None else schedule.block_of(backward, t))
    maps = []
    for stride, weights in zip(memory.strides, scores):
        query_steps = block_steps[schedule.slot_positions(stride)]
        input_steps = block_steps[schedule.input_positions(stride)]
        # Source units in NonLocalMemory.scale_embeddings's order.
        hidden_kinds = ["h", "b"] if backward is not None else ["h"]
        key_steps = [query_steps] * len(hidden_kinds) + [input_steps]
        key_kinds = [kind for kind in hidden_kinds
                     for _ in query_steps] + ["x"] * len(input_steps)
        maps.append({
            "step": t,
            "stride": stride,
            "query_steps": query_steps,
            "key_steps": np.concatenate(key_steps),
            "key_kinds": key_kinds,
            "weights": ops.convert_to_numpy(weights).astype("float32"),
        })
    return maps


def plot_attention(maps: Sequence[AttentionMap], path: StrPath | None = None,
                   sample: int = 0, updates: Sequence[int] | None = None,
                   title: str | None = None) -> Figure:
    """Draws attention maps as heatmaps, like the paper's Figs. 8 and 10.

    One panel per memory update: rows are the memory slots (labelled by the
    hidden state that queries), columns the source units `h_t` and `x_t` of
    the block, colour the weight averaged over heads.

    The figure is a `matplotlib.figure.Figure` of its own (Agg canvas):
    pyplot and the global matplotlib backend are left alone, so notebooks
    keep their inline plots; a notebook shows the returned figure.

    Args:
        maps: The list returned by `attention_maps`.
        path: Where to write the PNG (written atomically, with the
            permissions of a normally created file), or `None` to write
            nothing. Default: `None`.
        sample: Index of the sequence in the batch. Default: 0.
        updates: Indices into `maps` to draw. Default: two updates of the
            first stride, as in the paper: the first whose block lies
            entirely within the sequence (the earliest blocks reach back
            before its start, where there is nothing to attend to) and the
            last.
        title: Figure title.

    Returns:
        The `matplotlib.figure.Figure`.

    Examples:
        >>> import numpy as np
        >>> from keras_nrnm import NRNM, attention_maps, plot_attention
        >>> layer = NRNM(8, block_size=4, stride=2, window=4, num_heads=2)
        >>> x = np.random.random((1, 9, 3)).astype("float32")
        >>> _ = layer(x)
        >>> figure = plot_attention(attention_maps(layer, x), "/tmp/attention.png")
        >>> [axis.get_title() for axis in figure.axes[:2]]
        ['memory update after step 3 (stride 2)', 'memory update after step 7 (stride 2)']
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "plot_attention needs matplotlib: pip install matplotlib"
        ) from error
    if not maps:
        raise ValueError(
            "Argument `maps` is empty: the layer made no memory update with "
            "attention (the sequence is shorter than `window`, or "
            "attention=False)."
        )
    batch = maps[0]["weights"].shape[0]
    if not -batch <= sample < batch:
        raise ValueError(
            f"Argument `sample` must index the batch of {batch} sequences. "
            f"Received: sample={sample}"
        )
    if updates is None:
        updates = default_updates(maps)
    figure = Figure(figsize=(4.5 * len(updates), 3.2))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(updates), squeeze=False)
    for axis, index in zip(axes[0], updates):
        entry = maps[index]
        weights = entry["weights"][sample].mean(axis=0)
        image = axis.imshow(weights, cmap="viridis", vmin=0.0, aspect="auto")
        labels = [f"{kind}{step}" if step >= 0 else "pad"
                  for kind, step in zip(entry["key_kinds"], entry["key_steps"])]
        axis.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        axis.set_yticks(range(len(entry["query_steps"])),
                        [f"slot h{s}" if s >= 0 else "slot (pad)"
                         for s in entry["query_steps"]], fontsize=7)
        axis.set_title(f"memory update after step {entry['step']}"
                       f" (stride {entry['stride']})", fontsize=9)
        figure.colorbar(image, ax=axis, fraction=0.046)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    if path is not None:
        with atomic_path(path, suffix=".png") as temporary:
            figure.savefig(temporary, dpi=120)
    return figure


def default_updates(maps):
    """Indices of the two updates `plot_attention` draws by default: of the
    first stride, the first update whose block has only real steps (none
    before the start of the sequence; the first update if there is none),
    and the last update."""
    first_stride = [i for i, m in enumerate(maps)
                    if m["stride"] == maps[0]["stride"]]
    whole = [i for i in first_stride if np.all(maps[i]["key_steps"] >= 0)]
    return sorted({(whole or first_stride)[0], first_stride[-1]})
