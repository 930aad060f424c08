"""Read NumPy ``.npz`` files holding one array under ``arr_0`` (the KMNIST format)."""

from __future__ import annotations

import io
import zipfile
import zlib

import numpy as np

from ._errors import DatasetFileError

_KEY = "arr_0"


def parse_npz(raw, *, item_shape, path, images):
    """Parse an ``.npz`` archive's ``arr_0``, validating its dtype and shape.

    Parameters
    ----------
    raw : bytes
        The file's content.
    item_shape : tuple of int
        Expected shape of one item: ``()`` for labels, ``(28, 28)`` for images.
    path : path-like
        The file, named in error messages.
    images : bool
        Images must be ``uint8``; labels may be of any integer type.

    Returns
    -------
    ndarray of shape (n_items, *item_shape)

    Raises
    ------
    DatasetFileError
        Not an ``.npz`` archive, truncated or corrupt, no ``arr_0``, wrong dtype or
        shape, or no items at all.
    """
    try:
        _check_announced_size(raw, path)
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DatasetFileError(f"{path} is a bare .npy array, not an .npz archive.")
        with archive:
            if _KEY not in archive.files:
                raise DatasetFileError(
                    f"{path} has no array '{_KEY}' (it has: {', '.join(archive.files)})."
                )
            array = archive[_KEY]
    except DatasetFileError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DatasetFileError(
            f"{path} is not a readable .npz archive ({exc}); delete it and load again to "
            "download a fresh copy, or replace it by hand."
        ) from exc
    if images and array.dtype != np.uint8:
        raise DatasetFileError(f"{path} holds images of dtype {array.dtype}, expected uint8.")
    if not images and not np.issubdtype(array.dtype, np.integer):
        raise DatasetFileError(f"{path} holds labels of dtype {array.dtype}, expected integers.")
    if array.ndim != 1 + len(item_shape) or array.shape[1:] != tuple(item_shape):
        expected = ", ".join(["n", *map(str, item_shape)])
        raise DatasetFileError(
            f"{path} holds an array of shape {array.shape}, expected ({expected})."
        )
    if len(array) == 0:
        what = "images" if images else "labels"
        raise DatasetFileError(f"{path} holds 0 {what}: it is not a usable data set.")
    return array


def _check_announced_size(raw, path):
    """Refuse an ``arr_0`` whose header announces more data than the archive holds.

    NumPy allocates the announced array before reading it: a malformed header must not
    make it allocate gigabytes. Archives that are not zip files are left to
    :func:`numpy.load` to refuse.
    """
    from ._idx import MAX_BYTES

    if not zipfile.is_zipfile(io.BytesIO(raw)):
        return
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        member = f"{_KEY}.npy"
        if member not in archive.namelist():
            return
        size = archive.getinfo(member).file_size
        with archive.open(member) as stream:
            version = np.lib.format.read_magic(stream)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(stream)
    announced = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if announced > min(size, MAX_BYTES):
        raise DatasetFileError(
            f"{path} announces an array of shape {shape} ({announced:,} bytes) but holds "
            f"{size:,} bytes; delete it and load again to download a fresh copy, or "
            "replace it by hand."
        )
