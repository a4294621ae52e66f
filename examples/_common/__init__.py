"""Plumbing shared by the examples, one module per concern.

Each example (`action_recognition.py`, `sentiment_analysis.py`,
`protein_structure.py`, `sequence_similarity.py`,
`time_series_classification.py`) reads its data, says how to build its model
and how to score it on the test split, and hands them to `run_example`;
everything around that lives here, once:

- `runner`: `run_example`, the run itself: output folder, validation part,
  devices, `--match-nrnm-params`, `fit`, the test scores, the learning curves
  and `metrics.json`;
- `startup`: quiet backend start-up (`load_keras`), imported first;
- `cli`: the common command line (`--data-dir`, `--model nrnm|lstm`, `--epochs`,
  `--units`, `--output-dir`, `--seed`, `--quick`, `--distribute`, ...);
- `runs`: the output folder: `run.json` (the settings of the run, checked when a run
  is resumed), `log.csv` (`keras.callbacks.CSVLogger`), `model.keras`
  (`keras.callbacks.ModelCheckpoint`, every epoch), `backup/`
  (`keras.callbacks.BackupAndRestore`: a re-run with the same `--output-dir`
  continues after the last completed epoch), `metrics.json` and the figures;
- `devices`: data-parallel training with the backend's own engine (`--distribute`);
- `results` (`metrics.json`), `files` (JSON written atomically) and
  `figures`: learning curves, confusion matrix, per-class scores and the
  NRNM attention map (`keras_nrnm.plot_attention`).

Every file that a reader may pick up while a run is in progress
(`metrics.json`, `run.json`, the figures) is written to a temporary file in
the same folder and moved into place with `os.replace`, so a killed run never
leaves half a file behind.
"""

import importlib

from _common.startup import load_keras, quiet_backend

# Before anything imports Keras: `import _common` is the first line of
# every example.
quiet_backend()

# Name -> module. Imported on first use, so that importing `_common` and
# parsing the command line stay fast (`--help`); these modules import Keras.
_LAZY = {
    "jit_compile": "cli", "make_parser": "cli", "match_parameters": "cli",
    "memory_kwargs": "cli", "lstm_kwargs": "cli", "parse_args": "cli", "announce_build": "cli",
    "Devices": "devices", "predict": "devices",
    "split_validation": "devices", "whole_batches": "devices",
    "plot_attention": "figures", "plot_confusion_matrix": "figures",
    "plot_learning_curves": "figures", "plot_per_class": "figures",
    "mean_loss": "results", "write_metrics": "results",
    "write_json": "files",
    "STOP_AFTER_EPOCH_ENV": "runs", "Timer": "runs",
    "announce_resume": "runs", "callbacks": "runs",
    "prepare_output_dir": "runs",
    "Run": "runner", "VALIDATION_FRACTION": "runner", "run_example": "runner",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module '_common' has no attribute '{name}'")
    return getattr(importlib.import_module(f"_common.{_LAZY[name]}"), name)


__all__ = sorted(_LAZY) + ["load_keras", "quiet_backend"]
