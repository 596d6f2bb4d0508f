"""The symbol table: the one mapping between text symbols and integer ids.

Id 0 is the padding symbol ``<pad>``. Every other symbol is a single unicode
character. There is no ``<unk>`` symbol: the tokenizer counts and drops characters
that are not in the table, with a warning, so gaps in the table are visible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from myxtts.text.normalizers import PERSIAN_LETTERS, PUNCTUATION, SUPPORTED_LANGUAGES, ZWNJ

__all__ = ["PAD", "SymbolTable", "default_symbols", "FRONTENDS", "IPA_SYMBOLS"]

PAD = "<pad>"
FRONTENDS = ("phonemes", "characters")
_FORMAT = "myxtts-symbols"
_VERSION = 1

# Every character espeak-ng 1.51 emitted with --ipa for a varied word list (56k English
# words plus 20k random letter strings with voice en-us; 40k random Persian letter strings,
# ZWNJ compounds, digits and embedded English words with voice fa). espeak's "q1" for
# Persian qaf/ghain is written as the uvular stop "ɢ" by the phonemizer.
_ESPEAK_EN_FA = (
    "ˈˌː"                      # primary / secondary stress, length
    "abdefhijklmnopqrstuvwxz"  # plain Latin letters used as IPA
    "æðŋɐɑɒɔəɚɛɜɡɪɬɹɾʃʊʌʒʔθᵻɢ"
    "\u0329\u0303"            # combining syllabic mark, combining tilde (nasalisation)
)
# Further IPA that other voices or future espeak versions may produce.
_EXTRA_IPA = (
    "cgy"
    "çøœɓɕɖɗɘɞɟɠɣɤɥɦɧɨɫɭɯɰɱɲɳɵɶɸɻɽʀʁʂʄʈʉʋʍʎʏʐʑʕʙʛʜʝʟʡʢβχ"
    "ˑʰʲʷˠˤ˞ⁿ"
    "\u0325\u032a\u032f\u0361\u0306\u031a\u0348\u0339"  # voiceless, dental, non-syllabic, tie, ...
)
IPA_SYMBOLS = _ESPEAK_EN_FA + _EXTRA_IPA
_LATIN = "abcdefghijklmnopqrstuvwxyz"


class SymbolTable:
    """An ordered list of symbols; a symbol's id is its position."""

    def __init__(self, symbols: Iterable[str]):
        symbols = list(symbols)
        if not symbols or symbols[0] != PAD:
            raise ValueError(f"symbol table must start with the padding symbol {PAD!r} (id 0)")
        seen: set[str] = set()
        for position, symbol in enumerate(symbols):
            if not isinstance(symbol, str):
                raise ValueError(f"symbol {position} is {type(symbol).__name__}, expected str")
            if position > 0 and len(symbol) != 1:
                raise ValueError(f"symbol {position} ({symbol!r}) must be one character")
            if symbol in seen:
                raise ValueError(f"symbol {symbol!r} appears twice in the symbol table")
            seen.add(symbol)
        self._symbols = tuple(symbols)
        self._ids = {s: i for i, s in enumerate(self._symbols)}

    pad_id = 0

    @property
    def symbols(self) -> tuple[str, ...]:
        """All symbols, in id order."""
        return self._symbols

    def __len__(self) -> int:
        return len(self._symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._ids

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymbolTable) and self._symbols == other._symbols

    def __hash__(self) -> int:
        return hash(self._symbols)

    def __repr__(self) -> str:
        return f"SymbolTable({len(self)} symbols)"

    def id_of(self, symbol: str) -> int:
        """The id of ``symbol``; KeyError if it is not in the table."""
        try:
            return self._ids[symbol]
        except KeyError:
            raise KeyError(f"symbol {symbol!r} is not in the symbol table") from None

    def get_id(self, symbol: str) -> int | None:
        """The id of ``symbol``, or None if it is not in the table."""
        return self._ids.get(symbol)

    def symbol_of(self, symbol_id: int) -> str:
        """The symbol with id ``symbol_id``; ValueError if out of range."""
        if not 0 <= int(symbol_id) < len(self._symbols):
            raise ValueError(f"symbol id {symbol_id} out of range [0, {len(self._symbols)})")
        return self._symbols[int(symbol_id)]

    # ------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"format": _FORMAT, "version": _VERSION, "symbols": list(self._symbols)}

    def to_json(self) -> str:
        """The table as a JSON string (non-ASCII symbols are kept readable)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: Any, source: str = "symbol table") -> "SymbolTable":
        """Build from :meth:`to_dict` output (or a bare list of symbols)."""
        if isinstance(data, list):
            return cls(data)
        if not isinstance(data, dict) or not isinstance(data.get("symbols"), list):
            raise ValueError(f"{source}: expected an object with a 'symbols' list")
        if data.get("format", _FORMAT) != _FORMAT:
            raise ValueError(f"{source}: format {data.get('format')!r} is not {_FORMAT!r}")
        try:
            return cls(data["symbols"])
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    @classmethod
    def from_json(cls, text: str, source: str = "symbol table") -> "SymbolTable":
        """Parse :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: not valid JSON ({exc})") from None
        return cls.from_dict(data, source)

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON to ``path`` (UTF-8) and return the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SymbolTable":
        """Read a table written by :meth:`save`; errors name the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: symbol table file not found") from None
        return cls.from_json(text, source=str(path))


def default_symbols(frontend: str, language: str) -> SymbolTable:
    """The built-in table for ``frontend`` ("phonemes"|"characters") and ``language`` ("en"|"fa").

    The phoneme table is shared by both languages (espeak switches to English phonemes for
    Latin words inside Persian text). The character table holds a-z, plus Persian letters
    and ZWNJ for "fa".
    """
    if frontend not in FRONTENDS:
        raise ValueError(f"unknown text frontend {frontend!r}; "
                         f"expected one of {', '.join(FRONTENDS)}")
    if language not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of "
                         f"{', '.join(SUPPORTED_LANGUAGES)}")
    head = [PAD, " ", *PUNCTUATION]
    if frontend == "phonemes":
        return SymbolTable(head + list(IPA_SYMBOLS))
    letters = list(_LATIN + "'-")
    if language == "fa":
        letters += list(PERSIAN_LETTERS + ZWNJ)
    return SymbolTable(head + letters)
