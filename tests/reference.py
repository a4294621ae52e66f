"""An independent NumPy implementation of NRNM's equations, for tests.

It shares no arithmetic with `keras_nrnm` (it only reads the attention weights
through `NonLocalBlock.projections` and `_keras_internals.attention_projections`): it walks the sequence sample by sample,
keeps every hidden state and input by absolute step number (no buffers), and
rebuilds each memory block from the step numbers of Sec. 3.2. It reads the
layer's weights and runs in float64.
"""

import keras
import numpy as np

from keras_nrnm._keras_internals import attention_projections


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _f(v):
    return np.asarray(v, dtype="float64")


# Activations by the name Keras serializes them under, in NumPy.
ACTIVATIONS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": sigmoid,
}


def activation(function):
    """The NumPy twin of a Keras activation (a function or its name)."""
    name = keras.activations.serialize(keras.activations.get(function))
    if name not in ACTIVATIONS:
        raise NotImplementedError(f"No NumPy reference for activation {name!r}")
    return ACTIVATIONS[name]


def attention_weights(projections, heads):
    """Eq. 5's maps `(q, k, v, o)` as `(d, heads, c)` kernels and `(heads,
    c)` biases (`W^o` as `(heads, c, d)`, `None` when there is none)."""
    q, k, v, o = projections
    d = _f(q.kernel).shape[0]
    c = d // heads
    w = {}
    for name, dense in (("q", q), ("k", k), ("v", v)):
        w["W" + name] = _f(dense.kernel).reshape(d, heads, c)
        w["b" + name] = _f(dense.bias).reshape(heads, c)
    w["Wo"] = None if o is None else _f(o.kernel).reshape(heads, c, d)
    w["bo"] = None if o is None else _f(o.bias)
    return w


def block_weights(block):
    """Eq. 5-6 weights of one stride (`NonLocalBlock`)."""
    w = {
        "ln1_g": _f(block.attention_norm.gamma),
        "ln1_b": _f(block.attention_norm.beta),
        "ln2_g": _f(block.output_norm.gamma), "ln2_b": _f(block.output_norm.beta),
        "W_fc": _f(block.fc.kernel), "b_fc": _f(block.fc.bias),
        "ln_eps": block.layer_norm_epsilon,
    }
    if block.use_attention:
        w["attention"] = attention_weights(block.projections(),
                                           block.num_heads)
    else:
        w["W_mix"], w["b_mix"] = _f(block.mixing.kernel), _f(block.mixing.bias)
    return w


def cell_weights(cell):
    """The weights of an `NRNMCell`, by equation, as float64 arrays."""
    mem = cell.memory
    w = {
        "W": _f(cell.kernel), "U": _f(cell.recurrent_kernel),
        "W_x": _f(cell.input_projection_kernel),
        "W_m": _f(cell.memory_gate_kernel),
        "U_m": _f(cell.memory_gate_recurrent_kernel),
        "P": _f(cell.memory_projection),
        "scales": [block_weights(b) for b in mem.blocks],
        "A": _f(mem.gate_mixing), "b_g": _f(mem.gate_bias),
    }
    if mem.gate_layout == "tied":
        w["B_x"] = w["B_m"] = _f(mem.gate_kernel)
    else:
        w["B_x"], w["B_m"] = _f(mem.gate_input_kernel), _f(mem.gate_memory_kernel)
    if len(mem.blocks) > 1:
        w["fusion_attention"] = attention_weights(
            attention_projections(mem.fusion_attention), mem.num_heads)
        w["W_fuse"], w["b_fuse"] = _f(mem.fusion.kernel), _f(mem.fusion.bias)
        # The cell's setting, not the dense layer's: a layer that ignored it
        # would fail the comparison.
        w["fuse_activation"] = activation(cell.fusion_activation)
    d = cell.units
    # The GRU's convention (Keras's `reset_after`): the reset gate after the
    # recurrent product, which then has a bias of its own, `b_U`.
    w["reset_after"] = cell.backbone == "gru" and cell.reset_after
    w["b_U"] = np.zeros(w["U"].shape[1])
    if cell.use_bias:
        w["b"] = _f(cell.bias)
        if w["reset_after"]:  # Keras's (2, 3 d) bias: input row, recurrent row
            w["b"], w["b_U"] = w["b"][0], w["b"][1]
        w["b_x"] = _f(cell.input_projection_bias)
        w["b_m"] = _f(cell.memory_gate_bias)
    else:
        w["b"], w["b_x"], w["b_m"] = (
            np.zeros(w["W"].shape[1]), np.zeros(d),
            np.zeros(cell.num_slots * d))
    return w


def attention(w, queries, units, valid):
    """Eq. 5: multi-head scaled dot-product attention, padded units masked."""
    q = np.einsum("sd,dhk->hsk", queries, w["Wq"]) + w["bq"][:, None, :]
    k = np.einsum("ud,dhk->huk", units, w["Wk"]) + w["bk"][:, None, :]
    v = np.einsum("ud,dhk->huk", units, w["Wv"]) + w["bv"][:, None, :]
    logits = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    logits = np.where(valid[None, None, :], logits, -np.inf)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)  # W_att
    heads = weights @ v
    if w["Wo"] is None:  # the heads concatenated, as Eq. 5 writes it
        return heads.transpose(1, 0, 2).reshape(len(queries), -1), weights
    return np.einsum("hsk,hkd->sd", heads, w["Wo"]) + w["bo"], weights


def scale_embedding(w, hidden_units, input_units, valid_hidden, valid_inputs):
    """Eq. 5-6 for one stride: the embedding M~ of the sampled slots. The
    queries are `hidden_units`; the keys are those and `input_units`."""
    source = np.concatenate([hidden_units, input_units])  # C
    valid = np.concatenate([valid_hidden, valid_inputs])
    if "attention" in w:
        m_att, _ = attention(w["attention"], hidden_units, source, valid)
    else:  # "NRNM w/o SA": concatenate the units, then a linear map
        flat = (source * valid[:, None]).reshape(-1)
        m_att = (flat @ w["W_mix"] + w["b_mix"]).reshape(hidden_units.shape)
    m_i = layer_norm(hidden_units + m_att, w["ln1_g"], w["ln1_b"], w["ln_eps"])
    fc = np.maximum(m_i @ w["W_fc"] + w["b_fc"], 0.0)
    return layer_norm(m_i + fc, w["ln2_g"], w["ln2_b"], w["ln_eps"])


def fuse(w, embeddings):
    """Eq. 7: self-attention over all scales' slots, concat per slot, FC
    (with its activation, ReLU by default like Eq. 6's)."""
    if len(embeddings) == 1:
        return embeddings[0]
    tokens = np.concatenate(embeddings)
    fused, _ = attention(w["fusion_attention"], tokens, tokens,
                         np.ones(len(tokens), bool))
    slots = len(embeddings[0])
    per_slot = np.concatenate(np.split(fused, len(embeddings)), axis=1)
    assert per_slot.shape[0] == slots
    return w["fuse_activation"](per_slot @ w["W_fuse"] + w["b_fuse"])


def memory_update(w, hidden, inputs, memory, t, block_size, strides,
                  backward=None):
    """Eq. 5-9 for the block ending at step t. `hidden`, `inputs` (and
    `backward`, Eq. 18) map a step number to its hidden state / projected
    input / backward hidden state."""
    slots = memory.shape[0]
    zero = np.zeros(memory.shape[1])
    embeddings = []
    for stride, scale in zip(strides, w["scales"]):
        sampled = [t - j * stride for j in reversed(range(slots))]
        block = range(t - stride * slots + 1, t + 1)
        queries = np.stack([hidden.get(u, zero) for u in sampled])
        extra = np.zeros((0, len(zero)))
        if backward is not None:  # Eq. 18: backward states join the units
            extra = np.stack([backward.get(u, zero) for u in sampled])
        embeddings.append(scale_embedding(
            scale, queries,
            np.concatenate([extra] + [inputs.get(u, zero)[None] for u in block]),
            np.array([u >= 0 for u in sampled]),
            np.array([u >= 0 for u in sampled] * (backward is not None)
                     + [u >= 0 for u in block])))
    m_tilde = fuse(w, embeddings)
    # Eq. 9: W [x_{t-k+1..t}, M_{t-win}] (padding as zeros), W factored
    # into unit mixing A = [A_x, A_m] and channel maps B_x, B_m.
    block_inputs = np.stack(
        [inputs.get(u, zero) for u in range(t - block_size + 1, t + 1)])
    A_x, A_m = w["A"][:, :, :block_size], w["A"][:, :, block_size:]
    g_i, g_f = (
        sigmoid(A_x[g] @ block_inputs @ w["B_x"][g] + A_m[g] @ memory @ w["B_m"][g]
                + w["b_g"][g])
        for g in (0, 1))
    return g_i * np.tanh(m_tilde) + g_f * memory  # Eq. 8


def backbone_step(w, backbone, x_t, h, c, memory_term):
    """Eq. 10-13 (LSTM), or the memory term in the candidate (GRU, RNN)."""
    z = x_t @ w["W"] + w["b"]
    if backbone == "lstm":
        z_i, z_f, z_c, z_o = np.split(z + h @ w["U"], 4)
        c = sigmoid(z_f) * c + sigmoid(z_i) * np.tanh(z_c) + memory_term  # Eq. 10
        return sigmoid(z_o) * np.tanh(c), c  # Eq. 13
    if backbone == "gru":
        return gru_step(w, z, h, memory_term), c
    return np.tanh(z + h @ w["U"] + memory_term), c  # simple RNN


def gru_step(w, z, h, memory_term):
    """The GRU backbone from `z = x W + b`: Keras's default form (reset gate
    after the recurrent product and its bias `b_U`), or the classic one
    (reset gate before the product)."""
    d = len(h)
    x_z, x_r, x_h = np.split(z, 3)
    u_z, u_r, u_h = w["U"][:, :d], w["U"][:, d:2 * d], w["U"][:, 2 * d:]
    b_z, b_r, b_h = np.split(w["b_U"], 3)
    update = sigmoid(x_z + h @ u_z + b_z)
    reset = sigmoid(x_r + h @ u_r + b_r)
    if w["reset_after"]:
        candidate = np.tanh(x_h + reset * (h @ u_h + b_h) + memory_term)
    else:
        candidate = np.tanh(x_h + (reset * h) @ u_h + memory_term)
    return update * h + (1 - update) * candidate


def zoneout(new, old, rate, keep):
    """Zoneout (Krueger et al. 2017): `keep * new + (1 - keep) * old` with
    this step's keep-mask, or the expectation when `keep` is None."""
    if keep is None:
        return (1 - rate) * new + rate * old
    return keep * new + (1 - keep) * old


def run_sequence(w, x, units, block_size, strides, window, backbone="lstm",
                 backward_states=False, zoneout_rate=0.0, zoneout_keep=None):
    """One unpadded sequence `(T, D)` -> outputs `(T, d)`, final h, c, M, and
    the step numbers after which the memory was updated. With
    `backward_states`, the last `units` features of x are backward hidden
    states (Eq. 18). With `zoneout_rate`, zoneout on h (and c with the LSTM
    backbone): `zoneout_keep[t]` holds step t's keep-masks for h and c
    (training); without it the expectation (inference)."""
    d = units
    n = block_size // max(strides)
    h, c, memory = np.zeros(d), np.zeros(d), np.zeros((n, d))
    hidden, inputs, outputs, updates = {}, {}, [], []
    backward = {} if backward_states else None
    for t, x_t in enumerate(np.asarray(x, "float64")):
        if backward_states:
            x_t, backward[t] = x_t[:-d], x_t[-d:]
        v_m = memory.reshape(-1)  # Eq. 10: flatten(M_{t-win})
        g_m = sigmoid(x_t @ w["W_m"] + v_m @ w["U_m"] + w["b_m"])  # Eq. 12
        h_new, c_new = backbone_step(w, backbone, x_t, h, c,
                                     (g_m * v_m) @ w["P"])
        if zoneout_rate:
            keep = (None, None) if zoneout_keep is None else zoneout_keep[t]
            h_new = zoneout(h_new, h, zoneout_rate, keep[0])
            if backbone == "lstm":
                c_new = zoneout(c_new, c, zoneout_rate, keep[1])
        h, c = h_new, c_new
        hidden[t], inputs[t] = h, x_t @ w["W_x"] + w["b_x"]
        outputs.append(h)
        if (t + 1) % window == 0:
            memory = memory_update(w, hidden, inputs, memory, t, block_size,
                                   strides, backward)
            updates.append(t)
    return np.stack(outputs), h, c, memory, updates


def lstm_forward(lstm_cell, x):
    """A plain Keras LSTM cell over `(T, D)`, for the backward pass."""
    W, U = _f(lstm_cell.kernel), _f(lstm_cell.recurrent_kernel)
    b = _f(lstm_cell.bias)
    h = c = np.zeros(U.shape[0])
    out = []
    for x_t in np.asarray(x, "float64"):
        z_i, z_f, z_c, z_o = np.split(x_t @ W + h @ U + b, 4)
        c = sigmoid(z_f) * c + sigmoid(z_i) * np.tanh(z_c)
        h = sigmoid(z_o) * np.tanh(c)
        out.append(h)
    return np.stack(out)


def bidirectional_forward(layer, x):
    """Outputs `(batch, T, 2d)` of a `BidirectionalNRNM` on unpadded x."""
    cell = layer.forward_layer.cell
    w = cell_weights(cell)
    result = []
    for seq in np.asarray(x, "float64"):
        backward = lstm_forward(layer.backward_layer.cell, seq[::-1])[::-1]
        forward = run_sequence(
            w, np.concatenate([seq, backward], axis=1), cell.units,
            cell.block_size, cell.memory_strides, cell.window, cell.backbone,
            backward_states=True)[0]
        result.append(np.concatenate([forward, backward], axis=1))
    return np.stack(result)


def nrnm_forward(cell, x, zoneout_keep=None):
    """Outputs `(batch, T, d)` of `keras.layers.RNN(cell)` on `x`, with
    zoneout's expectation, or in training with `zoneout_keep` `(batch, T,
    2, d)`, each step's keep-masks for h and c."""
    w = cell_weights(cell)
    return np.stack([
        run_sequence(w, seq, cell.units, cell.block_size, cell.memory_strides,
                     cell.window, cell.backbone, cell.backward_states,
                     cell.zoneout,
                     None if zoneout_keep is None else zoneout_keep[b])[0]
        for b, seq in enumerate(np.asarray(x))
    ])
