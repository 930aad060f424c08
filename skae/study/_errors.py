"""Exceptions of the study runner."""

from __future__ import annotations


class StudyError(ValueError):
    """A study was asked for something it cannot do (a user error).

    The command line prints its message as one line and exits with status 2.

    Parameters
    ----------
    message : str
        The message, in terms of :func:`~skae.study.run_study`'s arguments.
    cli_message : str, default=None
        The same message in terms of the ``skae study`` options, kept as the attribute
        ``cli_message``; ``None`` means ``message``.
    """

    def __init__(self, message, *, cli_message=None):
        super().__init__(message)
        self.cli_message = message if cli_message is None else cli_message


class StudyInterrupted(KeyboardInterrupt):
    """The study was interrupted (Ctrl-C); the rows finished so far are on disk.

    A :class:`KeyboardInterrupt`, so code that stops on Ctrl-C keeps doing so.

    Parameters
    ----------
    n_rows : int
        Rows of the requested grid finished (and, with an output folder, saved),
        including rows from earlier runs; kept as the attribute ``n_rows``.
    n_total : int
        Rows in the requested grid (attribute ``n_total``).
    output_dir : pathlib.Path or None
        The study folder, ``None`` when the study saved nothing (attribute
        ``output_dir``).
    """

    def __init__(self, n_rows, n_total, output_dir):
        super().__init__(f"interrupted after {n_rows} of {n_total} rows")
        self.n_rows = n_rows
        self.n_total = n_total
        self.output_dir = output_dir
