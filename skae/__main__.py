"""``python -m skae``: the skae command line (``skae study ...``)."""

from __future__ import annotations

import sys


def main(argv=None) -> int:
    """Entry point of the ``skae`` console command; returns the exit status."""
    from .study._cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
