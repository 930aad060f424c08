"""skae.datasets: parsing the real files, the data home, errors, and the download path.

The network is never touched: an autouse fixture makes ``urlopen`` fail, and the
download tests serve small crafted files through a fake ``urlopen``.
"""

import gzip
import hashlib
import io
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest

from skae import datasets
from skae.datasets import (
    DATASET_NAMES,
    DatasetFileError,
    DatasetNotFoundError,
    get_data_home,
    load_dataset,
    load_fashion_mnist,
    load_kmnist,
    load_mnist,
    load_split,
)
from skae.datasets._sources import OFFICIAL_MD5

from .conftest import requires_data as needs_data

#: the data home of the data tests (SKAE_DATA, else the default); never downloaded to
DATA = get_data_home()
MNIST_MIRROR, MNIST_ORIGINAL = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    ("http://yann.lecun.com/exdb/mnist/"),
)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    def refuse(request, timeout=None):
        raise urllib.error.URLError("network disabled in tests")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# ---------------------------------------------------------------- crafted files
def idx(array, *, type_code=0x08, ndim=None, magic_prefix=b"\0\0"):
    """The bytes of an IDX file holding ``array`` (uint8), header fields overridable."""
    array = np.asarray(array, dtype=np.uint8)
    ndim = array.ndim if ndim is None else ndim
    header = magic_prefix + bytes([type_code, ndim])
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    return header + array.tobytes()


def npz(array, key="arr_0"):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{key: array})
    return buffer.getvalue()


def small_set(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n)


TRAIN, TEST = small_set(5, 0), small_set(3, 1)


def mnist_files(train=TRAIN, test=TEST):
    """Official file name -> gzipped content of a tiny MNIST-like data set."""
    return {
        "train-images-idx3-ubyte.gz": gzip.compress(idx(train[0])),
        "train-labels-idx1-ubyte.gz": gzip.compress(idx(train[1])),
        "t10k-images-idx3-ubyte.gz": gzip.compress(idx(test[0])),
        "t10k-labels-idx1-ubyte.gz": gzip.compress(idx(test[1])),
    }


def leftovers(folder):
    """Files in ``folder``, hidden ones included; [] if it does not exist."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def write(folder, files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)


@pytest.fixture
def tiny_home(tmp_path):
    write(tmp_path / "mnist", mnist_files())
    return tmp_path


# ---------------------------------------------------------------- real files
@pytest.fixture(scope="module")
def mnist_train():
    return load_mnist(subset="train", data_home=DATA, download_if_missing=False)


@pytest.fixture(scope="module")
def mnist_test():
    return load_mnist(subset="test", data_home=DATA, download_if_missing=False)


def check_bunch(bunch, n, side=28, levels=255):
    assert bunch.data.shape == (n, side * side) and bunch.data.dtype == np.float32
    assert bunch.target.shape == (n,) and bunch.target.dtype == np.int64
    assert bunch.images.shape == (n, side, side) and bunch.images.dtype == np.uint8
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert len(bunch.feature_names) == side * side and bunch.feature_names[0] == "pixel_0"
    assert len(bunch.target_names) == 10
    np.testing.assert_array_equal(bunch.data[:50] * levels, bunch.images[:50].reshape(50, -1))
    assert not np.shares_memory(bunch.data, bunch.images)


@needs_data
def test_mnist_train(mnist_train):
    check_bunch(mnist_train, 60000)
    assert mnist_train.subset == "train"
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    np.testing.assert_array_equal(np.bincount(mnist_train.target), counts)
    # the rebuilt training images keep the official mean pixel
    assert mnist_train.data.mean() * 255 == pytest.approx(33.318, abs=0.001)


@needs_data
def test_mnist_test(mnist_test):
    check_bunch(mnist_test, 10000)
    counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    np.testing.assert_array_equal(np.bincount(mnist_test.target), counts)
    np.testing.assert_array_equal(mnist_test.target[:5], [7, 2, 1, 0, 4])
    assert mnist_test.data.mean() * 255 == pytest.approx(33.791, abs=0.001)
    assert "t10k-images-idx3-ubyte.gz: the official file" in mnist_test.DESCR
    assert "LeCun" in mnist_test.DESCR and "rebuilt" in mnist_test.DESCR


@needs_data
def test_fashion_mnist_test():
    fashion = load_fashion_mnist(subset="test", data_home=DATA, download_if_missing=False)
    check_bunch(fashion, 10000)
    np.testing.assert_array_equal(np.bincount(fashion.target), [1000] * 10)
    assert fashion.target_names[9] == "Ankle boot"
    assert "Debian" in fashion.DESCR


@needs_data
def test_kmnist_test():
    kmnist = load_kmnist(subset="test", data_home=DATA, download_if_missing=False)
    check_bunch(kmnist, 10000)
    np.testing.assert_array_equal(np.bincount(kmnist.target), [1000] * 10)
    assert list(kmnist.target_names[:3]) == ["o", "ki", "su"]
    assert "NOT the 60,000 training images" in kmnist.DESCR


@needs_data
def test_kmnist_missing_train_images_is_explained():
    with pytest.raises(DatasetNotFoundError) as info:
        load_kmnist(subset="train", data_home=DATA, download_if_missing=False)
    message = str(info.value)
    assert "kmnist-train-imgs.npz" in message and str(DATA / "kmnist") in message
    assert "kmnist-train-labels.npz" not in message  # present, so not named
    assert "http://codh.rois.ac.jp/kmnist/dataset/kmnist/" in message
    assert "subset='test'" in message


# ---------------------------------------------------------------- subsets and outputs
def test_subset_all_is_train_then_test(tiny_home):
    bunch = load_mnist(subset="all", data_home=tiny_home)
    np.testing.assert_array_equal(bunch.images, np.concatenate([TRAIN[0], TEST[0]]))
    np.testing.assert_array_equal(bunch.target, np.concatenate([TRAIN[1], TEST[1]]))
    assert bunch.subset == "all"
    np.testing.assert_allclose(bunch.data, bunch.images.reshape(8, -1) / 255, rtol=1e-6)


def test_return_X_y(tiny_home):
    X, y = load_mnist(subset="test", data_home=tiny_home, return_X_y=True)
    bunch = load_mnist(subset="test", data_home=tiny_home)
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)


def test_results_are_independent_writable_copies(tiny_home):
    first = load_mnist(subset="test", data_home=tiny_home)
    first.images[:] = 0
    first.data[:] = -1
    second = load_mnist(subset="test", data_home=tiny_home)
    np.testing.assert_array_equal(second.images, TEST[0])


def test_bad_subset():
    with pytest.raises(ValueError, match="subset must be one of 'train', 'test', 'all'"):
        load_mnist(subset="validation")


# ---------------------------------------------------------------- data home
def test_data_home_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk"))
    monkeypatch.setenv("SKAE_DATA", str(tmp_path / "env"))
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    assert get_data_home() == tmp_path / "env"
    monkeypatch.delenv("SKAE_DATA")
    assert get_data_home() == tmp_path / "sk" / "skae"
    monkeypatch.setenv("SKAE_DATA", "")  # empty counts as unset
    assert get_data_home() == tmp_path / "sk" / "skae"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home("~/data") == tmp_path / "data"


def test_default_data_home_is_not_created(monkeypatch, tmp_path):
    """get_data_home only names the folder (scikit-learn's own creates it)."""
    monkeypatch.delenv("SKAE_DATA", raising=False)
    monkeypatch.delenv("SCIKIT_LEARN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "scikit_learn_data" / "skae"
    with pytest.raises(DatasetNotFoundError):
        load_mnist(subset="test", download_if_missing=False)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("download", [True, False])
def test_data_home_that_is_a_file(tmp_path, download):
    home = tmp_path / "data"
    home.write_text("not a folder")
    with pytest.raises(DatasetNotFoundError, match="must be a folder") as info:
        load_mnist(subset="test", data_home=home, download_if_missing=download)
    assert f"{home} is a file" in str(info.value) and "data_home" in str(info.value)
    assert "--data-home" in info.value.cli_message
    assert home.read_text() == "not a folder"


def test_download_into_a_file_reports_the_real_error(monkeypatch, tmp_path):
    """The temporary file's clean-up must not hide why the download failed."""
    from skae.datasets._download import _DownloadFailed, _fetch

    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout: io.BytesIO(b"x"))
    (tmp_path / "file").write_text("")
    with pytest.raises(_DownloadFailed):
        _fetch("https://example.org/f", tmp_path / "file" / "mnist" / "f.gz", "0" * 32)


def test_messages_in_cli_words(tmp_path):
    """The command line's version of a message names options, not arguments."""
    with pytest.raises(DatasetNotFoundError) as info:
        load_kmnist(subset="train", data_home=tmp_path, download_if_missing=False)
    api, cli = str(info.value), info.value.cli_message
    assert "download_if_missing=True" in api and "load_split" in api
    assert "--no-download" in cli and "--data-home" in cli and "--dataset kmnist-test" in cli
    assert "download_if_missing" not in cli and "data_home " not in cli


def test_loaders_read_the_env_data_home(monkeypatch, tiny_home):
    monkeypatch.setenv("SKAE_DATA", str(tiny_home))
    np.testing.assert_array_equal(load_mnist(subset="test").target, TEST[1])


# ---------------------------------------------------------------- missing files
def test_missing_files_offline(tmp_path):
    write(
        tmp_path / "mnist",
        {"t10k-labels-idx1-ubyte.gz": mnist_files()["t10k-labels-idx1-ubyte.gz"]},
    )
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(subset="all", data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for name in ("train-images", "train-labels", "t10k-images"):
        assert f"{name}-idx" in message
    assert "t10k-labels" not in message
    assert str(tmp_path / "mnist") in message and MNIST_MIRROR in message
    assert "\n" not in message  # one line, for the command line's error report


def test_download_failure_explains_how_to_place_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist(subset="test", data_home=tmp_path)
    message = str(info.value)
    assert "failed" in message and "network disabled in tests" in message
    assert "t10k-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" in message
    assert str(tmp_path / "fashion-mnist") in message
    assert not (tmp_path / "fashion-mnist").exists()  # nothing created without a server


# ---------------------------------------------------------------- damaged files
def _damage(files, name, content):
    return {**files, name: content}


TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
GOOD = mnist_files()


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        (TRAIN_IMAGES, GOOD[TRAIN_IMAGES][:-20], "not a complete gzip file"),
        (TRAIN_IMAGES, b"not gzip at all", "not a complete gzip file"),
        (TRAIN_IMAGES, gzip.compress(b"\0\0"), "not an IDX file"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0], magic_prefix=b"PK")), "magic number"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0], type_code=0x0D)), "type code 0x0d"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0][:, 0])), "expected 3"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0][:, :27])), r"shape \(27, 28\)"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0])[:-1]), "truncated: 3,935 bytes"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0]) + b"\0"), "followed by extra bytes"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0])[:10]), "truncated inside its IDX header"),
        (TRAIN_LABELS, gzip.compress(idx(TRAIN[1][:4])), "4 labels but .* 5 images"),
        (TRAIN_LABELS, gzip.compress(idx([0, 1, 10, 2, 3])), "labels from 0 to 10"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0][:0])), "announces 0 images: it is not a"),
        (TRAIN_LABELS, gzip.compress(idx(TRAIN[1][:0])), "announces 0 labels: it is not a"),
        (TRAIN_IMAGES, gzip.compress(idx(TRAIN[0][:0]) + b"\0"), "announces 0 images"),
    ],
    ids=[
        "truncated-gzip",
        "not-gzip",
        "short",
        "bad-magic",
        "not-ubyte",
        "wrong-ndim",
        "wrong-image-shape",
        "short-data",
        "extra-bytes",
        "short-header",
        "count-mismatch",
        "label-range",
        "no-images",
        "no-labels",
        "no-images-extra-bytes",
    ],
)
def test_damaged_idx_file(tmp_path, name, content, match):
    write(tmp_path / "mnist", _damage(GOOD, name, content))
    with pytest.raises(DatasetFileError, match=match) as info:
        load_mnist(subset="train", data_home=tmp_path)
    assert str(tmp_path / "mnist") in str(info.value)
    assert isinstance(info.value, ValueError)


def test_decompression_stops_at_the_announced_size(tmp_path):
    """A small gzip that inflates far beyond its IDX header is refused, not inflated."""
    import tracemalloc

    extra = 64 << 20
    bomb = gzip.compress(idx(TRAIN[0]) + bytes(extra), compresslevel=9)
    assert len(bomb) < extra // 500
    write(tmp_path / "mnist", _damage(GOOD, TRAIN_IMAGES, bomb))
    tracemalloc.start()
    try:
        with pytest.raises(DatasetFileError, match="followed by extra bytes"):
            load_mnist(subset="train", data_home=tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < extra // 8, f"peak {peak:,} bytes while reading a {len(bomb):,}-byte file"


def test_announced_size_beyond_the_limit(tmp_path):
    header = b"\0\0\x08\x03" + struct.pack(">III", 10**8, 28, 28)
    write(tmp_path / "mnist", _damage(GOOD, TRAIN_IMAGES, gzip.compress(header)))
    with pytest.raises(DatasetFileError, match="announces 78,400,000,016 bytes"):
        load_mnist(subset="train", data_home=tmp_path)


def test_npz_announcing_a_huge_array_is_refused_before_allocation(tmp_path):
    import zipfile

    npy = io.BytesIO()
    header = {"descr": "|u1", "fortran_order": False, "shape": (10**9, 28, 28)}
    np.lib.format.write_array_header_1_0(npy, header)
    npy.write(bytes(100))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("arr_0.npy", npy.getvalue())
    write(tmp_path / "kmnist", _damage(kmnist_files(), "kmnist-test-imgs.npz", archive.getvalue()))
    with pytest.raises(DatasetFileError, match=r"announces an array of shape \(1000000000, 28"):
        load_kmnist(subset="test", data_home=tmp_path)


def kmnist_files(train=TRAIN, test=TEST):
    return {
        "kmnist-train-imgs.npz": npz(train[0]),
        "kmnist-train-labels.npz": npz(train[1].astype(np.uint8)),
        "kmnist-test-imgs.npz": npz(test[0]),
        "kmnist-test-labels.npz": npz(test[1].astype(np.uint8)),
    }


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("kmnist-test-imgs.npz", npz(TEST[0])[:-30], "not a readable .npz archive"),
        ("kmnist-test-imgs.npz", b"garbage", "not a readable .npz archive"),
        ("kmnist-test-imgs.npz", npz(TEST[0], key="images"), "has no array 'arr_0'"),
        ("kmnist-test-imgs.npz", npz(TEST[0] / 255.0), "dtype float64, expected uint8"),
        ("kmnist-test-imgs.npz", npz(TEST[0][:, :, :14]), r"expected \(n, 28, 28\)"),
        ("kmnist-test-labels.npz", npz(TEST[1] * 0.5), "labels of dtype float64"),
        ("kmnist-test-labels.npz", npz(TEST[1][:2].astype(np.uint8)), "2 labels but"),
        ("kmnist-test-imgs.npz", npz(TEST[0][:0]), "holds 0 images: it is not a"),
        ("kmnist-test-labels.npz", npz(TEST[1][:0].astype(np.uint8)), "holds 0 labels"),
    ],
    ids=[
        "truncated",
        "garbage",
        "no-arr_0",
        "float-images",
        "wrong-shape",
        "float-labels",
        "count",
        "no-images",
        "no-labels",
    ],
)
def test_damaged_npz_file(tmp_path, name, content, match):
    write(tmp_path / "kmnist", _damage(kmnist_files(), name, content))
    with pytest.raises(DatasetFileError, match=match) as info:
        load_kmnist(subset="test", data_home=tmp_path)
    assert str(tmp_path / "kmnist" / name) in str(info.value)


def test_crafted_kmnist_reads(tmp_path):
    write(tmp_path / "kmnist", kmnist_files())
    bunch = load_kmnist(subset="all", data_home=tmp_path)
    np.testing.assert_array_equal(bunch.images, np.concatenate([TRAIN[0], TEST[0]]))
    assert bunch.target.dtype == np.int64


# ---------------------------------------------------------------- downloading
class FakeServer:
    """A stand-in for ``urllib.request.urlopen`` serving ``files`` (URL -> bytes)."""

    def __init__(self, files, fail_after=None):
        self.files, self.fail_after, self.requested = files, fail_after, []

    def __call__(self, request, timeout=None):
        url = request.full_url
        self.requested.append(url)
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        content = self.files[url]
        if self.fail_after is None:
            return io.BytesIO(content)
        return _BreakingResponse(content[: self.fail_after])


class _BreakingResponse(io.BytesIO):
    def read(self, size=-1):
        chunk = super().read(size)
        if not chunk:
            raise ConnectionResetError("connection reset by peer")
        return chunk


def serve(monkeypatch, base, files, **kwargs):
    server = FakeServer({base + name: content for name, content in files.items()}, **kwargs)
    monkeypatch.setattr(urllib.request, "urlopen", server)
    return server


def official(monkeypatch, dataset, files):
    """Make ``files`` the official ones: patch the md5 table to their checksums."""
    for name, content in files.items():
        monkeypatch.setitem(OFFICIAL_MD5[dataset], name, hashlib.md5(content).hexdigest())


def test_download_end_to_end(monkeypatch, tmp_path):
    files = mnist_files()
    official(monkeypatch, "mnist", files)
    server = serve(monkeypatch, MNIST_MIRROR, files)
    bunch = load_mnist(subset="test", data_home=tmp_path / "new")
    np.testing.assert_array_equal(bunch.images, TEST[0])
    # only the files of the requested subset, from the first mirror
    assert server.requested == [
        MNIST_MIRROR + "t10k-images-idx3-ubyte.gz",
        MNIST_MIRROR + "t10k-labels-idx1-ubyte.gz",
    ]
    assert leftovers(tmp_path / "new" / "mnist") == [
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    assert "t10k-images-idx3-ubyte.gz: the official file" in bunch.DESCR
    load_mnist(subset="test", data_home=tmp_path / "new")  # present now: no new request
    assert len(server.requested) == 2


def test_download_falls_back_to_the_original_host(monkeypatch, tmp_path):
    files = mnist_files()
    official(monkeypatch, "mnist", files)
    server = serve(monkeypatch, MNIST_ORIGINAL, files)
    load_mnist(subset="test", data_home=tmp_path)
    assert server.requested[:2] == [
        MNIST_MIRROR + "t10k-images-idx3-ubyte.gz",
        MNIST_ORIGINAL + "t10k-images-idx3-ubyte.gz",
    ]


def test_download_checksum_mismatch_leaves_nothing(monkeypatch, tmp_path):
    files = mnist_files()
    monkeypatch.setitem(OFFICIAL_MD5["mnist"], "t10k-images-idx3-ubyte.gz", "0" * 32)
    serve(monkeypatch, MNIST_MIRROR, files)
    with pytest.raises(DatasetNotFoundError, match=r"differs from the official 0{32}") as info:
        load_mnist(subset="test", data_home=tmp_path)
    assert "file discarded" in str(info.value) and "404" in str(info.value)
    assert leftovers(tmp_path / "mnist") == []  # no partial or temporary file


def test_interrupted_download_leaves_nothing(monkeypatch, tmp_path):
    files = mnist_files()
    official(monkeypatch, "mnist", files)
    serve(monkeypatch, MNIST_MIRROR, files, fail_after=100)
    with pytest.raises(DatasetNotFoundError, match="connection reset by peer"):
        load_mnist(subset="test", data_home=tmp_path)
    assert leftovers(tmp_path / "mnist") == []


def test_kmnist_download(monkeypatch, tmp_path):
    files = kmnist_files()
    official(monkeypatch, "kmnist", files)
    serve(monkeypatch, "http://codh.rois.ac.jp/kmnist/dataset/kmnist/", files)
    np.testing.assert_array_equal(load_kmnist(data_home=tmp_path).target, TRAIN[1])


def test_official_checksum_table():
    assert set(OFFICIAL_MD5) == {"mnist", "fashion-mnist", "kmnist"}
    for table in OFFICIAL_MD5.values():
        assert len(table) == 4
        assert all(len(md5) == 32 and int(md5, 16) >= 0 for md5 in table.values())


@needs_data
def test_shared_files_that_are_official_match_the_table():
    # the mirror's README lists these as byte-identical to the official downloads
    for dataset, name in [
        ("mnist", "t10k-images-idx3-ubyte.gz"),
        ("mnist", "train-labels-idx1-ubyte.gz"),
        ("kmnist", "kmnist-test-imgs.npz"),
        ("kmnist", "kmnist-train-labels.npz"),
    ]:
        digest = hashlib.md5((DATA / dataset / name).read_bytes()).hexdigest()
        assert digest == OFFICIAL_MD5[dataset][name]


# ---------------------------------------------------------------- dispatch and splits
def test_load_dataset_dispatch(tiny_home):
    assert DATASET_NAMES == ("digits", "mnist", "fashion-mnist", "kmnist")
    X, y = load_dataset("mnist", subset="train", data_home=tiny_home, return_X_y=True)
    assert X.shape == (5, 784)
    np.testing.assert_array_equal(y, TRAIN[1])
    write(tiny_home / "fashion-mnist", mnist_files(train=TEST, test=TRAIN))
    fashion = load_dataset("Fashion_MNIST", data_home=tiny_home)  # spelling is lenient
    np.testing.assert_array_equal(fashion.target, TEST[1])
    assert fashion.target_names[0] == "T-shirt/top"


def test_load_dataset_unknown_name():
    with pytest.raises(ValueError, match=r"'emnist'.*'digits', 'mnist', 'fashion-mnist', 'kmnist'"):
        load_dataset("emnist")
    with pytest.raises(ValueError, match="Unknown data set"):
        load_dataset(["mnist"])


def test_digits(digits, digits_split):
    everything = load_dataset("digits")
    check_bunch(everything, 1797, side=8, levels=16)
    np.testing.assert_allclose(everything.data, digits[0], rtol=1e-6)
    train, test = load_dataset("digits", subset="train"), load_dataset("digits", subset="test")
    assert (len(train.target), len(test.target)) == (1347, 450)
    # the same fixed split as the test suite's digits_split fixture
    np.testing.assert_allclose(train.data, digits_split[0], rtol=1e-6)
    np.testing.assert_array_equal(test.target, digits_split[3])


@needs_data
def test_load_split_kmnist_offline():
    with pytest.warns(UserWarning, match="kmnist-train-imgs.npz is not in"):
        split = load_split("kmnist", data_home=DATA, random_state=0)
    assert split.split == "test-only"
    assert (split.X_train.shape, split.X_test.shape) == ((8000, 784), (2000, 784))
    np.testing.assert_array_equal(np.bincount(split.y_train), [800] * 10)
    np.testing.assert_array_equal(np.bincount(split.y_test), [200] * 10)
    assert split.protocol == (
        "stratified 8,000/2,000 split (fit/evaluate) of the 10,000 official KMNIST test "
        "images, random_state=0"
    )
    again = load_split("kmnist", split="test-only", data_home=DATA)
    np.testing.assert_array_equal(again.X_test, split.X_test)


def test_load_split_official(tiny_home):
    split = load_split("mnist", data_home=tiny_home)
    assert split.split == "official"
    np.testing.assert_array_equal(split.y_train, TRAIN[1])
    np.testing.assert_array_equal(split.y_test, TEST[1])
    assert split.X_train.dtype == np.float32
    assert split.protocol == "official split: 5 MNIST training images, 3 test images"
    digits = load_split("digits")
    assert (len(digits.y_train), len(digits.y_test)) == (1347, 450)
    with pytest.raises(ValueError, match="split must be one of"):
        load_split("mnist", split="random")


def test_public_names():
    assert set(datasets.__all__) >= {
        "load_mnist",
        "load_fashion_mnist",
        "load_kmnist",
        "load_dataset",
        "DATASET_NAMES",
        "get_data_home",
        "DatasetNotFoundError",
        "DatasetFileError",
    }
