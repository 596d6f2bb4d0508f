"""Helpers shared by the command-line entry points ``train_main.py`` and ``inference_main.py``.

Importing this package has no side effects and does not import TensorFlow: the
entry points call :func:`myxtts.cli.runtime.configure_runtime` themselves.
"""
