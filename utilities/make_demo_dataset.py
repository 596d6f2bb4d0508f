#!/usr/bin/env python3
"""Build the built-in espeak-ng demo dataset: ``python3 utilities/make_demo_dataset.py --help``.

Kept for users' scripts; installed as ``myxtts-demo-data`` and ``python -m myxtts demo-data``.
The logic lives in :mod:`myxtts.cli.demo_data`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from myxtts.cli.demo_data import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
