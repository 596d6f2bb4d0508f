"""Optional dependencies: import them on first use, or fail with the extra that installs them.

Core MyXTTS (training, inference, export, diagnosis) needs only ``requirements.txt``. A few
features need more; each belongs to one extra of ``pyproject.toml``:

=========== ============================================ =====================================
extra       what it installs                             what needs it
=========== ============================================ =====================================
``plot``    matplotlib                                   ``myxtts-diagnose --plot``
``eval``    faster-whisper + bundled Whisper, pymcd, ...   CER, reference MCD, benchmarks
``quality`` speechmos (DNSMOS ONNX models), onnxruntime  naturalness score (vocoder benchmark)
``speaker`` resemblyzer (GE2E encoder; pulls PyTorch)      speaker similarity / identification
``test``    pytest, matplotlib, tensorboard              the test suite
=========== ============================================ =====================================
"""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``extra``.

    ``purpose`` completes "... is needed for <purpose>".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise MissingExtraError(
            f"{top} is needed for {purpose} but is not installed ({exc}); install it with "
            f"pip install 'myxtts[{extra}]' (from a clone: pip install '.[{extra}]')") from None
