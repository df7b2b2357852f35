"""The `maillage` program's entry point: Ctrl-C while the program is still loading ends it quietly."""

from __future__ import annotations

import sys


def main() -> int:
    # Loading the command line and all it imports takes seconds on a slow host; a Ctrl-C or
    # SIGINT in that time must end the program like one received later (no traceback, the
    # shell's exit code for an interrupt), so the import happens here, behind the handler.
    try:
        from bot.cli import main as program
    except KeyboardInterrupt:
        return 130
    return program()


if __name__ == "__main__":
    sys.exit(main())
