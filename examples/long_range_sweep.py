"""The grid of the "Long-range memory" page: every task, length, model and
seed of `long_range_memory.py`, one run after the other, then the table.

    nice -n 10 python examples/long_range_sweep.py      # run what is missing
    python examples/long_range_sweep.py --summary-only  # only the table

Runs go in the order that decides the page's claims first: NRNM against the
same-width LSTM at adding T = 400 and copy delay 100, one seed, then the
other seeds (adding first), then the shorter lengths, then the other
models, then the remaining lengths. A run whose `metrics.json` says it
finished is skipped, and an interrupted one resumes after its last
evaluation, so the sweep can be stopped and started
at will. Each run is

    python examples/long_range_memory.py --task <t> --length <n> \\
        --model <m> --seed <s> --output-dir <root>/<t>-<n>-<m>-<s>

and its console output goes to `<output-dir>/stdout.log`. The table (steps
to solve per seed, and their median) goes to the console and to
`<root>/summary.md`; every run's result (curve included) to
`<root>/summary.json`; the learning curves to `<root>/long_range_curves.png`
(and to `--figure PATH`, e.g. `docs/img/long_range_curves.png`).
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LENGTHS = {"adding": (100, 200, 400), "copy": (50, 100, 200)}
# The models of the table, in its order; `nrnm_chrono` is an experiment.
MODELS = ("nrnm", "lstm", "lstm_matched", "transformer", "nrnm_chrono")
# NRNM with fewer memory updates between the copy task's two ends (a block
# and window of 16 steps: 7 updates in 120 steps, against 30): with the
# default's 2 memory slots (stride 8, the same parameters), then with 8
# (stride 2, the memory's recurrent maps grow with the slots squared), and
# with chrono-initialised memory gates: experiments, after the defaults.
SCHEDULE_VARIANTS = ("nrnm_k16s8w16", "nrnm_k16s2w16", "nrnm_chrono_k16s8w16")
SEEDS = (0, 1, 2)
FIGURE = "long_range_curves.png"
# What `--publish` writes into the repository: the finished runs' results
# (curves included), the docs page's table (between the markers) and the
# figure. tests/test_long_range.py checks that the page's table is the one
# these results give.
REPO = os.path.dirname(HERE)
PUBLISHED_RESULTS = os.path.join(REPO, "docs", "data", "long_range.json")
PUBLISHED_PAGE = os.path.join(REPO, "docs", "long_range.md")
PUBLISHED_FIGURE = os.path.join(REPO, "docs", "img", FIGURE)
PUBLISHED_DIAGNOSTICS = os.path.join(REPO, "docs", "data",
                                     "long_range_diagnostics.json")
TABLE_START = "<!-- table: examples/long_range_sweep.py --publish -->"
TABLE_END = "<!-- end of table -->"
DIAGNOSTICS_START = ("<!-- diagnostics: examples/long_range_sweep.py "
                     "--publish -->")
DIAGNOSTICS_END = "<!-- end of diagnostics -->"
COLOURS = {"nrnm": "tab:red", "lstm": "tab:blue", "lstm_matched": "tab:purple",
           "transformer": "tab:green", "nrnm_chrono": "tab:orange",
           "nrnm_k16s8w16": "tab:olive", "nrnm_k16s2w16": "tab:brown",
           "nrnm_chrono_k16s8w16": "tab:pink"}


def grid(seeds=SEEDS):
    """(task, length, model, seed) in the order that decides most first:
    NRNM and the same-width LSTM at the issue's targets (adding T = 400,
    copy delay 100), seed 0, then the other seeds of adding, then of copy;
    the shorter lengths; the other models; the remaining lengths."""
    targets = [("adding", 400), ("copy", 100)]
    shorter = [("adding", 200), ("copy", 50)]
    rest = [("adding", 100), ("copy", 200)]
    order = []

    def add(cells, models, seed_list):
        for seed in seed_list:
            for task, length in cells:
                for model in models:
                    run = (task, length, model, seed)
                    if run not in order:
                        order.append(run)

    pair = ("nrnm", "lstm")
    add(targets, pair, seeds[:1])
    add(targets[:1], pair, seeds[1:])
    # What might make the memory reach the copy task (not solved by either).
    add(targets[1:], ("nrnm_chrono",), seeds[:1])
    add(targets[1:], pair, seeds[1:])
    add(targets[1:], SCHEDULE_VARIANTS, seeds[:1])
    add(shorter, pair, seeds)
    add(targets + shorter, ("lstm_matched", "transformer"), seeds)
    add(rest, MODELS[:4], seeds)
    return order


def run_dir(root, task, length, model, seed):
    return os.path.join(root, f"{task}-{length}-{model}-{seed}")


def read_result(path):
    try:
        with open(os.path.join(path, "metrics.json")) as f:
            result = json.load(f)
    except (OSError, ValueError):
        return None
    return result if result.get("finished") else None


def run_one(root, task, length, model, seed, extra):
    out = run_dir(root, task, length, model, seed)
    os.makedirs(out, exist_ok=True)
    command = [sys.executable, os.path.join(HERE, "long_range_memory.py"),
               "--task", task, "--length", str(length), "--model", model,
               "--seed", str(seed), "--output-dir", out, "--verbose", "2",
               *extra]
    print(" ".join(command), flush=True)
    with open(os.path.join(out, "stdout.log"), "a") as log:
        code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
    if code:
        print(f"  failed with exit status {code}: see {out}/stdout.log",
              flush=True)


def finished_results(root, runs):
    """`metrics.json` of each finished run, by (task, length, model, seed)."""
    found = {run: read_result(run_dir(root, *run)) for run in runs}
    return {run: result for run, result in found.items() if result}


def median_steps(found):
    """The median steps to solve over the finished runs if all of them
    solved, else "k of n solved"."""
    done = [r for r in found if r]
    solved = [r["solved_at"] for r in done if r["solved_at"] is not None]
    if len(solved) < len(done):
        return f"{len(solved)} of {len(done)} solved"
    return f"{statistics.median(solved):g}"


def models_of(results):
    """The models of finished results, the table's in its order, then the
    others (NRNM with its own schedule) by name."""
    found = {key[2] for key in results}
    return [m for m in MODELS if m in found] + sorted(found - set(MODELS))


def results_table(results, seeds):
    """The Markdown table of `summary` from finished results, by (task,
    length, model, seed)."""
    lines = ["| task | length | model | params | "
             + " | ".join(f"seed {s}" for s in seeds) + " | median |",
             "|---|---|---|---|" + "---|" * (len(seeds) + 1)]
    for task, lengths in LENGTHS.items():
        for length in lengths:
            for model in models_of(results):
                found = [results.get((task, length, model, s)) for s in seeds]
                if not any(found):
                    continue
                params = next(r["params"] for r in found if r)
                cells = []
                for r in found:
                    if r is None:
                        cells.append("-")
                    elif r["solved_at"] is None:
                        last = r["curve"]["validation"][-1]
                        last = math.nan if last is None else last  # diverged
                        cells.append(f"> {r['steps_budget']} ({last:.3f})")
                    else:
                        cells.append(str(r["solved_at"]))
                lines.append(f"| {task} | {length} | {model} | {params:,} | "
                             + " | ".join(cells)
                             + f" | {median_steps(found)} |")
    return "\n".join(lines) + "\n"


def load_published(path=PUBLISHED_RESULTS):
    """The published results, by (task, length, model, seed)."""
    with open(path) as f:
        return {(r["task"], r["length"], r["model"], r["seed"]): r
                for r in json.load(f)}


def load_published_diagnostics(path=PUBLISHED_DIAGNOSTICS):
    """The published diagnostics, by (task, length, model, seed)."""
    with open(path) as f:
        return {(d["task"], d["length"], d["model"], d["seed"]): d
                for d in json.load(f)}


def table_in_page(text, start_marker=TABLE_START, end_marker=TABLE_END):
    """The table between the page's markers."""
    start = text.index(start_marker) + len(start_marker)
    return text[start:text.index(end_marker, start)].strip("\n") + "\n"


def _replace_between(text, start_marker, end_marker, table):
    start = text.index(start_marker) + len(start_marker)
    end = text.index(end_marker, start)
    return text[:start] + "\n" + table + text[end:]


def diagnose(root, runs):
    """Run `long_range_diagnostics.py` on every finished run that has no
    `diagnostics.json` yet."""
    for run in runs:
        out = run_dir(root, *run)
        if (read_result(out) is not None
                and not os.path.exists(os.path.join(out, "diagnostics.json"))):
            subprocess.call([sys.executable,
                             os.path.join(HERE, "long_range_diagnostics.py"),
                             out])


def finished_diagnostics(root, runs):
    """`diagnostics.json` of each finished run that has one, by run."""
    found = {}
    for run in runs:
        path = os.path.join(run_dir(root, *run), "diagnostics.json")
        if read_result(run_dir(root, *run)) and os.path.exists(path):
            with open(path) as f:
                found[run] = json.load(f)
    return found


def diagnostics_table(results, diagnostics):
    """Markdown: per diagnosed run, steps to solve, the gradient at the
    steps to remember against the median step's, the memory's forget gate
    (mean over updates) and the retention between the two ends."""
    lines = ["| task | length | model | seed | solved at | gradient at the "
             "steps to remember / median step | forget gate G_f, mean | "
             "retention, mean | memory units keeping > 0.5 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key in sorted(diagnostics, key=lambda k: (
            list(LENGTHS).index(k[0]), k[1],
            models_of(results).index(k[2]) if k in results else 99, k[3])):
        task, length, model, seed = key
        d = diagnostics[key]
        solved = results[key]["solved_at"] if key in results else None
        gates = d.get("memory_gates")
        if gates:
            forget = sum(u["forget_gate_mean"] for u in gates["per_update"])
            forget = f"{forget / len(gates['per_update']):.2f}"
            retention = f"{gates['retention']['mean']:.3g}"
            kept = f"{100 * gates['retention']['share_above_0.5']:.1f} %"
        else:
            forget = retention = kept = "-"
        ratio = d["gradient_reach"]["ratio_to_median"]
        ratio = "-" if ratio is None else f"{ratio:.3g}"
        lines.append(f"| {task} | {length} | {model} | {seed} | "
                     f"{solved if solved is not None else 'not solved'} | "
                     f"{ratio} | {forget} | {retention} | {kept} |")
    return "\n".join(lines) + "\n"


def publish(results, seeds, diagnostics=None):
    """Write the results, the page's tables and the figure into docs/."""
    from _common.files import write_json

    from keras_nrnm._files import atomic_path

    write_json(PUBLISHED_RESULTS, [results[key] for key in sorted(results)])
    with open(PUBLISHED_PAGE) as f:
        text = f.read()
    text = _replace_between(text, TABLE_START, TABLE_END,
                            results_table(results, seeds))
    if diagnostics:
        write_json(PUBLISHED_DIAGNOSTICS, [
            dict(diagnostics[key], seed=key[3],
                 gradient_norm_per_step=None)  # the curve stays in the run
            for key in sorted(diagnostics)])
        text = _replace_between(text, DIAGNOSTICS_START, DIAGNOSTICS_END,
                                diagnostics_table(results, diagnostics))
    with atomic_path(PUBLISHED_PAGE, suffix=".md") as temporary, \
            open(temporary, "w") as f:
        f.write(text)
    plot_curves(results.values(), PUBLISHED_FIGURE)


def summary(root, runs, figures=()):
    """Markdown table: steps to solve per task, length and model, one
    column per seed ("-" not run, "> budget (last score)" not solved) and
    their median (`median_steps`). Also writes `<root>/summary.md`,
    `summary.json` and the figure of the learning curves (`plot_curves`),
    `<root>/long_range_curves.png` and a copy at each path of `figures`."""
    results = finished_results(root, runs)
    table = results_table(results, sorted({seed for *_, seed in runs}))
    # These import Keras (through keras_nrnm), which --help should not wait
    # for.
    from _common.files import write_json

    from keras_nrnm._files import atomic_path

    os.makedirs(root, exist_ok=True)
    write_json(os.path.join(root, "summary.json"),
               [dict(r, key="-".join(map(str, k)))
                for k, r in sorted(results.items())])
    with atomic_path(os.path.join(root, "summary.md")) as temporary, \
            open(temporary, "w") as f:
        f.write(table)
    figure = plot_curves(results.values(), os.path.join(root, FIGURE))
    for path in figures if figure else ():
        with atomic_path(path, suffix=".png") as temporary:
            shutil.copyfile(figure, temporary)
    return table


def plot_curves(results, path):
    """The learning curves of finished runs (`metrics.json` dicts), to
    `path` (PNG): one panel per task and length, the validation score
    against the training step, one colour per model and a thin line per
    seed; dashed, the solve threshold; dotted, the memoryless baseline (MSE
    1/6 predicting the mean; recall 1/8 guessing). None if no run."""
    results = list(results)
    lengths = {task: sorted({r["length"] for r in results
                             if r["task"] == task}) for task in LENGTHS}
    lengths = {task: found for task, found in lengths.items() if found}
    if not lengths:
        return None
    from _common.figures import _pyplot, save_figure
    from matplotlib.lines import Line2D

    plt = _pyplot()
    columns = max(map(len, lengths.values()))
    figure, axes = plt.subplots(len(lengths), columns, squeeze=False,
                                figsize=(3.6 * columns, 3.0 * len(lengths)))
    for row, (task, task_lengths) in zip(axes, lengths.items()):
        adding = task == "adding"
        for axis in row[len(task_lengths):]:
            axis.set_visible(False)
        for axis, length in zip(row, task_lengths):
            cell = [r for r in results
                    if r["task"] == task and r["length"] == length]
            for r in cell:
                axis.plot(r["curve"]["step"],
                          [math.nan if v is None else v
                           for v in r["curve"]["validation"]],
                          color=COLOURS.get(r["model"], "gray"),
                          linewidth=0.9, alpha=0.8)
            axis.axhline(cell[0]["threshold"], color="black", linestyle="--",
                         linewidth=0.8)
            axis.axhline(1 / 6 if adding else 1 / 8, color="gray",
                         linestyle=":", linewidth=0.8)
            if adding:
                axis.set_yscale("log")
            else:
                axis.set_ylim(0, 1)
            axis.set_title(f"adding, T = {length}" if adding
                           else f"copy, delay {length}", fontsize=10)
            axis.set_xlabel("training step")
            axis.set_ylabel("validation " + ("MSE" if adding else "recall"))
            axis.grid(alpha=0.3)
    handles = [Line2D([], [], color=COLOURS.get(m, "gray"), label=m)
               for m in models_of({(r["task"], r["length"], r["model"],
                                    r["seed"]): r for r in results})]
    handles += [Line2D([], [], color="black", linestyle="--", linewidth=0.8,
                       label="solved"),
                Line2D([], [], color="gray", linestyle=":", linewidth=0.8,
                       label="memoryless")]
    figure.tight_layout()
    figure.legend(handles=handles, loc="lower center", ncol=len(handles),
                  bbox_to_anchor=(0.5, 1.0), frameon=False)
    return save_figure(figure, path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="long_range_sweep.py",
        description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--root", default=os.path.join("runs", "long_range"),
                        help="folder of the runs (default: runs/long_range)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS),
                        metavar="SEED",
                        help="seeds of every task, length and model "
                             "(default: 0 1 2)")
    parser.add_argument("--summary-only", action="store_true",
                        help="print the table of the finished runs only")
    parser.add_argument("--extra-args", default="",
                        help="more arguments for every run, e.g. "
                             "'--steps 6000'")
    parser.add_argument("--figure", default=None, metavar="PATH",
                        help="also write the figure of the learning curves "
                             "here, e.g. docs/img/long_range_curves.png "
                             "(it always goes to <root>/" + FIGURE + ")")
    parser.add_argument("--diagnose", action="store_true",
                        help="run long_range_diagnostics.py on the finished "
                             "runs that have no diagnostics.json yet")
    parser.add_argument("--publish", action="store_true",
                        help="write the finished runs' results, the table and "
                             "the figure into docs/ (docs/data/long_range.json, "
                             "docs/long_range.md, docs/img/" + FIGURE + ")")
    args = parser.parse_args(argv)
    figures = [args.figure] if args.figure else []
    sys.path.insert(0, HERE)
    runs = grid(tuple(args.seeds))
    if not args.summary_only:
        for run in runs:
            if read_result(run_dir(args.root, *run)) is None:
                run_one(args.root, *run, args.extra_args.split())
                print(summary(args.root, runs, figures), flush=True)
    print(summary(args.root, runs, figures))
    if args.diagnose:
        diagnose(args.root, runs)
    if args.publish:
        publish(finished_results(args.root, runs), sorted(set(args.seeds)),
                finished_diagnostics(args.root, runs))


if __name__ == "__main__":
    main()
