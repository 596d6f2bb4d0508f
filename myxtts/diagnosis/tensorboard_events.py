"""Optional: TensorBoard event files -> LogData. Used only when a run has no text/JSONL log.

``tensorboard`` or ``tensorflow`` is imported lazily inside ``read_event_scalars`` so that the
diagnosis tool starts fast and works without either package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from myxtts.diagnosis.logdata import LogData, LogReadError, Record, canonical_key
from myxtts.diagnosis.readers import assign_positions, split_record

_TRAIN_PREFIXES = ("train/", "training/", "train_", "epoch_")
_VAL_PREFIXES = ("val/", "validation/", "eval/")


def tag_to_key(tag: str, in_validation_dir: bool = False) -> str:
    """Map a scalar tag (``train/mel_loss``, ``validation/epoch_loss``, ``lr``) to our metric name."""
    name = tag.strip().lower()
    is_val = in_validation_dir
    for prefix in _VAL_PREFIXES:
        if name.startswith(prefix):
            name, is_val = name[len(prefix):], True
    for prefix in _TRAIN_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    name = canonical_key(name.replace("/", "_"))
    if is_val and not name.startswith("val_") and name != "alignment_score":
        name = f"val_{name}"
    return name


def scalars_to_log(source: str, items: Iterable[tuple[str, int, float, bool]]) -> LogData:
    """Build LogData from (tag, step, value, in_validation_dir) scalars grouped by step."""
    by_step: dict[int, dict[str, float]] = {}
    for tag, step, value, in_val in items:
        by_step.setdefault(int(step), {})[tag_to_key(tag, in_val)] = float(value)
    data = LogData(source=source, fmt="tensorboard")
    train: list[Record] = []
    val: list[Record] = []
    for step in sorted(by_step):
        tr, va = split_record({"step": float(step), **by_step[step]})
        if tr is not None:
            train.append(tr)
        if va is not None:
            val.append(va)
    if not train and not val:
        raise LogReadError(f"{source}: TensorBoard events hold no loss scalars")
    assign_positions(data, train, val)
    return data


def read_event_scalars(files: list[Path]) -> Iterator[tuple[str, int, float, bool]]:
    """Yield scalars from event files (lazy import of tensorboard, else tensorflow)."""
    loader, to_array = _backend()
    for path in files:
        in_val = any(part.lower() in ("validation", "val", "eval") for part in path.parts)
        for event in loader(str(path)):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    yield value.tag, event.step, float(value.simple_value), in_val
                elif value.HasField("tensor"):
                    array = to_array(value.tensor)
                    if array.size == 1 and array.dtype.kind == "f":
                        yield value.tag, event.step, float(array.reshape(())), in_val


def _backend():  # type: ignore[no-untyped-def]
    """(event iterator factory, tensor proto -> ndarray) from tensorboard or tensorflow."""
    try:
        from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
        from tensorboard.util import tensor_util

        return (lambda p: EventFileLoader(p).Load()), tensor_util.make_ndarray
    except ImportError:
        pass
    try:
        import tensorflow as tf  # noqa: PLC0415 - lazy on purpose (slow import)

        return tf.compat.v1.train.summary_iterator, tf.make_ndarray
    except ImportError as exc:
        raise LogReadError(
            "TensorBoard event files found but neither tensorboard nor tensorflow is installed"
        ) from exc


def read_events_dir(run_dir: Path, files: list[Path]) -> LogData:
    """LogData from all event files of a run directory."""
    return scalars_to_log(str(run_dir), read_event_scalars(files))
