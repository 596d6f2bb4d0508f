"""Text to token ids: normalise, phonemize (phoneme frontend), map characters to ids.

Each unicode character of the normalised text (characters frontend) or of the phoneme
string (phonemes frontend) is one token. Characters missing from the symbol table are
dropped and counted in ``unknown_symbol_counts``; the first sighting of each logs a warning.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Sequence

from myxtts.text.normalizers import SUPPORTED_LANGUAGES, normalize_text
from myxtts.text.phonemizer import EspeakPhonemizer
from myxtts.text.symbols import FRONTENDS, SymbolTable, default_symbols

__all__ = ["Tokenizer", "DEFAULT_ESPEAK_VOICES"]

log = logging.getLogger(__name__)

DEFAULT_ESPEAK_VOICES = {"en": "en-us", "fa": "fa"}


class Tokenizer:
    """Turns text into symbol ids according to a text config.

    ``text_config`` is any object with ``frontend`` ("phonemes"|"characters"),
    ``language`` ("en"|"fa") and optionally ``espeak_voice`` ("" = language default),
    e.g. :class:`myxtts.config.config.TextConfig`. ``symbols`` defaults to
    :func:`default_symbols` for that frontend and language (pass the table saved with a
    checkpoint when resuming or synthesising).
    """

    def __init__(self, text_config: Any, symbols: SymbolTable | None = None):
        self.frontend: str = text_config.frontend
        self.language: str = text_config.language
        if self.frontend not in FRONTENDS:
            raise ValueError(f"text.frontend: unknown frontend {self.frontend!r}; "
                             f"expected one of {', '.join(FRONTENDS)}")
        if self.language not in SUPPORTED_LANGUAGES:
            raise ValueError(f"text.language: unsupported language {self.language!r}; "
                             f"expected one of {', '.join(SUPPORTED_LANGUAGES)}")
        self.voice: str = (getattr(text_config, "espeak_voice", "")
                           or DEFAULT_ESPEAK_VOICES[self.language])
        self._symbols = symbols if symbols is not None else default_symbols(self.frontend,
                                                                            self.language)
        self._phonemizer = EspeakPhonemizer(self.voice) if self.frontend == "phonemes" else None
        self.unknown_symbol_counts: Counter[str] = Counter()
        self.empty_texts = 0

    @property
    def symbols(self) -> SymbolTable:
        """The symbol table ids refer to."""
        return self._symbols

    @property
    def num_symbols(self) -> int:
        """Vocabulary size (embedding rows needed)."""
        return len(self._symbols)

    # ---------------------------------------------------------------- text -> symbols

    def normalize(self, text: str) -> str:
        """The normalised text for this tokenizer's language."""
        return normalize_text(text, self.language)

    def to_symbol_string(self, text: str) -> str:
        """The string whose characters are the tokens: phonemes or normalised text.

        Raises ValueError naming ``text`` if nothing is left after normalisation.
        """
        return self.to_symbol_strings([text], strict=True)[0]

    def to_symbol_strings(self, texts: Sequence[str], strict: bool = False) -> list[str]:
        """:meth:`to_symbol_string` for many texts with one espeak-ng run.

        With ``strict=False`` a text that normalises to nothing gives "" and is counted in
        ``empty_texts`` with a warning instead of raising.
        """
        normalized = []
        for text in texts:
            norm = self.normalize(text)
            if not norm:
                if strict:
                    raise ValueError(f"text {text!r} is empty after normalisation "
                                     f"(language {self.language!r})")
                self.empty_texts += 1
                log.warning("text %r is empty after normalisation, it gives no tokens", text)
            normalized.append(norm)
        if self._phonemizer is None:
            return normalized
        todo = [i for i, norm in enumerate(normalized) if norm]
        phonemes = self._phonemizer.phonemize_batch([normalized[i] for i in todo])
        for i, ph in zip(todo, phonemes):
            normalized[i] = ph
        return normalized

    # ---------------------------------------------------------------- symbols -> ids

    def _ids(self, symbol_string: str) -> list[int]:
        ids: list[int] = []
        for char in symbol_string:
            symbol_id = self._symbols.get_id(char)
            if symbol_id is None:
                if char not in self.unknown_symbol_counts:
                    log.warning("symbol %r (U+%04X) is not in the symbol table; it is dropped "
                                "(see Tokenizer.unknown_symbol_counts)", char, ord(char))
                self.unknown_symbol_counts[char] += 1
                continue
            ids.append(symbol_id)
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids for ``text``; ValueError naming the text if it yields no tokens."""
        ids = self._ids(self.to_symbol_string(text))
        if not ids:
            raise ValueError(f"text {text!r} gives no known symbols")
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids for each text (one espeak-ng run for all).

        A text that yields nothing gives an empty list (counted, with a warning), so one
        bad transcript does not stop a dataset from loading.
        """
        return [self._ids(s) if s else [] for s in self.to_symbol_strings(texts)]

    def decode(self, ids: Sequence[int]) -> str:
        """The symbol string for ``ids``; padding ids are skipped."""
        pad = self._symbols.pad_id
        return "".join(self._symbols.symbol_of(int(i)) for i in ids if int(i) != pad)
