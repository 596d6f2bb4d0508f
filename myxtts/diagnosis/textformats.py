"""Line formats of pasted training output: markdown wrapping, tables and per-line log patterns.

Users paste logs from other frameworks, often wrapped in markdown. ``unwrap`` removes code
fences, ``> `` quote markers and table separator rows; ``find_table`` locates a table with a
header row (whitespace-aligned or pipe-delimited); ``parse_line`` reads one text line in any of
the known shapes (progress bars, Tacotron-style and NVIDIA-style lines, ``key=value`` text) and
``line_event`` recognises lines that report a skipped step or a resume.
"""

from __future__ import annotations

import re

from myxtts.diagnosis.logdata import canonical_key, is_loss_key, to_float

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
KV_RE = re.compile(rf"(?<![\w.])([A-Za-z][A-Za-z0-9_]*)(?:\s*[:=]\s*|\s+)({NUM})(?![\w.])", re.I)
_ASSIGN_RE = re.compile(rf"([A-Za-z][A-Za-z0-9_/.]*)\s*=\s*({NUM})(?![\w.])", re.I)
_QUOTE_RE = re.compile(r"^\s*(?:>\s?)+")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_HEADER_CELL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ()/.-]*$")
_EMPTY_CELLS = ("", "-", "n/a", "na", "none", "no log", "null")
# "Epoch 474:  67%|######6   | 53/79 [00:12<00:06,  4.21it/s, loss=16.7, v_num=1]"
_PROGRESS_RE = re.compile(r"^(?P<prefix>.*?)\s*\d{1,3}%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)\s*\[(?P<inside>[^\]]*)\]?")
_EPOCH_PREFIX_RE = re.compile(r"\bepoch\s*(\d+)", re.I)
# "Train loss 12005 5.318559 Grad Norm inf 1.75s/it" and "Validation loss 12000:  5.1230"
_NVIDIA_TRAIN_RE = re.compile(rf"\bTrain loss\s+(\d+)\s+({NUM})\s+Grad Norm\s+({NUM})", re.I)
_NVIDIA_VAL_RE = re.compile(rf"\bValidation loss\s+(\d+):?\s+({NUM})", re.I)
_OVERFLOW_RE = re.compile(
    r"gradient overflow|overflow detected|skipping (?:this )?(?:step|batch|update|iteration)"
    r"|skipped (?:step|update|batch)|loss (?:exploded|is nan|became nan)|found (?:nan|inf)", re.I)
_RESUME_RE = re.compile(
    r"\bresum(?:e|ed|ing)\b|\brestor(?:e|ed|ing)\b|\bload(?:ed|ing)?\s+(?:the\s+)?(?:model\s+)?checkpoint"
    r"|\bwarm[- ]start(?:ed|ing)?\b", re.I)
_TACOTRON_RE = re.compile(r"^\s*Step\s+\d+\s*\[[^\]]*\bloss\s*=", re.I)  # "Step 12250 [0.87 sec/step, loss=..."
_STEP_IN_LINE_RE = re.compile(r"\b(?:step|iteration)\s+(\d+)", re.I)
_SUFFIXES = ("_step",)  # PyTorch Lightning logs "train_loss_step" (per batch) next to "_epoch"


def unwrap(line: str) -> str | None:
    """The log text of one pasted line: quote markers removed; None for pure markdown markup
    (code fences, table separator rows)."""
    text = _QUOTE_RE.sub("", line)
    if _FENCE_RE.match(text) or _TABLE_RULE_RE.match(text):
        return None
    return text


def metric_key(name: str) -> str:
    """Canonical key of a metric name, with a per-batch suffix removed (``loss_step`` -> ``loss``)."""
    key = canonical_key(name)
    for suffix in _SUFFIXES:
        stripped = key[: -len(suffix)]
        if key.endswith(suffix) and is_loss_key(canonical_key(stripped)):
            return canonical_key(stripped)
    return key


def split_cells(line: str) -> list[str]:
    """Cells of a table row: pipe-delimited when the row starts with ``|``, else separated by tabs
    or runs of 2+ spaces (header names may hold single spaces), else by single spaces."""
    text = line.strip()
    if text.startswith("|"):
        return [c.strip() for c in text.strip("|").split("|")]
    cells = [c for c in re.split(r"\t+|\s{2,}", text) if c]
    return cells if len(cells) > 1 else text.split()


def _data_cells(line: str, width: int) -> list[str] | None:
    """Cells of a data row with ``width`` columns (numbers or empty markers), else None."""
    text = re.sub(r"\bno log\b", "-", line.strip(), flags=re.I)
    cells = split_cells(text) if text.startswith("|") else text.split()
    if len(cells) != width:
        return None
    values = [c.strip().lower() for c in cells]
    if not all(to_float(v) is not None or v in _EMPTY_CELLS for v in values):
        return None
    return cells if any(to_float(v) is not None for v in values) else None


def table_header(line: str) -> list[str] | None:
    """Canonical column keys when ``line`` is a table header naming a step/epoch or loss column."""
    cells = split_cells(line)
    if len(cells) < 2 or not all(_HEADER_CELL_RE.match(c) for c in cells):
        return None
    keys = [metric_key(re.sub(r"\s*\(.*\)$", "", c)) for c in cells]
    if not ({"step", "epoch"} & set(keys) or any(is_loss_key(k) for k in keys)):
        return None
    return keys


def find_table(lines: list[str | None]) -> tuple[int, list[str]] | None:
    """(index of the header line, column keys) of the first header followed by a matching data row."""
    for i, line in enumerate(lines):
        if not line or not line.strip():
            continue
        keys = table_header(line)
        if keys is None:
            continue
        following = next((x for x in lines[i + 1:] if x is not None and x.strip()), None)
        if following is not None and _data_cells(following, len(keys)) is not None:
            return i, keys
    return None


def table_row(line: str, keys: list[str]) -> dict[str, float] | None:
    """Numeric values of one data row of a table, or None when the row does not fit the header."""
    cells = _data_cells(line, len(keys))
    if cells is None:
        return None
    out = {}
    for key, cell in zip(keys, cells):
        number = to_float(cell)
        if number is not None:
            out[key] = number
    return out


def _progress_values(line: str) -> dict[str, float] | None:
    """A tqdm / PyTorch-Lightning progress line: metrics after the rate, positioned by the batch
    counter (a fraction of the epoch when the bar names one, else the counter is the step)."""
    match = _PROGRESS_RE.search(line)
    if not match:
        return None
    values = {metric_key(k): float(v) for k, v in _ASSIGN_RE.findall(match.group("inside"))}
    n, total = int(match.group("n")), int(match.group("total"))
    epoch = _EPOCH_PREFIX_RE.search(match.group("prefix"))
    if epoch:
        values["epoch"] = int(epoch.group(1)) + min(n, total) / (total + 1.0)
    else:
        values["step"] = float(n)
    return values


def parse_line(line: str) -> tuple[dict[str, float], str]:
    """(metrics with canonical keys, shape name) of one text line; metrics may be empty."""
    match = _NVIDIA_TRAIN_RE.search(line)
    if match:
        return {"step": float(match.group(1)), "loss": float(match.group(2)),
                "grad_norm": float(match.group(3))}, "nvidia"
    match = _NVIDIA_VAL_RE.search(line)
    if match:
        return {"step": float(match.group(1)), "val_loss": float(match.group(2))}, "nvidia"
    progress = _progress_values(line)
    if progress is not None:
        return progress, "progress-bar"
    text = line.strip()
    if text.startswith("|"):  # a log line pasted inside a markdown table cell
        text = " ".join(c.strip() for c in text.strip("|").split("|"))
    shape = "tacotron" if _TACOTRON_RE.match(text) else "text"
    return {metric_key(k): float(v) for k, v in KV_RE.findall(text)}, shape


def line_event(line: str) -> dict[str, object] | None:
    """An ``overflow`` (skipped step) or ``resume`` event for lines that report one, else None.
    The event's step is the one named in the line, or None (then: the next record's position)."""
    for name, pattern in (("overflow", _OVERFLOW_RE), ("resume", _RESUME_RE)):
        if pattern.search(line):
            step = _STEP_IN_LINE_RE.search(line)
            return {"step": float(step.group(1)) if step else None, "event": name,
                    "message": line.strip()[:200]}
    return None
