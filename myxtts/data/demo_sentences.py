"""Sentences of the demo dataset: the English grammar, and two disjoint pools per language.

English sentences come from the grammar below, Persian ones from
:mod:`myxtts.data.demo_persian`; both are the project's own. Sentences are split into two
disjoint pools by a hash of their normalised text; demo datasets only use one pool and
:func:`held_out_sentences` only the other, so held-out text never occurs in any demo
dataset. Everything is a function of the seed (prefix-stable for a given seed).
"""

from __future__ import annotations

import hashlib
import random
from typing import Callable, Sequence

from myxtts.text.normalizers import normalize_english
from myxtts.text.persian import normalize_persian

__all__ = ["DEMO_LANGUAGES", "MIN_WORDS", "MAX_WORDS", "generate_sentences",
           "held_out_sentences"]

#: Languages the demo builder can speak.
DEMO_LANGUAGES = ("en", "fa")
MIN_WORDS, MAX_WORDS = 4, 16      # words of the normalised sentence
_HELD_OUT_BUCKETS = 8             # one hash bucket in 8 is reserved for held-out text

# ---------------------------------------------------------------- English grammar

_NAMES = ("Anna", "Ben", "Clara", "David", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas",
          "Kira", "Leo", "Maya", "Nadia", "Oscar", "Priya", "Quentin", "Rosa", "Samuel",
          "Tara", "Umar", "Vera", "Walter", "Yusuf", "Zoe", "Marcus", "Lena", "Theo")
_SURNAMES = ("Patel", "Jones", "Moreno", "Fischer", "Okafor", "Lindqvist", "Baker", "Novak",
             "Tanaka", "Hughes", "Rahimi", "Costa", "Brennan", "Walsh")
_TITLES = ("Dr.", "Mr.", "Mrs.", "Ms.", "Prof.")
_PEOPLE = ("the farmer", "my sister", "our neighbour", "the young pilot", "my uncle",
           "the tired student", "the old sailor", "a quiet child", "the baker", "her cousin",
           "the night guard", "the new teacher", "his grandmother", "the painter",
           "a tall stranger", "the mayor", "the small boy", "the nurse", "our guide",
           "the fisherman", "my best friend", "the shy librarian", "the bus driver")
_ADJECTIVES = ("red", "heavy", "broken", "shiny", "wooden", "tiny", "enormous", "strange",
               "golden", "dusty", "fragile", "warm", "bright", "narrow", "ancient", "soft",
               "noisy", "empty", "colourful", "round", "sharp", "curious", "green", "silver")
_NOUNS = (("kettle", "kettles"), ("lamp", "lamps"), ("basket", "baskets"), ("letter", "letters"),
          ("bicycle", "bicycles"), ("umbrella", "umbrellas"), ("map", "maps"),
          ("violin", "violins"), ("blanket", "blankets"), ("key", "keys"), ("box", "boxes"),
          ("candle", "candles"), ("book", "books"), ("ladder", "ladders"), ("bottle", "bottles"),
          ("clock", "clocks"), ("jacket", "jackets"), ("orange", "oranges"), ("stone", "stones"),
          ("feather", "feathers"), ("ticket", "tickets"), ("window", "windows"),
          ("painting", "paintings"), ("cup", "cups"), ("rope", "ropes"), ("shell", "shells"),
          ("notebook", "notebooks"), ("mirror", "mirrors"), ("hammer", "hammers"),
          ("apple", "apples"), ("radio", "radios"), ("chair", "chairs"))
_TRANSITIVE = (("find", "found"), ("carry", "carried"), ("paint", "painted"), ("fix", "fixed"),
               ("sell", "sold"), ("hide", "hid"), ("clean", "cleaned"), ("open", "opened"),
               ("borrow", "borrowed"), ("drop", "dropped"), ("wrap", "wrapped"),
               ("bring", "brought"), ("lose", "lost"), ("move", "moved"), ("build", "built"),
               ("buy", "bought"), ("count", "counted"), ("fold", "folded"), ("lift", "lifted"),
               ("polish", "polished"), ("return", "returned"), ("steal", "stole"),
               ("measure", "measured"), ("describe", "described"))
_INTRANSITIVE = (("wait", "waited"), ("sleep", "slept"), ("sing", "sang"), ("run", "ran"),
                 ("laugh", "laughed"), ("dance", "danced"), ("work", "worked"),
                 ("sit", "sat"), ("arrive", "arrived"), ("rest", "rested"), ("hide", "hid"),
                 ("whisper", "whispered"), ("walk", "walked"), ("swim", "swam"))
_PLACES = ("in the garden", "near the old bridge", "at the station", "behind the library",
           "on the roof", "under the table", "by the river", "in the kitchen",
           "at the market", "inside the museum", "on the hill", "next to the bakery",
           "in a small village", "at the harbour", "across the street", "in the attic",
           "beside the fountain", "on the train", "in the forest", "at the airport")
_TIMES = ("yesterday", "this morning", "last winter", "after dinner", "on Monday",
          "before sunrise", "late at night", "every Sunday", "last week", "in the spring",
          "during the storm", "after the concert", "on Friday evening", "at noon")
_DEADLINES = ("noon", "the guests arrive", "it gets dark", "Friday", "the train leaves",
              "lunch", "the shop closes", "tomorrow morning")
_FEELINGS = ("happy", "tired", "surprised", "angry", "nervous", "proud", "confused",
             "delighted", "worried", "calm", "grateful", "curious")
_EXCLAMATIONS = ("Oh no", "Wonderful", "Look out", "Well done", "Good heavens", "Hooray",
                 "Careful", "Incredible", "Wait", "Listen")
_NUMBER_WORDS = ("two", "three", "four", "five", "six", "seven", "eight", "ten", "twelve")


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Grammar:
    """Random sentences from templates; all randomness comes from ``rng``."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.templates: tuple[Callable[[], str], ...] = (
            self._simple, self._time_first, self._intransitive, self._did_question,
            self._where_question, self._why_question, self._what_a, self._bought,
            self._clock, self._year, self._said_that, self._please, self._two_counts,
            self._still_there, self._exclamation, self._if_then, self._semicolon,
            self._note_colon, self._percent, self._ordinal_floor, self._ever_seen,
            self._but, self._how_many, self._title_met)

    def sentence(self) -> str:
        return self.rng.choice(self.templates)()

    # -- phrase pickers
    def _c(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)

    def subject(self) -> str:
        kind = self.rng.random()
        if kind < 0.35:
            return self._c(_NAMES)
        if kind < 0.5:
            return f"{self._c(_TITLES)} {self._c(_SURNAMES)}"
        return self._c(_PEOPLE)

    def thing(self, article: str = "the") -> str:
        noun = self._c(_NOUNS)[0]
        if self.rng.random() < 0.6:
            noun = f"{self._c(_ADJECTIVES)} {noun}"
        return _a(noun) if article == "a" else f"the {noun}"

    def things(self) -> str:
        noun = self._c(_NOUNS)[1]
        return f"{self._c(_ADJECTIVES)} {noun}" if self.rng.random() < 0.4 else noun

    def count(self) -> str:
        if self.rng.random() < 0.5:
            return self._c(_NUMBER_WORDS)
        return str(self.rng.randint(2, 99))

    def verb(self) -> tuple[str, str]:
        return self._c(_TRANSITIVE)

    # -- templates
    def _simple(self) -> str:
        return f"{_cap(self.subject())} {self.verb()[1]} {self.thing()} {self._c(_PLACES)}."

    def _time_first(self) -> str:
        return f"{_cap(self._c(_TIMES))}, {self.subject()} {self.verb()[1]} {self.thing('a')}."

    def _intransitive(self) -> str:
        return (f"{_cap(self.subject())} {self._c(_INTRANSITIVE)[1]} {self._c(_PLACES)} "
                f"{self._c(_TIMES)}.")

    def _did_question(self) -> str:
        return f"Did {self.subject()} {self.verb()[0]} {self.thing()} {self._c(_PLACES)}?"

    def _where_question(self) -> str:
        return f"Where did {self.subject()} {self.verb()[0]} {self.thing()}?"

    def _why_question(self) -> str:
        return f"Why was the {self._c(_NOUNS)[0]} so {self._c(_ADJECTIVES)} {self._c(_TIMES)}?"

    def _what_a(self) -> str:
        return f"What {_a(self._c(_ADJECTIVES))} {self._c(_NOUNS)[0]} that was!"

    def _bought(self) -> str:
        dollars = self.rng.randint(1, 250)
        price = f"${dollars}"
        if self.rng.random() < 0.5:
            price += f".{self.rng.randint(1, 99):02d}"
        return f"{_cap(self.subject())} bought {self.count()} {self.things()} for {price}."

    def _clock(self) -> str:
        clock = f"{self.rng.randint(1, 12)}:{self.rng.choice(('00', '15', '30', '45', '05', '20'))}"
        return f"At {clock}, {self.subject()} {self._c(_INTRANSITIVE)[1]} {self._c(_PLACES)}."

    def _year(self) -> str:
        year = self.rng.randint(1850, 2023)
        return f"In {year}, {self.subject()} {self.verb()[1]} {self.thing('a')}."

    def _said_that(self) -> str:
        return (f"{_cap(self.subject())} said that {self.subject()} {self.verb()[1]} "
                f"{self.thing()}.")

    def _please(self) -> str:
        return f"Please {self.verb()[0]} {self.thing()} before {self._c(_DEADLINES)}."

    def _two_counts(self) -> str:
        return (f"{_cap(self.subject())} {self.verb()[1]} {self.count()} {self._c(_NOUNS)[1]} "
                f"and {self.count()} {self._c(_NOUNS)[1]}.")

    def _still_there(self) -> str:
        return f"Is {self.thing()} still {self._c(_PLACES)}?"

    def _exclamation(self) -> str:
        return f"{self._c(_EXCLAMATIONS)}! {_cap(self.subject())} {self.verb()[1]} {self.thing()}."

    def _if_then(self) -> str:
        return (f"If {self.subject()} {self.verb()[1]} {self.thing()}, {self.subject()} "
                f"would be {self._c(_FEELINGS)}.")

    def _semicolon(self) -> str:
        return (f"{_cap(self.subject())} was {self._c(_FEELINGS)}; {self.subject()} "
                f"was not.")

    def _note_colon(self) -> str:
        return f"Note: {self.subject()} {self._c(_INTRANSITIVE)[1]} {self._c(_PLACES)}."

    def _percent(self) -> str:
        return (f"About {self.rng.randint(5, 95)}% of the {self._c(_NOUNS)[1]} were "
                f"{self._c(_ADJECTIVES)}.")

    def _ordinal_floor(self) -> str:
        floor = self.rng.randint(1, 23)
        suffix = "th" if 11 <= floor <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(floor % 10, "th")
        return f"The {self.things()} on the {floor}{suffix} floor were {self._c(_ADJECTIVES)}."

    def _ever_seen(self) -> str:
        return f"Have you ever seen {self.thing('a')} {self._c(_PLACES)}?"

    def _but(self) -> str:
        return (f"{_cap(self.subject())} {self.verb()[1]} {self.thing()}, but "
                f"{self.subject()} {self.verb()[1]} {self.thing('a')}.")

    def _how_many(self) -> str:
        return f"How many {self.things()} did {self.subject()} {self.verb()[0]} {self._c(_TIMES)}?"

    def _title_met(self) -> str:
        return (f"{self._c(_TITLES)} {self._c(_SURNAMES)} met {self._c(_NAMES)} "
                f"{self._c(_PLACES)} {self._c(_TIMES)}.")


def _held_out_bucket(normalized: str) -> bool:
    digest = hashlib.sha1(normalized.encode("utf-8")).digest()
    return digest[0] % _HELD_OUT_BUCKETS == 0


def _grammar(language: str, rng: random.Random):
    if language == "en":
        return _Grammar(rng), normalize_english
    if language == "fa":
        from myxtts.data.demo_persian import PersianGrammar
        return PersianGrammar(rng), normalize_persian
    raise ValueError(f"language: the demo speaks {', '.join(DEMO_LANGUAGES)}, not {language!r}")


def _sentences(count: int, rng: random.Random, held_out: bool,
               language: str = "en") -> list[tuple[str, str]]:
    """``count`` unique (text, normalized_text) pairs from one hash pool."""
    grammar, normalize = _grammar(language, rng)
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    attempts = 0
    while len(pairs) < count:
        attempts += 1
        if attempts > 100 * count + 1000:
            raise ValueError(f"could not generate {count} unique sentences "
                             f"({len(pairs)} found); ask for fewer")
        text = grammar.sentence()
        normalized = normalize(text)
        words = len(normalized.split())
        if (normalized in seen or not MIN_WORDS <= words <= MAX_WORDS
                or _held_out_bucket(normalized) != held_out):
            continue
        seen.add(normalized)
        pairs.append((text, normalized))
    return pairs


def generate_sentences(count: int, seed: int = 1234,
                       language: str = "en") -> list[tuple[str, str]]:
    """The (text, normalized_text) pairs of the demo dataset with this seed (prefix-stable)."""
    return _sentences(count, random.Random(seed), held_out=False, language=language)


def held_out_sentences(n: int, seed: int = 1234, language: str = "en") -> list[str]:
    """``n`` sentences (raw text) in ``language`` that occur in no demo dataset, for any seed
    or size."""
    return [text for text, _ in _sentences(n, random.Random(f"held-out:{seed}"), held_out=True,
                                           language=language)]
