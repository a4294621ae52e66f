"""Every non-public part of Keras that keras-nrnm uses, and why.

Nothing else in the package imports from `keras.src` or reads a private
attribute of a Keras object; `tests/test_keras_internals.py` fails loudly
when a Keras release changes one of these.
"""

from keras.src import backend as _backend
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell

__all__ = ["DropoutRNNCell", "attention_projections",
           "check_input_spec", "in_stateless_scope",
           "keep_state_variables_uncast", "multi_worker_fit_is_broken",
           "patch_multi_worker_fit",
           "prepare_dropout_masks", "rnn_loop"]

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


# keras-team/keras#20585: `fit` under `tf.distribute.MultiWorkerMirroredStrategy`
# fails in every Keras 3 release checked (3.4.0 to 3.15.1: the source of the
# two functions below, and two-worker runs with 3.4.0 and 3.15.1). Set this to the first release that fixes it, and
# `patch_multi_worker_fit` leaves that release and later ones alone;
# `tests/test_keras_internals.py` fails when a release changes either function.
MULTI_WORKER_FIT_FIXED_IN = None

def _release(version):
    """`(major, minor, micro)`: a pre-release of a version counts as it."""
    from packaging.version import Version

    return Version(version).release


def multi_worker_fit_is_broken(version=None):
    """Whether Keras `version` (default: the installed one) has
    keras-team/keras#20585, i.e. is older than `MULTI_WORKER_FIT_FIXED_IN`."""
    if MULTI_WORKER_FIT_FIXED_IN is None:
        return True
    import keras

    return (_release(version or keras.__version__)
            < _release(MULTI_WORKER_FIT_FIXED_IN))


def patch_multi_worker_fit():
    """Let `model.fit` / `evaluate` run under
    `tf.distribute.MultiWorkerMirroredStrategy` (keras-team/keras#20585).

    Keras's TensorFlow trainer fails there in two places, both in code that
    runs only across several workers:

    - `TensorFlowTrainer._maybe_symbolic_build` (Keras >= 3.5) averages the
      first distributed batch over all replicas with `strategy.reduce`, only
      to learn its shapes; across workers that reduce fails ("Attempt to
      convert a value ... with an unsupported type (PerReplica) to a
      Tensor"). The first local replica's batch has the same shapes: the
      patch passes that one instead.
    - `reduce_per_replica` averages the per-step loss and metric values over
      the workers with `strategy.reduce("MEAN", value, axis=0)`, and these
      values are scalars, which have no axis 0: the patch reduces scalars
      with `axis=None`.

    Both replacements wrap Keras's own functions and change only what they
    do under a multi-worker collective strategy; everything else (one
    machine, `MirroredStrategy`, no strategy) runs Keras's code unchanged.
    Call it once, before `fit`, in every worker. It does nothing on Keras
    releases without the bug (`multi_worker_fit_is_broken`), and returns
    whether the trainer is patched. Needs TensorFlow (the patched trainer is
    the TensorFlow backend's); calling it twice patches once.

    Checked with two workers on one machine: with Keras 3.7.0, 3.8.0 and
    3.15.1 the patched `fit` trains and logs as one model. (Below the Keras
    floor it does not: with 3.4.0 the workers ended with different weights,
    with 3.5.0 and 3.6.0 each logged the loss of its own share.)
    """
    if not multi_worker_fit_is_broken():
        return False
    import keras
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer, "_keras_nrnm_multi_worker_fit", False):
        return True
    multi_worker = trainer._collective_all_reduce_multi_worker

    def first_replica(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return value.values[0]
        return value

    cls = trainer.TensorFlowTrainer
    if hasattr(cls, "_maybe_symbolic_build"):
        maybe_symbolic_build = cls._maybe_symbolic_build

        def _maybe_symbolic_build(self, iterator=None, data_batch=None):
            strategy = self._distribute_strategy
            if (iterator is not None and strategy is not None
                    and multi_worker(strategy)):
                # The first batch, as Keras takes it: epoch iterators yield
                # `(begin, end, iterator)` (Keras >= 3.9) or, through
                # `enumerate_epoch`, `(step, iterator)`.
                steps = (iterator.enumerate_epoch()
                         if hasattr(iterator, "enumerate_epoch") else iterator)
                for step in steps:
                    data_batch = keras.tree.map_structure(first_replica,
                                                    next(step[-1]))
                    break
                iterator = None
            return maybe_symbolic_build(self, iterator=iterator,
                                        data_batch=data_batch)

        cls._maybe_symbolic_build = _maybe_symbolic_build

    reduce_per_replica = trainer.reduce_per_replica

    def _reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and multi_worker(strategy):
            def mean(value):
                axis = 0 if value.shape.rank else None
                return strategy.reduce("MEAN", value, axis=axis)

            return keras.tree.map_structure(mean, values)
        return reduce_per_replica(values, strategy, reduction)

    # Its callers in the module look it up there at call time.
    trainer.reduce_per_replica = _reduce_per_replica
    trainer._keras_nrnm_multi_worker_fit = True
    return True
