"""Protein secondary structure with a bidirectional NRNM (the paper's Sec. 4.3,
Tables 7-8).

The task: step-wise labelling (Eq. 16). For every residue of a protein
chain, predict its secondary structure from the chain's amino acids. The
paper trains on CB6133 (5,534 proteins after removing the overlap with
CB513) and tests on CB513, CASP10 and CASP11; each residue is 21 amino-acid
channels plus 21 sequence-profile channels (PSSM), chains are padded to 700
residues, and the score is Q8: the accuracy over the 8 DSSP classes (L, B,
E, G, I, H, S, T) on the real residues only. Because a residue's structure
depends on both sides of it, the paper's NRNM reads both directions: the
memory's source units are the forward and the backward hidden states of the
block plus its inputs (Eq. 18); `keras_nrnm.BidirectionalNRNM` implements
that. Reported Q8 (Table 7):

                 CB513   CASP10   CASP11
    NRNM         69.6    74.1     72.0
    Bi-LSTM      66.4    70.8     70.4

`--model lstm` is that Bi-LSTM: `keras.layers.Bidirectional(LSTM(units))`,
the same width per direction and the same per-residue classifier.

Offline stand-in (the default): 50 real protein chains (79-173 residues,
6,860 residues) with DSSP labels from the MDAnalysisTests package (fetched
once from PyPI, 59.6 MB), split by protein 40 train / 10 test. Input is the
one-hot amino acid only (21 channels; no profiles exist for them), so expect
far lower accuracies than with PSSMs. Labels are the 3 DSSP states (helix,
strand, coil: Q3) shipped with the files; `--classes 8` computes the 8
states with `mkdssp` (`apt install dssp`) for a Q8 score as in the paper.

Run it:

    python examples/protein_structure.py --quick                # smoke run, < 2 min
    python examples/protein_structure.py                        # DSSP proteins, Q3
    python examples/protein_structure.py --classes 8            # Q8 (needs mkdssp)
    python examples/protein_structure.py --model lstm           # the Bi-LSTM baseline
    python examples/protein_structure.py --data-dir cb6133/ --units 256 --epochs 30 \\
        --zoneout 0.2 --memory-dropout 0.5
        # a folder with cullpdb+profile_6133_filtered.npy.gz and
        # cb513+profile_split1.npy.gz (+ casp10*.npy*, casp11*.npy* if you have them)

Outputs in `--output-dir` (default `runs/protein_structure`): `log.csv`,
`model.keras`, `metrics.json` (Q3/Q8 on each test set), `learning_curves.png`,
`confusion_matrix.png` (residues of the first test set) and, for `--model
nrnm`, `attention.png`: two memory blocks of one test protein.
"""

import glob
import os


import _common  # the examples' shared plumbing: a script's folder is on sys.path

# Keras and keras_nrnm are imported inside the functions, once the command
# line is parsed: `--help` answers at once, and the backend's start-up
# messages are filtered (`_common.load_keras`).


def parse_args(argv=None):
    parser = _common.make_parser(
        "protein_structure", __doc__.split("\n\n")[0],
        epochs=40, units=32, batch_size=8, dropout=0.3)
    group = parser.add_argument_group("protein structure")
    group.add_argument("--classes", type=int, choices=(3, 8), default=None,
                       help="DSSP states of the offline proteins: 3 (Q3, "
                            "default) or 8 (Q8, runs mkdssp); --data-dir data "
                            "is always 8")
    args = _common.parse_args(parser, argv)
    if args.data_dir:
        if args.classes == 3:
            parser.error("the CB6133 files carry 8-state labels: drop --classes 3")
        args.classes = 8
    elif args.classes is None:
        args.classes = 3
    return args


# --------------------------------------------------------------------------
# 1. Data: x (proteins, residues, channels), y (proteins, residues) class
#    ids, mask (proteins, residues) True on real residues.

# File names as downloaded (Zhou & Troyanskaya, 2014); CASP files converted
# to the same layout by the user.
TRAIN_PATTERNS = ("cullpdb+profile_6133_filtered*.npy*",)
TEST_PATTERNS = {"CB513": "cb513*.npy*", "CASP10": "*casp10*.npy*",
                 "CASP11": "*casp11*.npy*"}


def load_data(args):
    """Returns the training split, a dict of test splits, class names and a
    dataset label."""
    from keras_nrnm import datasets

    if args.data_dir:
        train_files = [f for p in TRAIN_PATTERNS
                       for f in glob.glob(os.path.join(args.data_dir, p))]
        if not train_files:
            raise SystemExit(f"{args.data_dir}: no cullpdb+profile_6133_filtered"
                             ".npy(.gz) (the paper's training set)")
        train = datasets.load_cb6133(sorted(train_files)[0])
        tests = {}
        for name, pattern in TEST_PATTERNS.items():
            found = sorted(glob.glob(os.path.join(args.data_dir, pattern),
                                     recursive=False))
            if found:
                tests[name] = datasets.load_cb513(found[0])
        if not tests:
            raise SystemExit(f"{args.data_dir}: no test file (cb513+profile_split1"
                             ".npy.gz, casp10*, casp11*)")
        names = list(datasets.SS8_CLASSES)
        dataset = "CB6133 -> " + "/".join(tests)
    else:
        train, test = datasets.load_dssp_proteins(classes=args.classes)
        tests = {"DSSP test proteins": test}
        names = list(datasets.SS3_CLASSES if args.classes == 3
                     else datasets.SS8_CLASSES)
        dataset = f"DSSP proteins (Q{args.classes})"
    if args.quick:  # 20 training proteins
        train = tuple(a[:20] for a in train)
    # Zero the padding, so that keras.layers.Masking(0.0) finds it.
    train = (train[0] * train[2][..., None], train[1], train[2])
    tests = {k: (x * m[..., None], y, m) for k, (x, y, m) in tests.items()}
    return train, tests, names, dataset


# --------------------------------------------------------------------------
# 2. Model: masking -> bidirectional recurrent layer (all steps) -> softmax
#    classifier on every residue (a Dense layer on a 3D tensor acts per step).


def build_model(args, residues, channels, classes):
    import keras
    from keras_nrnm import BidirectionalNRNM

    inputs = keras.Input((residues, channels), name="residues")
    h = keras.layers.Masking(0.0, name="padding")(inputs)
    if args.model == "nrnm":
        # One memory over forward and backward hidden states (Eq. 18);
        # output per residue: [forward h, backward h], 2 * units wide.
        h = BidirectionalNRNM(args.units, **_common.memory_kwargs(args),
                              return_sequences=True, name="nrnm")(h)
    else:
        h = keras.layers.Bidirectional(
            keras.layers.LSTM(args.units, return_sequences=True,
                              **_common.lstm_kwargs(args)),
            name="bilstm")(h)
    h = keras.layers.Dropout(args.dropout)(h)
    outputs = keras.layers.Dense(classes, activation="softmax", name="structure")(h)
    model = keras.Model(inputs, outputs, name=f"{args.model}_protein_structure")
    # Per-residue cross-entropy (Eq. 16); the padding gets weight 0, and the
    # weighted accuracy is the Q3/Q8 accuracy over real residues.
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  jit_compile=_common.jit_compile(args),
                  loss="sparse_categorical_crossentropy",
                  weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(
                      name=f"q{classes}")])
    # The optimizer's variables made before `fit`: made while tracing, they
    # make Keras trace the first step twice (guide, "First epoch").
    model.optimizer.build(model.trainable_variables)
    return model


# --------------------------------------------------------------------------
# 3. Test scores and figures of the trained model: Q3/Q8 on every test set,
#    a confusion matrix of the first one's residues, NRNM's attention.


def score(run, tests, names, dataset):
    args = run.args
    q = f"q{args.classes}"
    # Q3/Q8: accuracy over the real residues of each test set.
    per_set = {}
    for name, (x_test, y_test, m_test) in tests.items():
        probabilities = run.predict(x_test)
        predicted = probabilities.argmax(axis=-1)
        per_set[name] = {
            q: float((predicted == y_test)[m_test].mean()),
            "loss": _common.mean_loss("sparse_categorical_crossentropy",
                                      y_test, probabilities, m_test),
            "proteins": len(x_test), "residues": int(m_test.sum()),
        }
        if name == next(iter(tests)):
            first = (name, y_test[m_test], predicted[m_test], x_test, m_test)
    name, true, predicted, x_test, m_test = first
    test = {q: per_set[name][q], "loss": per_set[name]["loss"]}
    _common.plot_confusion_matrix(
        args, true, predicted, names,
        f"{name}, {args.model}: {q.upper()} {test[q]:.3f} over {len(true)} residues")

    if args.model == "nrnm":
        # Attention of two memory blocks of the first test protein: the
        # memory's source units are the forward and the backward hidden
        # states and the inputs of each block (Eq. 18).
        residues = int(m_test[0].sum())
        _common.plot_attention(
            args, run.model, "nrnm", x_test[:1],
            f"{name}: test protein 0 ({residues} residues)")

    per_class = {}
    for c, label in enumerate(names):
        if (true == c).any():
            per_class[label] = float((predicted[true == c] == c).mean())
    return test, {"test_sets": per_set, "per_class_accuracy": per_class,
                  "train_residues": int((run.train[2] > 0).sum())}


# --------------------------------------------------------------------------
# Data, model, run: `_common.run_example` holds out a validation part, trains
# (resuming an interrupted run), calls `score` and writes `metrics.json`.


def main(argv=None):
    args = parse_args(argv)
    (x_train, y_train, m_train), tests, names, dataset = load_data(args)
    _, residues, channels = x_train.shape
    print(f"{dataset}: {len(x_train)} training proteins "
          f"({int(m_train.sum())} residues), test: "
          + ", ".join(f"{k} {len(v[0])} proteins ({int(v[2].sum())} residues)"
                      for k, v in tests.items())
          + f"; {channels} channels per residue, {len(names)} classes")
    # The mask is the sample weight: the padding counts for nothing in the
    # loss, and the weighted accuracy is over real residues.
    return _common.run_example(
        args, dataset, (x_train, y_train, m_train.astype("float32")),
        build_model=lambda a: build_model(a, residues, channels, len(names)),
        score=lambda run: score(run, tests, names, dataset),
        metric=f"q{args.classes}", extra={"classes": names})


if __name__ == "__main__":
    main()
