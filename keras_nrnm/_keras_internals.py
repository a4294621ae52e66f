"""Every non-public part of Keras that keras-nrnm uses, and why.

Nothing else in the package imports from `keras.src` or reads a private
attribute of a Keras object; `tests/test_keras_internals.py` fails loudly
when a Keras release changes one of these.
"""

from keras.src import backend as _backend
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

__all__ = ["DropoutRNNCell", "attention_projections",
           "check_input_spec", "in_stateless_scope",
           "keep_state_variables_uncast", "prepare_dropout_masks", "rnn_loop"]

# `DropoutRNNCell`: `keras.layers.RNN.call` makes a cell's dropout masks once
# per sequence (and resets them) only for cells that are instances of it;
# NRNMCell's memory-dropout mask rides on the same hooks (zoneout draws a
# fresh mask at every step instead: `NRNMCell.zoneout_masks`).


def attention_projections(layer):
    """The four `EinsumDense` projections of a
    `keras.layers.MultiHeadAttention`: `(query, key, value, output)`.

    NRNM keeps its attention weights in that layer (so saved files keep its
    layout) but multiplies them itself (`memory.multi_head_attention`,
    faster to differentiate); the layer exposes them only as private
    attributes."""
    return (layer._query_dense, layer._key_dense, layer._value_dense,
            layer._output_dense)


def rnn_loop(step, inputs, initial_states, input_length):
    """`keras.src.backend.rnn`, the loop of `keras.layers.RNN`, time-major:
    `(last_output, outputs, new_states)`. The fast path needs it on
    TensorFlow only, where `keras.ops.scan` cannot stack outputs that are
    shaped unlike the carry (Keras 3.15)."""
    return _backend.rnn(step, inputs, initial_states, time_major=True,
                        input_length=input_length)


def prepare_dropout_masks(layer, first_step, initial_state):
    """What `keras.layers.RNN.call` does before its loop: make the cell's
    dropout (and, through `NRNMCell.get_recurrent_dropout_mask`, the
    memory-dropout) masks for this sequence. The tests use it to run
    `RNN.inner_loop` and `NRNM.inner_loop` with the same masks."""
    layer._maybe_config_dropout_masks(layer.cell, first_step, initial_state)


def keep_state_variables_uncast(variables):
    """Turn off autocasting of a stateful RNN's state variables.

    `keras.layers.RNN.call` stores the new state with `variable.assign`
    inside the layer's autocast scope. On PyTorch, `assign` copies into
    `variable.value`, which under `mixed_float16` / `mixed_bfloat16` is a
    cast copy of the float32 variable: the state is written to a temporary
    and lost, so the next call starts from the old state again (Keras
    3.15.1; `keras.layers.LSTM` has the same bug). Without autocasting
    `value` is the variable itself; `RNN.call` casts the state to the
    compute dtype when it reads it."""
    for variable in variables or ():
        variable._autocast = False


def check_input_spec(layer, inputs):
    """`layer`'s `input_spec` check (Keras's "expected axis -1 of input
    shape to have value ..." errors) without calling the layer."""
    from keras.src.layers.input_spec import assert_input_compatibility

    assert_input_compatibility(layer.input_spec, inputs, layer.name)


def in_stateless_scope():
    """Whether variables are being read and written through a
    `keras.StatelessScope`, where a seed generator cannot advance from one
    step of a traced loop to the next. On JAX, Keras runs the loop of
    `keras.layers.RNN` (and its trainers their steps) in one, so a random
    draw inside the loop would repeat at every step."""
    from keras.src.backend.common.stateless_scope import (
        in_stateless_scope as _in_stateless_scope)

    return _in_stateless_scope()
