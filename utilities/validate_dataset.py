#!/usr/bin/env python3
"""Check a dataset before training: ``python3 utilities/validate_dataset.py DIR [--json]``.

Installed as ``myxtts-validate`` and ``python -m myxtts validate``. The logic lives in
:mod:`myxtts.cli.validate`. Exit status 0 means every row is usable.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from myxtts.cli.validate import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
