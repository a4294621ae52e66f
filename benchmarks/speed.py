"""Speed and memory of NRNM's fast path against its cell path and Keras's LSTM.

One command prints a table for one configuration:

    python benchmarks/speed.py --backend tensorflow
    python benchmarks/speed.py --batch 16 --units 128 --lengths 100 300 1000

The model is the one of the paper's skeleton experiments, scaled by the
options: `--layers` recurrent layers of `--units` (all NRNM, or all LSTM),
the last one returning its final output, then a Dense softmax over
`--classes`. Three models of the same size are measured:

- `nrnm`: `keras_nrnm.NRNM` layers (the windowed fast path);
- `nrnm-cell`: `keras.layers.RNN(keras_nrnm.NRNMCell(...))`, the same
  weights stepped one step at a time (the reference path);
- `lstm`: `keras.layers.LSTM`.

Times are medians of `--repeats` calls after `--warmup` calls: a training
step is `model.train_on_batch` (forward, backward and an Adam update), an
inference step `model.predict_on_batch`. All models are timed in one process,
round-robin (one call of each model in turn), so that a change of machine load
affects them alike; read the ratios, not the absolute times. Memory is the
peak resident set size (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) of a
fresh subprocess per model that builds the model, runs the warm-up and a few
training and inference steps; the table shows the peak minus the process's
resident size just before the model was built (the framework's own memory
left out), and the ratio of those increments. On a GPU (`--device gpu`, or
`auto` where the backend finds one) memory is the GPU's peak allocation in
that subprocess, and `keras.layers.LSTM` runs its cuDNN kernel (TensorFlow,
PyTorch) with its default arguments:

    python benchmarks/speed.py --device gpu --batch 64 --length 100

Beside the times, a run prints how many operations one iteration of each
layer's loop executes: a window of NRNM's fast path against a step of the
LSTM (`benchmarks/operation_count.py` defines what is counted; the same on
every machine, so progress shows without a GPU). `--operations` prints only
those counts, as a table over three settings (`OPERATION_SETTINGS`: the
paper's, and two narrow layers) and the backends named (all three when none
is):

    python benchmarks/speed.py --operations
    python benchmarks/speed.py --operations tensorflow jax
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MODELS = ("nrnm", "nrnm-cell", "lstm")
BACKENDS = ("tensorflow", "jax", "torch")
# The settings of `--operations` (docs/benchmarks.md, "Operations per
# step"): the paper's skeleton setting, and two narrow ones where most users
# of a recurrent layer are.
OPERATION_SETTINGS = (
    dict(batch=64, length=100, features=150, units=512, layers=2),
    dict(batch=16, length=100, features=150, units=128, layers=1),
    dict(batch=50, length=200, features=2, units=64, layers=1),
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default=os.environ.get(
        "KERAS_BACKEND", "tensorflow"),
        choices=list(BACKENDS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--length", type=int, default=100,
                        help="time steps T (ignored when --lengths is given)")
    parser.add_argument("--lengths", type=int, nargs="+",
                        help="a sweep over T, e.g. --lengths 100 300 1000")
    parser.add_argument("--features", type=int, default=150)
    parser.add_argument("--classes", type=int, default=60)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--block-size", type=int, default=8)
    parser.add_argument("--stride", type=int, default=4)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS),
                        choices=MODELS)
    parser.add_argument("--jit-compile", default="auto",
                        choices=["auto", "true", "false"],
                        help="passed to model.compile (default: Keras's)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the memory subprocesses")
    parser.add_argument("--device", default="auto",
                        choices=["auto", "cpu", "gpu"],
                        help="cpu hides every GPU from the backend; gpu "
                             "fails unless the backend sees one (memory is "
                             "then the GPU's peak); auto: the backend's "
                             "own choice (default)")
    parser.add_argument("--operations", nargs="*", choices=BACKENDS,
                        metavar="BACKEND",
                        help="print only the operations per loop iteration "
                             "(NRNM's window against the LSTM's step) for "
                             "three settings (the paper's, 1x128 and "
                             "1x64 units), on these backends (default: "
                             "all three); the memory options "
                             "(--block-size, --window, ...) apply")
    parser.add_argument("--no-operations", action="store_true",
                        help="skip the operation counts of a timing run")
    parser.add_argument("--child", choices=["time", "memory", "operations"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    parser.add_argument("--model", choices=MODELS, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# Child side: build, run, measure --------------------------------------------

def rss_now_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def build_model(name, args, steps):
    import keras
    from keras_nrnm import NRNM, NRNMCell

    memory_args = dict(block_size=args.block_size, stride=args.stride,
                       window=args.window, num_heads=args.heads)
    inputs = keras.Input((steps, args.features), batch_size=args.batch)
    hidden = inputs
    for i in range(args.layers):
        sequences = i < args.layers - 1
        if name == "nrnm":
            layer = NRNM(args.units, return_sequences=sequences, **memory_args)
        elif name == "nrnm-cell":
            layer = keras.layers.RNN(NRNMCell(args.units, **memory_args),
                                     return_sequences=sequences)
        else:
            layer = keras.layers.LSTM(args.units, return_sequences=sequences)
        hidden = layer(hidden)
    outputs = keras.layers.Dense(args.classes, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs, name=name)
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  jit_compile=jit)
    # As the guide advises: built in the first train step's trace, the
    # optimizer would make Keras on TensorFlow trace that step twice.
    model.optimizer.build(model.trainable_variables)
    return model


def data(args, steps):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, steps, args.features)).astype("float32")
    y = rng.integers(0, args.classes, args.batch)
    return x, y


def device_in_use(args):
    """`"gpu"` or `"cpu"`: where the backend puts the models. With
    `--device gpu` and no GPU visible, a clear exit instead of CPU figures
    under a GPU heading."""
    backend = args.backend
    if backend == "tensorflow":
        import tensorflow as tf

        found = bool(tf.config.list_physical_devices("GPU"))
    elif backend == "jax":
        import jax

        found = jax.devices()[0].platform == "gpu"
    else:
        import torch

        found = torch.cuda.is_available()
    if args.device == "gpu" and not found:
        raise SystemExit(f"--device gpu: {backend} sees no GPU")
    return "gpu" if found else "cpu"


def device_peak_bytes(backend):
    """Peak GPU memory of this process so far (the backend's allocator)."""
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.config.experimental.get_memory_info("GPU:0")["peak"]
    if backend == "jax":
        import jax

        return jax.devices()[0].memory_stats()["peak_bytes_in_use"]
    import torch

    return torch.cuda.max_memory_allocated()


def child_time(args, steps):
    device = device_in_use(args)
    models = {name: build_model(name, args, steps) for name in args.models}
    x, y = data(args, steps)
    calls = {}
    for name, model in models.items():
        calls[(name, "train")] = lambda m=model: m.train_on_batch(x, y)
        calls[(name, "infer")] = lambda m=model: m.predict_on_batch(x)
    compile_s = {}
    for key, call in calls.items():
        start = time.perf_counter()
        call()
        compile_s[key] = time.perf_counter() - start
        for _ in range(args.warmup - 1):
            call()
    samples = {key: [] for key in calls}
    for _ in range(args.repeats):
        for key, call in calls.items():  # round-robin
            start = time.perf_counter()
            call()
            samples[key].append(time.perf_counter() - start)
    result = {"params": {n: int(m.count_params()) for n, m in models.items()}}
    result["median_s"] = {f"{n}/{k}": statistics.median(v)
                          for (n, k), v in samples.items()}
    result["first_call_s"] = {f"{n}/{k}": v for (n, k), v in compile_s.items()}
    result["jit_compile"] = {n: str(m.jit_compile) for n, m in models.items()}
    result["device"] = device
    return result


def child_memory(args, steps):
    import resource

    x, y = data(args, steps)
    base = rss_now_kib()
    model = build_model(args.model, args, steps)
    for _ in range(args.warmup + 2):
        model.train_on_batch(x, y)
        model.predict_on_batch(x)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    if device_in_use(args) == "gpu":  # the GPU's memory, not the host's
        return {"base_kib": 0, "peak_kib": device_peak_bytes(args.backend) / 1024}
    return {"base_kib": base, "peak_kib": peak}


def child_operations(args):
    """Operations per loop iteration of one recurrent layer, for each
    setting of `--settings` (JSON) and each layer of its stack: NRNM's
    window, the LSTM's step (its generic loop, `use_cudnn=False`), at
    inference and in a training step's forward and backward pass."""
    import keras
    from keras_nrnm import NRNM

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from operation_count import loop_operations, total

    memory_args = dict(block_size=args.block_size, stride=args.stride,
                       window=args.window, num_heads=args.heads)
    results = []
    for setting in json.loads(args.settings):
        counts = {"nrnm/infer": [], "nrnm/train": [], "lstm/infer": [],
                  "lstm/train": []}
        for i in range(setting["layers"]):
            width = setting["features"] if i == 0 else setting["units"]
            shape = (setting["batch"], setting["length"], width)
            sequences = i < setting["layers"] - 1
            for name in ("nrnm", "lstm"):
                for mode in ("infer", "train"):
                    if name == "nrnm":
                        layer = NRNM(setting["units"],
                                     return_sequences=sequences,
                                     **memory_args)
                        per = layer.get_config()["window"]
                    else:
                        layer = keras.layers.LSTM(
                            setting["units"], return_sequences=sequences,
                            use_cudnn=False)
                        per = 1
                    counted = loop_operations(
                        layer, shape, training=mode == "train",
                        steps_per_iteration=per)
                    counts[f"{name}/{mode}"].append(total(counted))
        results.append(dict(setting, counts=counts, window=args.window))
    return {"settings": results, "device": device_in_use(args)}


def run_child(args, mode, steps, model=None, backend=None, settings=None):
    command = [sys.executable, os.path.abspath(__file__), "--child", mode,
               "--length", str(steps)]
    for option in ("batch", "features", "classes", "units", "layers",
                   "block_size", "stride", "window", "heads", "repeats",
                   "warmup", "jit_compile", "device"):
        command += ["--" + option.replace("_", "-"),
                    str(getattr(args, option))]
    command += ["--models", *args.models]
    if model:
        command += ["--model", model]
    if settings is not None:
        command += ["--settings", json.dumps(settings)]
    env = dict(os.environ, KERAS_BACKEND=backend or args.backend,
               TF_CPP_MIN_LOG_LEVEL="3")
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # every backend then runs on the CPU
    child = subprocess.run(command, env=env, capture_output=True, text=True)
    if child.returncode:
        lines = child.stderr.strip().splitlines() or ["(no message)"]
        raise SystemExit(f"benchmark subprocess failed: {lines[-1]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


# Parent side: the table ----------------------------------------------------

def ratio(value, reference):
    return f"{value / reference:.2f}x" if reference else "-"


def multiply_adds_line(args):
    """The models' recurrent layers' multiply-adds per step and sample, as
    `keras_nrnm.reach` counts them (the first layer reads the features, the
    others the previous layer's units)."""
    os.environ.setdefault("KERAS_BACKEND", args.backend)
    from keras_nrnm.reach_and_cost import lstm_multiply_adds, multiply_adds

    widths = [args.features] + [args.units] * (args.layers - 1)
    nrnm = sum(multiply_adds(args.units, width, block_size=args.block_size,
                             strides=(args.stride,), window=args.window)
               for width in widths)
    lstm = sum(lstm_multiply_adds(args.units, width) for width in widths)
    return (f"multiply-adds per step and sample (keras_nrnm.reach): "
            f"NRNM {nrnm:,.0f}, LSTM {lstm:,} ({ratio(nrnm, lstm)})")


def setting_name(setting):
    return (f"B {setting['batch']}, T {setting['length']}, "
            f"D {setting['features']}, {setting['layers']}x{setting['units']}")


def one_count(values):
    """A layer's count: the stack's layers agree (each is counted), or
    their counts joined by '/' where they do not."""
    if len(set(values)) == 1:
        return f"{values[0]:,.0f}"
    return "/".join(f"{v:,.0f}" for v in values)


def operation_rows(backend, result):
    """Table rows of one backend's `child_operations` result."""
    rows = []
    for setting in result["settings"]:
        counts = setting["counts"]
        window = setting["window"]
        row = [setting_name(setting), backend]
        for mode in ("infer", "train"):
            nrnm = counts[f"nrnm/{mode}"]
            lstm = counts[f"lstm/{mode}"]
            per_step = [n / window for n in nrnm]
            row += [one_count(nrnm)]
            if mode == "infer":
                row += [str(window)]
            row += ["/".join(f"{v:,.1f}" for v in dict.fromkeys(per_step)),
                    one_count(lstm), ratio(sum(per_step), sum(lstm))]
        rows.append(tuple(row))
    return rows


OPERATION_HEADER = ("setting", "backend", "NRNM ops/window", "window",
                    "NRNM ops/step", "LSTM ops/step", "ratio",
                    "train: NRNM ops/window", "NRNM ops/step",
                    "LSTM ops/step", "ratio")


def print_table(header, rows):
    rows = [tuple(header)] + list(rows)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("| " + " | ".join(cell.rjust(w) for cell, w in zip(row, widths))
              + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def operations_table(args):
    backends = args.operations or list(BACKENDS)
    print(f"operations per loop iteration and recurrent layer "
          f"(benchmarks/operation_count.py): block_size={args.block_size} "
          f"stride={args.stride} window={args.window} heads={args.heads}")
    rows = []
    for backend in backends:
        result = run_child(args, "operations", args.length, backend=backend,
                           settings=list(OPERATION_SETTINGS))
        rows += operation_rows(backend, result)
    print_table(OPERATION_HEADER, rows)
    print("a/b: the stack's layers differ (first/second); ops/step: "
          "NRNM's ops per window divided by the window; ratio: NRNM's ops "
          "per step over the LSTM's (all layers); train: the forward and "
          "backward pass of a training step (the gradient's loop included). "
          "The LSTM is counted with use_cudnn=False (its loop on a CPU); "
          "on a GPU TensorFlow and PyTorch run it as one cuDNN kernel.")


def operations_line(args, steps):
    """The operation counts of a timing run's own setting, one line."""
    setting = dict(batch=args.batch, length=steps, features=args.features,
                   units=args.units, layers=args.layers)
    result = run_child(args, "operations", steps, settings=[setting])
    counts = result["settings"][0]["counts"]
    window = args.window
    parts = []
    for mode, label in (("infer", "inference"), ("train", "train step")):
        nrnm, lstm = counts[f"nrnm/{mode}"], counts[f"lstm/{mode}"]
        parts.append(f"{label} NRNM {one_count(nrnm)} per window of {window}"
                     f", LSTM {one_count(lstm)} per step "
                     f"({ratio(sum(nrnm) / window, sum(lstm))} per step)")
    return ("operations per loop iteration and layer "
            "(benchmarks/operation_count.py): " + "; ".join(parts))


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        steps = args.length
        if args.child == "operations":
            result = child_operations(args)
        else:
            result = (child_time if args.child == "time" else child_memory)(
                args, steps)
        print(json.dumps(result))
        return
    if args.operations is not None:
        operations_table(args)
        return
    lengths = args.lengths or [args.length]
    print(f"backend={args.backend} batch={args.batch} "
          f"features={args.features} classes={args.classes} "
          f"layers={args.layers}x{args.units} block_size={args.block_size} "
          f"stride={args.stride} window={args.window} heads={args.heads} "
          f"repeats={args.repeats} warmup={args.warmup} "
          f"jit_compile={args.jit_compile}")
    header = ("T", "model", "params", "train ms", "vs LSTM", "infer ms",
              "vs LSTM", "peak MiB", "vs LSTM", "first call s")
    rows = [header]
    by_length = {}
    for steps in lengths:
        timing = run_child(args, "time", steps)
        memory = {}
        if not args.no_memory:
            for name in args.models:
                result = run_child(args, "memory", steps, model=name)
                memory[name] = (result["peak_kib"] - result["base_kib"]) / 1024
        by_length[steps] = timing
        jit_used = timing["jit_compile"]
        device_used = timing["device"]
        median = timing["median_s"]
        for name in args.models:
            train = median[f"{name}/train"]
            infer = median[f"{name}/infer"]
            first = timing["first_call_s"][f"{name}/train"]
            lstm_train = median.get("lstm/train")
            lstm_infer = median.get("lstm/infer")
            mem = memory.get(name)
            rows.append((
                str(steps), name, f"{timing['params'][name]:,}",
                f"{train * 1e3:.0f}",
                ratio(train, lstm_train) if lstm_train else "-",
                f"{infer * 1e3:.0f}",
                ratio(infer, lstm_infer) if lstm_infer else "-",
                f"{mem:.0f}" if mem is not None else "-",
                ratio(mem, memory["lstm"]) if mem is not None
                and memory.get("lstm") else "-",
                f"{first:.1f}",
            ))
        if "nrnm" in args.models and "nrnm-cell" in args.models:
            rows.append((str(steps), "cell/fast", "",
                         ratio(median["nrnm-cell/train"],
                               median["nrnm/train"]), "",
                         ratio(median["nrnm-cell/infer"],
                               median["nrnm/infer"]), "", "", "", ""))
    print_table(header, rows[1:])
    print(f"device: {device_used}" + (" (peak MiB: the GPU's peak allocation)"
                                      if device_used == "gpu" else ""))
    print("jit_compile as resolved by Keras: " + ", ".join(
        f"{name}={value}" for name, value in jit_used.items()))
    print(multiply_adds_line(args))
    if not args.no_operations:
        print(operations_line(args, lengths[0]))
    if len(lengths) > 1:
        first = lengths[0]
        print(f"\nGrowth with T (time at T / time at T={first}):")
        for name in args.models:
            base = by_length[first]["median_s"]
            parts = []
            for steps in lengths[1:]:
                now = by_length[steps]["median_s"]
                parts.append(
                    f"T={steps}: train {ratio(now[f'{name}/train'], base[f'{name}/train'])}"
                    f", infer {ratio(now[f'{name}/infer'], base[f'{name}/infer'])}")
            print(f"  {name}: " + "; ".join(parts))


if __name__ == "__main__":
    main()
