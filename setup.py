"""Packaging for MyXTTS: ``pip install -e .`` (core) or ``pip install -e ".[eval]"`` (with the
optional evaluation extras). Dependencies are read from requirements*.txt, the single source."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def requirements(name: str) -> list[str]:
    """Requirement lines of ``name`` without comments and blank lines."""
    lines = (re.sub(r"\s+#.*$", "", line).strip()
             for line in (HERE / name).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def version() -> str:
    text = (HERE / "myxtts" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


setup(
    name="myxtts",
    version=version(),
    description="Voice-cloning text-to-speech training on TensorFlow/Keras that converges",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["myxtts", "myxtts.*"]),
    python_requires=">=3.11",
    install_requires=requirements("requirements.txt"),
    extras_require={"eval": requirements("requirements-eval.txt")},
)
