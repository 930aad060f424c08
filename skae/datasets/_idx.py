"""Read gzipped IDX files (the MNIST file format), validating their structure."""

from __future__ import annotations

import gzip
import io
import zlib

import numpy as np

from ._errors import DatasetFileError

_UBYTE = 0x08  # IDX type code of unsigned bytes, the only type MNIST-like files use


def parse_idx_gz(raw, *, item_shape, path):
    """Decompress and parse one gzipped IDX file of unsigned bytes.

    Decompression stops one byte past the size the IDX header announces, so a
    malformed file that inflates to gigabytes is refused without being inflated.

    Parameters
    ----------
    raw : bytes
        The file's content, still gzipped.
    item_shape : tuple of int
        Expected shape of one item: ``()`` for labels, ``(28, 28)`` for images.
    path : path-like
        The file, named in error messages.

    Returns
    -------
    ndarray of uint8, shape (n_items, *item_shape)
        A read-only view of the decompressed bytes.

    Raises
    ------
    DatasetFileError
        Not gzip, truncated, wrong magic number, type, dimensions or length, or no
        items at all.
    """
    header_size = 4 + 4 * (1 + len(item_shape))
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as stream:
            buffer = _read(stream, header_size)
            expected = _announced_size(buffer, item_shape)
            if expected is not None:
                if expected > MAX_BYTES:
                    raise DatasetFileError(
                        f"{path} announces {expected:,} bytes of data, more than the "
                        f"{MAX_BYTES:,} skae reads from one file."
                    )
                # one byte more than announced is enough to tell "extra bytes"
                buffer += _read(stream, expected + 1 - len(buffer))
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DatasetFileError(
            f"{path} is not a complete gzip file ({exc}); delete it and load again "
            "to download a fresh copy, or replace it by hand."
        ) from exc
    return parse_idx(buffer, item_shape=item_shape, path=path)


#: the most bytes an IDX file may hold after decompression (MNIST's largest: 47 MB)
MAX_BYTES = 1 << 30


def _items(item_shape) -> str:
    """What the items of a file are, for messages: images or labels."""
    return "images" if item_shape else "labels"


def _read(stream, size):
    """Up to ``size`` decompressed bytes (fewer only at the end of the stream)."""
    chunks = []
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _announced_size(header, item_shape):
    """Total bytes the IDX ``header`` announces, or None if it is not a valid header."""
    ndim = 1 + len(item_shape)
    offset = 4 + 4 * ndim
    if len(header) < offset or header[:2] != b"\0\0" or header[3] != ndim:
        return None  # parse_idx says what is wrong
    shape = np.frombuffer(header, ">u4", count=ndim, offset=4).astype(np.int64)
    return offset + int(np.prod(shape))


def parse_idx(buffer, *, item_shape, path):
    """Parse the bytes of one uncompressed IDX file; see :func:`parse_idx_gz`."""
    ndim = 1 + len(item_shape)
    magic = 0x0800 + ndim
    if len(buffer) < 4 or buffer[:2] != b"\0\0":
        raise DatasetFileError(
            f"{path} is not an IDX file: its magic number is "
            f"{buffer[:4].hex() or 'missing'}, expected {magic:08x}."
        )
    if buffer[2] != _UBYTE:
        raise DatasetFileError(
            f"{path} holds IDX type code 0x{buffer[2]:02x}, expected 0x{_UBYTE:02x} "
            "(unsigned bytes)."
        )
    if buffer[3] != ndim:
        raise DatasetFileError(
            f"{path} has {buffer[3]} dimension(s) (magic number {buffer[:4].hex()}), "
            f"expected {ndim} (magic number {magic:08x})."
        )
    offset = 4 + 4 * ndim
    if len(buffer) < offset:
        raise DatasetFileError(f"{path} is truncated inside its IDX header.")
    shape = tuple(int(n) for n in np.frombuffer(buffer, ">u4", count=ndim, offset=4))
    if shape[1:] != tuple(item_shape):
        raise DatasetFileError(
            f"{path} holds items of shape {shape[1:]}, expected {tuple(item_shape)}."
        )
    if shape[0] == 0:
        raise DatasetFileError(
            f"{path} announces 0 {_items(item_shape)}: it is not a usable data set."
        )
    expected = offset + int(np.prod(shape, dtype=np.int64))
    if len(buffer) < expected:
        raise DatasetFileError(
            f"{path} is truncated: {len(buffer):,} bytes after decompression, expected "
            f"{expected:,} for an IDX array of shape {shape}."
        )
    if len(buffer) > expected:
        raise DatasetFileError(
            f"{path} is followed by extra bytes: more than the {expected:,} bytes an IDX "
            f"array of shape {shape} has, after decompression."
        )
    return np.frombuffer(buffer, np.uint8, offset=offset).reshape(shape)
