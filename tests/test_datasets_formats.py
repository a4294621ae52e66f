"""File formats users bring: protein .npy(.gz), video features + labels CSV,
the aclImdb folder, Keras' imdb.npz, .ts, polarity CSV, PDB/DSSP text."""

import gzip

import numpy as np
import pytest

from keras_nrnm.datasets import INPUT_COLUMNS
from keras_nrnm.datasets import SS8_CLASSES
from keras_nrnm.datasets import load_cb513
from keras_nrnm.datasets import load_imdb
from keras_nrnm.datasets import load_imdb_folder
from keras_nrnm.datasets import load_protein_file
from keras_nrnm.datasets import load_video_features
from keras_nrnm.datasets import parse_ts
from keras_nrnm.datasets import read_ts_file
from keras_nrnm.datasets import read_video_labels
from keras_nrnm.datasets import dssp
from keras_nrnm.datasets import imdb as imdb_module
from keras_nrnm.datasets.pang_lee import parse_polarity_csv
from keras_nrnm.datasets.pang_lee import split_stratified


# ---------------------------------------------------------------- protein
def test_protein_columns_are_the_documented_ones():
    assert SS8_CLASSES == ("L", "B", "E", "G", "I", "H", "S", "T")
    assert list(INPUT_COLUMNS) == list(range(0, 21)) + list(range(35, 56))


def protein_array(n=2, length=700):
    """Realistic one-hot file: protein k has 3 + k residues, rest NoSeq."""
    data = np.zeros((n, length, 57), np.float32)
    labels = []
    for k in range(n):
        L = 3 + k
        aa = np.arange(L) % 21
        ss = (np.arange(L) + k) % 8
        data[k, np.arange(L), aa] = 1.0
        data[k, np.arange(L), 22 + ss] = 1.0
        data[k, :L, 35:56] = 0.25 + 0.01 * np.arange(21)
        data[k, L:, 21] = 1.0  # NoSeq
        data[k, L:, 30] = 1.0
        data[k, L:, 56] = 1.0
        labels.append(ss)
    return data, labels


def test_protein_labels_mask_and_inputs(tmp_path):
    data, labels = protein_array()
    path = tmp_path / "cb513.npy"
    np.save(path, data.reshape(2, 700 * 57))
    x, y, mask = load_protein_file(path)
    assert x.shape == (2, 700, 42) and x.dtype == np.float32
    assert y.shape == (2, 700) and y.dtype == np.int32 and mask.dtype == bool
    assert mask.sum(axis=1).tolist() == [3, 4]
    assert y[0, :3].tolist() == labels[0].tolist() and y[1, :4].tolist() == labels[1].tolist()
    assert not y[~mask].any()
    np.testing.assert_array_equal(x[0, 1, :21], np.eye(21)[1])
    np.testing.assert_allclose(x[0, 1, 21:], 0.25 + 0.01 * np.arange(21))
    np.testing.assert_array_equal(x[0, 5], 0.0)  # padding: NoSeq columns dropped


def test_protein_exact_channel_selection_gz_and_3d(tmp_path):
    n, length = 2, 700
    base = np.arange(57, dtype=np.float32)
    data = np.broadcast_to(base, (n, length, 57)).copy()
    data += 1000.0 * np.arange(n, dtype=np.float32)[:, None, None]
    data[:, :, 21] = 0.0  # every position a residue
    path = tmp_path / "casp10.npy.gz"
    with gzip.open(path, "wb") as f:
        np.save(f, data)
    x, y, mask = load_cb513(path)
    expected = [c for c in range(21)] + [c for c in range(35, 56)]
    np.testing.assert_array_equal(x[1, 7], 1000.0 + np.array(expected, np.float32))
    assert mask.all()
    assert (y == 7).all()  # argmax of columns 22..29 = the last (T)


def test_protein_bad_files(tmp_path):
    bad = tmp_path / "wrong_width.npy"
    np.save(bad, np.zeros((2, 700 * 56), np.float32))
    expected = (r"wrong_width\.npy: array of shape \(2, 39200\); "
                r"expected \(N, 39900\) or \(N, 700, 57\)")
    with pytest.raises(ValueError, match=expected):
        load_protein_file(bad)
    short = tmp_path / "short.npy"
    np.save(short, np.zeros((1, 10 * 57), np.float32))
    with pytest.raises(ValueError, match="short.npy"):
        load_protein_file(short)
    assert load_protein_file(short, sequence_length=None)[0].shape == (1, 10, 42)
    trunc = tmp_path / "trunc.npy.gz"
    buf = tmp_path / "full.npy"
    np.save(buf, np.zeros((3, 700 * 57), np.float32))
    with gzip.open(trunc, "wb") as f:
        f.write(buf.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"trunc\.npy\.gz: cannot read"):
        load_protein_file(trunc)
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        load_protein_file(tmp_path / "missing.npy")


# ---------------------------------------------------------------- video features
def write_video_set(root, labels_text):
    feats = root / "feats"
    feats.mkdir()
    arrays = {
        "v1": np.arange(12, dtype=np.float32).reshape(3, 4),
        "v2": np.arange(8, dtype=np.float32).reshape(2, 4) + 100,
        "v3": np.arange(20, dtype=np.float32).reshape(5, 4) + 200,
    }
    for vid, arr in arrays.items():
        np.save(feats / f"{vid}.npy", arr)
    labels = root / "labels.csv"
    labels.write_text(labels_text)
    return feats, labels, arrays


def test_video_features_multi_hot_and_sampling(tmp_path):
    feats, labels, arrays = write_video_set(
        tmp_path, "id,classes\nv1,c001;c003\nv2,2 0\n\nv3,\n")
    x, y, ids = load_video_features(feats, labels, num_classes=4, length=3)
    assert ids == ["v1", "v2", "v3"]
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[0, 1, 0, 1], [1, 0, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(x[0], arrays["v1"])               # 3 -> 3
    np.testing.assert_array_equal(x[1], arrays["v2"][[0, 1, 1]])    # 2 -> 3: positions 0, .5, 1
    np.testing.assert_array_equal(x[2], arrays["v3"][[0, 2, 4]])    # 5 -> 3
    x, _, _ = load_video_features(feats, labels, num_classes=4, length=4, sampling="pad")
    np.testing.assert_array_equal(x[1, :2], arrays["v2"])
    np.testing.assert_array_equal(x[1, 2:], 0.0)
    np.testing.assert_array_equal(x[2], arrays["v3"][:4])


def test_video_labels_charades_csv_and_no_header(tmp_path):
    path = tmp_path / "Charades_v1_train.csv"
    path.write_text(
        "id,subject,scene,quality,relevance,verified,script,objects,descriptions,actions,length\n"
        'AB12C,HR43,Kitchen,6,7,Yes,"a, b",food,"x; y",c092 11.90 21.20;c147 0.00 12.60,30.0\n'
        "XY34Z,HR43,Hall,6,7,Yes,s,o,d,,12.0\n")
    ids, classes = read_video_labels(path, num_classes=157)
    assert ids == ["AB12C", "XY34Z"] and classes == [[92, 147], []]
    plain = tmp_path / "plain.csv"
    plain.write_text("a,1;2\nb,c000\n")
    assert read_video_labels(plain) == (["a", "b"], [[1, 2], [0]])


def test_video_bad_labels_and_features(tmp_path):
    feats, labels, _ = write_video_set(tmp_path, "id,classes\nv1,1\nv2,c0x1\n")
    with pytest.raises(ValueError, match=r"labels\.csv, line 3: bad class id 'c0x1'"):
        load_video_features(feats, labels, num_classes=4)
    labels.write_text("id,classes\nv1,1\nv2,9\n")
    with pytest.raises(ValueError, match=r"labels\.csv, line 3: class id '9' outside 0..3"):
        load_video_features(feats, labels, num_classes=4)
    labels.write_text("id,classes\nv1,1\nv2\n")
    with pytest.raises(ValueError, match=r"labels\.csv, line 3: expected at least 2"):
        load_video_features(feats, labels, num_classes=4)
    labels.write_text("v1,1\nv9,2\n")
    with pytest.raises(FileNotFoundError, match=r"v9\.npy"):
        load_video_features(feats, labels, num_classes=4)
    x, y, ids = load_video_features(feats, labels, num_classes=4, skip_missing=True)
    assert ids == ["v1"]
    np.save(feats / "v2.npy", np.zeros((3, 5), np.float32))
    labels.write_text("v1,1\nv2,2\n")
    with pytest.raises(ValueError, match=r"v2\.npy: 5 features per frame"):
        load_video_features(feats, labels, num_classes=4)
    np.save(feats / "v2.npy", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=r"v2\.npy: array of shape \(3,\)"):
        load_video_features(feats, labels, num_classes=4)
    with pytest.raises(FileNotFoundError, match="nolabels.csv"):
        load_video_features(feats, tmp_path / "nolabels.csv", num_classes=4)


# ---------------------------------------------------------------- IMDB
def write_acl(root):
    reviews = {
        ("train", "pos"): ["great great film", "a great story<br /><br />loved it"],
        ("train", "neg"): ["bad film", "awful, bad acting"],
        ("test", "pos"): ["great zebra"],
        ("test", "neg"): ["bad"],
    }
    for (split, cls), texts in reviews.items():
        folder = root / "aclImdb" / split / cls
        folder.mkdir(parents=True)
        for i, t in enumerate(texts):
            (folder / f"{i}_{7 if cls == 'pos' else 2}.txt").write_text(t)


def test_imdb_folder(tmp_path):
    write_acl(tmp_path)
    (x_tr, y_tr), (x_te, y_te), vocab = load_imdb_folder(
        tmp_path, max_tokens=100, sequence_length=6, shuffle=False)
    assert y_tr.tolist() == [0, 0, 1, 1] and y_te.tolist() == [0, 1]
    assert x_tr.shape == (4, 6) and x_tr.dtype == np.int32
    assert vocab[:2] == ["", "[UNK]"] and "zebra" not in vocab and "br" not in vocab
    ids = {w: i for i, w in enumerate(vocab)}
    decode = lambda row: [vocab[i] for i in row if i]  # noqa: E731
    assert decode(x_tr[1]) == ["awful", "bad", "acting"]
    assert decode(x_tr[3]) == ["a", "great", "story", "loved", "it"]
    assert x_te[1].tolist() == [ids["great"], 1, 0, 0, 0, 0]  # zebra: test-only -> [UNK]
    (x2, y2), _, _ = load_imdb_folder(
        tmp_path / "aclImdb", max_tokens=100, sequence_length=6, seed=1)
    assert sorted(y2.tolist()) == [0, 0, 1, 1]


def test_imdb_folder_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="aclImdb layout"):
        load_imdb_folder(tmp_path)
    (tmp_path / "train" / "pos").mkdir(parents=True)
    (tmp_path / "test").mkdir()
    with pytest.raises(FileNotFoundError, match="neg"):
        load_imdb_folder(tmp_path)


def test_load_imdb_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"imdb\.npz not found.*never downloads"):
        load_imdb()
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "imdb.npz").write_bytes(b"not the file")
    with pytest.raises(ValueError, match=r"sha256 [0-9a-f]{64} is not the expected 69664113"):
        load_imdb()


def test_load_imdb_from_cache(tmp_path, monkeypatch):
    import keras.src.datasets.imdb as keras_imdb

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    path = tmp_path / "datasets" / "imdb.npz"
    path.parent.mkdir()
    seqs = np.empty(2, dtype=object)
    seqs[0], seqs[1] = [5, 6, 7], [8]
    np.savez(path, x_train=seqs, y_train=np.array([1, 0]), x_test=seqs, y_test=np.array([0, 1]))
    from keras_nrnm.datasets._cache import sha256_file

    monkeypatch.setattr(imdb_module, "IMDB_NPZ_SHA256", sha256_file(path))
    monkeypatch.setattr(keras_imdb, "get_file", lambda fname, **kw: fname)
    (x_tr, y_tr), _ = load_imdb(num_words=20, sequence_length=5, seed=0)
    rows = sorted(x_tr.tolist())
    assert rows == [[1, 5 + 3, 6 + 3, 7 + 3, 0], [1, 8 + 3, 0, 0, 0]]


# ---------------------------------------------------------------- .ts
TS = """# comment
@problemName Tiny
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true a b
@data
1,2,3:4,5,6:a
7.5,?:0,-1:b
"""


def test_parse_ts_exact(tmp_path):
    path = tmp_path / "Tiny_TRAIN.ts"
    path.write_text(TS)
    series, labels, header = read_ts_file(path)
    assert labels.tolist() == ["a", "b"]
    np.testing.assert_array_equal(series[0], [[1, 4], [2, 5], [3, 6]])
    assert series[1].dtype == np.float32 and series[1].shape == (2, 2)
    assert series[1][0].tolist() == [7.5, 0.0] and np.isnan(series[1][1, 0])
    assert header["dimensions"] == 2 and header["class_labels"] == ["a", "b"]
    assert header["problemname"] == "Tiny"


@pytest.mark.parametrize("bad_line, message", [
    ("1,2:3,4:5,6:a", r"line 11: expected 2 dimensions"),
    ("1,2:3,4:c", r"line 11: class label 'c' not among"),
    ("1,x:3,4:a", r"line 11: dimension 1 has a non-numeric value"),
    ("1,2,3:3,4:a", r"line 11: dimensions have different lengths \[3, 2\]"),
])
def test_parse_ts_errors(bad_line, message):
    text = TS.rstrip("\n").rsplit("\n", 1)[0] + "\n" + bad_line + "\n"
    with pytest.raises(ValueError, match="Tiny.ts, " + message):
        parse_ts(text, "Tiny.ts")


def test_parse_ts_header_errors():
    with pytest.raises(ValueError, match="no @data"):
        parse_ts("@problemName X\n", "x.ts")
    with pytest.raises(ValueError, match="line 1: @timeStamps true is not supported"):
        parse_ts("@timeStamps true\n@data\n", "x.ts")
    with pytest.raises(ValueError, match="line 2: expected a @tag"):
        parse_ts("@dimensions 1\n1,2,3\n", "x.ts")


# ---------------------------------------------------------------- polarity CSV
def test_polarity_csv():
    text = '\ufeff"1","a good\nfilm ."\n"-1","bad , bad"\n'
    texts, labels = parse_polarity_csv(text)
    assert texts == ["a good\nfilm .", "bad , bad"] and labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"p\.csv, line 4: expected label 1 or -1, got '0'"):
        parse_polarity_csv(text + '"0","meh"\n', "p.csv")
    with pytest.raises(ValueError, match=r"p\.csv, line 4: expected 2 fields"):
        parse_polarity_csv(text + '"1"\n', "p.csv")


def test_split_stratified():
    labels = np.array([0] * 10 + [1] * 10)
    tr, te = split_stratified(labels, 0.2, seed=0)
    assert len(te) == 4 and np.bincount(labels[te]).tolist() == [2, 2]
    assert sorted(np.r_[tr, te].tolist()) == list(range(20))
    np.testing.assert_array_equal(te, split_stratified(labels, 0.2, seed=0)[1])


# ---------------------------------------------------------------- PDB / DSSP text
def pdb_line(rec, serial, atom, altloc, resname, chain, resseq, icode=" "):
    return (f"{rec:<6}{serial:>5} {atom:<4}{altloc}{resname:>3} {chain}{resseq:>4}{icode}"
            f"   {1.0:8.3f}{2.0:8.3f}{3.0:8.3f}  1.00  0.00           C")


PDB = "\n".join([
    pdb_line("ATOM", 1, " N", " ", "GLY", "A", 1),
    pdb_line("ATOM", 2, " CA", " ", "GLY", "A", 1),
    pdb_line("ATOM", 3, " CA", "A", "TRP", "A", 2),
    pdb_line("ATOM", 4, " CA", "B", "TRP", "A", 2),    # altloc B: ignored
    pdb_line("HETATM", 5, " CA", " ", "MSE", "A", 3),  # selenomethionine -> M
    pdb_line("ATOM", 6, " CA", " ", "XYZ", "A", 4),    # unknown -> X
    pdb_line("HETATM", 7, "CA", " ", "CA", "A", 101),  # calcium ion: ignored
    "ENDMDL",
    pdb_line("ATOM", 8, " CA", " ", "ALA", "A", 5),    # second model: ignored
])


def test_pdb_sequence_and_one_hot():
    seq, ids = dssp.read_pdb_ca_sequence(PDB, "t.pdb")
    assert seq == "GWMX" and ids[2] == ("A", "3", "")
    x = dssp.encode_residues(seq, 6)
    assert x.shape == (6, 21)
    assert np.argmax(x[:4], axis=1).tolist() == [4, 17, 9, 20]  # CB6133 order
    assert x[4:].sum() == 0
    with pytest.raises(ValueError, match="t.pdb: no CA atom"):
        dssp.read_pdb_ca_sequence("HEADER\n", "t.pdb")


def test_dssp_labels_mapping():
    assert dssp.read_dssp_string_file("--HHHEE- 1abc.pdb\n") == "--HHHEE-"
    expected = r"x\.dssp, line 1: unknown secondary-structure letters \['Z'\]"
    with pytest.raises(ValueError, match=expected):
        dssp.read_dssp_string_file("HZ x.pdb", "x.dssp")
    y3 = dssp.encode_states("HGIEBTS-", 10, classes=3)
    assert y3.tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 0, 0]
    y8 = dssp.encode_states("LBEGIHST", 8, classes=8)
    assert y8.tolist() == list(range(8))


def test_parse_classic_dssp():
    text = "\n".join([
        "==== Secondary Structure Definition by the program DSSP ====",
        "  #  RESIDUE AA STRUCTURE BP1 BP2  ACC",
        "    1    1 A G              0   0  163",
        "    2    2 A W  H  > S+     0   0    1",
        "    3        !              0   0    0",
        "    4    4 A X  P           0   0   12",
    ])
    assert dssp.parse_classic_dssp(text) == {
        ("A", "1", ""): "L", ("A", "2", ""): "H", ("A", "4", ""): "L"}
