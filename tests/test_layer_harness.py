"""Keras's own layer-test harness: config round trip, build-only, symbolic
shapes and dtypes, an eager call, a training step and a mixed_float16 rebuild."""

import pytest
from keras.src import testing

from keras_nrnm import NRNM, NRNMCell
import keras

pytestmark = pytest.mark.core


class NRNMHarnessTest(testing.TestCase):
    def test_nrnm_last_output(self):
        self.run_layer_test(
            NRNM,
            init_kwargs=dict(units=8, block_size=4, stride=2, window=2,
                             num_heads=2),
            input_shape=(3, 9, 5),
            expected_output_shape=(3, 8),
            expected_num_trainable_weights=26,  # 9 cell + 17 memory (tied gates)
            expected_num_non_trainable_weights=0,
            expected_num_seed_generators=1,
            supports_masking=True,
        )

    def test_nrnm_sequences_and_state(self):
        self.run_layer_test(
            NRNM,
            init_kwargs=dict(units=8, num_heads=2, return_sequences=True,
                             return_state=True, zoneout=0.1, dropout=0.1),
            input_shape=(2, 6, 3),
            expected_output_shape=((2, 6, 8), (2, 8), (2, 8)),  # as LSTM
            supports_masking=True,
            run_training_check=False,
        )

    def test_rnn_of_nrnm_cell(self):
        self.run_layer_test(
            keras.layers.RNN,
            init_kwargs=dict(cell=NRNMCell(8, num_heads=2),
                             return_sequences=True),
            input_shape=(2, 7, 3),
            expected_output_shape=(2, 7, 8),
            supports_masking=True,
        )
