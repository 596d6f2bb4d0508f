"""Read a training log (our JSONL / text log, generic CSV, JSONL, tables or text lines) into LogData.

Pasted logs are unwrapped first (code fences, ``> `` quotes, table rules; see ``textformats``).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from myxtts.diagnosis.logdata import (
    LogData,
    LogReadError,
    Record,
    canonical_key,
    is_loss_key,
    is_val_key,
    to_float,
)
from myxtts.diagnosis.textformats import find_table, line_event, parse_line, table_row, unwrap

_EVENT_RE = re.compile(r"\bEVENT\s+step\s+(\d+)\s+([A-Za-z_]+):?\s*(.*)$")
_VAL_RE = re.compile(r"\bVAL\b")
_OUR_TEXT_RE = re.compile(r"\bINFO\s+step\s+\d+\s")
_HEADER_CELL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ /.-]*$")
_POSITION_KEYS = ("step", "epoch", "_seq")
_OUR_TYPES = ("train", "val", "event")
_EXPECTED = (
    "expected MyXTTS training.log / train_log.jsonl, a CSV or JSONL with 'step' and 'loss' "
    "columns, a table with a header row, or lines like 'step 300 loss=2.5' "
    "(see docs/DIAGNOSE_PLATEAU.md for all accepted formats)"
)
RESUME_CONTEXT = 3  # records before/after a resume whose median loss is compared


def read_log(path: str | Path) -> LogData:
    """Parse a log file of any supported kind. Raises LogReadError naming the file on bad input."""
    path = Path(path)
    raw = _read_lines(path)
    unwrapped = [unwrap(line) for line in raw]
    lines = [line or "" for line in unwrapped]
    markdown = any(u is None or u != r or r.lstrip().startswith("|") for u, r in zip(unwrapped, raw) if r.strip())
    if not any(line.strip() for line in lines):
        raise LogReadError(f"{path}: holds only markdown markup (code fences, quotes), no log lines")
    first = next(line.strip() for line in lines if line.strip())
    table = find_table(unwrapped)
    if first.startswith("{"):
        data, train, val = _parse_jsonl(str(path), lines)
    elif _csv_delimiter(first) is not None:
        data, train, val = _parse_csv(str(path), lines, _csv_delimiter(first) or ",")
    elif table is not None:
        data, train, val = _parse_table(str(path), lines, *table)
    else:
        data, train, val = _parse_text(str(path), lines)
    if markdown:
        data.fmt += "+markdown"
    data.lines_read = len(raw)
    if not train and not val:
        example = f"; e.g. {data.skipped_examples[0]}" if data.skipped_examples else ""
        raise LogReadError(
            f"{path}: no training metrics found in {len(raw)} lines ({_EXPECTED}){example}"
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
            obj = _dict_line(line)  # e.g. a printed Python dict: {'loss': 2.3, 'epoch': 0.5}
            if obj is None:
                data.note_skipped(line_no, line, "invalid JSON")
                continue
        if not isinstance(obj, dict):
            data.note_skipped(line_no, line, "not a JSON object")
            continue
        kind = obj.get("type")
        ours = ours or kind in _OUR_TYPES
        if kind == "event":
            data.events.append({**_event_from_json(obj), "_seq": float(line_no)})
            continue
        values = _numeric_fields(obj)
        values["_seq"] = float(line_no)
        tr, va = split_record(values, force_val=kind == "val")
        _keep(data, train, val, line_no, line, tr, None if kind == "train" else va)
    data.fmt = "myxtts-jsonl" if ours else "jsonl"
    return data, train, val


def _dict_line(line: str) -> dict[str, object] | None:
    """Metrics of a line that looks like a dict but is not JSON (single quotes), or None."""
    values, _ = parse_line(line.replace("'", " ").replace('"', " "))
    return values if any(is_loss_key(k) for k in values) else None


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
        _keep(data, train, val, line_no, line, *split_record(values))
    return data, train, val


def _keep(data: LogData, train: list[Record], val: list[Record], line_no: int, line: str,
          tr: Record | None, va: Record | None) -> None:
    """Append a line's train and validation records, or note it skipped when it has none."""
    if tr is None and va is None:
        data.note_skipped(line_no, line, "no loss value")
    if tr is not None:
        train.append(tr)
    if va is not None:
        val.append(va)


def _parse_table(source: str, lines: list[str], header_at: int,
                 keys: list[str]) -> tuple[LogData, list[Record], list[Record]]:
    """A table with a header row (whitespace-aligned or markdown pipes), e.g. ``Step  Train Loss``."""
    data = LogData(source=source, fmt="table")
    train: list[Record] = []
    val: list[Record] = []
    for line_no, line in enumerate(lines, 1):
        if not line.strip() or line_no == header_at + 1:
            continue
        values = table_row(line, keys) if line_no > header_at + 1 else None
        if values is None:
            data.note_skipped(line_no, line, "not a row of the table" if line_no > header_at else "before the table")
            continue
        values["_seq"] = float(line_no)
        _keep(data, train, val, line_no, line, *split_record(values))
    return data, train, val


def _parse_text(source: str, lines: list[str]) -> tuple[LogData, list[Record], list[Record]]:
    data = LogData(source=source, fmt="text")
    train: list[Record] = []
    val: list[Record] = []
    ours = False
    shapes: Counter[str] = Counter()
    epoch_context: float | None = None
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        event = _EVENT_RE.search(line)
        if event:
            ours = True
            data.events.append({"step": float(event.group(1)), "event": event.group(2),
                                "message": event.group(3).strip(), "_seq": float(line_no)})
            continue
        values, shape = parse_line(line)
        if not any(is_loss_key(k) or k == "alignment_score" for k in values):
            found = line_event(line)
            if found is not None:
                data.events.append({**found, "_seq": float(line_no)})
            elif shape == "text" and "epoch" in values and len(values) <= 2:
                epoch_context = values["epoch"]
            else:
                data.note_skipped(line_no, line, "no loss value")
            continue
        if "step" not in values and "epoch" not in values and epoch_context is not None:
            values["epoch"] = epoch_context
        ours = ours or bool(_OUR_TEXT_RE.search(line))
        shapes[shape] += 1
        values["_seq"] = float(line_no)
        tr, va = split_record(values, force_val=bool(_VAL_RE.search(line)))
        if tr is not None:
            train.append(tr)
        if va is not None:
            val.append(va)
    data.fmt = "myxtts-text" if ours else (shapes.most_common(1)[0][0] if shapes else "text")
    return data, train, val


def assign_positions(data: LogData, train: list[Record], val: list[Record]) -> None:
    """Give every record an ``x`` (step, else epoch, else its line number) and keep only the latest
    history when a resumed run logs steps again (records at or after a rewound step are dropped).
    Resumes (the position going back, or a resume event) are kept in ``data.resumes`` with the
    loss just before and just after them."""
    basis = train or val
    with_step = sum(1 for r in basis if _finite(r.get("step")))
    with_epoch = sum(1 for r in basis if _finite(r.get("epoch")))
    if with_step * 2 >= len(basis):
        data.x_unit, key = "step", "step"
    elif with_epoch * 2 >= len(basis):
        data.x_unit, key = "epoch", "epoch"
    else:
        data.x_unit, key = "record", "_seq"
    _place_events(data, train + val, key)
    data.resumes = find_resumes(train, key, data.events)
    for event in data.events:
        event.pop("_seq", None)
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


def _place_events(data: LogData, records: list[Record], key: str) -> None:
    """Events read from a line without a step (overflow, resume) get the next record's position
    (the step they belong to in the usual print order), else the last record's."""
    placed = sorted((r["_seq"], r[key]) for r in records if "_seq" in r and _finite(r.get(key)))
    if not placed:
        return
    seqs = np.array([p[0] for p in placed])
    for event in data.events:
        if event.get("step") is None and "_seq" in event:
            i = min(int(np.searchsorted(seqs, float(event["_seq"]))), len(placed) - 1)  # type: ignore[arg-type]
            event["step"] = float(placed[i][1])


def _loss_key(records: list[Record]) -> str | None:
    keys = {k for r in records for k in r if is_loss_key(k)}
    return "loss" if "loss" in keys else next(iter(sorted(keys)), None)


def find_resumes(train: list[Record], key: str, events: list[dict[str, object]]) -> list[dict[str, object]]:
    """Points where the run was resumed or restarted, in file order: the position going back, or a
    ``resume`` event. Each has the median loss of the records just before and just after it."""
    loss_key = _loss_key(train)
    rows = [r for r in sorted(train, key=lambda r: r.get("_seq", 0.0)) if _finite(r.get(key))]
    if loss_key is None or len(rows) < 2:
        return []
    xs = [float(r[key]) for r in rows]
    seqs = np.array([r.get("_seq", float(i)) for i, r in enumerate(rows)])
    points: dict[int, list[str]] = {}
    for i in range(1, len(rows)):
        if xs[i] < xs[i - 1]:
            points.setdefault(i, []).append(f"{key} went back from {xs[i - 1]:g} to {xs[i]:g}")
    for event in events:
        if event.get("event") in ("resume", "restart") and "_seq" in event:
            i = int(np.searchsorted(seqs, float(event["_seq"])))  # type: ignore[arg-type]
            if 0 < i < len(rows):
                points.setdefault(i, []).append(f"'{str(event.get('message', ''))[:60]}'")
    out = []
    for i, why in sorted(points.items()):
        before = [r[loss_key] for r in rows[:i] if loss_key in r and math.isfinite(r[loss_key])]
        after = [r[loss_key] for r in rows[i:] if loss_key in r and math.isfinite(r[loss_key])]
        before, after = before[-RESUME_CONTEXT:], after[:RESUME_CONTEXT]
        lb = float(np.median(before)) if before else None
        la = float(np.median(after)) if after else None
        factor = la / lb if lb and la is not None and lb > 0 and la > 0 else None
        out.append({"x": xs[i], "why": "; ".join(why), "loss_key": loss_key, "loss_before": lb,
                    "loss_after": la, "factor": factor})
    return out


def _finite(value: object) -> bool:
    return isinstance(value, float) and math.isfinite(value)
