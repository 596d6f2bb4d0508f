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
    ``language`` (the default language, "en"|"fa"), optionally ``espeak_voice`` (the
    default language's voice; "" = its usual one) and ``language_list()`` (the languages
    the model knows, in id order), e.g. :class:`myxtts.config.config.TextConfig`.
    Each text is normalised and phonemized in its own language (the default when none is
    given). ``symbols`` defaults to :func:`default_symbols` for the frontend and languages
    (one table covers English and Persian); pass the table saved with a checkpoint when
    resuming or synthesising.
    """

    def __init__(self, text_config: Any, symbols: SymbolTable | None = None):
        self.frontend: str = text_config.frontend
        self.language: str = text_config.language
        if self.frontend not in FRONTENDS:
            raise ValueError(f"text.frontend: unknown frontend {self.frontend!r}; "
                             f"expected one of {', '.join(FRONTENDS)}")
        listed = getattr(text_config, "language_list", None)
        self.languages: tuple[str, ...] = tuple(listed()) if listed else (self.language,)
        for name, where in [(self.language, "text.language")] + [(n, "text.languages")
                                                                 for n in self.languages]:
            if name not in SUPPORTED_LANGUAGES:
                raise ValueError(f"{where}: unsupported language {name!r}; "
                                 f"expected one of {', '.join(SUPPORTED_LANGUAGES)}")
        if self.language not in self.languages:
            raise ValueError(f"text.language {self.language!r} is not one of text.languages "
                             f"({', '.join(self.languages)})")
        self.voices = {name: DEFAULT_ESPEAK_VOICES[name] for name in self.languages}
        self.voices[self.language] = (getattr(text_config, "espeak_voice", "")
                                      or DEFAULT_ESPEAK_VOICES[self.language])
        self.voice: str = self.voices[self.language]
        table_language = "fa" if "fa" in self.languages else self.language
        self._symbols = symbols if symbols is not None else default_symbols(self.frontend,
                                                                            table_language)
        self._phonemizers: dict[str, EspeakPhonemizer] = {}
        if self.frontend == "phonemes":
            self._phonemizers[self.language] = EspeakPhonemizer(self.voice)
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

    # ---------------------------------------------------------------- languages

    def resolve_language(self, language: str | None) -> str:
        """``language`` checked against the model's languages (None or "" = the default).

        ValueError naming the language and the ones known.
        """
        if not language:
            return self.language
        if language not in self.languages:
            raise ValueError(f"language {language!r} is not known by this model; it knows "
                             f"{', '.join(self.languages)} (default {self.language})")
        return language

    def language_id(self, language: str | None = None) -> int:
        """The id of ``language`` (the default when None) for the language embedding."""
        return self.languages.index(self.resolve_language(language))

    def _phonemizer(self, language: str) -> EspeakPhonemizer:
        if language not in self._phonemizers:
            self._phonemizers[language] = EspeakPhonemizer(self.voices[language])
        return self._phonemizers[language]

    # ---------------------------------------------------------------- text -> symbols

    def normalize(self, text: str, language: str | None = None) -> str:
        """The normalised text for ``language`` (default: this tokenizer's language)."""
        return normalize_text(text, self.resolve_language(language))

    def to_symbol_string(self, text: str, language: str | None = None) -> str:
        """The string whose characters are the tokens: phonemes or normalised text.

        Raises ValueError naming ``text`` if nothing is left after normalisation.
        """
        return self.to_symbol_strings([text], strict=True,
                                      languages=None if language is None else [language])[0]

    def to_symbol_strings(self, texts: Sequence[str], strict: bool = False,
                          languages: Sequence[str | None] | None = None) -> list[str]:
        """:meth:`to_symbol_string` for many texts with one espeak-ng run per language.

        ``languages`` gives each text's language (None = all in the default language).
        With ``strict=False`` a text that normalises to nothing gives "" and is counted in
        ``empty_texts`` with a warning instead of raising.
        """
        texts = list(texts)
        langs = [self.resolve_language(x) for x in (languages or [None] * len(texts))]
        if len(langs) != len(texts):
            raise ValueError(f"{len(langs)} languages for {len(texts)} texts")
        normalized = []
        for text, language in zip(texts, langs):
            norm = normalize_text(text, language)
            if not norm:
                if strict:
                    raise ValueError(f"text {text!r} is empty after normalisation "
                                     f"(language {language!r})")
                self.empty_texts += 1
                log.warning("text %r is empty after normalisation, it gives no tokens", text)
            normalized.append(norm)
        if self.frontend != "phonemes":
            return normalized
        for language in dict.fromkeys(langs):
            todo = [i for i, norm in enumerate(normalized) if norm and langs[i] == language]
            phonemes = self._phonemizer(language).phonemize_batch([normalized[i] for i in todo])
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

    def encode(self, text: str, language: str | None = None) -> list[int]:
        """Token ids for ``text`` in ``language`` (default: the tokenizer's language);
        ValueError naming the text if it yields no tokens, or naming an unknown language."""
        ids = self._ids(self.to_symbol_string(text, language))
        if not ids:
            raise ValueError(f"text {text!r} gives no known symbols")
        return ids

    def encode_batch(self, texts: Sequence[str],
                     languages: Sequence[str | None] | None = None) -> list[list[int]]:
        """Token ids for each text (one espeak-ng run per language).

        A text that yields nothing gives an empty list (counted, with a warning), so one
        bad transcript does not stop a dataset from loading.
        """
        return [self._ids(s) if s else [] for s in self.to_symbol_strings(texts,
                                                                         languages=languages)]

    def decode(self, ids: Sequence[int]) -> str:
        """The symbol string for ``ids``; padding ids are skipped."""
        pad = self._symbols.pad_id
        return "".join(self._symbols.symbol_of(int(i)) for i in ids if int(i) != pad)
