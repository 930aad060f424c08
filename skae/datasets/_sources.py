"""Where each MNIST-like data set comes from: folder, files, mirrors, checksums, notes."""

from __future__ import annotations

from dataclasses import dataclass

SUBSETS = ("train", "test", "all")


@dataclass(frozen=True)
class DatasetSource:
    """One MNIST-like data set: its files, where to get them and how to read them."""

    name: str  #: key in DATASET_NAMES and in OFFICIAL_MD5
    title: str  #: human-readable name
    folder: str  #: sub-folder of the data home
    file_format: str  #: 'idx' (gzipped IDX) or 'npz' (NumPy archive, key 'arr_0')
    files: dict  #: subset ('train'/'test') -> (images file, labels file)
    mirrors: tuple  #: base URLs, tried in order
    target_names: tuple
    descr: str

    def urls(self, filename):
        return [mirror + filename for mirror in self.mirrors]


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: Official md5 of every file, checked on download only. Local files are validated by
#: structure instead, since faithful copies may be recompressed (see each DESCR).
#: Sources: torchvision's ``datasets/mnist.py`` (MNIST, Fashion-MNIST, the latter
#: also in the upstream README); KMNIST: md5 of the official files mirrored for the
#: skae project, and a public download script for ``kmnist-train-imgs.npz``.
OFFICIAL_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    "kmnist": {
        "kmnist-train-imgs.npz": "a183fbc01ed9a345513b145673d3d0bb",
        "kmnist-train-labels.npz": "b0e1d240e8afec72b50437fc3bc5908a",
        "kmnist-test-imgs.npz": "dace6de62ca8b90843cc45366337d02e",
        "kmnist-test-labels.npz": "3ae489a79983d0fe386152684e3b5412",
    },
}

_MNIST_DESCR = """\
MNIST handwritten digits
------------------------

70,000 grey-scale 28x28 images of the handwritten digits 0-9: 60,000 for training and
10,000 for testing, classes roughly balanced. Pixels are stored as unsigned bytes (0 is
background, 255 ink); ``data`` holds them divided by 255.

Official page: http://yann.lecun.com/exdb/mnist/ (Y. LeCun, C. Cortes, C. J. C. Burges).
Downloads come from the mirror torchvision uses,
https://ossci-datasets.s3.amazonaws.com/mnist/, with the original host as fallback;
each download is checked against the official md5.

Provenance note: files already in the data home are validated by structure (IDX
header and sizes), not by checksum. The skae project's offline mirror holds the
official test images and label files, but its 60,000 training images were rebuilt from
a lossless PNG export: 99.95 % of pixels are identical to the official data and the rest
differ by 1/255 (mean pixel 33.318, as in the official file), so that file's md5 is not
the official one. The list of files below says which files match the official md5.

Reference: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. Gradient-based learning
applied to document recognition. Proceedings of the IEEE, 86(11):2278-2324, 1998.
"""

_FASHION_DESCR = """\
Fashion-MNIST
-------------

70,000 grey-scale 28x28 images of Zalando article pictures in 10 classes (T-shirt/top,
Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot): 60,000 for
training and 10,000 for testing, 7,000 per class. Same file format and sizes as MNIST;
``data`` holds the bytes divided by 255. MIT licence.

Official source: https://github.com/zalandoresearch/fashion-mnist, files downloaded
from http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ and checked against
the official md5.

Provenance note: files already in the data home are validated by structure, not by
checksum. The skae project's offline mirror takes them from Debian's
``dataset-fashion-mnist`` package, which recompressed them: same content, different
``.gz`` checksums.

Reference: H. Xiao, K. Rasul and R. Vollgraf. Fashion-MNIST: a novel image dataset for
benchmarking machine learning algorithms. arXiv:1708.07747, 2017.
"""

_KMNIST_DESCR = """\
Kuzushiji-MNIST (KMNIST)
------------------------

70,000 grey-scale 28x28 images of cursive Japanese (kuzushiji) hiragana, one character
per class: o (お), ki (き), su (す), tsu (つ), na (な), ha (は), ma (ま), ya (や),
re (れ), wo (を); 60,000 for training and 10,000 for testing, balanced.
``data`` holds the bytes divided by 255. Licence CC BY-SA 4.0: "KMNIST Dataset" (created
by CODH), adapted from "Kuzushiji Dataset" (created by NIJL and others),
doi:10.20676/00000341.

Official source: https://github.com/rois-codh/kmnist, NumPy files (key ``arr_0``)
downloaded from http://codh.rois.ac.jp/kmnist/dataset/kmnist/ and checked against the
official md5.

Provenance note: the skae project's offline mirror has the official test images and
both label files but NOT the 60,000 training images. Offline experiments therefore use
the 10,000 test images with a fixed stratified split (8,000 to fit, 2,000 to evaluate,
random_state=0; ``load_split('kmnist', split='test-only')``) and must say so.

Reference: T. Clanuwat, M. Bober-Irizar, A. Kitamoto, A. Lamb, K. Yamamoto and D. Ha.
Deep learning for classical Japanese literature. arXiv:1812.01718, 2018.
"""

SOURCES = {
    "mnist": DatasetSource(
        name="mnist",
        title="MNIST",
        folder="mnist",
        file_format="idx",
        files=_IDX_FILES,
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/",
        ),
        target_names=tuple(str(digit) for digit in range(10)),
        descr=_MNIST_DESCR,
    ),
    "fashion-mnist": DatasetSource(
        name="fashion-mnist",
        title="Fashion-MNIST",
        folder="fashion-mnist",
        file_format="idx",
        files=_IDX_FILES,
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        target_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
        descr=_FASHION_DESCR,
    ),
    "kmnist": DatasetSource(
        name="kmnist",
        title="KMNIST",
        folder="kmnist",
        file_format="npz",
        files={
            "train": ("kmnist-train-imgs.npz", "kmnist-train-labels.npz"),
            "test": ("kmnist-test-imgs.npz", "kmnist-test-labels.npz"),
        },
        mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
        target_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        descr=_KMNIST_DESCR,
    ),
}
