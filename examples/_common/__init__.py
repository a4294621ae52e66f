"""Plumbing shared by the examples, one module per concern.

Each example (`action_recognition.py`, `sentiment_analysis.py`,
`protein_structure.py`, `sequence_similarity.py`,
`time_series_classification.py`) reads its data, builds a model and calls
`model.fit`; everything around that lives here, once:

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

from _common.cli import jit_compile, make_parser, match_parameters
from _common.cli import memory_kwargs, parse_args
from _common.devices import Devices, predict, split_validation, whole_batches
from _common.figures import plot_attention, plot_confusion_matrix
from _common.figures import plot_learning_curves, plot_per_class
from _common.results import mean_loss, write_metrics
from _common.runs import STOP_AFTER_EPOCH_ENV, Timer, announce_resume
from _common.runs import callbacks, prepare_output_dir

__all__ = [
    "Devices", "STOP_AFTER_EPOCH_ENV", "Timer", "announce_resume", "callbacks",
    "jit_compile", "make_parser", "match_parameters",
    "mean_loss", "memory_kwargs", "parse_args", "plot_attention",
    "plot_confusion_matrix", "plot_learning_curves", "plot_per_class",
    "predict", "prepare_output_dir", "split_validation", "whole_batches",
    "write_metrics",
]
