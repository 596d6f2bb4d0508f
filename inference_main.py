#!/usr/bin/env python3
"""Synthesize speech with a trained MyXTTS checkpoint: ``python3 inference_main.py --help``.

Kept for users' scripts; the same command is installed as ``myxtts-synthesize`` and
``python -m myxtts synthesize``. The logic lives in :mod:`myxtts.cli.synthesize`.
"""

import sys

from myxtts.cli.synthesize import build_parser, main  # noqa: F401  (re-exported for scripts)

if __name__ == "__main__":
    sys.exit(main())
