"""Reproduce the tables of `docs/results.md`: NRNM against LSTMs on the
offline data sets, several seeds, each example's default settings, and the
ablations of NRNM's defaults.

    nice -n 10 python examples/results_sweep.py            # run what is missing, print the table
    python examples/results_sweep.py --summary-only        # only the table
    python examples/results_sweep.py --quick --seeds 0     # a smoke run of the sweep
    python examples/results_sweep.py --examples protein_structure --seeds 0 1 2
    python examples/results_sweep.py --examples ucr_OSULeaf ucr_ArrowHead \\
        --variants nrnm nrnm_v01 lstm lstm_matched --extra-args="--jit-compile on"

Every run is one call of an example,

    python examples/<example>.py <the variant's arguments> --seed <s> \\
        --output-dir runs/results/<example>-<variant>-<s>

with nothing else changed (`sequence_similarity_match` adds `--head
match`; `ucr_<name>` is `time_series_classification.py --dataset <name>`),
so all variants get the same epochs, units, head and data. The variants
(`VARIANTS`) are NRNM with today's defaults, an LSTM of the same width, an
LSTM widened to NRNM's parameter count, and NRNM with one default changed.
Runs go one after the other (a single training at a time), seed by seed, so
that the first seed of every comparison comes first. A run whose
`metrics.json` exists is skipped, and an interrupted one resumes from its
last epoch, so the sweep can be stopped and restarted at will. Each run's
console output goes to `<output-dir>/stdout.log`; the table goes to the
console and to `<root>/summary.md` (`summary.json`: every run, with its
test and validation scores). Settings are chosen on the validation split
that each example takes from its training data (`--split validation`:
`summary-validation.md`); the test split is for the page.
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
# Long UCR/UEA series that no other example uses (datasets.load_ucr).
for _name in ("ArrowHead", "OSULeaf", "PickupGestureWiimoteZ", "ACSF1",
              "PLAID", "GunPoint", "Trace"):
    EXAMPLES[f"ucr_{_name}"] = ("time_series_classification",
                                ["--dataset", _name], "accuracy", "accuracy")

# name -> (label, arguments of the example). NRNM's variants change one
# default each against "nrnm" (the defaults of this release).
VARIANTS = {
    "nrnm": ("NRNM", ["--model", "nrnm"]),
    "lstm": ("LSTM, same width", ["--model", "lstm"]),
    "lstm_matched": ("LSTM, NRNM's parameters",
                     ["--model", "lstm", "--match-nrnm-params"]),
    "nrnm_v01": ("NRNM, version 0.1 defaults (tied gates, random projection)",
                 ["--model", "nrnm", "--memory-gates", "tied",
                  "--memory-projection-initializer", "glorot_uniform"]),
    "nrnm_separate": ("NRNM, separate Eq. 9 gates (0.2.dev's default)",
                      ["--model", "nrnm", "--memory-gates", "separate"]),
    # These two were measured against separate gates (the default then).
    "nrnm_random_projection": ("NRNM, separate gates, random memory projection",
                               ["--model", "nrnm", "--memory-gates", "separate",
                                "--memory-projection-initializer",
                                "glorot_uniform"]),
    "nrnm_no_output_projection": ("NRNM, separate gates, no W^o after the "
                                  "attention heads",
                                  ["--model", "nrnm", "--memory-gates", "separate",
                                   "--attention-output-projection", "off"]),
    # W_o re-decided with the tied gates of today's default.
    "nrnm_no_output_projection_tied": (
        "NRNM, no W^o after the attention heads (tied gates)",
        ["--model", "nrnm", "--attention-output-projection", "off"]),
    "nrnm_layer_norm_1": ("NRNM, layer-norm epsilon 1.0",
                          ["--model", "nrnm", "--layer-norm-epsilon", "1.0"]),
    "nrnm_regularised": ("NRNM, authors' zoneout 0.2 and memory dropout 0.5",
                         ["--model", "nrnm", "--zoneout", "0.2",
                          "--memory-dropout", "0.5"]),
    # The regularisers alone and together (Zoneout draws a mask per step
    # since the per-sequence masks were replaced), and the LSTM's own, so
    # that both families get a choice made on validation scores.
    "nrnm_zoneout": ("NRNM, zoneout 0.2", ["--model", "nrnm", "--zoneout", "0.2"]),
    "nrnm_memory_dropout": ("NRNM, memory dropout 0.5",
                            ["--model", "nrnm", "--memory-dropout", "0.5"]),
    "nrnm_recurrent_dropout": ("NRNM, recurrent dropout 0.2",
                               ["--model", "nrnm", "--recurrent-dropout", "0.2"]),
    "nrnm_all_regularisers": ("NRNM, zoneout 0.2, memory dropout 0.5 and "
                              "recurrent dropout 0.2",
                              ["--model", "nrnm", "--zoneout", "0.2",
                               "--memory-dropout", "0.5",
                               "--recurrent-dropout", "0.2"]),
    "lstm_recurrent_dropout": ("LSTM, same width, recurrent dropout 0.2",
                               ["--model", "lstm", "--recurrent-dropout", "0.2"]),
}
MODELS = ("nrnm", "lstm")


def run_dir(root, example, variant, seed):
    return os.path.join(root, f"{example}-{variant}-{seed}")


def run_one(root, example, variant, seed, extra_args=(), quick=False):
    out = run_dir(root, example, variant, seed)
    if os.path.exists(os.path.join(out, "metrics.json")):
        return
    os.makedirs(out, exist_ok=True)
    script, extra, _, _ = EXAMPLES[example]
    command = [sys.executable, os.path.join(HERE, f"{script}.py"), *extra,
               *VARIANTS[variant][1], *extra_args, *(["--quick"] if quick else []),
               "--seed", str(seed),
               "--output-dir", out, "--verbose", "2"]
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


def read_runs(root, examples, variants, seeds):
    """Every finished run: one dict per `metrics.json`."""
    runs = []
    for example in examples:
        key = EXAMPLES[example][2]
        for variant in variants:
            for seed in seeds:
                out = run_dir(root, example, variant, seed)
                path = os.path.join(out, "metrics.json")
                if not os.path.exists(path):
                    continue
                with open(path) as f:
                    metrics = json.load(f)
                validation = metrics.get("validation")
                if validation is None:  # written before it was recorded
                    validation = _last_validation(out)
                wall = None
                if os.path.exists(os.path.join(out, "wall_seconds.txt")):
                    with open(os.path.join(out, "wall_seconds.txt")) as f:
                        wall = float(f.read())
                runs.append({"example": example, "variant": variant,
                             "seed": seed, "score": metrics["test"][key],
                             "validation_score": validation.get(key),
                             "test": metrics["test"],
                             "validation": validation,
                             "params": metrics["params"],
                             "units": metrics["args"]["units"],
                             "epochs": metrics["epochs_run"],
                             "wall_seconds": wall,
                             "dataset": metrics["dataset"]})
    return runs


def _last_validation(out):
    """The last epoch's `val_*` figures of a run's `log.csv` (the last row
    of each epoch, as `_common.runs.read_log` takes them)."""
    import csv

    rows = {}
    path = os.path.join(out, "log.csv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if row.get("epoch", "") not in ("", "epoch"):
                    rows[int(row["epoch"])] = row
    if not rows:
        return {}
    last = rows[max(rows)]
    return {k[len("val_"):]: float(v) for k, v in last.items()
            if k.startswith("val_") and v}


def summarize(root, examples, variants, seeds, split="test"):
    """Markdown tables (mean ± sd per variant; per-seed scores) from the
    finished runs' `split` scores ("test", or "validation": the last epoch's
    score on the validation split taken from the training data, on which
    settings are chosen), also written to `<root>/summary.md` (or
    `summary-validation.md`) and `summary.json`."""
    every_run = read_runs(root, examples, variants, seeds)
    field = {"test": "score", "validation": "validation_score"}[split]
    runs = [dict(r, score=r[field]) for r in every_run
            if r[field] is not None]

    def cell(example, variant):
        scores = [100 * r["score"] for r in runs
                  if r["example"] == example and r["variant"] == variant]
        if not scores:
            return "-"
        spread = np.std(scores, ddof=1) if len(scores) > 1 else 0.0
        return f"{np.mean(scores):.1f} ± {spread:.1f} (n={len(scores)})"

    def params(example, variant):
        found = [r for r in runs
                 if r["example"] == example and r["variant"] == variant]
        if not found:
            return "-"
        return f"{found[0]['params']:,} ({found[0]['units']} units)"

    present = [e for e in examples if any(r["example"] == e for r in runs)]
    header = (f"| example | {split} score (%) | " + " | ".join(variants)
              + " |")
    rule = "|---|---|" + "---|" * len(variants)
    lines = [header, rule]
    for example in present:
        lines.append(f"| {example} | {EXAMPLES[example][3]} | "
                     + " | ".join(cell(example, v) for v in variants) + " |")
    lines += ["", "Parameters (units):", "", header.replace(f"{split} score (%)", "-"),
              rule]
    for example in present:
        lines.append(f"| {example} | | "
                     + " | ".join(params(example, v) for v in variants) + " |")
    lines += ["", "Per seed (%):", "",
              "| example | variant | " + " | ".join(f"seed {s}" for s in seeds)
              + " | minutes per run |",
              "|---|---|" + "---|" * (len(seeds) + 1)]
    for example in present:
        for variant in variants:
            found = {r["seed"]: r for r in runs
                     if r["example"] == example and r["variant"] == variant}
            if not found:
                continue
            walls = [r["wall_seconds"] for r in found.values()
                     if r["wall_seconds"]]
            minutes = f"{np.mean(walls) / 60:.1f}" if walls else "-"
            lines.append(
                f"| {example} | {variant} | "
                + " | ".join(f"{100 * found[s]['score']:.1f}" if s in found
                             else "-" for s in seeds)
                + f" | {minutes} |")
    table = "\n".join(lines)
    # Imported here: they import Keras, which `--help` should not wait for.
    from _common.files import write_json
    from keras_nrnm._files import atomic_path

    os.makedirs(root, exist_ok=True)
    name = "summary.md" if split == "test" else f"summary-{split}.md"
    with atomic_path(os.path.join(root, name)) as temporary:
        with open(temporary, "w") as f:
            f.write(table + "\n\nmean ± sample standard deviation over seeds "
                    f"{', '.join(map(str, seeds))}; variants: "
                    + "; ".join(f"{v} = {VARIANTS[v][0]}" for v in variants)
                    + "\n")
    write_json(os.path.join(root, "summary.json"), every_run)
    return table


def family(variant):
    """`"nrnm"` or `"lstm"`: the model a variant configures."""
    return variant.split("_")[0]


def selection_table(root, examples, variants, seeds):
    """Per example and family (NRNM, LSTM), the variant with the best mean
    validation score among `variants`, and its test score: settings
    chosen on validation data, the test split scored once for the page."""
    runs = [r for r in read_runs(root, examples, variants, seeds)
            if r["validation_score"] is not None]

    def mean(variant, example, field):
        scores = [100 * r[field] for r in runs
                  if r["variant"] == variant and r["example"] == example]
        return (np.mean(scores), np.std(scores, ddof=1) if len(scores) > 1
                else 0.0, len(scores)) if scores else None

    families = sorted({family(v) for v in variants}, reverse=True)
    lines = ["| example | " + " | ".join(
                f"{f}: chosen on validation | validation | test"
                for f in families) + " |",
             "|---|" + "---|---|---|" * len(families)]
    for example in examples:
        cells = []
        for name in families:
            scored = [(mean(v, example, "validation_score"), v)
                      for v in variants if family(v) == name]
            scored = [(m, v) for m, v in scored if m is not None]
            if not scored:
                cells += ["-", "-", "-"]
                continue
            best, chosen = max(scored, key=lambda item: item[0][0])
            test = mean(chosen, example, "score")
            cells += [chosen, f"{best[0]:.1f} ± {best[1]:.1f} (n={best[2]})",
                      f"{test[0]:.1f} ± {test[1]:.1f} (n={test[2]})"]
        if set(cells) != {"-"}:
            lines.append(f"| {example} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", nargs="+", choices=tuple(EXAMPLES),
                        default=list(EXAMPLES)[:5], metavar="EXAMPLE",
                        help="examples to run (default: the paper's four, "
                             "with both similarity heads); also "
                             + ", ".join(e for e in EXAMPLES
                                         if e.startswith("ucr_")))
    parser.add_argument("--variants", nargs="+", choices=tuple(VARIANTS),
                        default=list(MODELS), metavar="VARIANT",
                        help="models to compare (default: nrnm lstm); "
                             "choices: " + ", ".join(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        metavar="SEED",
                        help="seeds; each run of every example and variant "
                             "once per seed (default: 0 1 2)")
    parser.add_argument("--extra-args", default="",
                        help="more arguments for every run, e.g. "
                             "\"--jit-compile on\" (part of the run's "
                             "settings: keep them for a whole sweep)")
    parser.add_argument("--root", default=None,
                        help="folder of the runs and of summary.md / "
                             "summary.json (default: runs/results; "
                             "runs/results-quick with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="pass --quick to every example (a tiny subset, "
                             "2 epochs, small units): checks that the sweep "
                             "runs, in minutes; the scores mean nothing")
    parser.add_argument("--split", choices=("validation", "test"),
                        default="test",
                        help="which scores the table shows: validation (the "
                             "last epoch's score on the validation split "
                             "taken from the training data, on which "
                             "settings are chosen) or test (the page's, "
                             "scored once; default)")
    parser.add_argument("--summary-only", action="store_true",
                        help="print the tables of the finished runs only "
                             "(train nothing)")
    args = parser.parse_args(argv)
    if args.root is None:  # quick runs never mix with real ones
        args.root = os.path.join("runs", "results-quick" if args.quick
                                 else "results")
    if not args.summary_only:
        for seed in args.seeds:
            for example in args.examples:
                for variant in args.variants:
                    run_one(args.root, example, variant, seed,
                            args.extra_args.split(), quick=args.quick)
    print(summarize(args.root, args.examples, args.variants, args.seeds,
                    args.split))
    if args.split == "validation":
        print("\nChosen on validation scores, per family:\n")
        print(selection_table(args.root, args.examples, args.variants,
                              args.seeds))


if __name__ == "__main__":
    main()
