"""``python -m skae``: the skae command line (``skae study ...``)."""

from __future__ import annotations

import sys

#: exit status after Ctrl-C (128 + SIGINT), as shells report it
EXIT_INTERRUPTED = 130


def main(argv=None) -> int:
    """Entry point of the ``skae`` console command; returns the exit status."""
    try:
        # the imports take seconds (torch, scikit-learn): a Ctrl-C meanwhile is an
        # ordinary interruption, not a traceback
        from .study._cli import main as cli_main
    except KeyboardInterrupt:
        print("skae: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
