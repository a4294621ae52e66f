"""The attention weights `W_att` (Eq. 5) of every memory update, and a
figure of them in the style of the paper's Figs. 8 and 10."""

import keras
import numpy as np
from keras import ops

from keras_nrnm import _keras_internals
from keras_nrnm import schedule
from keras_nrnm._files import atomic_path


def attention_maps(layer, inputs):
    """Attention weights `W_att` (Eq. 5) of every memory update of a layer.

    Runs `layer` (an `NRNM`) from a zero state over `inputs` at inference
    (no dropout or zoneout noise) and, for each memory update and each
    stride, returns which steps the update covered and how much each memory
    slot attended to each source unit.

    Args:
        layer: A built `keras_nrnm.NRNM` or `keras_nrnm.BidirectionalNRNM`
            layer (for one inside a model, e.g. `model.get_layer("nrnm")`).
        inputs: The layer's input sequences, `(batch, timesteps, features)`.
            Masking is not applied: pass unpadded sequences. For an `NRNM`
            made with `backward_states=True` the last `units` features are
            the backward hidden states (what `BidirectionalNRNM` feeds it).

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
        >>> import numpy as np
        >>> from keras_nrnm import NRNM, attention_maps
        >>> layer = NRNM(8, block_size=4, stride=2, window=4, num_heads=2)
        >>> x = np.random.random((1, 9, 3)).astype("float32")
        >>> _ = layer(x)
        >>> maps = attention_maps(layer, x)
        >>> [m["step"] for m in maps], maps[0]["weights"].shape
        ([3, 7], (1, 2, 2, 6))
    """
    x = ops.convert_to_tensor(np.asarray(inputs, dtype="float32"))
    if len(x.shape) != 3:
        raise ValueError(
            "Argument `inputs` must have shape (batch, timesteps, features). "
            f"Received: inputs.shape={tuple(x.shape)}"
        )
    if getattr(layer, "input_spec", None) is not None:
        # The layer's own "expected axis -1 ..." error, not a matmul's.
        _keras_internals.check_input_spec(layer, x)
    backward_layer = getattr(layer, "backward_layer", None)
    if backward_layer is not None:  # BidirectionalNRNM: rebuild Eq. 18's input
        backward = ops.flip(backward_layer(x), axis=1)
        layer = layer.forward_layer
        x = ops.concatenate([x, ops.cast(backward, x.dtype)], axis=-1)
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
    steps, k, d = x.shape[1], cell.block_size, cell.units
    backward = None
    if cell.backward_states:
        x, backward = x[..., :-d], x[..., -d:]
    units = cell.input_terms(x)[2]  # the inputs as units (Eq. 5)

    def block_of(sequence, t):
        # Steps t-k+1 .. t, zeros before the start of the sequence.
        first = t - k + 1
        part = sequence[:, max(first, 0): t + 1]
        if first < 0:
            zeros = ops.zeros((ops.shape(sequence)[0], -first, d), part.dtype)
            part = ops.concatenate([zeros, part], axis=1)
        return part

    maps = []
    for t in schedule.update_steps(steps, cell.window):
        block_steps = schedule.block_steps(t, k)
        real = schedule.real_positions(
            k, ops.full((x.shape[0],), min(t + 1, k), "float32"))
        _, scores = memory.scale_embeddings(
            block_of(hidden, t), block_of(units, t), real,
            None if backward is None else block_of(backward, t))
        for stride, weights in zip(memory.strides, scores):
            query_steps = block_steps[memory.slot_positions(stride)]
            input_steps = block_steps[memory.input_positions(stride)]
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


def plot_attention(maps, path, sample=0, updates=None, title=None):
    """Draws attention maps as heatmaps, like the paper's Figs. 8 and 10.

    One panel per memory update: rows are the memory slots (labelled by the
    hidden state that queries), columns the source units `h_t` and `x_t` of
    the block, colour the weight averaged over heads.

    Args:
        maps: The list returned by `attention_maps`.
        path: Where to write the PNG (written atomically).
        sample: Index of the sequence in the batch.
        updates: Indices into `maps` to draw. Default: the first and the last
            update of the first stride (two memory blocks, as in the paper).
        title: Figure title.

    Returns:
        `path`.

    Examples:
        >>> import numpy as np
        >>> from keras_nrnm import NRNM, attention_maps, plot_attention
        >>> layer = NRNM(8, block_size=4, stride=2, window=4, num_heads=2)
        >>> x = np.random.random((1, 9, 3)).astype("float32")
        >>> _ = layer(x)
        >>> plot_attention(attention_maps(layer, x), "/tmp/attention.png")
        '/tmp/attention.png'
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
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
    if updates is None:
        first_stride = [i for i, m in enumerate(maps)
                        if m["stride"] == maps[0]["stride"]]
        updates = sorted({first_stride[0], first_stride[-1]})
    figure, axes = plt.subplots(1, len(updates),
                                figsize=(4.5 * len(updates), 3.2),
                                squeeze=False)
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
    try:
        with atomic_path(path, suffix=".png") as temporary:
            figure.savefig(temporary, dpi=120)
    finally:
        plt.close(figure)
    return path
