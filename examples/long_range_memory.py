"""Long-range memory on the canonical tasks: the adding problem and copy memory.

NRNM exists to carry information across long stretches of a sequence (Sec. 1
of the paper). The two standard tests of a recurrent memory make that plain,
because the information to keep sits at a known, controllable distance:

- **Adding problem** (Hochreiter & Schmidhuber 1997; Le et al. 2015): `T`
  steps of `(value, marker)`, values uniform in [0, 1), two steps marked, one
  in each half of the sequence; the target is the sum of the two marked
  values. Predicting the mean scores an MSE of 1/6 (0.167); the task counts
  as solved at a validation MSE below 0.01.
- **Copy memory** (Arjovsky et al. 2016): 10 symbols drawn from 8, then
  `delay` steps of blanks with a delimiter at the last one, then 10 blanks
  during which the network must reproduce the 10 symbols in order (length
  `delay + 20`). A network that outputs blanks and then guesses scores a
  cross-entropy of `10 log 8 / (delay + 20)` and recalls 1/8 of the symbols;
  solved is a validation recall above 0.9.

Every model gets the same budget of training steps on freshly drawn batches
(Adam, learning rate 2e-3, gradients clipped to norm 1), and is scored every
`--eval-every` steps on a fixed validation set of 1,000 sequences drawn with
another seed. The run stops as soon as the task is solved: the step at which
that happened ("steps to solve") is the result, with the learning curve.

    python examples/long_range_memory.py --task adding --length 200 --model nrnm
    python examples/long_range_memory.py --task copy --length 100 --model lstm
    python examples/long_range_memory.py --quick          # a smoke run

Models (`--model`), each with `--units` units (default 64):

- `nrnm`: `keras_nrnm.NRNM(units)` with its defaults;
- `nrnm_chrono`: the same, with the memory's gates (Eq. 9) started by
  chrono initialisation (Tallec & Ollivier 2018): forget-gate biases drawn as
  `log(U(1, U_max - 1))`, `U_max` the memory updates in a sequence, and
  input-gate biases their negatives, instead of 1 and 0 (an experiment of
  the "Long-range memory" page, not a default);
- `lstm`: `keras.layers.LSTM(units)`, the same width;
- `lstm_matched`: an LSTM widened to NRNM's parameter count;
- `transformer`: what users pick instead for long sequences: a causal
  Transformer encoder (`keras.layers.MultiHeadAttention`, 2 blocks of width
  `units`, sinusoidal positions), with a similar parameter count;
- `nrnm_k<block>s<stride>w<window>` (and `nrnm_chrono_k...`): NRNM with
  its own memory schedule, e.g. `nrnm_k16s2w16` for `block_size=16,
  stride=2, window=16`: fewer memory updates between the two ends of a
  dependency (the "Long-range memory" page's third measurement).

A run writes `<--output-dir>/metrics.json` and resumes after its last
evaluation if interrupted (`keras.callbacks.BackupAndRestore`; every batch is
a function of the seed and the step, so a resumed run sees the batches an
uninterrupted one would). `examples/long_range_sweep.py` runs the grid of
the docs' "Long-range memory" page (tasks, lengths, models, seeds) and draws
its figure.
"""

import argparse
import math
import os
import re
import sys
import time

import _common  # the examples' shared plumbing: a script's folder is on sys.path
import numpy as np

TASKS = ("adding", "copy")
MODELS = ("nrnm", "lstm", "lstm_matched", "transformer", "nrnm_chrono")
# An NRNM model with its own memory schedule: `nrnm_k16s2w16` is
# `NRNM(units, block_size=16, stride=2, window=16)` (also `nrnm_chrono_...`).
NRNM_SCHEDULE = re.compile(r"^(nrnm|nrnm_chrono)_k(\d+)s(\d+)w(\d+)$")
# Solved: validation MSE below (adding), validation recall above (copy).
SOLVED_MSE = 0.01
SOLVED_RECALL = 0.9
COPY_SYMBOLS = 10     # symbols to remember
COPY_ALPHABET = 8     # drawn from 1..8; 0 is the blank, 9 the delimiter
COPY_CLASSES = 10
VALIDATION_SIZE = 1000
VALIDATION_SEED_OFFSET = 10_000


# The tasks ----------------------------------------------------------------
def adding_batch(rng, batch, length):
    """`(x, y)`: `x` `(batch, length, 2)` values and markers, `y` `(batch, 1)`
    the sum of the two marked values (one marker in each half)."""
    values = rng.random((batch, length), dtype=np.float32)
    half = length // 2
    first = rng.integers(0, half, batch)
    second = rng.integers(half, length, batch)
    markers = np.zeros((batch, length), np.float32)
    rows = np.arange(batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = (values[rows, first] + values[rows, second])[:, None]
    return np.stack([values, markers], axis=-1), y.astype(np.float32)


def copy_batch(rng, batch, delay):
    """`(x, y)`: `x` one-hot `(batch, delay + 20, 10)`, `y` the class per
    step: the blank, 0, until the last 10 steps, which hold the 10
    symbols."""
    length = delay + 2 * COPY_SYMBOLS
    symbols = rng.integers(1, COPY_ALPHABET + 1, (batch, COPY_SYMBOLS))
    tokens = np.zeros((batch, length), np.int64)
    tokens[:, :COPY_SYMBOLS] = symbols
    tokens[:, COPY_SYMBOLS + delay - 1] = COPY_CLASSES - 1  # the delimiter
    y = np.zeros((batch, length), np.int64)
    y[:, -COPY_SYMBOLS:] = symbols
    x = np.eye(COPY_CLASSES, dtype=np.float32)[tokens]
    return x, y.astype(np.int32)


def memoryless_baseline(task, length):
    """The score of a model without memory: MSE 1/6 (predicting the mean)
    for adding, cross-entropy `10 log 8 / (delay + 20)` for copy."""
    if task == "adding":
        return 1.0 / 6.0
    return COPY_SYMBOLS * math.log(COPY_ALPHABET) / (length + 2 * COPY_SYMBOLS)


def sequence_length(task, length):
    return length if task == "adding" else length + 2 * COPY_SYMBOLS


def batch_at(task, length, batch_size, seed, step):
    """The training batch of step `step` (a function of seed and step only,
    so a resumed run draws what an uninterrupted one would)."""
    rng = np.random.default_rng([seed, step])
    if task == "adding":
        return adding_batch(rng, batch_size, length)
    return copy_batch(rng, batch_size, length)


def validation_set(task, length, seed):
    rng = np.random.default_rng([seed + VALIDATION_SEED_OFFSET])
    if task == "adding":
        return adding_batch(rng, VALIDATION_SIZE, length)
    return copy_batch(rng, VALIDATION_SIZE, length)


# The models ---------------------------------------------------------------
def model_kind(model):
    """`(kind, NRNM schedule keywords)`: `kind` one of `MODELS`; the schedule
    is empty except for the `nrnm_k<block>s<stride>w<window>` variants."""
    if model in MODELS:
        return model, {}
    match = NRNM_SCHEDULE.match(model)
    if not match:
        raise ValueError(
            f"Argument `model` must be one of {MODELS} or an NRNM with its "
            "own schedule, `nrnm_k<block>s<stride>w<window>` (also after "
            f"`nrnm_chrono`). Received: model={model!r}")
    kind, block, stride, window = match.groups()
    return kind, {"block_size": int(block), "stride": int(stride),
                  "window": int(window)}


def build_model(task, length, model, units):
    import keras

    from keras_nrnm import NRNM

    steps = sequence_length(task, length)
    features = 2 if task == "adding" else COPY_CLASSES
    every_step = task == "copy"
    inputs = keras.Input((steps, features))
    kind, schedule = model_kind(model)
    if kind in ("nrnm", "nrnm_chrono"):
        layer = NRNM(units, return_sequences=every_step, name="nrnm",
                     **schedule)
        x = layer(inputs)
        if kind == "nrnm_chrono":
            chrono_memory_gates(layer, steps // layer.window)
    elif kind in ("lstm", "lstm_matched"):
        if kind == "lstm_matched":
            units = matched_lstm_units(task, length, units)
        x = keras.layers.LSTM(units, return_sequences=every_step,
                              name="lstm")(inputs)
    else:  # "transformer"
        x = transformer_encoder(inputs, steps, units)
        if not every_step:
            x = x[:, -1]  # causal: the last position has seen every step
    if task == "adding":
        outputs = keras.layers.Dense(1, name="sum")(x)
    else:
        outputs = keras.layers.Dense(COPY_CLASSES, activation="softmax",
                                     name="symbol")(x)
    return keras.Model(inputs, outputs, name=f"{model}_{task}")


def chrono_memory_gates(layer, updates, seed=None):
    """Chrono initialisation (Tallec & Ollivier 2018) of the memory gates of
    Eq. 9 of a built `NRNM` layer: forget-gate biases `log(U(1, updates -
    1))`, so that the memory's characteristic times spread up to the number
    of memory updates in a sequence, and input-gate biases their negatives.
    The seed is Keras's (`keras.utils.set_random_seed`) unless given."""
    import keras

    gate_bias = layer.cell.memory.gate_bias  # (2, slots, units): G_i, G_f
    low, high = 1.0, max(2.0, updates - 1.0)
    forget = keras.ops.log(keras.random.uniform(
        tuple(gate_bias.shape[1:]), low, high, seed=seed))
    gate_bias.assign(keras.ops.stack([-forget, forget]))


def transformer_encoder(inputs, steps, width, blocks=2, heads=4):
    """A causal pre-norm Transformer encoder: an input embedding plus
    sinusoidal positions (Vaswani et al. 2017; no weights, so the parameter
    count does not grow with the length), then `blocks` x (self-attention,
    feed-forward of 2 x width), each with a residual connection."""
    import keras

    x = keras.layers.Dense(width, name="embedding")(inputs)
    x = x + sinusoidal_positions(steps, width)[None]
    for i in range(blocks):
        y = keras.layers.LayerNormalization(name=f"norm_{i}a")(x)
        y = keras.layers.MultiHeadAttention(
            heads, width // heads, name=f"attention_{i}")(
                y, y, use_causal_mask=True)
        x = x + y
        y = keras.layers.LayerNormalization(name=f"norm_{i}b")(x)
        y = keras.layers.Dense(2 * width, activation="relu",
                               name=f"feed_forward_{i}a")(y)
        x = x + keras.layers.Dense(width, name=f"feed_forward_{i}b")(y)
    return keras.layers.LayerNormalization(name="norm_out")(x)


def sinusoidal_positions(steps, width):
    """`(steps, width)`: sines and cosines of the position at geometrically
    spaced frequencies."""
    position = np.arange(steps)[:, None]
    frequency = np.exp(-math.log(10_000.0) * np.arange(0, width, 2) / width)
    table = np.zeros((steps, width), np.float32)
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency)[:, : width // 2]
    return table


def matched_lstm_units(task, length, units):
    """The LSTM width whose model's parameter count is closest to NRNM's
    (same task, NRNM at `units`)."""
    import keras

    target = build_model(task, length, "nrnm", units).count_params()
    keras.backend.clear_session()
    features = 2 if task == "adding" else COPY_CLASSES
    outputs = 1 if task == "adding" else COPY_CLASSES

    def lstm_model_params(u):
        return 4 * (u * (features + u) + u) + u * outputs + outputs

    return min(range(units, 8 * units),
               key=lambda u: abs(lstm_model_params(u) - target))


def recall(y_true, y_pred):
    """Per sequence, the share of the 10 symbols reproduced (argmax) in the
    last 10 steps."""
    import keras

    ops = keras.ops
    predicted = ops.argmax(y_pred[:, -COPY_SYMBOLS:], axis=-1)
    target = ops.cast(y_true[:, -COPY_SYMBOLS:], predicted.dtype)
    return ops.mean(ops.cast(ops.equal(predicted, target), "float32"), axis=-1)


def compile_model(model, task, learning_rate):
    import keras

    optimizer = keras.optimizers.Adam(learning_rate, clipnorm=1.0)
    if task == "adding":
        model.compile(optimizer, loss="mse")
    else:
        # The loss covers every step (as in Arjovsky et al.); the recall is
        # the accuracy on the last 10, where the symbols are reproduced.
        model.compile(optimizer, loss="sparse_categorical_crossentropy",
                      metrics=[keras.metrics.MeanMetricWrapper(
                          recall, name="recall")])
    # Built before `fit`, so that Keras traces the train step once (the
    # guide's "First epoch").
    model.optimizer.build(model.trainable_variables)
    return model


# Training -----------------------------------------------------------------
def training_batches(args, first_step):
    """An endless `keras.utils.PyDataset` (`fit` takes `eval_every` batches
    per epoch, in order): batch `i` is step `first_step + i`."""
    import keras

    class Batches(keras.utils.PyDataset):
        @property
        def num_batches(self):
            return None  # endless

        def __getitem__(self, index):
            return batch_at(args.task, args.length, args.batch_size,
                            args.seed, first_step + index)

    return Batches()


def validation_key(task):
    """The log entry that decides "solved": validation MSE or recall."""
    return "val_loss" if task == "adding" else "val_recall"


def is_solved(task, value):
    """Whether a validation score meets the task's threshold."""
    if value is None or math.isnan(value):
        return False
    return value < SOLVED_MSE if task == "adding" else value > SOLVED_RECALL


def stop_when_solved_callback(task):
    import keras

    class StopWhenSolved(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if is_solved(task, (logs or {}).get(validation_key(task))):
                self.model.stop_training = True

    return StopWhenSolved()


def learning_curve(args):
    """Steps, validation score and training loss per evaluation, from the
    run's `log.csv` (so a resumed run's curve covers all its evaluations)."""
    from _common.runs import read_log

    log = read_log(args)
    steps = [(epoch + 1) * args.eval_every for epoch in log.get("epoch", [])]
    return {"step": steps, "validation": log.get(validation_key(args.task), []),
            "validation_loss": log.get("val_loss", []),
            "loss": log.get("loss", [])}


def steps_to_solve(args, curve):
    """The first evaluated step whose validation score met the threshold."""
    for step, value in zip(curve["step"], curve["validation"]):
        if is_solved(args.task, value):
            return step
    return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="long_range_memory.py", description=__doc__.split("\n")[0])
    parser.add_argument("--task", choices=TASKS, default="adding",
                        help="adding problem or copy memory (default: adding)")
    parser.add_argument("--length", type=int, default=None,
                        help="adding: sequence length T; copy: the delay "
                             "(default: 200 for adding, 100 for copy; 20 "
                             "with --quick)")
    parser.add_argument("--model", default="nrnm",
                        help=f"one of {', '.join(MODELS)}, or an NRNM with "
                             "its own memory schedule: nrnm_k<block>s<stride>"
                             "w<window>, e.g. nrnm_k16s2w16 (default: nrnm)")
    parser.add_argument("--units", type=int, default=64,
                        help="width of the recurrent layer (default: 64)")
    parser.add_argument("--steps", type=int, default=None,
                        help="training budget in steps (default: 4000; 40 "
                             "with --quick)")
    parser.add_argument("--eval-every", type=int, default=None,
                        help="steps between evaluations (default: 100; 20 "
                             "with --quick)")
    parser.add_argument("--batch-size", type=int, default=50,
                        help="sequences per step (default: 50)")
    parser.add_argument("--learning-rate", type=float, default=2e-3,
                        help="Adam's learning rate (default: 2e-3)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the weights and of the training batches "
                             "(default: 0)")
    parser.add_argument("--quick", action="store_true",
                        help="a short sequence and 40 steps: a smoke run")
    parser.add_argument("--output-dir", default=None,
                        help="where the run is kept (default: "
                             "runs/long_range/<task>-<length>-<model>-<seed>)")
    parser.add_argument("--restart", action="store_true",
                        help="discard an earlier run in --output-dir")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                        help="Keras verbosity (default: 1 on a terminal, "
                             "else 2)")
    args = parser.parse_args(argv)
    try:
        model_kind(args.model)
    except ValueError as error:
        parser.error(str(error))
    if args.length is None:
        args.length = 20 if args.quick else {"adding": 200, "copy": 100}[
            args.task]
    if args.steps is None:
        args.steps = 40 if args.quick else 4000
    if args.eval_every is None:
        args.eval_every = 20 if args.quick else 100
    for name in ("length", "units", "steps", "eval_every", "batch_size"):
        if getattr(args, name) < (2 if name == "length" else 1):
            parser.error(f"--{name.replace('_', '-')} must be a positive "
                         f"integer (at least 2 for --length)")
    if args.steps % args.eval_every:
        parser.error("--steps must be a multiple of --eval-every")
    if args.output_dir is None:
        args.output_dir = os.path.join(
            "runs", "long_range",
            f"{args.task}-{args.length}-{args.model}-{args.seed}")
    if args.verbose is None:
        args.verbose = 1 if sys.stdout.isatty() else 2
    # What `_common.runs` reads; these runs have no epochs of data.
    args.epochs = args.steps // args.eval_every
    return args


def main(argv=None):
    args = parse_args(argv)
    print(f"long_range_memory.py: {args.task} at length {args.length}, "
          f"{args.model}, seed {args.seed}; loading Keras ...", flush=True)
    keras = _common.load_keras()
    # A run may be resumed with a larger budget (`--steps`).
    _common.prepare_output_dir(
        argparse.Namespace(**{k: v for k, v in vars(args).items()
                              if k != "steps"}), f"{args.task}-{args.length}")
    metrics_path = os.path.join(args.output_dir, "metrics.json")

    keras.utils.set_random_seed(args.seed)
    model = compile_model(
        build_model(args.task, args.length, args.model, args.units),
        args.task, args.learning_rate)
    done = _common.announce_resume(args)
    validation = validation_set(args.task, args.length, args.seed)
    start = time.perf_counter()
    curve = learning_curve(args)
    if steps_to_solve(args, curve) is None and done < args.epochs:
        model.fit(training_batches(args, first_step=done * args.eval_every),
                  epochs=args.epochs, steps_per_epoch=args.eval_every,
                  shuffle=False, validation_data=validation,
                  validation_batch_size=250, verbose=args.verbose,
                  callbacks=_common.callbacks(args)
                  + [stop_when_solved_callback(args.task)])
        curve = learning_curve(args)
    seconds = time.perf_counter() - start
    solved_at = steps_to_solve(args, curve)
    result = {
        "task": args.task, "length": args.length, "model": args.model,
        "seed": args.seed, "units": args.units,
        "params": int(model.count_params()),
        "steps_budget": args.steps, "eval_every": args.eval_every,
        "batch_size": args.batch_size, "learning_rate": args.learning_rate,
        "solved_at": solved_at,
        "threshold": SOLVED_MSE if args.task == "adding" else SOLVED_RECALL,
        "memoryless_baseline": memoryless_baseline(args.task, args.length),
        "curve": curve, "seconds_this_call": round(seconds, 1),
        "finished": True, "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
    }
    _common.write_json(metrics_path, result)
    score = "MSE" if args.task == "adding" else "recall"
    last = curve["validation"][-1] if curve["validation"] else float("nan")
    print(f"{args.model} on {args.task} {args.length}: "
          + (f"solved at step {solved_at}" if solved_at else
             f"not solved in {args.steps} steps")
          + f" (last validation {score} {last:.4f}); wrote {metrics_path}")
    return result


if __name__ == "__main__":
    main()
