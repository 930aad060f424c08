"""scikit-learn's bundled 8x8 digits, shaped like the MNIST-like loaders' output."""

from __future__ import annotations

import numpy as np

from ._mnist import check_subset, image_bunch

#: the fixed split of ``subset='train'``/``'test'``: stratified, a quarter held out
DIGITS_TEST_SIZE = 0.25
DIGITS_RANDOM_STATE = 0

_DESCR = """\
Optical recognition of handwritten digits (scikit-learn's ``load_digits``)
----------------------------------------------------------------------------

1,797 images of the digits 0-9, 8x8 pixels of 17 grey levels (0 to 16), bundled with
scikit-learn: no download. ``data`` holds the levels divided by 16. The data set has no
official train/test split: skae's ``subset='train'`` and ``subset='test'`` are a fixed
stratified split (1,347 and 450 images, ``train_test_split(test_size=0.25,
stratify=target, random_state=0)``), and ``subset='all'`` is every image in
scikit-learn's order.

Source: UCI Machine Learning Repository, Optical Recognition of Handwritten Digits
(E. Alpaydin and C. Kaynak, 1998). See ``sklearn.datasets.load_digits``.
"""


def load_digits(*, subset="all", data_home=None, download_if_missing=True, return_X_y=False):
    """scikit-learn's 8x8 digits in [0, 1], float32; ``data_home`` and
    ``download_if_missing`` are accepted for a uniform signature and ignored."""
    # imported here: sklearn.datasets and model_selection are only needed for digits
    from sklearn.datasets import load_digits as sklearn_load_digits
    from sklearn.model_selection import train_test_split

    parts = check_subset(subset)
    digits = sklearn_load_digits()
    images = digits.images.astype(np.uint8)
    target = digits.target.astype(np.int64)
    if len(parts) == 1:
        index = np.arange(len(target))
        train, test = train_test_split(
            index,
            test_size=DIGITS_TEST_SIZE,
            stratify=target,
            random_state=DIGITS_RANDOM_STATE,
        )
        index = train if subset == "train" else test
        images, target = images[index], target[index]
    return image_bunch(
        images,
        target,
        max_value=16,
        target_names=[str(digit) for digit in range(10)],
        descr=_DESCR,
        subset=subset,
        return_X_y=return_X_y,
    )
