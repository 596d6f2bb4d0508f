"""IPA phonemes from espeak-ng, with punctuation kept as pause tokens.

espeak-ng drops punctuation, so text is split at ``. , ? ! ; :``; the pieces between
marks are phonemized and the marks are put back as separate tokens:
``"Hello, world."`` -> ``"həlˈoʊ wˈɜːld"`` becomes ``"həlˈoʊ , wˈɜːld ."``.
Many pieces go to one espeak-ng process, one per input line; espeak-ng answers one
line per line, which is checked, and a group whose line count does not match is redone
one piece per process.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Iterable, Sequence

__all__ = ["EspeakPhonemizer", "PAUSE_MARKS"]

PAUSE_MARKS = ".,?!;:"
_MARK_MAP = str.maketrans({"\u061f": "?", "\u060c": ",", "\u061b": ";", "\u2026": ".",
                           "\u3002": ".", "\u00a1": " ", "\u00bf": " "})
_SPLIT_RE = re.compile(r"([.,?!;:]+)")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
_LANG_SWITCH_RE = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")
# espeak-ng phoneme names that leak into --ipa output, and their IPA.
_IPA_FIXES = (("q1", "ɢ"),)
_GROUP_LINES = 500          # pieces per espeak-ng process
_LONG_PIECE_WORDS = 40      # espeak-ng splits very long clauses over several lines
_CACHE_LIMIT = 200_000


class EspeakPhonemizer:
    """Phonemize text with ``espeak-ng -q --ipa -v VOICE``; results are cached in memory."""

    def __init__(self, voice: str, executable: str = "espeak-ng"):
        if not voice:
            raise ValueError("espeak-ng voice must not be empty (e.g. 'en-us' or 'fa')")
        path = shutil.which(executable)
        if path is None:
            raise RuntimeError(f"{executable!r} was not found on PATH; the phoneme text frontend "
                               "needs it: install it with `apt-get install espeak-ng` "
                               "(or set text.frontend: characters)")
        self.voice = voice
        self._command = [path, "-q", "--ipa", "-b", "1", "-v", voice]
        self._cache: dict[str, str] = {}

    def phonemize(self, text: str) -> str:
        """IPA for ``text``: words separated by spaces, pause marks as separate tokens."""
        return self.phonemize_batch([text])[0]

    def phonemize_batch(self, texts: Sequence[str]) -> list[str]:
        """IPA for each of ``texts``, using as few espeak-ng processes as possible."""
        split = [self._split(text, index) for index, text in enumerate(texts)]
        pieces = {p for parts in split for kind, p in parts if kind == "words"}
        self._fill_cache(sorted(pieces - self._cache.keys()))
        results = []
        for parts in split:
            tokens = [self._cache[p] if kind == "words" else p for kind, p in parts]
            results.append(" ".join(t for t in tokens if t))
        return results

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _split(text: str, index: int) -> list[tuple[str, str]]:
        if not isinstance(text, str):
            raise TypeError(f"text {index} is {type(text).__name__}, expected str")
        if not text.strip():
            raise ValueError(f"cannot phonemize empty text (text {index}: {text!r})")
        text = _CONTROL_RE.sub(" ", text.translate(_MARK_MAP))
        parts: list[tuple[str, str]] = []
        for piece in _SPLIT_RE.split(text):
            if not piece.strip():
                continue
            if _SPLIT_RE.fullmatch(piece):
                marks = [m for i, m in enumerate(piece) if i == 0 or m != piece[i - 1]]
                parts.extend(("mark", m) for m in marks)
            else:
                parts.append(("words", " ".join(piece.split())))
        return parts

    def _fill_cache(self, pieces: list[str]) -> None:
        if len(self._cache) + len(pieces) > _CACHE_LIMIT:
            self._cache.clear()
        batchable = [p for p in pieces if len(p.split()) <= _LONG_PIECE_WORDS
                     and any(c.isalpha() for c in p)]
        batched = set(batchable)
        alone = [p for p in pieces if p not in batched]
        for start in range(0, len(batchable), _GROUP_LINES):
            group = batchable[start:start + _GROUP_LINES]
            lines = self._run(group)
            if len(lines) == len(group):
                self._cache.update(zip(group, (self._clean(line) for line in lines)))
            else:
                alone.extend(group)
        for piece in alone:
            self._cache[piece] = self._clean(" ".join(self._run([piece])))

    def _run(self, lines: Iterable[str]) -> list[str]:
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        try:
            proc = subprocess.run(self._command, input=data, capture_output=True,
                                  timeout=120 + len(data) / 100, check=False)
        except FileNotFoundError:
            raise RuntimeError("espeak-ng disappeared from PATH; install it with "
                               "`apt-get install espeak-ng`") from None
        if proc.returncode != 0:
            error = proc.stderr.decode("utf-8", "replace").strip()
            raise RuntimeError(f"espeak-ng failed for voice {self.voice!r} "
                               f"(exit {proc.returncode}): {error or 'no message'}")
        out = proc.stdout.decode("utf-8", "replace")
        if out.endswith("\n"):
            out = out[:-1]
        return out.split("\n") if out or data.count(b"\n") == 1 else []

    @staticmethod
    def _clean(line: str) -> str:
        line = _LANG_SWITCH_RE.sub("", line)
        for name, ipa in _IPA_FIXES:
            line = line.replace(name, ipa)
        return " ".join(line.split())
