"""Text -> integer token ids, shared by the IMDB and Pang & Lee loaders."""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def strip_html_breaks(text: str) -> str:
    """IMDB reviews contain `<br />` tags; turn them into spaces."""
    return _BR.sub(" ", text)


def vectorize_texts(
        train_texts: Iterable[str], other_texts: Iterable[Iterable[str]] = (),
        max_tokens: int | None = 20000, sequence_length: int = 500,
        standardize: str | Callable[[Any], Any] | None = "lower_and_strip_punctuation",
        batch_size: int = 1024
        ) -> tuple[list[npt.NDArray[np.int32]], list[str]]:
    """Adapt `keras.layers.TextVectorization` on `train_texts` only and
    encode `train_texts` and each list in `other_texts`.

    Token 0 is padding and 1 is out-of-vocabulary (`[UNK]`); sequences are
    truncated / zero-padded at the end to `sequence_length`.

    Returns:
        (list of int32 arrays of shape (n_i, sequence_length) - train first,
        then one per entry of `other_texts` -, vocabulary as a list of str).
    """
    import keras  # lazy: keeps `import keras_nrnm.datasets` light

    if max_tokens is not None and max_tokens < 3:
        raise ValueError(f"`max_tokens` must be >= 3 or None, got {max_tokens}.")
    if sequence_length is None or sequence_length < 1:
        raise ValueError(f"`sequence_length` must be >= 1, got {sequence_length}.")
    layer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize=standardize,
        output_mode="int",
        output_sequence_length=int(sequence_length),
    )
    train = np.asarray(list(train_texts), dtype=object)
    if not len(train):
        raise ValueError("No training texts to adapt the vocabulary on.")
    layer.adapt(train, batch_size=batch_size)

    def encode(texts: Iterable[str]) -> npt.NDArray[np.int32]:
        texts = np.asarray(list(texts), dtype=object)
        if not len(texts):
            return np.zeros((0, int(sequence_length)), np.int32)
        parts = [
            np.asarray(keras.ops.convert_to_numpy(layer(texts[i:i + batch_size])))
            for i in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts).astype(np.int32)

    encoded = [encode(train)] + [encode(t) for t in other_texts]
    return encoded, [str(w) for w in layer.get_vocabulary()]
