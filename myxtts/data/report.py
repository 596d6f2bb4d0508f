"""The validation report: every dropped row counted by reason, with examples."""

from __future__ import annotations

from pathlib import Path

from myxtts.data.metadata import Utterance

#: Reasons a row is dropped, in the order checks run and the report lists them.
REASONS = (
    "unsafe id", "duplicate id", "unknown language", "empty text", "unknown characters", "unknown symbols",
    "missing audio", "audio does not decode", "empty audio", "silent audio",
    "too short", "too long", "fewer frames than tokens",
)


class ValidationReport:
    """Counts of dropped rows per reason (with where/why details) and notes on kept rows.

    Notes are fixes applied on the fly (resampling, mixing down to mono); each distinct
    kind is reported once with a count.
    """

    def __init__(self, source: str | Path, fmt: str, part: str = "data"):
        self.source = str(source)
        self.format = fmt
        self.part = part
        self.rows = 0
        self.problems: dict[str, list[str]] = {}
        self.notes: dict[str, list[str]] = {}

    def drop(self, reason: str, utt: Utterance, detail: str) -> None:
        """Record that ``utt`` is dropped for ``reason`` (one of :data:`REASONS`)."""
        if reason not in REASONS:
            raise ValueError(f"unknown validation reason {reason!r}")
        self.problems.setdefault(reason, []).append(f"{utt.where}: {detail}")

    def note(self, kind: str, utt: Utterance) -> None:
        """Record a fix applied to a kept row (e.g. ``resampled 8000 Hz -> 22050 Hz``)."""
        self.notes.setdefault(kind, []).append(utt.where)

    @property
    def dropped(self) -> int:
        return sum(len(v) for v in self.problems.values())

    @property
    def valid(self) -> int:
        return self.rows - self.dropped

    @property
    def clean(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        """Dropped rows per reason, in :data:`REASONS` order."""
        return {r: len(self.problems[r]) for r in REASONS if r in self.problems}

    def counts_text(self) -> str:
        """``2 missing audio, 1 empty text`` (or ``none``)."""
        return ", ".join(f"{n} {r}" for r, n in self.counts().items()) or "none"

    def summary(self) -> str:
        return (f"{self.part} {self.source} ({self.format}): {self.rows} rows, "
                f"{self.valid} valid, {self.dropped} dropped")

    def text(self, examples: int = 3) -> str:
        """A readable report: a summary line, then each reason with up to ``examples`` rows."""
        lines = [self.summary()]
        for reason, count in self.counts().items():
            lines.append(f"  {reason}: {count}")
            shown = self.problems[reason][:examples]
            lines += [f"      {item}" for item in shown]
            if count > len(shown):
                lines.append(f"      ... and {count - len(shown)} more")
        for kind, where in self.notes.items():
            lines.append(f"  kept, {kind}: {len(where)} (e.g. {where[0]})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"part": self.part, "source": self.source, "format": self.format,
                "rows": self.rows, "valid": self.valid, "dropped": self.dropped,
                "counts": self.counts(),
                "problems": {r: self.problems[r] for r in self.counts()},
                "notes": {k: {"count": len(v), "rows": v} for k, v in self.notes.items()}}
