"""keras-nrnm: Non-local Recurrent Neural Memory (Pei et al., IJCV 2022) for Keras 3."""

from keras_nrnm.cell import NRNMCell
from keras_nrnm.layer import NRNM
from keras_nrnm.memory import NonLocalMemory
from keras_nrnm.version import __version__

__all__ = ["NRNM", "NRNMCell", "NonLocalMemory", "__version__"]
