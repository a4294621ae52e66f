"""keras-nrnm: Non-local Recurrent Neural Memory (Pei et al., IJCV 2022) for Keras 3."""

from keras_nrnm.attention_weights import attention_maps, plot_attention
from keras_nrnm.bidirectional import BidirectionalNRNM
from keras_nrnm.cell import NRNMCell
from keras_nrnm.layer import NRNM
from keras_nrnm.memory import NonLocalBlock, NonLocalMemory
from keras_nrnm.reach_and_cost import Reach, reach
from keras_nrnm.version import __version__

__all__ = [
    "BidirectionalNRNM",
    "NRNM",
    "NRNMCell",
    "NonLocalBlock",
    "NonLocalMemory",
    "Reach",
    "attention_maps",
    "plot_attention",
    "reach",
    "__version__",
]
