"""NTU RGB+D skeleton parsing, protocols, features, and similarity pairs."""

import numpy as np
import pytest

from keras_nrnm.datasets import load_ntu_skeletons
from keras_nrnm.datasets import make_similarity_pairs
from keras_nrnm.datasets import parse_ntu_filename
from keras_nrnm.datasets import read_ntu_skeleton
from keras_nrnm.datasets._sequence import fit_length
from keras_nrnm.datasets.ntu import center_skeleton

BODY_INFO = "72057594037931101 0 1 1 1 1 0 0.01036 0.106952 2"


def joints(offset):
    """(25, 3) coordinates chosen so every value is distinct and exact in float32."""
    j = np.arange(25, dtype=np.float64)[:, None]
    return offset + np.concatenate([j, j * 0.5, -j], axis=1)


def skeleton_text(frames):
    """frames: list (per frame) of lists (per body) of (25, 3) arrays."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body in bodies:
            lines.append(BODY_INFO)
            lines.append("25")
            for x, y, z in body:
                rest = "257.3 196.8 822.1 514.2 0.2 0.1 0.9 0.3 2"
                lines.append(f"{float(x)!r} {float(y)!r} {float(z)!r} {rest}")
    return "\n".join(lines) + "\n"


def write(path, frames):
    path.write_text(skeleton_text(frames))
    return path


# ---------------------------------------------------------------- parsing
def test_read_two_frames_one_body_exact(tmp_path):
    f0, f1 = joints(0.0), joints(100.0)
    path = write(tmp_path / "S001C001P001R001A001.skeleton", [[f0], [f1]])
    skel = read_ntu_skeleton(path)
    assert skel.shape == (2, 2, 25, 3) and skel.dtype == np.float32
    np.testing.assert_array_equal(skel[0, 0], f0.astype(np.float32))
    np.testing.assert_array_equal(skel[1, 0], f1.astype(np.float32))
    np.testing.assert_array_equal(skel[:, 1], 0.0)
    assert skel[1, 0, 3].tolist() == [103.0, 101.5, 97.0]


def test_read_keeps_first_two_bodies_and_empty_frames(tmp_path):
    a, b, c = joints(1.0), joints(2.0), joints(3.0)
    path = write(tmp_path / "x.skeleton", [[a, b, c], [], [b]])
    skel = read_ntu_skeleton(path)
    assert skel.shape == (3, 2, 25, 3)
    np.testing.assert_array_equal(skel[0, 0], a)
    np.testing.assert_array_equal(skel[0, 1], b)
    np.testing.assert_array_equal(skel[1], 0.0)
    np.testing.assert_array_equal(skel[2, 0], b)
    np.testing.assert_array_equal(skel[2, 1], 0.0)


def test_truncated_skeleton_names_file_and_line(tmp_path):
    text = skeleton_text([[joints(0.0)], [joints(1.0)]])
    lines = text.splitlines()
    # 1 frame count + frame 1 (1 + 1 + 1 + 25) + frame 2 header lines + 10 joints
    cut = lines[: 1 + 28 + 3 + 10]
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("\n".join(cut) + "\n")
    expected = r"S001C001P001R001A001\.skeleton, line 43: file ends early"
    with pytest.raises(ValueError, match=expected):
        read_ntu_skeleton(path)


def test_wrong_joint_count(tmp_path):
    text = skeleton_text([[joints(0.0)]]).replace("\n25\n", "\n24\n", 1)
    path = tmp_path / "bad.skeleton"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.skeleton, line 4: expected 25 joints, got 24"):
        read_ntu_skeleton(path)


def test_wrong_value_count_on_joint_line(tmp_path):
    lines = skeleton_text([[joints(0.0)]]).splitlines()
    lines[9] = " ".join(lines[9].split()[:11])  # 6th joint line (line 10) loses a value
    path = tmp_path / "bad.skeleton"
    path.write_text("\n".join(lines) + "\n")
    expected = r"bad\.skeleton, line 10: expected 12 values per joint line, got 11"
    with pytest.raises(ValueError, match=expected):
        read_ntu_skeleton(path)


def test_non_numeric_and_bad_header(tmp_path):
    lines = skeleton_text([[joints(0.0)]]).splitlines()
    lines[6] = lines[6].replace("257.3", "abc")
    path = tmp_path / "bad.skeleton"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"line 7: non-numeric"):
        read_ntu_skeleton(path)
    path.write_text("two\n")
    with pytest.raises(ValueError, match=r"line 1: expected the frame count"):
        read_ntu_skeleton(path)
    path.write_text(skeleton_text([[joints(0.0)]]) + "garbage\n")
    with pytest.raises(ValueError, match=r"line 30: unexpected content"):
        read_ntu_skeleton(path)


def test_missing_skeleton_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_ntu_skeleton(tmp_path / "nope.skeleton")


def test_parse_filename():
    assert parse_ntu_filename("/data/S001C002P003R002A013.skeleton") == {
        "setup": 1, "camera": 2, "performer": 3, "replication": 2, "action": 13}
    with pytest.raises(ValueError, match="foo.skeleton: not an NTU RGB"):
        parse_ntu_filename("foo.skeleton")


# ---------------------------------------------------------------- features
def test_fit_length_modes_exact():
    seq = np.arange(5, dtype=np.float32)[:, None] * 10  # 0, 10, 20, 30, 40
    np.testing.assert_array_equal(fit_length(seq, 3, "uniform")[:, 0], [0, 20, 40])
    np.testing.assert_array_equal(fit_length(seq[:4], 3, "uniform")[:, 0], [0, 20, 30])
    np.testing.assert_array_equal(fit_length(seq[:2], 4, "uniform")[:, 0], [0, 0, 10, 10])
    np.testing.assert_array_equal(fit_length(seq[:4], 3, "linear")[:, 0], [0, 15, 30])
    np.testing.assert_array_equal(fit_length(seq, 3, "pad")[:, 0], [0, 10, 20])
    np.testing.assert_array_equal(fit_length(seq[:2], 4, "pad")[:, 0], [0, 10, 0, 0])
    assert fit_length(seq[:0], 3, "uniform").shape == (3, 1)
    with pytest.raises(ValueError, match="sampling"):
        fit_length(seq, 3, "cubic")
    with pytest.raises(ValueError, match="length"):
        fit_length(seq, 0, "pad")


def test_centering_uses_first_frame_spine_of_body_one():
    skel = np.zeros((2, 2, 25, 3), np.float32)
    skel[0, 0] = joints(10.0)
    skel[1, 0] = joints(20.0)
    skel[1, 1] = joints(30.0)
    out = center_skeleton(skel)
    origin = joints(10.0)[1]  # spine middle = joint index 1
    np.testing.assert_array_equal(out[0, 0, 1], 0.0)
    np.testing.assert_array_equal(out[1, 0], joints(20.0) - origin)
    np.testing.assert_array_equal(out[1, 1], joints(30.0) - origin)
    np.testing.assert_array_equal(out[0, 1], 0.0)  # absent body stays zero


def make_ntu_folder(root):
    names = {
        "S001C001P001R001A001.skeleton": 0.0,   # cs train, cv test
        "S001C002P003R001A013.skeleton": 50.0,  # cs test,  cv train
        "S002C003P038R002A060.skeleton": 70.0,  # cs train, cv train
        "S003C001P040R001A002.skeleton": 90.0,  # cs test,  cv test
    }
    sub = root / "sub"
    sub.mkdir()
    for name, off in names.items():
        write(sub / name, [[joints(off)], [joints(off + 1), joints(off + 5)]])
    write(root / "S001C002P001R001A005.skeleton", [[], []])  # no body at all
    return names


def test_load_ntu_cross_subject_and_view(tmp_path):
    make_ntu_folder(tmp_path)
    (x_tr, y_tr), (x_te, y_te), (n_tr, n_te) = load_ntu_skeletons(
        tmp_path, protocol="cs", length=4, return_names=True)
    assert n_tr == ["S001C001P001R001A001.skeleton", "S002C003P038R002A060.skeleton"]
    assert n_te == ["S001C002P003R001A013.skeleton", "S003C001P040R001A002.skeleton"]
    assert x_tr.shape == (2, 4, 150) and x_tr.dtype == np.float32
    assert y_tr.tolist() == [0, 59] and y_te.tolist() == [12, 1]
    assert y_tr.dtype == np.int32
    (_, _), (_, _), (n_tr, n_te) = load_ntu_skeletons(
        tmp_path, protocol="cv", length=4, return_names=True)
    assert n_tr == ["S001C002P003R001A013.skeleton", "S002C003P038R002A060.skeleton"]
    assert n_te == ["S001C001P001R001A001.skeleton", "S003C001P040R001A002.skeleton"]
    # the body-less file is kept with skip_empty=False (as zeros)
    (x_all, y_all), _ = load_ntu_skeletons(tmp_path, protocol="cs", length=4, skip_empty=False)
    assert len(y_all) == 3 and 4 in y_all.tolist()


def test_load_ntu_feature_values(tmp_path):
    make_ntu_folder(tmp_path)
    (x_tr, _), _ = load_ntu_skeletons(tmp_path, protocol="cs", length=4, sampling="uniform")
    origin = joints(0.0)[1]
    f0 = (joints(0.0) - origin).reshape(-1)
    f1a = (joints(1.0) - origin).reshape(-1)
    f1b = (joints(5.0) - origin).reshape(-1)
    # 2 frames -> 4 by uniform sampling: frames 0, 0, 1, 1
    np.testing.assert_array_equal(x_tr[0, 0, :75], f0)
    np.testing.assert_array_equal(x_tr[0, 0, 75:], 0.0)
    np.testing.assert_array_equal(x_tr[0, 1], x_tr[0, 0])
    np.testing.assert_array_equal(x_tr[0, 2, :75], f1a)
    np.testing.assert_array_equal(x_tr[0, 3, 75:], f1b)
    # feature 75 * body + 3 * joint + coord
    assert x_tr[0, 2, 75 + 3 * 4 + 0] == np.float32(joints(5.0)[4, 0] - origin[0])
    (x_pad, _), _ = load_ntu_skeletons(tmp_path, protocol="cs", length=3, sampling="pad")
    np.testing.assert_array_equal(x_pad[0, 0, :75], f0)
    np.testing.assert_array_equal(x_pad[0, 1, 75:], f1b)
    np.testing.assert_array_equal(x_pad[0, 2], 0.0)
    (x_raw, _), _ = load_ntu_skeletons(tmp_path, protocol="cs", length=2, center=False)
    np.testing.assert_array_equal(x_raw[0, 0, :75], joints(0.0).reshape(-1))


def test_load_ntu_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_ntu_skeletons(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no .skeleton file"):
        load_ntu_skeletons(tmp_path)
    write(tmp_path / "clip.skeleton", [[joints(0.0)]])
    with pytest.raises(ValueError, match="clip.skeleton: not an NTU"):
        load_ntu_skeletons(tmp_path)
    with pytest.raises(ValueError, match="protocol"):
        load_ntu_skeletons(tmp_path, protocol="xsub")


# ---------------------------------------------------------------- pairs
def pair_data():
    y = np.array([0] * 5 + [1] * 3 + [2] * 4)
    x = np.arange(len(y), dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    return x, y


def test_pairs_balanced_per_class():
    x, y = pair_data()
    (xa, xb), same = make_similarity_pairs(x, y, 60, seed=3)
    assert xa.shape == (60, 2, 3) and same.dtype == np.float32
    ia, ib = xa[:, 0, 0].astype(int), xb[:, 0, 0].astype(int)
    assert same.sum() == 30
    sim, dis = same == 1, same == 0
    assert np.all(y[ia[sim]] == y[ib[sim]]) and np.all(ia[sim] != ib[sim])
    assert np.all(y[ia[dis]] != y[ib[dis]])
    assert np.bincount(y[ia[sim]], minlength=3).tolist() == [10, 10, 10]
    assert np.bincount(y[ia[dis]], minlength=3).tolist() == [10, 10, 10]


def test_pairs_odd_counts_and_determinism():
    x, y = pair_data()
    (ia, ib), same = make_similarity_pairs(x, y, 61, seed=0, return_indices=True)
    assert len(same) == 61 and same.sum() == 30
    for kind in (1, 0):
        counts = np.bincount(y[ia[same == kind]], minlength=3)
        assert counts.max() - counts.min() <= 1
    (ja, jb), same2 = make_similarity_pairs(x, y, 61, seed=0, return_indices=True)
    np.testing.assert_array_equal(ia, ja)
    np.testing.assert_array_equal(ib, jb)
    np.testing.assert_array_equal(same, same2)
    (ka, _), _ = make_similarity_pairs(x, y, 61, seed=1, return_indices=True)
    assert not np.array_equal(ia, ka)
    onehot = np.eye(3)[y]
    (la, _), _ = make_similarity_pairs(x, onehot, 61, seed=0, return_indices=True)
    np.testing.assert_array_equal(ia, la)


def test_pairs_errors():
    x, y = pair_data()
    with pytest.raises(ValueError, match="fewer than 2 samples"):
        make_similarity_pairs(x[:6], y[:6], 10)
    with pytest.raises(ValueError, match="at least 2 classes"):
        make_similarity_pairs(x[:5], y[:5], 10)
    with pytest.raises(ValueError, match="samples"):
        make_similarity_pairs(x[:4], y, 10)
