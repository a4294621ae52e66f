"""Sequence similarity with a siamese NRNM (the paper's Sec. 4.4, Figs. 11-12,
Table 9).

The task: given two sequences, say whether they are similar. The paper builds
pairs from the NTU RGB+D skeleton sequences, "similar" meaning the same
action: 18,823 training pairs from the training split and 5,000 test pairs
from the test split, half similar and half dissimilar, balanced over the 60
actions. One NRNM encoder with shared weights reads both sequences (a
siamese network); the similarity is a logistic regression on the
concatenation of the two final representations, trained with binary
cross-entropy (Eq. 17):

    P(similar | a, b) = sigmoid(v . [r_T(a), r_T(b)] + b)

Reported accuracy (Table 9): NRNM 90.2 %; the siamese LSTM (MaLSTM) 82.4 %.

A caution about that head, measured here: a logistic regression on the plain
concatenation is *additive*, logit = f(a) + g(b), and cannot express "a and b
are alike". With pairs balanced per class, as the paper builds them, every
class is as often in a similar pair as in a dissimilar one, so such a head
stays at chance whatever the encoder (both NRNM and LSTM do, see
`docs/results.md`). `--head match` (our addition, not the paper's) feeds the
same logistic regression with matching features, [r(a), r(b), |r(a) - r(b)|,
r(a) * r(b)], which can compare the two; `--head concat` (the default) is
Eq. 17 as written.

`--model lstm` swaps the encoder for an LSTM of the same width; the head is
the same. Here the encoder is one recurrent layer by default (`--layers`).

Offline stand-in (the default): pairs of UCI HAPT recordings (real
smartphone motion, 12 activities; see `action_recognition.py`), built with
`keras_nrnm.datasets.make_similarity_pairs` exactly as the paper's NTU pairs:
training pairs from the 21 training volunteers, test pairs from the 9 others
(no volunteer in both), balanced per class.

Run it:

    python examples/sequence_similarity.py --quick              # smoke run, < 2 min
    python examples/sequence_similarity.py                      # HAPT pairs, NRNM
    python examples/sequence_similarity.py --model lstm         # siamese LSTM
    python examples/sequence_similarity.py --head match         # matching features
    python examples/sequence_similarity.py --data-dir NTU/nturgb+d_skeletons \\
        --train-pairs 18823 --test-pairs 5000 --units 512 --length 100 \\
        --zoneout 0.2 --memory-dropout 0.5

Outputs in `--output-dir` (default `runs/sequence_similarity`): `log.csv`,
`model.keras`, `metrics.json` (test accuracy, ROC AUC), `learning_curves.png`,
`confusion_matrix.png` (similar / dissimilar) and, for `--model nrnm`,
`attention.png`: two memory blocks of the encoder on one test sequence.
"""

import _common  # the examples' shared plumbing: a script's folder is on sys.path

# Keras and keras_nrnm are imported inside the functions, once the command
# line is parsed: `--help` answers at once, and the backend's start-up
# messages are filtered (`_common.load_keras`).


def parse_args(argv=None):
    parser = _common.make_parser(
        "sequence_similarity", __doc__.split("\n\n")[0],
        epochs=10, units=32, batch_size=32, dropout=0.0)
    group = parser.add_argument_group("sequence similarity")
    group.add_argument("--protocol", choices=("cs", "cv"), default="cs",
                       help="NTU split with --data-dir (default: cs)")
    group.add_argument("--length", type=int, default=None,
                       help="steps per sequence (default: 64 for HAPT, 100 for NTU)")
    group.add_argument("--head", choices=("concat", "match"), default="concat",
                       help="concat: logistic regression on [r(a), r(b)] (Eq. 17, "
                            "default); match: on [r(a), r(b), |r(a)-r(b)|, "
                            "r(a)*r(b)]")
    group.add_argument("--layers", type=int, default=1,
                       help="recurrent layers of the encoder; with more than "
                            "one, the memory is in the second (default: 1)")
    group.add_argument("--train-pairs", type=int, default=None,
                       help="training pairs (default: 2000; 160 with --quick)")
    group.add_argument("--test-pairs", type=int, default=None,
                       help="test pairs (default: 1000; 64 with --quick)")
    args = _common.parse_args(parser, argv)
    if args.train_pairs is None:
        args.train_pairs = 160 if args.quick else 2000
    if args.test_pairs is None:
        args.test_pairs = 64 if args.quick else 1000
    return args


# --------------------------------------------------------------------------
# 1. Data: labelled sequences, then balanced pairs (1.0 = same class).

TEST_PAIRS_SEED = 2022


def load_data(args):
    from keras_nrnm import datasets

    if args.data_dir:
        (x_train, y_train), (x_test, y_test) = datasets.load_ntu_skeletons(
            args.data_dir, protocol=args.protocol, length=args.length or 100)
        dataset = f"NTU RGB+D pairs ({args.protocol.upper()})"
    else:
        (x_train, y_train), (x_test, y_test) = datasets.load_hapt(
            length=args.length or 64)
        dataset = "HAPT pairs (cross-subject)"
    # Pairs within each split, so no person appears in both. The training
    # pairs change with --seed; the test pairs are the same for every run.
    (a_train, b_train), same_train = datasets.make_similarity_pairs(
        x_train, y_train, args.train_pairs, seed=args.seed)
    (a_test, b_test), same_test = datasets.make_similarity_pairs(
        x_test, y_test, args.test_pairs, seed=TEST_PAIRS_SEED)
    return (a_train, b_train, same_train), (a_test, b_test, same_test), dataset


# --------------------------------------------------------------------------
# 2. Model: one encoder, applied to both sequences (shared weights), and a
#    logistic regression on the concatenated representations (Eq. 17), or on
#    matching features of them (--head match).


def build_encoder(args, steps, features):
    import keras
    from keras_nrnm import NRNM

    inputs = keras.Input((steps, features), name="sequence")
    h = inputs
    for layer in range(1, args.layers + 1):
        last = layer == args.layers
        memory_here = layer == min(2, args.layers)
        if args.model == "nrnm" and memory_here:
            h = NRNM(args.units, **_common.memory_kwargs(args),
                     return_sequences=not last, name="nrnm")(h)
        else:
            h = keras.layers.LSTM(args.units, return_sequences=not last,
                                  name=f"lstm_{layer}",
                                  **_common.lstm_kwargs(args))(h)
    return keras.Model(inputs, h, name="encoder")


def build_model(args, steps, features):
    import keras

    encoder = build_encoder(args, steps, features)
    first = keras.Input((steps, features), name="first")
    second = keras.Input((steps, features), name="second")
    r_first, r_second = encoder(first), encoder(second)
    if args.head == "concat":   # Eq. 17: v . [r(a), r(b)] + b
        both = keras.layers.Concatenate(name="pair")([r_first, r_second])
    else:                       # matching features: |difference| and product
        both = keras.layers.Concatenate(name="pair")([
            r_first, r_second, keras.ops.abs(r_first - r_second),
            r_first * r_second])
    both = keras.layers.Dropout(args.dropout)(both)
    similar = keras.layers.Dense(1, activation="sigmoid", name="similar")(both)
    model = keras.Model([first, second], similar, name=f"siamese_{args.model}")
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate),
                  jit_compile=_common.jit_compile(args),
                  loss="binary_crossentropy",
                  metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
    # Metric objects and the optimizer's variables made before `fit`: made
    # while tracing, they make Keras trace the first step twice (guide).
    model.optimizer.build(model.trainable_variables)
    return model


# --------------------------------------------------------------------------
# 3. Test scores and figures of the trained model: accuracy, ROC AUC, a
#    confusion matrix (similar / dissimilar) and the encoder's attention.


def score(run, a_test, b_test, same_test, dataset):
    args = run.args
    probabilities = run.predict([a_test, b_test])[:, 0]
    predicted = (probabilities > 0.5).astype(int)
    from sklearn.metrics import roc_auc_score

    test = {"accuracy": float((predicted == same_test).mean()),
            "loss": _common.mean_loss("binary_crossentropy", same_test[:, None],
                                      probabilities[:, None]),
            "roc_auc": float(roc_auc_score(same_test, probabilities))}
    _common.plot_confusion_matrix(
        args, same_test.astype(int), predicted, ["dissimilar", "similar"],
        f"{dataset}, siamese {args.model}: test accuracy {test['accuracy']:.3f}")

    if args.model == "nrnm":
        # Attention of two memory blocks of the encoder on the first sequence
        # of the first test pair.
        _common.plot_attention(
            args, run.model.get_layer("encoder"), "nrnm", a_test[:1],
            f"{dataset}: encoder on test pair 0, first sequence "
            f"({'similar' if same_test[0] else 'dissimilar'} pair)")
    return test, {"test_samples": len(same_test)}


# --------------------------------------------------------------------------
# Data, model, run: `_common.run_example` holds out a validation part, trains
# (resuming an interrupted run), calls `score` and writes `metrics.json`.


def main(argv=None):
    args = parse_args(argv)
    (a_train, b_train, same_train), (a_test, b_test, same_test), dataset = load_data(args)
    _, steps, features = a_train.shape
    print(f"{dataset}: {len(same_train)} training pairs / {len(same_test)} test "
          f"pairs ({same_test.mean():.0%} similar) of {steps} steps x "
          f"{features} features")
    return _common.run_example(
        args, dataset, ([a_train, b_train], same_train),
        build_model=lambda a: build_model(a, steps, features),
        score=lambda run: score(run, a_test, b_test, same_test, dataset),
        title=f"{dataset}, siamese {args.model}")


if __name__ == "__main__":
    main()
