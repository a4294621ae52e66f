"""What carries information across a long-range task, measured in a model of
`long_range_memory.py`: where the gradient reaches, and what the memory's
gates do.

    python examples/long_range_diagnostics.py runs/long_range/copy-100-nrnm-0
    python examples/long_range_diagnostics.py --fresh --task copy --length 100

For a finished (or interrupted) run it loads `<run>/model.keras`; with
`--fresh` it builds the untrained model of `--task/--length/--model` instead.
On a validation batch of the task it reports:

- **Gradient reach**: per step `t`, the mean over sequences of the norm of
  the loss's gradient with respect to the input at `t`. The input that must
  be remembered sits at known steps (the copy task's first 10 steps, the
  adding problem's two marked steps); its gradient against the median
  step's tells whether training signal reaches it at all.
- **Memory gates** (NRNM models): at every memory update (Eq. 8-9), the
  mean input gate `G_i` and forget gate `G_f`, the share of forget gates
  above 0.9 (held) and below 0.1 (cleared), and the **retention**: per
  sequence, the product of `G_f` over the updates between the step from
  which an input must be kept (the copy task's last symbol, the adding
  problem's first marked step) and the step at which it is needed, i.e.
  how much of what the memory took in then is left when it is read (mean
  over sequences, slots and units, its 90th percentile, and the share of
  (sequence, slot, unit) above 0.5).

Writes `<run>/diagnostics.json` (or `--output`). TensorFlow only (the
gradient uses `tf.GradientTape`).
"""

import argparse
import json
import os
import sys

import _common  # the examples' shared plumbing: a script's folder is on sys.path
import numpy as np

import long_range_memory as lrm


def remembered_steps(task, x):
    """Per sequence, the steps whose input must be remembered: the copy
    task's symbols (`(batch, 10)`), the adding problem's two marked steps
    (`(batch, 2)`)."""
    if task == "copy":
        return np.tile(np.arange(lrm.COPY_SYMBOLS), (len(x), 1))
    return np.stack([np.flatnonzero(row[:, 1]) for row in x])


def needed_from(task, length):
    """The first step at which the remembered inputs are needed: the copy
    task's first recall step, the adding problem's last step."""
    steps = lrm.sequence_length(task, length)
    return steps - lrm.COPY_SYMBOLS if task == "copy" else steps - 1


def gradient_reach(model, task, x, y):
    """`(steps,)`: mean over sequences of `||dL/dx_t||`."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=False))
    grad = tape.gradient(loss, x).numpy()
    return np.linalg.norm(grad, axis=-1).mean(axis=0)


def reach_summary(norms, task, x):
    """The gradient at the remembered steps against the median step's."""
    steps = remembered_steps(task, x)
    at_remembered = float(np.mean(norms[np.unique(steps)]))
    median = float(np.median(norms))
    return {"at_remembered_steps": at_remembered, "median_step": median,
            "ratio_to_median": at_remembered / median if median else None}


def memory_gate_trace(layer, x):
    """Step the NRNM layer's cell through `x` (inference) and record each
    memory update's gates: a list of `{"step", "input_gate", "forget_gate"}`
    with `(batch, slots, units)` NumPy arrays."""
    from keras import ops

    from keras_nrnm import schedule

    cell = layer.cell
    if cell.backward_states:
        raise ValueError("Bidirectional memory is not traced here.")
    k, n, d = cell.block_size, cell.num_slots, cell.units
    states = cell.get_initial_state(batch_size=len(x))
    trace = []
    for t in range(x.shape[1]):
        memory_before = states[2]
        _, states = cell.call(ops.convert_to_tensor(x[:, t]), states)
        phase, steps_seen = states[-1][:, 0], states[-1][:, 1]
        if not bool(ops.all(phase == 0.0)):
            continue
        input_gate, forget_gate = cell.memory.gates(
            ops.reshape(states[4], (-1, k, d)),
            ops.reshape(memory_before, (-1, n, d)),
            schedule.real_positions(k, steps_seen))
        trace.append({"step": t,
                      "input_gate": ops.convert_to_numpy(input_gate),
                      "forget_gate": ops.convert_to_numpy(forget_gate)})
    return trace


def gate_summary(trace, kept_from, needed_step):
    """Per update the gates' means and shares; the retention: per sequence,
    the product of `G_f` over the updates after step `kept_from[b]` (the
    step from which the input must be kept) and before `needed_step`."""
    per_update = [{
        "step": u["step"],
        "input_gate_mean": float(u["input_gate"].mean()),
        "forget_gate_mean": float(u["forget_gate"].mean()),
        "forget_gate_above_0.9": float((u["forget_gate"] > 0.9).mean()),
        "forget_gate_below_0.1": float((u["forget_gate"] < 0.1).mean()),
    } for u in trace]
    steps = np.array([u["step"] for u in trace])
    forget = np.stack([u["forget_gate"] for u in trace])  # (updates, b, n, d)
    between = ((steps[:, None] > kept_from[None, :])
               & (steps[:, None] < needed_step))  # (updates, batch)
    retention = np.prod(np.where(between[:, :, None, None], forget, 1.0),
                        axis=0)  # (batch, n, d)
    return {"per_update": per_update, "retention": {
        "updates_mean": float(between.sum(axis=0).mean()),
        "mean": float(retention.mean()),
        "p90": float(np.percentile(retention, 90)),
        "share_above_0.5": float((retention > 0.5).mean()),
    }}


def kept_from(task, x):
    """Per sequence, the step from which the memory must keep what it took
    in: the last of the copy task's symbols, the adding problem's first
    marked step."""
    steps = remembered_steps(task, x)
    return steps.max(axis=1) if task == "copy" else steps.min(axis=1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", default=None,
                        help="a run folder of long_range_memory.py")
    parser.add_argument("--fresh", action="store_true",
                        help="an untrained model of --task/--length/--model")
    parser.add_argument("--task", choices=lrm.TASKS, default="copy",
                        help="with --fresh: the task (default: copy)")
    parser.add_argument("--length", type=int, default=100,
                        help="with --fresh: T or the delay (default: 100)")
    parser.add_argument("--model", default="nrnm",
                        help="with --fresh: a model of long_range_memory.py "
                             "(default: nrnm)")
    parser.add_argument("--units", type=int, default=64,
                        help="with --fresh: width (default: 64)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the fresh weights and of the "
                             "validation set (default: 0)")
    parser.add_argument("--batch", type=int, default=100,
                        help="validation sequences measured (default: 100)")
    parser.add_argument("--output", default=None,
                        help="where the JSON goes (default: "
                             "<run>/diagnostics.json; stdout with --fresh)")
    args = parser.parse_args(argv)
    if (args.run is None) == (not args.fresh):
        parser.error("give a run folder or --fresh, not both")
    try:
        lrm.model_kind(args.model)
    except ValueError as error:
        parser.error(str(error))
    return args


def load(args):
    """The model and its (task, length, model name)."""
    keras = _common.load_keras()
    if args.fresh:
        keras.utils.set_random_seed(args.seed)
        model = lrm.compile_model(
            lrm.build_model(args.task, args.length, args.model, args.units),
            args.task, 2e-3)
        return model, args.task, args.length, args.model
    with open(os.path.join(args.run, "run.json")) as f:
        run = json.load(f)
    import keras_nrnm  # noqa: F401  (registers NRNM for loading)

    # Not compiled from the file (the recall metric is a plain function);
    # the loss is the task's, as in training.
    model = lrm.compile_model(
        keras.saving.load_model(os.path.join(args.run, "model.keras"),
                                compile=False),
        run["task"], 2e-3)
    return model, run["task"], run["length"], run["model"]


def main(argv=None):
    args = parse_args(argv)
    model, task, length, name = load(args)
    x, y = lrm.validation_set(task, length, args.seed)
    x, y = x[:args.batch], y[:args.batch]
    norms = gradient_reach(model, task, x, y)
    result = {"task": task, "length": length, "model": name,
              "trained": not args.fresh,
              "gradient_norm_per_step": norms.tolist(),
              "gradient_reach": reach_summary(norms, task, x)}
    layers = [layer for layer in model.layers
              if type(layer).__name__ == "NRNM"]
    if layers:
        trace = memory_gate_trace(layers[0], x)
        result["memory_gates"] = gate_summary(
            trace, kept_from(task, x), needed_from(task, length))
    text = json.dumps(result, indent=1)
    if args.output or not args.fresh:
        path = args.output or os.path.join(args.run, "diagnostics.json")
        _common.write_json(path, result)
        print(f"wrote {path}")
    else:
        print(text)
    summary = {"gradient_reach": result["gradient_reach"]}
    if layers:
        summary["retention"] = result["memory_gates"]["retention"]
    print(json.dumps(summary, indent=1), file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
