"""Make sure a data set's files are in the data home, downloading them if allowed."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

from ._errors import DatasetNotFoundError
from ._sources import OFFICIAL_MD5

logger = logging.getLogger(__name__)

#: seconds to wait for a server before giving up on it
TIMEOUT = 60
_CHUNK = 1 << 20


class _DownloadFailed(Exception):
    """One URL did not deliver the official file."""


def ensure_files(source, filenames, folder, *, download_if_missing):
    """Make sure every file of ``filenames`` is in ``folder``.

    Missing files are downloaded from ``source``'s mirrors (in order) when
    ``download_if_missing``, each checked against its official md5 and moved into place
    only when complete and correct.

    Raises
    ------
    DatasetNotFoundError
        Files missing and not downloaded (not allowed, network failure, wrong checksum,
        folder not writable); the message says which files, where and from where.
    """
    folder = Path(folder)
    missing = [name for name in filenames if not (folder / name).is_file()]
    if not missing:
        return
    if not download_if_missing:
        raise DatasetNotFoundError(
            f"{_missing(source, missing, folder)} Pass download_if_missing=True to download "
            f"them, or {_by_hand(source, missing, folder)}"
        )
    for i, name in enumerate(missing):
        try:
            download(source, name, folder)
        except _DownloadFailed as exc:
            raise DatasetNotFoundError(
                f"{_missing(source, missing[i:], folder)} Downloading {name} failed ({exc}). "
                f"Without a network, {_by_hand(source, missing[i:], folder)}"
            ) from None


def download(source, filename, folder):
    """Download ``filename`` of ``source`` into ``folder``, trying each mirror in turn."""
    expected_md5 = OFFICIAL_MD5[source.name][filename]
    errors = []
    for url in source.urls(filename):
        logger.info("Downloading %s to %s", url, folder)
        try:
            _fetch(url, folder / filename, expected_md5)
            return
        except _DownloadFailed as exc:
            errors.append(f"{url}: {exc}")
    raise _DownloadFailed("; ".join(errors))


def _fetch(url, target, expected_md5):
    """Stream ``url`` into a hidden temporary file beside ``target``, check, then rename.

    The rename is atomic, so ``target`` is either absent or complete and correct, even
    if the process dies mid-download; the temporary file is removed on any failure. The
    folder is touched only once the server has answered.
    """
    # imported here: only a download needs them
    import http.client
    import urllib.request

    from .. import __version__

    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    request = urllib.request.Request(url, headers={"User-Agent": f"skae/{__version__}"})
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as out:
                while chunk := response.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        if digest.hexdigest() != expected_md5:
            raise _DownloadFailed(
                f"md5 {digest.hexdigest()} differs from the official {expected_md5}; file discarded"
            )
        os.replace(tmp, target)
    except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
        raise _DownloadFailed(str(exc) or type(exc).__name__) from exc
    finally:
        tmp.unlink(missing_ok=True)


def _missing(source, missing, folder):
    return f"{source.title} file(s) missing from {folder}: {', '.join(missing)}."


def _by_hand(source, missing, folder):
    urls = " or ".join(source.mirrors)
    message = (
        f"download {', '.join(missing)} from {urls} and put them in {folder} "
        "(or point SKAE_DATA or data_home at a folder whose "
        f"{source.folder}/ has them)."
    )
    if source.name == "kmnist" and source.files["train"][0] in missing:
        message += (
            " Note: KMNIST's 60,000 training images are not in the offline mirror; "
            "subset='test' or load_split('kmnist', split='test-only') needs only the "
            "test images."
        )
    return message
