"""Process setup for the command-line tools: TensorFlow log level, logging, exit codes."""

from __future__ import annotations

import logging
import os
import sys

#: Exit status for bad input (arguments, config, data, checkpoints, refused writes).
EXIT_USAGE = 2
#: Exit status after Ctrl-C.
EXIT_INTERRUPTED = 130


class CLIError(Exception):
    """A user-facing error: the message is printed as ``error: ...`` and the tool exits 2."""


def configure_runtime(verbose: bool = False) -> None:
    """Quiet TensorFlow's C++ logs (unless the user set the variable) and log INFO to stderr.

    Must run before TensorFlow is imported for ``TF_CPP_MIN_LOG_LEVEL`` to take effect.
    Does nothing to logging if the root logger already has handlers (e.g. under pytest).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger("absl").setLevel(logging.WARNING)  # TensorFlow's chatty INFO lines


def fail(message: str) -> int:
    """Print ``error: message`` to stderr and return :data:`EXIT_USAGE`."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_USAGE
