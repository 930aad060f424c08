"""The two exceptions a data problem raises: files missing, or files unusable."""


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are missing from the data home and could not be downloaded.

    The message names each missing file, the folder it belongs in and the official
    URL(s) to get it from, so that it can be placed by hand on a machine without a
    network. Also raised when the data home is a file instead of a folder.

    Parameters
    ----------
    message : str
        The message, in terms of the Python API (``download_if_missing=True``).
    cli_message : str, default=None
        The same message in terms of the ``skae`` command's options
        (``--no-download``), kept as the attribute ``cli_message``; ``None`` means
        ``message``.

    See Also
    --------
    DatasetFileError : A file is present but unusable.
    get_data_home : Where the files are looked for.
    """

    def __init__(self, message, *, cli_message=None):
        super().__init__(message)
        self.cli_message = message if cli_message is None else cli_message


class DatasetFileError(ValueError):
    """A data set's file is present but unusable.

    Raised for a truncated or corrupt archive, a wrong IDX magic number, data type or
    size, a wrong array type or shape in an ``.npz`` file, a file of no images or labels,
    labels outside the classes, or label and image files of different lengths. The
    message names the file and the problem; no partial array is ever returned. Delete
    the file (or fix the data home) and load again to download a fresh copy.

    See Also
    --------
    DatasetNotFoundError : A file is missing.
    """
