"""Read a training log (our JSONL / text log, generic CSV, JSONL or plain text lines) into LogData."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

from myxtts.diagnosis.logdata import (
    LogData,
    LogReadError,
    Record,
    canonical_key,
    is_loss_key,
    is_val_key,
    to_float,
)

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)"
_KV_RE = re.compile(rf"(?<![\w.])([A-Za-z][A-Za-z0-9_]*)(?:\s*[:=]\s*|\s+)({_NUM})(?![\w.])", re.I)
_EVENT_RE = re.compile(r"\bEVENT\s+step\s+(\d+)\s+([A-Za-z_]+):?\s*(.*)$")
_VAL_RE = re.compile(r"\bVAL\b")
_OUR_TEXT_RE = re.compile(r"\bINFO\s+step\s+\d+\s")
_HEADER_CELL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ /.-]*$")
_POSITION_KEYS = ("step", "epoch", "_seq")
_OUR_TYPES = ("train", "val", "event")
_EXPECTED = (
    "expected MyXTTS training.log / train_log.jsonl, a CSV or JSONL with 'step' and 'loss' "
    "columns, or lines like 'step 300 loss=2.5'"
)


def read_log(path: str | Path) -> LogData:
    """Parse a log file of any supported kind. Raises LogReadError naming the file on bad input."""
    path = Path(path)
    lines = _read_lines(path)
    first = next(line.strip() for line in lines if line.strip())
    if first.startswith("{"):
        data, train, val = _parse_jsonl(str(path), lines)
    elif _csv_delimiter(first) is not None:
        data, train, val = _parse_csv(str(path), lines, _csv_delimiter(first) or ",")
    else:
        data, train, val = _parse_text(str(path), lines)
    data.lines_read = len(lines)
    if not train and not val:
        example = f"; e.g. {data.skipped_examples[0]}" if data.skipped_examples else ""
        raise LogReadError(
            f"{path}: no training metrics found in {len(lines)} lines ({_EXPECTED}){example}"
        )
    assign_positions(data, train, val)
    if not data.train and not data.val:
        raise LogReadError(f"{path}: no record has a step, epoch or position to plot against")
    return data


def _read_lines(path: Path) -> list[str]:
    """The file's lines; clear errors for missing, unreadable and empty files."""
    if not path.exists():
        raise LogReadError(f"{path}: log file not found")
    if path.is_dir():
        raise LogReadError(f"{path}: is a directory, not a log file (use --run-dir for run folders)")
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise LogReadError(f"{path}: cannot read log file ({exc.strerror or exc})") from exc
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise LogReadError(f"{path}: log file is empty")
    return lines


def split_record(values: dict[str, float], force_val: bool = False) -> tuple[Record | None, Record | None]:
    """Split one flat record into a train part and a val part (each None when it holds no metric)."""
    position = {k: values[k] for k in _POSITION_KEYS if k in values}
    train: Record = {}
    val: Record = {}
    for key, value in values.items():
        if key in _POSITION_KEYS:
            continue
        target = val if (force_val or is_val_key(key)) else train
        if force_val and not is_val_key(key) and is_loss_key(key):
            key = f"val_{key}"
        target[key] = value
    train_rec = {**position, **train} if any(is_loss_key(k) for k in train) else None
    has_val = any(is_loss_key(k) or k == "alignment_score" for k in val)
    return train_rec, ({**position, **val} if has_val else None)


def _numeric_fields(obj: dict[str, object]) -> dict[str, float]:
    """Numeric fields of a JSON object / CSV row with canonical keys."""
    out: dict[str, float] = {}
    for key, value in obj.items():
        number = to_float(value)
        if number is not None:
            out[canonical_key(str(key))] = number
    return out


def _parse_jsonl(source: str, lines: list[str]) -> tuple[LogData, list[Record], list[Record]]:
    data = LogData(source=source, fmt="jsonl")
    train: list[Record] = []
    val: list[Record] = []
    ours = False
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            data.note_skipped(line_no, line, "invalid JSON")
            continue
        if not isinstance(obj, dict):
            data.note_skipped(line_no, line, "not a JSON object")
            continue
        kind = obj.get("type")
        ours = ours or kind in _OUR_TYPES
        if kind == "event":
            data.events.append(_event_from_json(obj))
            continue
        values = _numeric_fields(obj)
        values["_seq"] = float(line_no)
        tr, va = split_record(values, force_val=kind == "val")
        if kind == "train":
            va = None
        if tr is None and va is None:
            data.note_skipped(line_no, line, "no loss value")
            continue
        if tr is not None:
            train.append(tr)
        if va is not None:
            val.append(va)
    data.fmt = "myxtts-jsonl" if ours else "jsonl"
    return data, train, val


def _event_from_json(obj: dict[str, object]) -> dict[str, object]:
    event: dict[str, object] = {k: v for k, v in obj.items() if k != "type"}
    event["step"] = to_float(obj.get("step"))
    event["event"] = str(obj.get("event", "unknown"))
    event["message"] = str(obj.get("message", ""))
    return event


def _csv_delimiter(first_line: str) -> str | None:
    """The delimiter when ``first_line`` is a CSV header naming a loss/step/epoch column."""
    for delim in (",", "\t", ";"):
        cells = [c.strip().strip('"') for c in first_line.split(delim)]
        if len(cells) < 2 or not all(_HEADER_CELL_RE.match(c) for c in cells):
            continue
        keys = {canonical_key(c) for c in cells}
        if keys & {"step", "epoch"} or any(is_loss_key(k) for k in keys):
            return delim
    return None


def _parse_csv(source: str, lines: list[str], delim: str) -> tuple[LogData, list[Record], list[Record]]:
    data = LogData(source=source, fmt="csv")
    rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    header = [c.strip() for c in next(csv.reader([rows[0][1]], delimiter=delim))]
    train: list[Record] = []
    val: list[Record] = []
    for line_no, line in rows[1:]:
        cells = next(csv.reader([line], delimiter=delim))
        if len(cells) != len(header):
            data.note_skipped(line_no, line, f"{len(cells)} cells, header has {len(header)}")
            continue
        values = _numeric_fields(dict(zip(header, cells)))
        values["_seq"] = float(line_no)
        tr, va = split_record(values)
        if tr is None and va is None:
            data.note_skipped(line_no, line, "no loss value")
            continue
        if tr is not None:
            train.append(tr)
        if va is not None:
            val.append(va)
    return data, train, val


def _parse_text(source: str, lines: list[str]) -> tuple[LogData, list[Record], list[Record]]:
    data = LogData(source=source, fmt="text")
    train: list[Record] = []
    val: list[Record] = []
    ours = False
    epoch_context: float | None = None
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        event = _EVENT_RE.search(line)
        if event:
            ours = True
            data.events.append(
                {"step": float(event.group(1)), "event": event.group(2), "message": event.group(3).strip()}
            )
            continue
        values = {canonical_key(k): float(v) for k, v in _KV_RE.findall(line)}
        if not any(is_loss_key(k) or k == "alignment_score" for k in values):
            if "epoch" in values and len(values) <= 2:
                epoch_context = values["epoch"]
            else:
                data.note_skipped(line_no, line, "no loss value")
            continue
        if "step" not in values and "epoch" not in values and epoch_context is not None:
            values["epoch"] = epoch_context
        ours = ours or bool(_OUR_TEXT_RE.search(line))
        values["_seq"] = float(line_no)
        tr, va = split_record(values, force_val=bool(_VAL_RE.search(line)))
        if tr is not None:
            train.append(tr)
        if va is not None:
            val.append(va)
    data.fmt = "myxtts-text" if ours else "text"
    return data, train, val


def assign_positions(data: LogData, train: list[Record], val: list[Record]) -> None:
    """Give every record an ``x`` (step, else epoch, else its line number) and keep only the latest
    history when a resumed run logs steps again (records at or after a rewound step are dropped)."""
    basis = train or val
    with_step = sum(1 for r in basis if _finite(r.get("step")))
    with_epoch = sum(1 for r in basis if _finite(r.get("epoch")))
    if with_step * 2 >= len(basis):
        data.x_unit, key = "step", "step"
    elif with_epoch * 2 >= len(basis):
        data.x_unit, key = "epoch", "epoch"
    else:
        data.x_unit, key = "record", "_seq"
    dropped = 0
    for name, records in (("train", train), ("val", val)):
        kept: list[Record] = []
        for rec in records:
            x = rec.get(key)
            if not _finite(x):
                dropped += 1
                continue
            while kept and kept[-1]["x"] >= x:
                kept.pop()
            clean = {k: v for k, v in rec.items() if k != "_seq"}
            kept.append({**clean, "x": float(x)})
        setattr(data, name, kept)
    if dropped:
        data.warnings.append(f"{dropped} records without a {key} were ignored")


def _finite(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)
