"""An independent NumPy implementation of NRNM's equations, for tests.

It shares no code with `keras_nrnm`: it walks the sequence sample by sample,
keeps every hidden state and input by absolute step number (no buffers), and
rebuilds each memory block from the step numbers of Sec. 3.2. It reads the
layer's weights and runs in float64.
"""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def layer_norm(x, gamma, beta, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def cell_weights(cell):
    """The weights of an `NRNMCell`, by equation, as float64 arrays."""
    f = lambda v: np.asarray(v, dtype="float64")  # noqa: E731
    mem = cell.memory
    att = mem.attention
    w = {
        "W": f(cell.kernel), "U": f(cell.recurrent_kernel),
        "W_x": f(cell.input_projection_kernel),
        "W_m": f(cell.memory_gate_kernel),
        "U_m": f(cell.memory_gate_recurrent_kernel),
        "P": f(cell.memory_projection),
        "Wq": f(att._query_dense.kernel), "bq": f(att._query_dense.bias),
        "Wk": f(att._key_dense.kernel), "bk": f(att._key_dense.bias),
        "Wv": f(att._value_dense.kernel), "bv": f(att._value_dense.bias),
        "Wo": f(att._output_dense.kernel), "bo": f(att._output_dense.bias),
        "ln1_g": f(mem.attention_norm.gamma), "ln1_b": f(mem.attention_norm.beta),
        "ln2_g": f(mem.output_norm.gamma), "ln2_b": f(mem.output_norm.beta),
        "W_fc": f(mem.fc.kernel), "b_fc": f(mem.fc.bias),
        "A": f(mem.gate_mixing), "B": f(mem.gate_kernel), "b_g": f(mem.gate_bias),
    }
    d = cell.units
    if cell.use_bias:
        w["b"] = f(cell.bias)
        w["b_x"] = f(cell.input_projection_bias)
        w["b_m"] = f(cell.memory_gate_bias)
    else:
        w["b"], w["b_x"], w["b_m"] = (
            np.zeros(4 * d), np.zeros(d), np.zeros(cell.num_slots * d))
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
    return np.einsum("hsk,hkd->sd", heads, w["Wo"]) + w["bo"], weights


def memory_update(w, hidden_units, input_units, memory, valid_hidden,
                  valid_inputs):
    """Eq. 5, 6, 9, 8 for one block."""
    source = np.concatenate([hidden_units, input_units])  # C
    valid = np.concatenate([valid_hidden, valid_inputs])
    m_att, _ = attention(w, hidden_units, source, valid)
    m_i = layer_norm(hidden_units + m_att, w["ln1_g"], w["ln1_b"])
    fc = np.maximum(m_i @ w["W_fc"] + w["b_fc"], 0.0)
    m_tilde = layer_norm(m_i + fc, w["ln2_g"], w["ln2_b"])
    gate_in = np.concatenate([input_units * valid_inputs[:, None], memory])
    g_i = sigmoid(w["A"][0] @ gate_in @ w["B"][0] + w["b_g"][0])
    g_f = sigmoid(w["A"][1] @ gate_in @ w["B"][1] + w["b_g"][1])
    return g_i * np.tanh(m_tilde) + g_f * memory


def run_sequence(w, x, units, block_size, stride, window):
    """One unpadded sequence `(T, D)` -> outputs `(T, d)`, final h, c, M, and
    the step numbers after which the memory was updated."""
    d, k, s = units, block_size, stride
    n = k // s
    h, c, memory = np.zeros(d), np.zeros(d), np.zeros((n, d))
    hidden, inputs, outputs, updates = {}, {}, [], []
    for t, x_t in enumerate(np.asarray(x, "float64")):
        v_m = memory.reshape(-1)  # Eq. 10: flatten(M_{t-win})
        z = x_t @ w["W"] + h @ w["U"] + w["b"]
        z_i, z_f, z_c, z_o = np.split(z, 4)
        g_m = sigmoid(x_t @ w["W_m"] + v_m @ w["U_m"] + w["b_m"])  # Eq. 12
        c = (sigmoid(z_f) * c + sigmoid(z_i) * np.tanh(z_c)
             + (g_m * v_m) @ w["P"])  # Eq. 10
        h = sigmoid(z_o) * np.tanh(c)  # Eq. 13
        hidden[t], inputs[t] = h, x_t @ w["W_x"] + w["b_x"]
        outputs.append(h)
        if (t + 1) % window == 0:
            block = range(t - k + 1, t + 1)
            sampled = [t - j * s for j in reversed(range(n))]
            zero = np.zeros(d)
            memory = memory_update(
                w,
                np.stack([hidden.get(u, zero) for u in sampled]),
                np.stack([inputs.get(u, zero) for u in block]),
                memory,
                np.array([u >= 0 for u in sampled]),
                np.array([u >= 0 for u in block]),
            )
            updates.append(t)
    return np.stack(outputs), h, c, memory, updates


def nrnm_forward(cell, x):
    """Outputs `(batch, T, d)` of `keras.layers.RNN(cell)` on `x`."""
    w = cell_weights(cell)
    return np.stack([
        run_sequence(w, seq, cell.units, cell.block_size, cell.stride,
                     cell.window)[0]
        for seq in np.asarray(x)
    ])
