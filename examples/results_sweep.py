"""Reproduce the table of `docs/results.md`: NRNM against LSTM on the offline
data sets, several seeds, each example's default settings.

    nice -n 10 python examples/results_sweep.py            # run what is missing, print the table
    python examples/results_sweep.py --summary-only        # only the table
    python examples/results_sweep.py --examples protein_structure --seeds 0 1 2

Every run is one call of an example,

    python examples/<example>.py --model <nrnm|lstm> --seed <s> \\
        --output-dir runs/results/<example>-<model>-<s>

with nothing else changed (`sequence_similarity_match` adds `--head
match`), so both models get the same epochs, units, head and data. Runs go
one after the other (a single training at a time). A run whose
`metrics.json` exists is skipped, and an interrupted one resumes from its
last epoch, so the sweep can be stopped and restarted at will. Each run's
console output goes to `<output-dir>/stdout.log`; the table goes to the
console and to `runs/results/summary.md` (`summary.json`: every run).
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# name -> (script, extra arguments, score key in metrics.json["test"], label)
EXAMPLES = {
    "action_recognition": ("action_recognition", [], "accuracy", "accuracy"),
    "sentiment_analysis": ("sentiment_analysis", [], "accuracy", "accuracy"),
    "protein_structure": ("protein_structure", [], "q3", "Q3 accuracy"),
    "sequence_similarity": ("sequence_similarity", [], "accuracy", "accuracy"),
    "sequence_similarity_match": ("sequence_similarity", ["--head", "match"],
                                  "accuracy", "accuracy"),
}
MODELS = ("nrnm", "lstm")


def run_dir(root, example, model, seed):
    return os.path.join(root, f"{example}-{model}-{seed}")


def run_one(root, example, model, seed):
    out = run_dir(root, example, model, seed)
    if os.path.exists(os.path.join(out, "metrics.json")):
        return
    os.makedirs(out, exist_ok=True)
    script, extra, _, _ = EXAMPLES[example]
    command = [sys.executable, os.path.join(HERE, f"{script}.py"), *extra,
               "--model", model, "--seed", str(seed), "--output-dir", out,
               "--verbose", "2"]
    print(f"[{time.strftime('%H:%M:%S')}] {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    with open(os.path.join(out, "stdout.log"), "a") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    status = "ok" if result.returncode == 0 else f"FAILED ({result.returncode})"
    print(f"    {status} in {seconds:.0f} s", flush=True)
    if result.returncode == 0:
        with open(os.path.join(out, "wall_seconds.txt"), "w") as f:
            f.write(f"{seconds:.1f}\n")


def summarize(root, examples, seeds):
    rows, runs = [], []
    for example in examples:
        _, _, key, label = EXAMPLES[example]
        cells = {}
        for model in MODELS:
            scores, walls = [], []
            for seed in seeds:
                out = run_dir(root, example, model, seed)
                path = os.path.join(out, "metrics.json")
                if not os.path.exists(path):
                    continue
                with open(path) as f:
                    metrics = json.load(f)
                wall = None
                if os.path.exists(os.path.join(out, "wall_seconds.txt")):
                    with open(os.path.join(out, "wall_seconds.txt")) as f:
                        wall = float(f.read())
                    walls.append(wall)
                scores.append(metrics["test"][key])
                runs.append({"example": example, "model": model, "seed": seed,
                             "test": metrics["test"], "params": metrics["params"],
                             "epochs": metrics["epochs_run"], "wall_seconds": wall,
                             "dataset": metrics["dataset"]})
                cells[model + "_dataset"] = metrics["dataset"]
                cells[model + "_params"] = metrics["params"]
                cells[model + "_epochs"] = metrics["epochs_run"]
            cells[model] = scores
            cells[model + "_wall"] = walls
        if cells.get("nrnm") or cells.get("lstm"):
            rows.append((example, label, cells))

    def fmt(scores):
        if not scores:
            return "-"
        values = 100 * np.asarray(scores)
        spread = values.std(ddof=1) if len(values) > 1 else 0.0
        return f"{values.mean():.1f} ± {spread:.1f} (n={len(values)})"

    lines = ["| example | data set | score | NRNM | LSTM | epochs | params NRNM / LSTM "
             "| minutes per run NRNM / LSTM |",
             "|---|---|---|---|---|---|---|---|"]
    for example, label, cells in rows:
        walls = [f"{np.mean(cells[m + '_wall']) / 60:.1f}" if cells[m + "_wall"] else "-"
                 for m in MODELS]
        lines.append(
            f"| {example} | {cells.get('nrnm_dataset', cells.get('lstm_dataset'))} "
            f"| {label} (%) | {fmt(cells['nrnm'])} | {fmt(cells['lstm'])} "
            f"| {cells.get('nrnm_epochs', cells.get('lstm_epochs'))} "
            f"| {_count(cells.get('nrnm_params'))} / {_count(cells.get('lstm_params'))} "
            f"| {walls[0]} / {walls[1]} |")
    table = "\n".join(lines)
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "summary.md"), "w") as f:
        f.write(table + "\n\nmean ± sample standard deviation over seeds "
                f"{', '.join(map(str, seeds))}\n")
    with open(os.path.join(root, "summary.json"), "w") as f:
        json.dump(runs, f, indent=2)
    return table


def _count(value):
    return "-" if value is None else f"{value:,}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", nargs="+", choices=tuple(EXAMPLES),
                        default=list(EXAMPLES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--root", default=os.path.join("runs", "results"))
    parser.add_argument("--summary-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.summary_only:
        for seed in args.seeds:
            for example in args.examples:
                for model in MODELS:
                    run_one(args.root, example, model, seed)
    print(summarize(args.root, args.examples, args.seeds))


if __name__ == "__main__":
    main()
