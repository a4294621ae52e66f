"""Does the trained memory help on the test split? Scores of trained NRNM
models as trained and with the memory term switched off.

    PYTHONPATH=examples python -m studies.memory_off runs/study/protein_structure-nrnm-*/
    PYTHONPATH=examples python -m studies.memory_off runs/study/sentiment_analysis-nrnm-*/
    PYTHONPATH=examples python -m studies.memory_off runs/study/ucr_*-nrnm-*/

For each run folder of `examples/protein_structure.py`,
`examples/sentiment_analysis.py` or `examples/time_series_classification.py`
(`--model nrnm`), it loads `model.keras`,
scores it on the example's test split and on the run's training part (the
split of its seed, validation held out), then sets the memory projection of
Eq. 10 (`memory_projection`, the map that adds the memory term to `c_t`) to
zero and scores again. With the projection at zero the layer is exactly its
LSTM backbone, with the weights it learned next to the memory. A memory that
raises the training score and lowers the test score has fitted the training
sequences rather than something that generalises. The figures are in
docs/results.md, "Where NRNM trails: the trained memory switched off".
"""

import argparse
import glob
import importlib
import json
import os

import numpy as np

import _common  # the examples' shared plumbing (quiets the backend's start-up)

# Keras and keras_nrnm are imported once the command line is parsed.


def training_part(seed, *arrays):
    """The training part of a run of seed `seed`: its split without the
    validation part that `_common.run_example` held out."""
    train, _ = _common.split_validation(_common.VALIDATION_FRACTION, seed, *arrays)
    return train


def protein_scores(model, example, args, seed):
    (x, y, m), tests, _, _ = example.load_data(args)
    x, y, m = training_part(seed, x, y, m)
    x_test, y_test, m_test = next(iter(tests.values()))

    def q3(inputs, labels, real):
        predicted = model.predict(inputs, verbose=0).argmax(-1)
        return float((predicted == labels)[real].mean())

    return lambda: (q3(x, y, m), q3(x_test, y_test, m_test))


def sentiment_scores(model, example, args, seed):
    (x, y), (x_test, y_test), _, _ = example.load_data(args)
    x, y = training_part(seed, x, y)

    def accuracy(inputs, labels):
        predicted = model.predict(inputs, verbose=0).ravel() > 0.5
        return float((predicted == labels).mean())

    return lambda: (accuracy(x, y), accuracy(x_test, y_test))


def time_series_scores(model, example, args, seed):
    (x, y), (x_test, y_test), _, _ = example.load_data(args)
    x, y = training_part(seed, x, y)

    def accuracy(inputs, labels):
        predicted = model.predict(inputs, verbose=0).argmax(-1)
        return float((predicted == labels).mean())

    return lambda: (accuracy(x, y), accuracy(x_test, y_test))


SCORERS = {"protein_structure": protein_scores,
           "sentiment_analysis": sentiment_scores,
           "time_series_classification": time_series_scores}


def memory_cells(model):
    """The `NRNMCell`s of the model (in `NRNM` or `BidirectionalNRNM`)."""
    import keras_nrnm

    cells = []
    for layer in model.layers:
        if isinstance(layer, keras_nrnm.BidirectionalNRNM):
            layer = layer.forward_layer
        if isinstance(layer, keras_nrnm.NRNM):
            cells.append(layer.cell)
    return cells


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m studies.memory_off",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+",
                        help="run folders (with model.keras and run.json)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    keras = _common.load_keras()
    import keras_nrnm  # noqa: F401  (registers the layers for loading)

    print("| run | train: as trained | train: memory off | "
          "test: as trained | test: memory off |")
    print("|---|---|---|---|---|")
    for folder in sorted(f for pattern in args.runs for f in glob.glob(pattern)):
        with open(os.path.join(folder, "metrics.json")) as f:
            metrics = json.load(f)
        name, run_args = metrics["example"], metrics["args"]
        if name not in SCORERS:
            raise SystemExit(f"{folder}: a run of {name}; this study "
                             f"reads runs of {sorted(SCORERS)}")
        example = importlib.import_module(name)
        example_args = example.parse_args(["--model", "nrnm"])
        for key in ("classes", "sequence_length", "keep", "max_tokens",
                    "data_dir", "quick", "dataset"):
            if key in run_args:
                setattr(example_args, key, run_args[key])
        model = keras.saving.load_model(os.path.join(folder, "model.keras"))
        scores = SCORERS[name](model, example, example_args, run_args["seed"])
        trained = scores()
        for cell in memory_cells(model):
            cell.memory_projection.assign(
                np.zeros(cell.memory_projection.shape, "float32"))
        off = scores()
        print(f"| {os.path.basename(os.path.normpath(folder))} | "
              f"{100 * trained[0]:.1f} | {100 * off[0]:.1f} | "
              f"{100 * trained[1]:.1f} | {100 * off[1]:.1f} |", flush=True)


if __name__ == "__main__":
    main()
