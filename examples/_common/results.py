"""`metrics.json` and the test figures' arithmetic."""

import datetime
import os

import keras
import numpy as np

import keras_nrnm
from _common.files import write_json
from _common.runs import read_log


def write_metrics(args, model, dataset, test, devices, resumed_from, seconds,
                  extra=None):
    """`metrics.json`: the final test figures and how they were obtained,
    with the validation figures of the same (last epoch's) model, on which
    settings are chosen."""
    log = read_log(args)
    metrics = {
        "example": args.example,
        "dataset": dataset,
        "model": args.model,
        "test": test,
        "validation": last_validation(log),
        "params": int(model.count_params()),
        "epochs": args.epochs,
        "epochs_run": len(log.get("epoch", [])),
        "resumed_from_epoch": resumed_from,
        "train_seconds_this_run": round(seconds, 1),
        "seed": args.seed,
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "keras_nrnm_version": keras_nrnm.__version__,
        "devices": devices.count,
        "distribution": devices.kind,
        # With one process per JAX worker, the sample counts in `extra` are
        # this process's share.
        "processes": devices.processes,
        "args": {k: v for k, v in vars(args).items()},
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
    }
    if extra:
        metrics.update(extra)
    path = os.path.join(args.output_dir, "metrics.json")
    write_json(path, metrics)
    print(f"\nTest ({dataset}, {args.model}): "
          + ", ".join(f"{k} {v:.4f}" for k, v in test.items()
                      if isinstance(v, (int, float))))
    print(f"Wrote {path}")
    return metrics


def last_validation(log):
    """The last epoch's validation figures from `read_log`'s columns
    (`val_accuracy` -> `accuracy`): the model that the test split scores is
    the last epoch's."""
    return {key[len("val_"):]: values[-1] for key, values in log.items()
            if key.startswith("val_") and values}


def mean_loss(loss, labels, probabilities, weights=None):
    """The test loss, computed by the Keras loss the model was trained with
    (`"sparse_categorical_crossentropy"` or `"binary_crossentropy"`), averaged
    over samples (or over residues with `weights`, like `sample_weight`)."""
    if loss == "binary_crossentropy":
        labels = np.asarray(labels, "float32")
    values = keras.losses.get(loss)(labels, probabilities)
    return float(np.average(keras.ops.convert_to_numpy(values), weights=weights))
