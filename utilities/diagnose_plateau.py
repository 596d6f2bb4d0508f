#!/usr/bin/env python3
"""Diagnose a MyXTTS training run (plateau, divergence, overfitting, instability) and advise.

Usage: python3 utilities/diagnose_plateau.py --run-dir RUN [--json] [--plot out.png]
       python3 utilities/diagnose_plateau.py --log-file training.log
Exit codes: 0 improving, 1 plateau/overfitting, 2 diverging/unstable, 3 insufficient data,
64 usage or bad input. Full guide: docs/DIAGNOSE_PLATEAU.md. Logic lives in myxtts.diagnosis.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from myxtts.diagnosis.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
