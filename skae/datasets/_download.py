"""Make sure a data set's files are in the data home, downloading them if allowed."""

from __future__ import annotations

import contextlib
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
    _check_folder(folder)
    missing = [name for name in filenames if not (folder / name).is_file()]
    if not missing:
        return
    if not download_if_missing:
        what = _missing(source, missing, folder)
        raise DatasetNotFoundError(
            f"{what} Pass download_if_missing=True to download them, or "
            f"{_by_hand(source, missing, folder, _API)}",
            cli_message=f"{what} Run without --no-download to download them, or "
            f"{_by_hand(source, missing, folder, _CLI)}",
        )
    for i, name in enumerate(missing):
        try:
            download(source, name, folder)
        except _DownloadFailed as exc:
            what = f"{_missing(source, missing[i:], folder)} Downloading {name} failed ({exc})."
            raise DatasetNotFoundError(
                f"{what} Without a network, {_by_hand(source, missing[i:], folder, _API)}",
                cli_message=f"{what} Without a network, "
                f"{_by_hand(source, missing[i:], folder, _CLI)}",
            ) from None


#: how messages name the data home and the KMNIST test split: in the Python API and in
#: the ``skae`` command (whose users pass options, not arguments)
_API = {
    "data_home": "SKAE_DATA or data_home",
    "kmnist_test": "subset='test' or load_split('kmnist', split='test-only')",
}
_CLI = {
    "data_home": "SKAE_DATA or --data-home",
    "kmnist_test": "--dataset kmnist-test",
}


def _check_folder(folder):
    """Refuse a data home (or data set folder) that is a file: nothing could be read there.

    Checked before any download, so that the message names the real problem instead
    of a failure to write the downloaded file.
    """
    for path in (folder, *folder.parents):
        if path.exists():
            if not path.is_dir():
                message = (
                    f"The data home must be a folder, but {path} is a file; point {{}} at a "
                    "folder (it is created when a file is downloaded)."
                )
                raise DatasetNotFoundError(
                    message.format(_API["data_home"]),
                    cli_message=message.format(_CLI["data_home"]),
                )
            return


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
        # never let the clean-up hide the real error (e.g. a folder that is a file)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _missing(source, missing, folder):
    return f"{source.title} file(s) missing from {folder}: {', '.join(missing)}."


def _by_hand(source, missing, folder, words):
    urls = " or ".join(source.mirrors)
    message = (
        f"download {', '.join(missing)} from {urls} and put them in {folder} "
        f"(or point {words['data_home']} at a folder whose {source.folder}/ has them)."
    )
    if source.name == "kmnist" and source.files["train"][0] in missing:
        message += (
            " Note: KMNIST's 60,000 training images are not in the offline mirror; "
            f"{words['kmnist_test']} needs only the test images."
        )
    return message
