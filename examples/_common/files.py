"""JSON files written atomically (`keras_nrnm._files.atomic_path`)."""

import json
import math

import numpy as np

from keras_nrnm._files import atomic_path


def write_json(path, data):
    """Write JSON atomically (temporary file + `os.replace`)."""
    with atomic_path(path, suffix=".json.tmp") as temporary:
        with open(temporary, "w") as f:
            json.dump(_jsonable(data), f, indent=2, sort_keys=False)
            f.write("\n")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
