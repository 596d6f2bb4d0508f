#!/usr/bin/env python3
"""Train a MyXTTS model: ``python3 train_main.py --help``.

Kept for users' scripts; the same command is installed as ``myxtts-train`` and
``python -m myxtts train``. The logic lives in :mod:`myxtts.cli.train`.
"""

import sys

from myxtts.cli.train import build_parser, main  # noqa: F401  (re-exported for scripts)

if __name__ == "__main__":
    sys.exit(main())
