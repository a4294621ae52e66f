"""The run every application example makes, once its data and model are
defined: `run_example`.

An example loads its data, says how to build its model and how to score the
trained model on its test split; `run_example` does the rest, the same way
for every example:

1. the output folder (`prepare_output_dir`: `run.json`, refusing to resume
   a run made with other settings);
2. a validation part held out of the training split (`VALIDATION_FRACTION`,
   drawn with `--seed`), on which settings are chosen;
3. the devices of `--distribute`, and whole batches for them;
4. `--match-nrnm-params` (the LSTM widened to NRNM's parameter count), then
   the model, built in the devices' scope;
5. `model.fit` with a checkpoint every epoch, the CSV log and resuming an
   interrupted run (`callbacks`);
6. the example's own test scores and figures (`score`), the learning curves
   and `metrics.json` (`write_metrics`), which it returns.
"""

from _common.cli import announce_build, match_parameters
from _common.devices import Devices, _first, predict, split_validation, whole_batches
from _common.figures import plot_learning_curves
from _common.results import write_metrics
from _common.runs import Timer, announce_resume, callbacks, prepare_output_dir

# The share of the training split held out for validation.
VALIDATION_FRACTION = 0.1


class Run:
    """What an example's `score` gets: the trained `model`, `predict(x)`
    (`model.predict` over the run's devices, see `_common.predict`), and the
    `train` and `validation` parts as `fit` saw them."""

    def __init__(self, args, model, devices, train, validation):
        self.args = args
        self.model = model
        self.devices = devices
        self.train = train
        self.validation = validation

    def predict(self, x):
        return predict(self.model, x, self.args, self.devices)


def run_example(args, dataset, train, build_model, score, metric="accuracy",
                title=None, extra=None):
    """Train `build_model(args)` on `train`, score it, write `metrics.json`.

    - `dataset`: the data set's name, recorded in `run.json` and
      `metrics.json` and printed with the test scores.
    - `train`: the training split as `fit` takes it, `(inputs, targets)` or
      `(inputs, targets, sample_weight)`; `inputs` is an array, or a list of
      arrays for a model with several inputs.
    - `build_model(args)`: the compiled model for these arguments (called
      again with other `--units` by `--match-nrnm-params`).
    - `score(run)`: the test scores of the trained model (a `Run`), with the
      figures that go with them; returns `(test, extra)`: the scores of
      `metrics.json`'s `"test"`, and more keys for `metrics.json`.
    - `metric`, `title`: the score and the title of `learning_curves.png`
      (default title: "<dataset>, <--model>").
    - `extra`: facts of the data for `metrics.json` (class count, ...).

    Returns `metrics.json`'s contents.
    """
    prepare_output_dir(args, dataset)
    train, validation = split_validation(VALIDATION_FRACTION, args.seed, *train)
    devices = Devices(args)
    train = whole_batches(args, devices, *train)
    validation = whole_batches(args, devices, *validation)

    announce_build()
    match_parameters(args, build_model)
    with devices.scope():
        model = build_model(args)
    model.summary()

    resumed_from = announce_resume(args)
    inputs, targets, *weights = train
    with Timer() as timer:
        model.fit(inputs, targets, sample_weight=weights[0] if weights else None,
                  validation_data=validation, epochs=args.epochs,
                  batch_size=devices.batch_size, callbacks=callbacks(args),
                  verbose=args.verbose)

    test, scored = score(Run(args, model, devices, train, validation))
    plot_learning_curves(args, metric, title or f"{dataset}, {args.model}")
    return write_metrics(
        args, model, dataset, test, devices, resumed_from, timer.seconds,
        extra={**(extra or {}), "train_samples": len(_first(inputs)),
               "validation_samples": len(_first(validation[0])), **scored})
