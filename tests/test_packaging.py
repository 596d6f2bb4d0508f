"""The package's doors: ``python -m myxtts``, and optional extras that name themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from myxtts.__main__ import COMMANDS, main
from myxtts.extras import MissingExtraError, require

ROOT = Path(__file__).resolve().parents[1]


def test_python_m_myxtts_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name} " in out


def test_unknown_or_missing_command_is_a_usage_error(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert main([]) == 2


def test_python_m_myxtts_dispatches_to_the_command():
    result = subprocess.run([sys.executable, "-m", "myxtts", "train", "--print-config",
                             "--lr", "0.004"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "learning_rate: 0.004" in result.stdout


def test_a_missing_optional_dependency_names_its_extra():
    with pytest.raises(MissingExtraError, match=r"pip install 'myxtts\[plot\]'") as info:
        require("myxtts_no_such_module_xyz", "plot", "diagnosis plots")
    assert "diagnosis plots" in str(info.value)
    assert require("json", "plot", "nothing").dumps([1]) == "[1]"
