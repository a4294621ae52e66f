"""The output folder of a run: settings, checkpoints every epoch, resuming an
interrupted run, the CSV log."""

import csv
import json
import math
import os
import shutil
import sys
import time

import keras

from _common.files import write_json

# Set this environment variable to N to make a run exit abruptly (as if
# killed) right after its N-th epoch has been logged and backed up. The tests
# use it to check that the next run resumes instead of starting over.
STOP_AFTER_EPOCH_ENV = "KERAS_NRNM_EXAMPLES_STOP_AFTER_EPOCH"
# Exit status of such a simulated kill (EX_TEMPFAIL).
SIMULATED_KILL_STATUS = 75

# Arguments that do not change what is trained: a run may be resumed with
# other values (e.g. more `--epochs` continues training).
RESUMABLE_ARGS = ("epochs", "output_dir", "restart", "verbose", "distribute",
                  "cpu_devices", "jit_compile")


def prepare_output_dir(args, dataset):
    """Create the output folder; refuse to resume a run made differently.

    `run.json` records the arguments that define the run. A later call with
    the same `--output-dir` resumes it (see `callbacks`); if its arguments
    differ (another `--model`, `--units`, data, ...) it stops with a message
    instead of loading mismatched weights. `--restart` wipes the folder.
    """
    out = args.output_dir
    if args.restart and os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out, exist_ok=True)
    settings = {k: v for k, v in sorted(vars(args).items())
                if k not in RESUMABLE_ARGS}
    settings["dataset"] = dataset
    settings["backend"] = keras.backend.backend()
    path = os.path.join(out, "run.json")
    if os.path.exists(path) and os.path.exists(backup_dir(args)):
        with open(path) as f:
            previous = json.load(f)
        changed = {k: (previous.get(k), v) for k, v in settings.items()
                   if previous.get(k) != v}
        if changed:
            details = ", ".join(f"{k}: {old!r} -> {new!r}"
                                for k, (old, new) in changed.items())
            raise SystemExit(
                f"{out} holds a run made with other settings ({details}). "
                "Use another --output-dir, or --restart to discard that run.")
    write_json(path, settings)
    return out


def backup_dir(args):
    return os.path.join(args.output_dir, "backup")


def completed_epochs(args):
    """Epochs already done by an earlier, interrupted run (0 if none)."""
    path = os.path.join(backup_dir(args), "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


def callbacks(args):
    """Checkpoint every epoch, log to CSV, and resume an interrupted run.

    - `BackupAndRestore` saves weights, optimizer state and the epoch number
      after every epoch in `backup/`; the next `fit` with the same folder
      restores them and continues after the last completed epoch. The
      backup is kept after the last epoch, so re-running a finished run only
      re-evaluates it, and a larger `--epochs` trains on from where it ended.
    - `ModelCheckpoint` writes the whole model to `model.keras` every epoch
      (load it with `keras.models.load_model`, no custom objects needed).
    - `CSVLogger` appends one row per epoch to `log.csv`.
    """
    out = args.output_dir
    result = [
        keras.callbacks.BackupAndRestore(backup_dir(args), double_checkpoint=True,
                                         delete_checkpoint=False),
        keras.callbacks.ModelCheckpoint(os.path.join(out, "model.keras")),
        keras.callbacks.CSVLogger(os.path.join(out, "log.csv"), append=True),
    ]
    stop_after = os.environ.get(STOP_AFTER_EPOCH_ENV)
    if stop_after:
        result.append(_SimulatedKill(int(stop_after)))  # last: after the backup
    return result


class _SimulatedKill(keras.callbacks.Callback):
    """Ends the process abruptly after epoch `epochs` (see the env var)."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            print(f"\n{STOP_AFTER_EPOCH_ENV}: simulated kill after epoch "
                  f"{epoch + 1}", file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(SIMULATED_KILL_STATUS)  # no cleanup, like SIGKILL


def announce_resume(args):
    done = completed_epochs(args)
    if done >= args.epochs:
        print(f"{args.output_dir}: all {done} epochs already done; evaluating "
              "(use more --epochs to train on, or --restart)")
    elif done:
        print(f"{args.output_dir}: resuming after epoch {done} of {args.epochs}")
    return done


def read_log(args):
    """`log.csv` as a dict of columns, one row per epoch (a row repeated by a
    resumed run is taken from the later run)."""
    path = os.path.join(args.output_dir, "log.csv")
    if not os.path.exists(path):
        return {}
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch", "") not in ("", "epoch"):
                rows[int(row["epoch"])] = row
    columns = {"epoch": sorted(rows)}
    for epoch in columns["epoch"]:
        for key, value in rows[epoch].items():
            if key != "epoch":
                columns.setdefault(key, []).append(float(value) if value else math.nan)
    return columns


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
