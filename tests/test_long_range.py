"""The long-range memory example (`examples/long_range_memory.py`) and its
sweep (`examples/long_range_sweep.py`).

The task generators, the copy task's memoryless baseline and the recall
metric are checked by value; the parameter-matched LSTM, the Transformer's
positions and causality, and the order of the training batches on built
models; one quick run end to end
and one run killed after its first evaluation, then resumed, as
subprocesses (like `tests/test_examples.py`); and the sweep's table and
figure from fake finished runs. About 40 s on 2 CPU cores, most of it the
backend's start-up in the three subprocesses.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_examples import _env  # the example runs' environment

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
STOP_ENV = "KERAS_NRNM_EXAMPLES_STOP_AFTER_EPOCH"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def lr(monkeypatch):
    """The example's module, imported as `tests/test_examples.py` imports
    the examples (their folder on `sys.path`)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import long_range_memory

    return long_range_memory


@pytest.fixture
def sweep(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import long_range_sweep

    return long_range_sweep


# The tasks ----------------------------------------------------------------
@pytest.mark.parametrize("length", [50, 7])
def test_adding_batch(lr, length):
    batch = 2000
    x, y = lr.adding_batch(np.random.default_rng(0), batch, length)
    assert x.shape == (batch, length, 2) and y.shape == (batch, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert set(np.unique(markers)) == {0.0, 1.0}
    # Exactly two markers, one in each half (the first half is the shorter
    # one for an odd length), at every position of their half.
    half = length // 2
    np.testing.assert_array_equal(markers[:, :half].sum(axis=1), 1)
    np.testing.assert_array_equal(markers[:, half:].sum(axis=1), 1)
    assert set(markers[:, :half].argmax(axis=1)) == set(range(half))
    assert set(markers[:, half:].argmax(axis=1)) == set(range(length - half))
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1),
                               rtol=1e-6)


def test_adding_mean_predictor_scores_one_sixth(lr):
    """The target minus its mean 1 is the sum of two independent
    U(-1/2, 1/2): variance 2/12 = 1/6, the MSE of predicting 1. Its square
    has variance E[d^4] - (1/6)^2 = 1/15 - 1/36 = 7/180 (d triangular on
    [-1, 1]), hence the tolerance: 5 standard errors of the sample mean."""
    n = 200_000
    _, y = lr.adding_batch(np.random.default_rng(1), n, 10)
    assert lr.memoryless_baseline("adding", 10) == pytest.approx(1 / 6)
    assert float(np.mean(y)) == pytest.approx(1.0, abs=5 * math.sqrt(1 / 6 / n))
    mse = float(np.mean((y.astype(np.float64) - 1.0) ** 2))
    assert mse == pytest.approx(1 / 6, abs=5 * math.sqrt(7 / 180 / n))


@pytest.mark.parametrize("delay", [15, 1])
def test_copy_batch(lr, delay):
    batch, length = 500, delay + 20
    x, y = lr.copy_batch(np.random.default_rng(2), batch, delay)
    assert x.shape == (batch, length, 10) and x.dtype == np.float32
    assert y.shape == (batch, length)
    assert set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(x.sum(axis=-1), 1)  # one-hot
    tokens = x.argmax(axis=-1)
    symbols = tokens[:, :10]
    assert set(np.unique(symbols)) == set(range(1, 9))  # 1..8, all drawn
    # The delimiter (class 9) at step 10 + delay - 1, the step before the
    # last 10; blanks (0) everywhere else after the symbols.
    np.testing.assert_array_equal(tokens[:, 10 + delay - 1], 9)
    assert 10 + delay - 1 == length - 11
    blank = np.ones(length, bool)
    blank[:10] = False
    blank[10 + delay - 1] = False
    np.testing.assert_array_equal(tokens[:, blank], 0)
    # Targets: blank, then the 10 symbols in order.
    np.testing.assert_array_equal(y[:, :-10], 0)
    np.testing.assert_array_equal(y[:, -10:], symbols)


def test_copy_memoryless_baseline(lr):
    """A model that keeps no symbol can still know the position: it
    predicts the blank with certainty where the target is always the blank
    (every step but the last 10: cross-entropy 0) and, over the last 10,
    the uniform distribution over the 8 symbols (log 8 each): 10 log 8 per
    sequence, averaged over its delay + 20 steps."""
    import keras

    delay, batch = 30, 200
    length = delay + 20
    expected = 10 * math.log(8) / length
    assert lr.memoryless_baseline("copy", delay) == pytest.approx(expected)
    _, y = lr.copy_batch(np.random.default_rng(3), batch, delay)
    strategy = np.zeros((length, 10))  # a function of the step only
    strategy[:-10, 0] = 1.0
    strategy[-10:, 1:9] = 1 / 8
    probabilities = np.broadcast_to(strategy, (batch, length, 10))
    picked = np.take_along_axis(probabilities, y[..., None], axis=-1)
    assert float(-np.log(picked).mean()) == pytest.approx(expected, rel=1e-9)
    # The loss the models train on gives the same (up to its clipping).
    loss = keras.losses.sparse_categorical_crossentropy(
        y, probabilities.astype("float32"))
    assert float(keras.ops.mean(loss)) == pytest.approx(expected, rel=1e-4)


def test_batches_are_a_function_of_seed_and_step(lr):
    for task, length in (("adding", 30), ("copy", 5)):
        x, y = lr.batch_at(task, length, 8, 0, 3)
        again = lr.batch_at(task, length, 8, 0, 3)
        np.testing.assert_array_equal(x, again[0])
        np.testing.assert_array_equal(y, again[1])
        assert not np.array_equal(x, lr.batch_at(task, length, 8, 0, 4)[0])
        assert not np.array_equal(x, lr.batch_at(task, length, 8, 1, 3)[0])
        # The validation set: fixed per seed, another draw than training.
        validation = lr.validation_set(task, length, 0)[0]
        assert validation.shape[0] == lr.VALIDATION_SIZE
        np.testing.assert_array_equal(validation,
                                      lr.validation_set(task, length, 0)[0])
        assert not np.array_equal(validation[:8], x)


def test_recall(lr):
    """The share of the last 10 steps whose argmax is the target, per
    sequence; the steps before do not count."""
    import keras

    _, y = lr.copy_batch(np.random.default_rng(4), 4, 6)

    def recall(predicted):
        probabilities = np.full(predicted.shape + (10,), 0.05, np.float32)
        np.put_along_axis(probabilities, predicted[..., None], 0.55, axis=-1)
        return keras.ops.convert_to_numpy(lr.recall(y, probabilities))

    right = y.copy()
    right[:, :-10] = 9  # wrong where it does not count
    np.testing.assert_allclose(recall(right), 1.0)
    wrong = y.copy()  # right where it does not count
    wrong[:, -10:] = y[:, -10:] % 8 + 1  # another symbol at every step
    np.testing.assert_allclose(recall(wrong), 0.0)
    mixed = wrong.copy()
    for row, count in enumerate((0, 3, 5, 10)):
        mixed[row, -10:][:count] = y[row, -10:][:count]
    np.testing.assert_allclose(recall(mixed), [0.0, 0.3, 0.5, 1.0])


# The models ---------------------------------------------------------------
@pytest.mark.parametrize("task", ["adding", "copy"])
def test_matched_lstm_has_nrnm_parameter_count(lr, task):
    """At the default 64 units (narrower layers are too coarse for 2%: one
    LSTM unit is ~4% of an 8-unit model), and the nearest width."""
    target = lr.build_model(task, 20, "nrnm", 64).count_params()
    model = lr.build_model(task, 20, "lstm_matched", 64)
    units = model.get_layer("lstm").units
    assert units == lr.matched_lstm_units(task, 20, 64) > 64
    gap = abs(model.count_params() - target)
    assert gap <= 0.02 * target
    for other in (units - 1, units + 1):
        assert gap <= abs(
            lr.build_model(task, 20, "lstm", other).count_params() - target)


def test_transformer_positions_and_causality(lr):
    import keras

    steps, width = 26, 8  # copy with delay 6
    table = lr.sinusoidal_positions(steps, width)
    assert table.shape == (steps, width)
    np.testing.assert_allclose(table[0], [0, 1] * (width // 2))
    np.testing.assert_allclose(table[3, :2], [np.sin(3), np.cos(3)],
                               rtol=1e-6)
    assert len({row.tobytes() for row in table}) == steps  # all distinct
    model = lr.build_model("copy", 6, "transformer", width)
    # Another symbol at step 5: the outputs before it are unchanged.
    x, _ = lr.batch_at("copy", 6, 2, 0, 0)
    changed = x.copy()
    changed[:, 5] = np.roll(x[:, 5], 1, axis=-1)
    before = keras.ops.convert_to_numpy(model(x))
    after = keras.ops.convert_to_numpy(model(changed))
    np.testing.assert_allclose(before[:, :5], after[:, :5], atol=1e-6)
    assert not np.allclose(before[:, 5], after[:, 5])


# Runs end to end ----------------------------------------------------------
def run_example(output_dir, *args, env=None, expect=0):
    """`long_range_memory.py --quick --units 8 --output-dir output_dir
    *args` in a subprocess; its stdout."""
    command = [sys.executable, str(EXAMPLES / "long_range_memory.py"),
               "--quick", "--units", "8", "--output-dir", str(output_dir),
               "--verbose", "2", *args]
    result = subprocess.run(command, cwd=ROOT, env=env or _env(), check=False,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != expect:
        raise AssertionError(
            f"{' '.join(command)} exited with {result.returncode}, expected "
            f"{expect}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n"
            f"{result.stderr[-4000:]}")
    return result.stdout


def check_metrics(output_dir, task, length, model, steps, eval_every):
    metrics = json.loads((Path(output_dir) / "metrics.json").read_text())
    assert metrics["finished"] is True
    assert (metrics["task"], metrics["length"], metrics["model"],
            metrics["units"]) == (task, length, model, 8)
    assert (metrics["steps_budget"], metrics["eval_every"]) == (steps,
                                                                eval_every)
    assert metrics["params"] > 0
    curve = metrics["curve"]
    assert set(curve) == {"step", "validation", "validation_loss", "loss"}
    assert len({len(values) for values in curve.values()}) == 1
    # Too few steps to solve either task: every evaluation is there.
    assert metrics["solved_at"] is None
    assert curve["step"] == list(range(eval_every, steps + 1, eval_every))
    for values in (curve["validation_loss"], curve["loss"]):
        assert all(math.isfinite(v) and v > 0 for v in values)
    assert metrics["memoryless_baseline"] == pytest.approx(
        1 / 6 if task == "adding" else 10 * math.log(8) / (length + 20))
    assert not list(Path(output_dir).glob("*.tmp")), "a temporary file left"
    return metrics


def test_quick_defaults(lr):
    args = lr.parse_args(["--quick", "--task", "copy"])
    assert (args.length, args.steps, args.eval_every) == (20, 40, 20)
    assert args.epochs == 2  # evaluations: what the resuming code counts
    assert args.output_dir == os.path.join("runs", "long_range",
                                           "copy-20-nrnm-0")


def test_quick_run(tmp_path):
    """`--quick` on copy memory (delay 20), 3 evaluations of 2 steps of 8
    sequences (the quick run's 40 steps of 50 add nothing but time)."""
    stdout = run_example(tmp_path, "--task", "copy", "--steps", "6",
                         "--eval-every", "2", "--batch-size", "8")
    assert stdout.startswith(
        "long_range_memory.py: copy at length 20, nrnm, seed 0; loading Keras")
    assert "nrnm on copy 20: not solved in 6 steps" in stdout
    metrics = check_metrics(tmp_path, "copy", 20, "nrnm", 6, 2)
    assert metrics["threshold"] == 0.9
    assert all(0.0 <= v <= 1.0 for v in metrics["curve"]["validation"])


def test_killed_run_resumes(tmp_path):
    """Killed right after its first evaluation, the run resumes at the
    second on re-run, and its curve has both."""
    out = tmp_path / "run"
    args = ("--task", "adding", "--steps", "4", "--eval-every", "2",
            "--batch-size", "8")
    run_example(out, *args, env=_env(**{STOP_ENV: "1"}), expect=75)
    assert not (out / "metrics.json").exists()
    with open(out / "backup" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 1

    stdout = run_example(out, *args)
    assert "resuming after epoch 1 of 2" in stdout
    assert "Epoch 2/2" in stdout and "Epoch 1/2" not in stdout
    metrics = check_metrics(out, "adding", 20, "nrnm", 4, 2)
    assert metrics["threshold"] == 0.01
    assert metrics["curve"]["validation"] == metrics["curve"]["validation_loss"]


# The sweep ----------------------------------------------------------------
def _fake_run(root, task, length, model, seed, solved_at, validation):
    steps = [100 * (i + 1) for i in range(len(validation))]
    result = {
        "task": task, "length": length, "model": model, "seed": seed,
        "params": 1234, "steps_budget": 400, "eval_every": 100,
        "solved_at": solved_at,
        "threshold": 0.01 if task == "adding" else 0.9,
        "memoryless_baseline": 1 / 6 if task == "adding" else 0.5,
        "curve": {"step": steps, "validation": validation,
                  "validation_loss": validation, "loss": validation},
        "finished": True}
    out = Path(root) / f"{task}-{length}-{model}-{seed}"
    out.mkdir(parents=True)
    (out / "metrics.json").write_text(json.dumps(result))


def test_sweep_table_and_figure(sweep, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    root = tmp_path / "runs"
    _fake_run(root, "adding", 100, "nrnm", 0, 300, [0.2, 0.05, 0.005])
    _fake_run(root, "adding", 100, "nrnm", 1, 200, [0.15, 0.008])
    _fake_run(root, "adding", 100, "lstm", 0, None, [0.17, 0.16, 0.2, None])
    _fake_run(root, "copy", 50, "lstm", 1, None, [0.1, 0.2, 0.25, 0.3])
    figure = tmp_path / "docs" / "img" / "curves.png"
    sweep.main(["--root", str(root), "--seeds", "0", "1", "--summary-only",
                "--figure", str(figure)])

    table = (root / "summary.md").read_text()
    assert "| seed 0 | seed 1 | median |" in table
    assert "| adding | 100 | nrnm | 1,234 | 300 | 200 | 250 |" in table
    assert ("| adding | 100 | lstm | 1,234 | > 400 (nan) | - "
            "| 0 of 1 solved |") in table
    assert "| copy | 50 | lstm | 1,234 | - | > 400 (0.300) | 0 of 1 solved |" \
        in table
    assert len(json.loads((root / "summary.json").read_text())) == 4

    drawn = root / "long_range_curves.png"
    assert drawn.read_bytes()[:8] == PNG_MAGIC
    assert figure.read_bytes() == drawn.read_bytes()
    image = matplotlib.image.imread(drawn)
    assert image.shape[0] >= 200 and image.shape[1] >= 200
    assert float(image[..., :3].std()) > 0.02  # not blank
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]


def test_sweep_median_and_no_figure_without_runs(sweep, tmp_path):
    def result(solved_at):
        return {"solved_at": solved_at}

    assert sweep.median_steps([result(100), None, result(300)]) == "200"
    assert sweep.median_steps([result(100), result(150)]) == "125"
    assert sweep.median_steps([result(100), result(None)]) == "1 of 2 solved"
    assert sweep.plot_curves([], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_training_batches_are_the_steps_in_order(lr, monkeypatch):
    """`fit` draws step `first_step + i` as its i-th batch, across epochs
    and without shuffling (a resumed run sees what an uninterrupted one
    would, in the same order)."""
    import argparse

    import keras

    args = argparse.Namespace(task="adding", length=6, batch_size=2, seed=3,
                              eval_every=3)
    steps = []
    draw = lr.batch_at

    def recording(task, length, batch_size, seed, step):
        steps.append(step)
        return draw(task, length, batch_size, seed, step)

    monkeypatch.setattr(lr, "batch_at", recording)
    model = keras.Sequential([keras.Input((6, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(lr.training_batches(args, first_step=6), epochs=3,
              steps_per_epoch=3, shuffle=False, verbose=0)
    # Keras first peeks at a batch or two (to learn the data's spec), then
    # draws from the start again.
    restart = len(steps) - 1 - steps[::-1].index(6)
    assert steps[restart:restart + 9] == list(range(6, 15))


def test_page_table_is_the_published_results(sweep):
    """docs/long_range.md's table is the one that the published results
    (docs/data/long_range.json, written by `--publish`) give."""
    results = sweep.load_published()
    with open(sweep.PUBLISHED_PAGE) as f:
        page = f.read()
    assert sweep.table_in_page(page) == sweep.results_table(results,
                                                            list(sweep.SEEDS))
    for result in results.values():  # every published run finished
        assert result["finished"]
        assert len(result["curve"]["step"]) == len(
            result["curve"]["validation"])


def test_chrono_memory_gates(lr):
    """`nrnm_chrono`: the memory's forget-gate biases lie in
    [log 1, log(updates - 1)], the input-gate biases are their negatives,
    and the default model keeps 0 and 1."""
    chrono = lr.build_model("copy", 10, "nrnm_chrono", 8)
    plain = lr.build_model("copy", 10, "nrnm", 8)
    updates = (10 + 20) // 4
    bias = np.asarray(chrono.get_layer("nrnm").cell.memory.gate_bias.numpy())
    assert bias.shape == (2, 2, 8)
    assert (bias[1] >= 0).all() and (bias[1] <= np.log(updates - 1)).all()
    assert bias[1].std() > 0.1  # drawn, not constant
    np.testing.assert_allclose(bias[0], -bias[1])
    default = np.asarray(plain.get_layer("nrnm").cell.memory.gate_bias.numpy())
    np.testing.assert_allclose(default[0], 0.0)
    np.testing.assert_allclose(default[1], 1.0)


def test_nrnm_with_its_own_schedule(lr):
    """`nrnm_k<block>s<stride>w<window>` builds NRNM with that schedule
    (chrono too); other names are refused with the grammar in the message."""
    assert lr.model_kind("nrnm") == ("nrnm", {})
    assert lr.model_kind("nrnm_chrono_k16s2w8") == (
        "nrnm_chrono", {"block_size": 16, "stride": 2, "window": 8})
    model = lr.build_model("copy", 10, "nrnm_k16s2w16", 8)
    layer = model.get_layer("nrnm")
    assert (layer.cell.block_size, layer.cell.stride, layer.cell.window) == (
        16, 2, 16)
    assert layer.cell.num_slots == 8
    for name in ("nrnm_k16", "lstm_k16s2w16", "nrnm_k16s2w16_extra"):
        with pytest.raises(ValueError, match="nrnm_k<block>s<stride>w<window>"):
            lr.model_kind(name)


@pytest.fixture
def diagnostics(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import long_range_diagnostics

    return long_range_diagnostics


def test_diagnostics_retention_is_the_product_of_forget_gates(diagnostics):
    """Per sequence, the forget gates of the updates strictly between the
    step to keep from and the step where it is needed are multiplied."""
    shape = (2, 1, 1)  # (batch, slots, units)
    trace = [{"step": step, "input_gate": np.full(shape, 0.5),
              "forget_gate": np.full(shape, gate)}
             for step, gate in ((3, 0.9), (7, 0.5), (11, 0.8), (15, 0.1))]
    summary = diagnostics.gate_summary(trace, np.array([3, 7]), 15)
    # Sequence 0: updates 7 and 11; sequence 1: update 11 only.
    retention = summary["retention"]
    assert retention["mean"] == pytest.approx((0.5 * 0.8 + 0.8) / 2)
    assert retention["updates_mean"] == pytest.approx(1.5)
    assert retention["share_above_0.5"] == pytest.approx(0.5)
    assert [u["step"] for u in summary["per_update"]] == [3, 7, 11, 15]
    assert summary["per_update"][1]["forget_gate_mean"] == pytest.approx(0.5)
    assert summary["per_update"][3]["forget_gate_below_0.1"] == 0.0


def test_diagnostics_on_a_fresh_model(diagnostics, lr):
    """At initialisation the memory's forget gate is about sigmoid(1) (its
    bias starts at 1), updates come after every window, and the copy task's
    remembered steps are its first 10."""
    import keras

    keras.utils.set_random_seed(0)
    model = lr.compile_model(lr.build_model("copy", 10, "nrnm", 8), "copy",
                             2e-3)
    x, y = lr.validation_set("copy", 10, 0)
    x, y = x[:16], y[:16]
    trace = diagnostics.memory_gate_trace(model.get_layer("nrnm"), x)
    assert [u["step"] for u in trace] == list(range(3, 30, 4))
    first = trace[0]["forget_gate"]
    assert first.shape == (16, 2, 8)
    assert abs(float(first.mean()) - 1 / (1 + math.exp(-1))) < 0.1
    norms = diagnostics.gradient_reach(model, "copy", x, y)
    assert norms.shape == (30,) and (norms >= 0).all() and norms.max() > 0
    np.testing.assert_array_equal(
        diagnostics.remembered_steps("copy", x), np.tile(np.arange(10), (16, 1)))
    adding_x, _ = lr.adding_batch(np.random.default_rng(0), 4, 12)
    marked = diagnostics.remembered_steps("adding", adding_x)
    assert (adding_x[np.arange(4)[:, None], marked, 1] == 1).all()
    np.testing.assert_array_equal(diagnostics.kept_from("adding", adding_x),
                                  marked.min(axis=1))


def test_sweep_table_lists_other_schedules_after_the_models(sweep):
    def result(model, solved_at):
        return {"params": 10, "solved_at": solved_at, "steps_budget": 400,
                "curve": {"validation": [0.5]}}

    results = {("copy", 100, "nrnm_k16s2w16", 0): result("x", 300),
               ("copy", 100, "lstm", 0): result("lstm", None),
               ("copy", 100, "nrnm", 0): result("nrnm", None)}
    rows = [line.split(" | ")[2] for line in
            sweep.results_table(results, [0]).splitlines()[2:]]
    assert rows == ["nrnm", "lstm", "nrnm_k16s2w16"]


def test_diagnostics_table(sweep):
    key = ("copy", 100, "nrnm", 0)
    results = {key: {"solved_at": None}, ("adding", 400, "lstm", 1):
               {"solved_at": 1300}}
    diagnostics = {
        key: {"gradient_reach": {"ratio_to_median": 2.1136},
              "memory_gates": {
                  "per_update": [{"forget_gate_mean": 0.7},
                                 {"forget_gate_mean": 0.6}],
                  "retention": {"mean": 0.004968, "share_above_0.5": 0.0125}}},
        ("adding", 400, "lstm", 1): {"gradient_reach": {"ratio_to_median":
                                                        None}}}
    lines = sweep.diagnostics_table(results, diagnostics).splitlines()
    assert lines[2] == "| adding | 400 | lstm | 1 | 1300 | - | - | - | - |"
    assert lines[3] == ("| copy | 100 | nrnm | 0 | not solved | 2.11 | 0.65 | "
                        "0.00497 | 1.2 % |")


def test_page_diagnostics_are_the_published_ones(sweep):
    """docs/long_range.md's diagnostics table is the one that the published
    diagnostics (docs/data/long_range_diagnostics.json) give."""
    with open(sweep.PUBLISHED_PAGE) as f:
        page = f.read()
    table = sweep.table_in_page(page, sweep.DIAGNOSTICS_START,
                                sweep.DIAGNOSTICS_END)
    assert table == sweep.diagnostics_table(
        sweep.load_published(), sweep.load_published_diagnostics())
