"""Does the trained memory help on the test split? Scores of trained NRNM
models as trained and with the memory term switched off.

    python benchmarks/memory_off.py runs/study/protein_structure-nrnm-*/
    python benchmarks/memory_off.py runs/study/sentiment_analysis-nrnm-*/
    python benchmarks/memory_off.py runs/study/ucr_*-nrnm-*/

For each run folder of `examples/protein_structure.py`,
`examples/sentiment_analysis.py` or `examples/time_series_classification.py`
(`--model nrnm`), it loads `model.keras`,
scores it on the example's test split and on the run's training part (the
split of its seed, validation held out), then sets the memory projection of
Eq. 10 (`memory_projection`, the map that adds the memory term to `c_t`) to
zero and scores again. With the projection at zero the layer is exactly its
LSTM backbone, with the weights it learned next to the memory. A memory that
raises the training score and lowers the test score has fitted the training
sequences rather than something that generalises.
"""

import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import _common  # noqa: E402  (quiets the backend's start-up lines)

keras = _common.load_keras()
import numpy as np  # noqa: E402

import keras_nrnm  # noqa: E402, F401  (registers the layers for loading)


def protein_scores(model, args, seed):
    import protein_structure as example

    (x, y, m), tests, _, _ = example.load_data(args)
    (x, y, m), _ = _common.split_validation(0.1, seed, x, y, m)
    x_test, y_test, m_test = next(iter(tests.values()))

    def q3(inputs, labels, real):
        predicted = model.predict(inputs, verbose=0).argmax(-1)
        return float((predicted == labels)[real].mean())

    return lambda: (q3(x, y, m), q3(x_test, y_test, m_test))


def sentiment_scores(model, args, seed):
    import sentiment_analysis as example

    (x, y), (x_test, y_test), _, _ = example.load_data(args)
    (x, y), _ = _common.split_validation(0.1, seed, x, y)

    def accuracy(inputs, labels):
        predicted = model.predict(inputs, verbose=0).ravel() > 0.5
        return float((predicted == labels).mean())

    return lambda: (accuracy(x, y), accuracy(x_test, y_test))


def time_series_scores(model, args, seed):
    import time_series_classification as example

    (x, y), (x_test, y_test), _, _ = example.load_data(args)
    (x, y), _ = _common.split_validation(0.1, seed, x, y)

    def accuracy(inputs, labels):
        predicted = model.predict(inputs, verbose=0).argmax(-1)
        return float((predicted == labels).mean())

    return lambda: (accuracy(x, y), accuracy(x_test, y_test))


SCORERS = {"protein_structure": protein_scores,
           "sentiment_analysis": sentiment_scores,
           "time_series_classification": time_series_scores}


def memory_cells(model):
    """The `NRNMCell`s of the model (in `NRNM` or `BidirectionalNRNM`)."""
    cells = []
    for layer in model.layers:
        if isinstance(layer, keras_nrnm.BidirectionalNRNM):
            layer = layer.forward_layer
        if isinstance(layer, keras_nrnm.NRNM):
            cells.append(layer.cell)
    return cells


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+",
                        help="run folders (with model.keras and run.json)")
    args = parser.parse_args(argv)
    print("| run | train: as trained | train: memory off | "
          "test: as trained | test: memory off |")
    print("|---|---|---|---|---|")
    for folder in sorted(f for pattern in args.runs for f in glob.glob(pattern)):
        with open(os.path.join(folder, "metrics.json")) as f:
            metrics = json.load(f)
        example, run_args = metrics["example"], metrics["args"]
        if example not in SCORERS:
            raise SystemExit(f"{folder}: a run of {example}; this script "
                             f"reads runs of {sorted(SCORERS)}")
        module = __import__(example)
        example_args = module.parse_args(["--model", "nrnm"])
        for name in ("classes", "sequence_length", "keep", "max_tokens",
                     "data_dir", "quick", "dataset"):
            if name in run_args:
                setattr(example_args, name, run_args[name])
        model = keras.saving.load_model(os.path.join(folder, "model.keras"))
        scores = SCORERS[example](model, example_args, run_args["seed"])
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
