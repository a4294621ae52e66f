"""Render the tables of the README and the docs that come from stored
results files, and check the figures the pages quote from them.

    python tools/render_figures.py            # rewrite the tables in the pages
    python tools/render_figures.py --check    # only say what disagrees (exit 1)
    python tools/render_figures.py --import-runs runs/study/summary.json
                                              # new runs of results_sweep.py first

Sources (one record per run; see each file's "about"):

- `docs/data/results.json`: test scores of the accuracy study
  (`examples/results_sweep.py`'s runs) and of `examples/nrnm_vs_lstm.py`;
- `docs/data/benchmarks.json`: `benchmarks/speed.py`'s runs of the code as
  shipped, and the first epoch of `examples/nrnm_vs_lstm.py`.

A rendered table sits in its page between

    <!-- table: tools/render_figures.py NAME -->
    ...
    <!-- end of table -->

(`TABLES` names each table's page). Figures quoted in sentences are checked,
not rewritten: `CHECKS` holds each sentence with its figures as fields of
`key_figures()`, and `--check` (and `tests/test_figures.py`) fails when a
page's sentence with today's figures is missing. Standard library only, so
it runs without Keras.
"""

import argparse
import decimal
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "data" / "results.json"
BENCHMARKS = ROOT / "docs" / "data" / "benchmarks.json"
END = "<!-- end of table -->"


def start_marker(name):
    return f"<!-- table: tools/render_figures.py {name} -->"


# ---------------------------------------------------------------- numbers

def round_half_up(value, digits):
    """`value` to `digits` decimals, halves up (2.05 -> 2.1), as text: the
    recorded ratios have two decimals, and a sentence quotes one."""
    quantum = decimal.Decimal(1).scaleb(-digits)
    return str(decimal.Decimal(str(value)).quantize(
        quantum, rounding=decimal.ROUND_HALF_UP))


def span(values, digits=2, suffix="x"):
    """'1.97-2.14x' for several values, '2.26x' for one (or equal ones)."""
    low = round_half_up(min(values), digits)
    high = round_half_up(max(values), digits)
    return f"{low}{suffix}" if low == high else f"{low}-{high}{suffix}"


def ms_span(values):
    low, high = f"{min(values):,}", f"{max(values):,}"
    return f"{low} ms" if low == high else f"{low}-{high} ms"


def signed(value):
    """'+1.2', '-0.5', and '0.0' for what rounds to zero."""
    text = f"{value:+.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five",
                6: "six", 7: "seven", 8: "eight"}


# ---------------------------------------------------------------- results

def load_results(path=RESULTS):
    """Scores in percent, by (example, variant), in seed order."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    scores = {}
    for run in sorted(data["runs"], key=lambda r: r["seed"]):
        scores.setdefault((run["example"], run["variant"]), []).append(run)
    return data, scores


def percents(runs):
    return [100 * r["score"] for r in runs]


def mean_sd(runs):
    values = percents(runs)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.mean(values), sd


def pm(runs):
    mean, sd = mean_sd(runs)
    return f"{mean:.1f} ± {sd:.1f}"


UCR = ["ucr_ArrowHead", "ucr_PickupGestureWiimoteZ", "ucr_OSULeaf", "ucr_Trace"]
EXAMPLES = ["action_recognition", "sentiment_analysis", "protein_structure",
            "sequence_similarity_match"]
BASELINES = ["lstm", "lstm_matched"]


def best_of(scores, example, variants):
    """The variant with the highest mean score (bold in the tables)."""
    return max(variants, key=lambda v: mean_sd(scores[(example, v)])[0])


def sweep_table(scores, minutes, examples, variants):
    """`examples/results_sweep.py`'s summary: mean ± sd, parameters, per
    seed (the same layout, so a new summary.md reads alike)."""
    def cell(example, variant):
        runs = scores.get((example, variant))
        return f"{pm(runs)} (n={len(runs)})" if runs else "-"

    def params(example, variant):
        runs = scores.get((example, variant))
        if not runs:
            return "-"
        return f"{runs[0]['params']:,} ({runs[0]['units']} units)"

    seeds = sorted({r["seed"] for e in examples for v in variants
                    for r in scores.get((e, v), [])})
    header = "| example | score (%) | " + " | ".join(variants) + " |"
    rule = "|---|---|" + "---|" * len(variants)
    lines = [header, rule]
    lines += [f"| {e} | accuracy | " + " | ".join(cell(e, v) for v in variants)
              + " |" for e in examples]
    lines += ["", "Parameters (units):", "", header.replace("score (%)", "-"),
              rule]
    lines += [f"| {e} | | " + " | ".join(params(e, v) for v in variants) + " |"
              for e in examples]
    lines += ["", "Per seed (%):", "",
              "| example | variant | " + " | ".join(f"seed {s}" for s in seeds)
              + " | minutes per run |",
              "|---|---|" + "---|" * (len(seeds) + 1)]
    for e in examples:
        for v in variants:
            runs = {r["seed"]: r for r in scores.get((e, v), [])}
            if not runs:
                continue
            wall = minutes.get(f"{e}/{v}")
            lines.append(f"| {e} | {v} | " + " | ".join(
                f"{100 * runs[s]['score']:.1f}" if s in runs else "-"
                for s in seeds) + f" | {'-' if wall is None else wall} |")
    return "\n".join(lines)


SUMMARY_ROWS = [("UCR ArrowHead", "ucr_ArrowHead"),
                ("UCR PickupGestureWiimoteZ", "ucr_PickupGestureWiimoteZ"),
                ("UCR OSULeaf", "ucr_OSULeaf"), ("UCR Trace", "ucr_Trace"),
                ("action recognition (HAPT)", "action_recognition"),
                ("similarity, matching head", "sequence_similarity_match"),
                ("sentiment analysis", "sentiment_analysis"),
                ("protein structure Q3", "protein_structure")]


def bolded(scores, example, variant, variants, text):
    return f"**{text}**" if best_of(scores, example, variants) == variant \
        else text


def results_summary(scores):
    """docs/results.md, "Where 0.2 stands": NRNM against both LSTMs."""
    variants = ["nrnm"] + BASELINES
    lines = ["| data set | NRNM 0.2 | LSTM, same width | LSTM, NRNM's parameters |",
             "|---|---|---|---|"]
    for label, example in SUMMARY_ROWS:
        n = [len(scores[(example, v)]) for v in variants]
        if len(set(n)) > 1:
            label += f" ({n[0]} seeds; matched: {n[2]})"
        cells = [bolded(scores, example, v, variants, pm(scores[(example, v)]))
                 for v in variants]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


README_ROWS = [("HAPT actions (64 steps)", "action_recognition"),
               ("HAPT pairs, similarity (matching head)", "sequence_similarity_match"),
               ("UCR OSULeaf (427 steps)", "ucr_OSULeaf"),
               ("UCR Trace (275 steps)", "ucr_Trace"),
               ("Pang & Lee sentiment (1,080 reviews)", "sentiment_analysis"),
               ("DSSP protein Q3 (36 chains)", "protein_structure")]


def params_ratio(scores, example):
    ratio = scores[(example, "nrnm")][0]["params"] / \
        scores[(example, "lstm")][0]["params"]
    digits = 2 if round_half_up(ratio, 1) == "1.0" else 1
    return f"{round_half_up(ratio, digits)}x"


def readme_comparison(scores):
    """README.md, "When to use NRNM": the headline comparison."""
    variants = ["nrnm"] + BASELINES
    lines = ["| task | NRNM | LSTM, same width | LSTM with NRNM's parameters "
             "| NRNM's parameters / LSTM's |", "|---|---|---|---|---|"]
    for label, example in README_ROWS:
        cells = [bolded(scores, example, v, variants,
                        f"{pm(scores[(example, v)])} %") for v in variants]
        if example == "protein_structure":
            cells[1] += " (Bi-LSTM)"
        lines.append(f"| {label} | " + " | ".join(cells)
                     + f" | {params_ratio(scores, example)} |")
    return "\n".join(lines)


EXAMPLE_LABELS = {"action_recognition": ("action recognition (HAPT)",
                                         "action recognition", "accuracy"),
                  "sentiment_analysis": ("sentiment analysis (Pang & Lee)",
                                         "sentiment analysis", "accuracy"),
                  "protein_structure": ("protein structure (DSSP chains)",
                                        "protein structure", "Q3"),
                  "sequence_similarity_match": (
                      "sequence similarity, matching head",
                      "similarity, matching head", "accuracy")}


def results_examples(scores):
    """docs/results.md: the four examples with 0.2's defaults."""
    variants = ["nrnm"] + BASELINES
    lines = ["| example | score (%) | NRNM 0.2 | LSTM (same width) | "
             "LSTM (NRNM's parameters) | NRNM, separate gates | "
             "params NRNM / LSTM / matched LSTM |",
             "|---|---|---|---|---|---|---|"]
    for example in EXAMPLES:
        label, _, score = EXAMPLE_LABELS[example]
        n = len(scores[(example, "nrnm")])
        if n != 3:
            label += f", {n} seeds"
        cells = [bolded(scores, example, v, variants, pm(scores[(example, v)]))
                 for v in variants]
        if example == "protein_structure":
            cells[1] += " (Bi-LSTM)"
        matched = scores[(example, "lstm_matched")]
        note = f"{matched[0]['units']} units"
        if len(matched) != n:
            note += f", {len(matched)} seeds"
        cells[2] += f" ({note})"
        cells.append(pm(scores[(example, "nrnm_separate")]))
        params = " / ".join(f"{scores[(example, v)][0]['params']:,}"
                            for v in variants)
        lines.append(f"| {label} | {score} | " + " | ".join(cells)
                     + f" | {params} |")
    return "\n".join(lines)


def results_examples_seeds(scores):
    """docs/results.md: the examples' scores per seed."""
    names = [("nrnm", "NRNM 0.2"), ("lstm", "LSTM"),
             ("lstm_matched", "LSTM, NRNM's parameters"),
             ("nrnm_separate", "NRNM, separate gates")]
    lines = ["| example | model | per seed |", "|---|---|---|"]
    for example in EXAMPLES:
        first = EXAMPLE_LABELS[example][1]
        for variant, name in names:
            if example == "protein_structure":
                name = name.replace("LSTM", "Bi-LSTM")
            values = ", ".join(f"{v:.1f}" for v in
                               percents(scores[(example, variant)]))
            lines.append(f"| {first} | {name} | {values} |" if first
                         else f"| | {name} | {values} |")
            first = ""
    return "\n".join(lines)


# ---------------------------------------------------------------- speed

def load_benchmarks(path=BENCHMARKS):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def runs_of(data, setting, backend="tensorflow", units=None, xla=None):
    return [r for r in data["speed"] if r["setting"] == setting
            and r["backend"] == backend
            and (units is None or r["units"] == units)
            and (xla is None or r["xla"] == xla)]


def values(runs, key):
    """Every value of `key` in the runs (a run's [low, high] gives both)."""
    found = []
    for run in runs:
        value = run.get(key)
        if isinstance(value, list):
            found += value
        elif value is not None:
            found.append(value)
    return found


def count(runs):
    return sum(r.get("runs", 1) for r in runs)


BACKENDS = [("tensorflow", "TensorFlow"), ("jax", "JAX (XLA)"),
            ("torch", "PyTorch")]


def benchmarks_ntu(data):
    """docs/benchmarks.md: the paper's setting, today's code, each backend."""
    lines = ["| backend | runs | train step vs LSTM | inference vs LSTM | "
             "NRNM train step | NRNM inference | peak memory vs LSTM (train) |",
             "|---|---|---|---|---|---|---|"]
    for backend, label in BACKENDS:
        runs = runs_of(data, "ntu", backend)
        memory = values(runs, "memory_vs_lstm")
        if memory:
            memory = span(memory)
        else:
            earlier = [r for r in data["earlier_code"]
                       if r["setting"] == "ntu" and r["backend"] == backend]
            memory = (f"{span(values(earlier, 'memory_vs_lstm'))} "
                      "(the code before the last change)" if earlier
                      else "not measured")
        lines.append(f"| {label} | {count(runs)} | {speed_cells(runs)} | "
                     f"{memory} |")
    return "\n".join(lines)


def speed_cells(runs):
    """The speed tables' four cells: train step and inference against the
    LSTM, then NRNM's own train step and inference in ms."""
    return " | ".join([span(values(runs, "train_vs_lstm")),
                       span(values(runs, "infer_vs_lstm")),
                       ms_span(values(runs, "nrnm_train_ms")),
                       ms_span(values(runs, "nrnm_infer_ms"))])


def benchmarks_narrow(data):
    """docs/benchmarks.md: narrow layers on TensorFlow, without and with XLA."""
    lines = ["| units | XLA | runs | train step vs LSTM | inference vs LSTM | "
             "NRNM train step | NRNM inference | cell path / fast path, "
             "train and inference | multiply-adds vs LSTM |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = sorted({(r["xla"], r["units"]) for r in data["speed"]
                   if r["setting"] == "narrow"})
    for xla, units in rows:
        runs = runs_of(data, "narrow", units=units, xla=xla)
        cell = values(runs, "cell_over_fast_train")
        cell = (f"{span(cell)}, {span(values(runs, 'cell_over_fast_infer'))}"
                if cell else "-")
        ratio = data["multiply_adds_vs_lstm"][str(units)]
        lines.append(
            f"| {units} | {'on' if xla else 'off'} | {count(runs)} | "
            f"{speed_cells(runs)} | {cell} | {ratio:.2f}x |")
    return "\n".join(lines)


def benchmarks_first_epoch(data):
    """docs/benchmarks.md: the first epoch of examples/nrnm_vs_lstm.py."""
    lines = ["| run | LSTM: first epoch / whole run | NRNM: first epoch / "
             "whole run | NRNM's first epoch / LSTM's |", "|---|---|---|---|"]
    for r in data["first_epoch"]:
        backend = "JAX" if r["backend"] == "jax" else "TensorFlow"
        label = r["note"] if r["backend"] == "jax" else f"{backend}, {r['note']}"
        ratio = r["nrnm_first_epoch_s"] / r["lstm_first_epoch_s"]
        lines.append(f"| {label} | {r['lstm_first_epoch_s']} / "
                     f"{r['lstm_train_s']} s | {r['nrnm_first_epoch_s']} / "
                     f"{r['nrnm_train_s']} s | {round_half_up(ratio, 1)}x |")
    return "\n".join(lines)


# ---------------------------------------------------------------- pages

# name -> (page, function of (results scores, results data, benchmarks))
TABLES = {
    "readme-comparison": ("README.md", lambda s, d, b: readme_comparison(s)),
    "results-summary": ("docs/results.md", lambda s, d, b: results_summary(s)),
    "results-ucr": ("docs/results.md", lambda s, d, b: sweep_table(
        s, d["minutes_per_run"], UCR,
        ["nrnm", "lstm", "lstm_matched", "nrnm_separate", "nrnm_v01"])),
    "results-ucr-ablations": ("docs/results.md", lambda s, d, b: sweep_table(
        s, d["minutes_per_run"], UCR,
        ["nrnm", "nrnm_separate", "nrnm_random_projection",
         "nrnm_no_output_projection", "nrnm_regularised",
         "nrnm_layer_norm_1"])),
    "results-examples": ("docs/results.md",
                         lambda s, d, b: results_examples(s)),
    "results-examples-seeds": ("docs/results.md",
                               lambda s, d, b: results_examples_seeds(s)),
    "benchmarks-ntu": ("docs/benchmarks.md",
                       lambda s, d, b: benchmarks_ntu(b)),
    "benchmarks-narrow": ("docs/benchmarks.md",
                          lambda s, d, b: benchmarks_narrow(b)),
    "benchmarks-first-epoch": ("docs/benchmarks.md",
                               lambda s, d, b: benchmarks_first_epoch(b)),
}


def rendered_tables(root=ROOT):
    data, scores = load_results(root / "docs" / "data" / "results.json")
    bench = load_benchmarks(root / "docs" / "data" / "benchmarks.json")
    return {name: (page, make(scores, data, bench))
            for name, (page, make) in TABLES.items()}


def table_in_page(text, name):
    """The text between a table's markers, or None without them."""
    start = start_marker(name)
    if start not in text:
        return None
    after = text.split(start, 1)[1]
    if END not in after:
        return None
    return after.split(END, 1)[0].strip("\n")


def replace_table(text, name, table):
    start = start_marker(name)
    before, after = text.split(start, 1)
    _, rest = after.split(END, 1)
    return f"{before}{start}\n{table}\n{END}{rest}"


# ---------------------------------------------------------------- sentences

def key_figures(root=ROOT):
    """The figures that sentences quote, as the stored results give them."""
    _, scores = load_results(root / "docs" / "data" / "results.json")
    bench = load_benchmarks(root / "docs" / "data" / "benchmarks.json")
    f = {}

    def mean(example, variant):
        return mean_sd(scores[(example, variant)])[0]

    # Accuracy: where NRNM is ahead of both LSTMs.
    ahead_ucr = [e for e in UCR if all(mean(e, "nrnm") > mean(e, v)
                                       for v in BASELINES)]
    f["ucr_ahead_of_both"] = ("all four" if len(ahead_ucr) == len(UCR)
                              else NUMBER_WORDS[len(ahead_ucr)])
    sets = UCR + EXAMPLES
    ahead = [e for e in sets if all(mean(e, "nrnm") > mean(e, v)
                                    for v in BASELINES)]
    behind = [e for e in sets if all(mean(e, "nrnm") < mean(e, v)
                                     for v in BASELINES)]
    f["sets_ahead_of_both"] = NUMBER_WORDS[len(ahead)]
    f["sets_behind_both"] = NUMBER_WORDS[len(behind)]
    f["sets"] = NUMBER_WORDS[len(sets)]
    for e in UCR + EXAMPLES:
        for v in BASELINES:
            f[f"{e}_vs_{v}"] = signed(mean(e, "nrnm") - mean(e, v))
    # Any two variants on a UCR set: "{ucr_OSULeaf__nrnm__nrnm_v01}" is
    # NRNM's mean less nrnm_v01's, signed; with "__abs", without sign.
    variants = sorted({v for e, v in scores if e in UCR})
    for e in UCR:
        for v in variants:
            for w in variants:
                if v != w and (e, v) in scores and (e, w) in scores:
                    difference = mean(e, v) - mean(e, w)
                    f[f"{e}__{v}__{w}"] = signed(difference)
                    f[f"{e}__{v}__{w}__abs"] = f"{abs(difference):.1f}"
    for v in ("nrnm", "lstm"):
        f[f"nrnm_vs_lstm_{v}"] = pm(scores[("nrnm_vs_lstm", v)])
    # Tied against separate Eq. 9 gates, seed by seed, on every set.
    pairs = []
    for e in sets:
        separate = {r["seed"]: 100 * r["score"]
                    for r in scores[(e, "nrnm_separate")]}
        pairs += [round(100 * r["score"] - separate[r["seed"]], 6)
                  for r in scores[(e, "nrnm")] if r["seed"] in separate]
    f["tied_pairs"] = str(len(pairs))
    f["tied_higher"] = str(sum(d > 0 for d in pairs))
    f["tied_same"] = str(sum(d == 0 for d in pairs))
    f["tied_lower"] = str(sum(d < 0 for d in pairs))
    f["tied_mean"] = f"{statistics.mean(pairs):+.1f}"

    # Speed: the paper's setting, each backend.
    for backend, _ in BACKENDS:
        runs = runs_of(bench, "ntu", backend)
        f[f"{backend}_ntu_train"] = span(values(runs, "train_vs_lstm"), 1)
        f[f"{backend}_ntu_infer"] = span(values(runs, "infer_vs_lstm"), 1)
        f[f"{backend}_ntu_runs"] = str(count(runs))
    f["jax_ntu_memory"] = span(values(runs_of(bench, "ntu", "jax"),
                                      "memory_vs_lstm"))
    f["authors_train"] = f"{bench['authors_code']['train_vs_lstm']:.2f}x"
    f["multiply_adds_ntu"] = f"{bench['multiply_adds_vs_lstm']['512']:.2f}x"
    # Narrow layers on TensorFlow without XLA, 32-128 units.
    narrow = [r for r in bench["speed"] if r["setting"] == "narrow"
              and not r["xla"] and r["units"] <= 128]
    f["narrow_train"] = span(values(narrow, "train_vs_lstm"), 1)
    f["narrow_infer"] = span(values(narrow, "infer_vs_lstm"), 1)
    # XLA at 128 units: against the LSTM, and NRNM's own step against
    # NRNM's step without XLA.
    xla = runs_of(bench, "narrow", units=128, xla=True)
    off = runs_of(bench, "narrow", units=128, xla=False)
    f["xla_128_train"] = span(values(xla, "train_vs_lstm"))
    f["xla_128_infer"] = span(values(xla, "infer_vs_lstm"))
    f["xla_128_train_ms"] = ms_span(values(xla, "nrnm_train_ms"))
    f["xla_128_train_ms_number"] = f["xla_128_train_ms"][:-len(" ms")]
    f["no_xla_128_train_ms"] = ms_span(values(off, "nrnm_train_ms"))
    f["xla_speedup_train"] = span(
        [t / x for t in values(off, "nrnm_train_ms")
         for x in values(xla, "nrnm_train_ms")], 1)
    f["xla_speedup_infer"] = span(
        [t / x for t in values(off, "nrnm_infer_ms")
         for x in values(xla, "nrnm_infer_ms")], 1)
    # First epoch of examples/nrnm_vs_lstm.py, the default (no XLA).
    default = [r for r in bench["first_epoch"]
               if r["backend"] == "tensorflow" and not r["xla"]]
    f["first_epoch_nrnm"] = span(values(default, "nrnm_first_epoch_s"), 0,
                                 " s")
    f["first_epoch_lstm"] = span(values(default, "lstm_first_epoch_s"), 1,
                                 " s")
    return f


# (page, sentence): each {field} is a key of key_figures(). The sentence,
# its figures filled in, must be in the page (whitespace-insensitive).
CHECKS = [
    ("README.md", "About {tensorflow_ntu_train} an LSTM's train step and "
     "{tensorflow_ntu_infer} its inference at the paper's NTU size on a CPU "
     "(TensorFlow at 512 units; {narrow_train} to train and {narrow_infer} "
     "to infer at 32-128 units without XLA)"),
    ("README.md", "does {multiply_adds_ntu} the multiply-adds of an LSTM of "
     "the same width, and on a 2-core CPU a TensorFlow train step costs "
     "{tensorflow_ntu_train} the LSTM's (inference {tensorflow_ntu_infer}; "
     "JAX {jax_ntu_train} and {jax_ntu_infer}; PyTorch inference "
     "{torch_ntu_infer}; the authors' PyTorch code: {authors_train} to "
     "train)"),
    ("README.md", "Narrow layers cost more ({narrow_train} to train and "
     "{narrow_infer} to infer at 32-128 units on TensorFlow without XLA"),
    ("README.md", "the first epoch is slow while the graph is built "
     "({first_epoch_nrnm} against the LSTM's {first_epoch_lstm} in "
     "`examples/nrnm_vs_lstm.py` without XLA"),
    ("README.md", "NRNM wins on HAPT actions and similarity and, on average, "
     "on {ucr_ahead_of_both} long UCR/UEA series sets"),
    ("README.md", "(seeds 0-3: NRNM {nrnm_vs_lstm_nrnm} %, LSTM "
     "{nrnm_vs_lstm_lstm} %"),
    ("docs/guide.md", "makes NRNM's step {xla_speedup_train} faster there "
     "(128 units: {xla_128_train_ms_number} against {no_xla_128_train_ms} "
     "per train step)"),
    ("docs/benchmarks.md", "a TensorFlow train step costs "
     "{tensorflow_ntu_train} the LSTM's and inference "
     "{tensorflow_ntu_infer}"),
    ("docs/benchmarks.md", "{narrow_train} to train and {narrow_infer} to "
     "infer at 32-128 units"),
    ("docs/benchmarks.md", "With XLA (`--jit-compile true`) the 128-unit "
     "layers train at {xla_128_train} the LSTM and infer at "
     "{xla_128_infer}; NRNM's own step is {xla_speedup_train} faster to "
     "train and {xla_speedup_infer} faster at inference than without XLA"),
    ("docs/results.md", "({tied_pairs} paired runs), the shared map scored "
     "higher in {tied_higher}, the same in {tied_same} and lower in "
     "{tied_lower} (mean {tied_mean} points"),
    ("docs/results.md", "Over all {tied_pairs} paired runs tied scored higher "
     "in {tied_higher}, the same in {tied_same} and lower in {tied_lower} "
     "(mean {tied_mean} points"),
    ("docs/results.md", "0.2 gains {ucr_OSULeaf__nrnm__nrnm_v01__abs} points on "
     "OSULeaf"),
    ("docs/results.md", "{ucr_PickupGestureWiimoteZ__nrnm__nrnm_v01__abs} on "
     "PickupGestureWiimoteZ and {ucr_ArrowHead__nrnm__nrnm_v01__abs} on "
     "ArrowHead"),
    ("docs/results.md", "(ArrowHead "
     "{ucr_ArrowHead__nrnm_no_output_projection__nrnm_separate}, Trace "
     "{ucr_Trace__nrnm_no_output_projection__nrnm_separate}; gestures "
     "{ucr_PickupGestureWiimoteZ__nrnm_no_output_projection__nrnm_separate}, "
     "OSULeaf {ucr_OSULeaf__nrnm_no_output_projection__nrnm_separate},"),
    ("docs/results.md", "lower on all four sets, by "
     "{ucr_ArrowHead__nrnm__nrnm_regularised__abs} (ArrowHead), "
     "{ucr_PickupGestureWiimoteZ__nrnm__nrnm_regularised__abs} (gestures), "
     "{ucr_OSULeaf__nrnm__nrnm_regularised__abs} (OSULeaf) and "
     "{ucr_Trace__nrnm__nrnm_regularised__abs} points (Trace)"),
    ("docs/results.md", "level on ArrowHead "
     "({ucr_ArrowHead__nrnm_layer_norm_1__nrnm}) and the gestures "
     "({ucr_PickupGestureWiimoteZ__nrnm_layer_norm_1__nrnm}), "
     "{ucr_OSULeaf__nrnm_layer_norm_1__nrnm} on OSULeaf, "
     "{ucr_Trace__nrnm_layer_norm_1__nrnm} on Trace"),
    ("docs/results.md", "NRNM is ahead of both LSTMs on {sets_ahead_of_both} "
     "of the {sets} sets and behind both on the {sets_behind_both} smallest"),
    ("docs/results.md", "ahead on all four sets: Trace "
     "{ucr_Trace_vs_lstm} points"),
    ("docs/results.md", "ArrowHead {ucr_ArrowHead_vs_lstm}"),
    ("docs/results.md", "OSULeaf {ucr_OSULeaf_vs_lstm} (427 steps) and "
     "PickupGestureWiimoteZ {ucr_PickupGestureWiimoteZ_vs_lstm}"),
    ("docs/results.md", "NRNM 0.2 is ahead on all four "
     "({ucr_ArrowHead_vs_lstm_matched} on ArrowHead, "
     "{ucr_PickupGestureWiimoteZ_vs_lstm_matched} on "
     "PickupGestureWiimoteZ, {ucr_OSULeaf_vs_lstm_matched} on OSULeaf, "
     "{ucr_Trace_vs_lstm_matched} on Trace)"),
    ("docs/results.md", "NRNM is ahead of both LSTMs on action recognition "
     "({action_recognition_vs_lstm} points over the same width, "
     "{action_recognition_vs_lstm_matched} over the matched one) and "
     "similarity ({sequence_similarity_match_vs_lstm}, "
     "{sequence_similarity_match_vs_lstm_matched})"),
    ("docs/results.md", "{sentiment_analysis_vs_lstm_matched} against the "
     "matched LSTM"),
    ("docs/results.md", "{protein_structure_vs_lstm_matched} against the "
     "matched Bi-LSTM"),
    ("CHANGELOG.md", "a TensorFlow train step at the paper's setting costs "
     "{tensorflow_ntu_train} an LSTM's (inference {tensorflow_ntu_infer})"),
]


def normalise(text):
    return " ".join(text.split())


def problems(root=ROOT):
    """Every disagreement between the pages and the stored results."""
    found = []
    pages = {}

    def page(name):
        if name not in pages:
            pages[name] = (root / name).read_text(encoding="utf-8")
        return pages[name]

    for name, (path, table) in rendered_tables(root).items():
        shown = table_in_page(page(path), name)
        if shown is None:
            found.append(f"{path}: no table {name!r} between "
                         f"'{start_marker(name)}' and '{END}'")
        elif shown.strip() != table.strip():
            found.append(f"{path}: table {name!r} differs from its results "
                         "file (python tools/render_figures.py rewrites it)")
    figures = key_figures(root)
    for path, sentence in CHECKS:
        expected = sentence.format(**figures)
        if normalise(expected) not in normalise(page(path)):
            found.append(f"{path}: the sentence '{expected}' is not in the "
                         "page (its figures come from the results files)")
    return found


def render(root=ROOT):
    """Rewrite every table in its page; returns the pages changed."""
    changed = []
    by_page = {}
    for name, (path, table) in rendered_tables(root).items():
        by_page.setdefault(path, []).append((name, table))
    for path, tables in by_page.items():
        file = root / path
        text = old = file.read_text(encoding="utf-8")
        for name, table in tables:
            if table_in_page(text, name) is None:
                raise SystemExit(f"{path}: no markers for table {name!r} "
                                 f"('{start_marker(name)}' ... '{END}')")
            text = replace_table(text, name, table)
        if text != old:
            file.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed


RUN_KEYS = ("example", "variant", "seed", "score", "params", "units")


def import_runs(summary_path, results_path=RESULTS):
    """Merge the runs of `examples/results_sweep.py`'s summary.json into the
    results file: a run of the same example, variant and seed is replaced,
    and the example-variant pair's minutes per run are its runs' mean wall
    time. Returns how many runs were merged."""
    with open(summary_path, encoding="utf-8") as f:
        new_runs = json.load(f)
    with open(results_path, encoding="utf-8") as f:
        data = json.load(f)
    key = lambda run: (run["example"], run["variant"], run["seed"])  # noqa: E731
    merged = {key(run): run for run in data["runs"]}
    walls = {}
    for run in new_runs:
        merged[key(run)] = {k: run[k] for k in RUN_KEYS if k in run}
        if run.get("wall_seconds"):
            walls.setdefault(f"{run['example']}/{run['variant']}", []).append(
                run["wall_seconds"])
    for name, seconds in walls.items():
        data["minutes_per_run"][name] = round(statistics.mean(seconds) / 60, 1)
    data["runs"] = sorted(merged.values(), key=key)
    runs = data.pop("runs")
    head = json.dumps(data, indent=1, ensure_ascii=False)
    body = ",\n".join("  " + json.dumps(run, ensure_ascii=False)
                      for run in runs)
    with open(results_path, "w", encoding="utf-8") as f:
        f.write(head[:-2] + ',\n "runs": [\n' + body + "\n ]\n}\n")
    return len(new_runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only report what disagrees; exit 1 if anything does")
    parser.add_argument("--import-runs", metavar="SUMMARY_JSON",
                        help="first merge the runs of examples/results_sweep.py's "
                             "summary.json into docs/data/results.json")
    args = parser.parse_args(argv)
    if args.import_runs:
        print(f"merged {import_runs(args.import_runs)} runs into {RESULTS}")
    if not args.check:
        for path in render():
            print(f"rewrote the tables of {path}")
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
