"""The examples' figures (matplotlib, Agg backend, written atomically)."""

import os

import numpy as np

import keras_nrnm
from keras_nrnm._files import atomic_path

from _common.runs import read_log


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path):
    try:
        with atomic_path(path, suffix=".png") as temporary:
            figure.savefig(temporary, dpi=120, bbox_inches="tight")
    finally:
        _pyplot().close(figure)
    return path


def plot_learning_curves(args, metric, title):
    """Loss and `metric` per epoch, training and validation, from `log.csv`
    (so the curves of a resumed run cover all its epochs)."""
    log = read_log(args)
    if not log.get("epoch"):
        return None
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    epochs = np.asarray(log["epoch"]) + 1
    for axis, key in zip(axes, ("loss", metric)):
        for prefix, label in (("", "training"), ("val_", "validation")):
            if prefix + key in log:
                axis.plot(epochs, log[prefix + key], marker="o", label=label)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(key.replace("_", " "))
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    return save_figure(figure, os.path.join(args.output_dir, "learning_curves.png"))


def plot_confusion_matrix(args, labels, predictions, class_names, title,
                          weights=None):
    """Row-normalised confusion matrix (recall per true class)."""
    from sklearn.metrics import confusion_matrix

    plt = _pyplot()
    classes = list(range(len(class_names)))
    matrix = confusion_matrix(labels, predictions, labels=classes,
                              sample_weight=weights)
    totals = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, totals, out=np.zeros(matrix.shape),
                           where=totals > 0)
    size = max(4.0, 0.45 * len(classes) + 2.5)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    axis.set_xticks(classes, class_names, rotation=90, fontsize=7)
    axis.set_yticks(classes, class_names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if len(classes) <= 15:
        for i in classes:
            for j in classes:
                if matrix[i, j]:
                    axis.text(j, i, f"{matrix[i, j]:g}", ha="center", va="center",
                              fontsize=6,
                              color="white" if normalised[i, j] > 0.5 else "black")
    figure.colorbar(image, ax=axis, fraction=0.046, label="fraction of the true class")
    axis.set_title(title, fontsize=10)
    return save_figure(figure, os.path.join(args.output_dir, "confusion_matrix.png"))


def plot_per_class(args, scores, class_names, ylabel, title, filename):
    """Bar chart of one score per class (e.g. average precision)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(max(5.0, 0.12 * len(scores) + 3), 3.4))
    positions = np.arange(len(scores))
    axis.bar(positions, np.nan_to_num(scores), color="tab:blue")
    if len(scores) <= 40:
        axis.set_xticks(positions, class_names, rotation=90, fontsize=7)
    else:
        axis.set_xlabel("class")
    axis.set_ylabel(ylabel)
    axis.set_ylim(0, 1)
    axis.set_title(title, fontsize=10)
    axis.grid(axis="y", alpha=0.3)
    return save_figure(figure, os.path.join(args.output_dir, filename))


def plot_attention(args, model, layer, inputs, title):
    """The NRNM attention weights `W_att` (Eq. 5) of one test sequence, as in
    the paper's Figs. 8 and 10 (`keras_nrnm.attention_maps` and
    `keras_nrnm.plot_attention`). `inputs` are the model's inputs for that
    sequence; the layer may sit anywhere in the model, and the padding the
    model masks is dropped."""
    try:
        maps = keras_nrnm.attention_maps(model, layer, inputs)
    except Exception as error:  # an optional figure must not lose the run
        print(f"Could not compute the attention maps ({type(error).__name__}: "
              f"{str(error).splitlines()[0][:200]}); no attention figure.")
        return None
    if not maps:
        print("No memory update with attention: no attention figure.")
        return None
    path = os.path.join(args.output_dir, "attention.png")
    keras_nrnm.plot_attention(maps, path, sample=0, title=title)
    return path
