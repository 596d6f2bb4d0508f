"""Kept for tools that look for it: everything is declared in pyproject.toml.

``pip install .`` (or ``pip install -e ".[test]"``) reads pyproject.toml; dependencies come
from requirements.txt and the extras from requirements-<extra>.txt, one source each.
"""

from setuptools import setup

setup()
