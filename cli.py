"""Shim so ``python cli.py ...`` works from a checkout; the installed command is ``synprobe``."""

from synprobe.cli import main

if __name__ == "__main__":
    main()
