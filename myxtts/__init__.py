"""MyXTTS: voice-cloning text-to-speech training on TensorFlow/Keras that converges.

Importing the package has no side effects: no TensorFlow import, no logging setup, no
device probing and no file writes. The command-line entry points configure those.
``from myxtts import Synthesizer`` imports TensorFlow only when that name is used.
"""

__version__ = "0.1.0"

__all__ = ["Synthesizer", "__version__"]

#: Public names imported on first use (module-level ``__getattr__``, PEP 562).
_LAZY = {"Synthesizer": "myxtts.inference.synthesizer"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'myxtts' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
