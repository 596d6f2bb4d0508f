"""A small synthetic multi-speaker English dataset spoken by espeak-ng.

``make_demo_dataset`` writes an LJSpeech-layout directory::

    DIR/metadata.csv   id|text|normalized_text      (no header)
    DIR/speakers.csv   id|speaker                   (no header; speaker = espeak voice)
    DIR/wavs/<id>.wav  22050 Hz, mono, 16-bit PCM
    DIR/.myxtts_demo   JSON marker: the parameters, and whether the build finished

Sentences come from this module's own grammar and word lists. Everything is a function
of the seed: the same parameters give byte-identical files. Sentences are split into two
disjoint pools by a hash of their normalised text; datasets only use one pool and
``held_out_sentences`` only the other, so held-out text never occurs in any demo dataset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import soundfile as sf

from myxtts.data.demo_voices import espeak_args, parse_voice
from myxtts.text.normalizers import normalize_english

__all__ = ["DEFAULT_VOICES", "MARKER", "SAMPLE_RATE", "DemoSummary", "generate_sentences",
           "held_out_sentences", "make_demo_dataset", "summarize_dataset"]

log = logging.getLogger(__name__)

DEFAULT_VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-us+f2")
MARKER = ".myxtts_demo"
SAMPLE_RATE = 22050
SPEED_RANGE = (150, 185)          # espeak-ng words per minute
MIN_WORDS, MAX_WORDS = 4, 16      # words of the normalised sentence
_FORMAT_VERSION = 1
_HELD_OUT_BUCKETS = 8             # one hash bucket in 8 is reserved for held-out text
_ID_RE = re.compile(r"^DEMO-\d{5,}$")

# ---------------------------------------------------------------- grammar

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


def _sentences(count: int, rng: random.Random, held_out: bool) -> list[tuple[str, str]]:
    """``count`` unique (text, normalized_text) pairs from one hash pool."""
    grammar = _Grammar(rng)
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    attempts = 0
    while len(pairs) < count:
        attempts += 1
        if attempts > 100 * count + 1000:
            raise ValueError(f"could not generate {count} unique sentences "
                             f"({len(pairs)} found); ask for fewer")
        text = grammar.sentence()
        normalized = normalize_english(text)
        words = len(normalized.split())
        if (normalized in seen or not MIN_WORDS <= words <= MAX_WORDS
                or _held_out_bucket(normalized) != held_out):
            continue
        seen.add(normalized)
        pairs.append((text, normalized))
    return pairs


def generate_sentences(count: int, seed: int = 1234) -> list[tuple[str, str]]:
    """The (text, normalized_text) pairs of the demo dataset with this seed (prefix-stable)."""
    return _sentences(count, random.Random(seed), held_out=False)


def held_out_sentences(n: int, seed: int = 1234) -> list[str]:
    """``n`` sentences (raw text) that occur in no demo dataset, for any seed or size."""
    return [text for text, _ in _sentences(n, random.Random(f"held-out:{seed}"), held_out=True)]


# ---------------------------------------------------------------- synthesis

@dataclass(frozen=True)
class _Job:
    uid: str
    text: str
    normalized: str
    voice: str
    speed: int


def _espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise RuntimeError("espeak-ng was not found on PATH; the demo dataset is spoken by it: "
                           "install it with `apt-get install espeak-ng`")
    return path


def _check_voices(espeak: str, voices: Sequence[str]) -> None:
    """Fail early, naming the voice, if espeak-ng does not know a voice or variant."""
    if not voices:
        raise ValueError("voices: at least one espeak-ng voice is needed")
    listing = subprocess.run([espeak, "--voices=variant"], capture_output=True, text=True,
                             check=False).stdout
    variants = {name.lower() for name in re.findall(r"!v/(\S+)", listing)}
    for voice in voices:
        if "|" in voice or not voice.strip():
            raise ValueError(f"voices: invalid voice name {voice!r}")
        base, _, variant = parse_voice(voice)[0].partition("+")
        if variant and variant.lower() not in variants:
            raise ValueError(f"voices: espeak-ng has no variant {variant!r} (in {voice!r}); "
                             "see `espeak-ng --voices=variant`")
        proc = subprocess.run([espeak, "-q", "-v", base, "--ipa", "a"], capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            raise ValueError(f"voices: espeak-ng does not know voice {base!r} (in {voice!r}): "
                             f"{proc.stderr.strip()}")


def _synthesize(espeak: str, job: _Job, wav_dir: Path) -> float:
    """Speak one utterance into ``wav_dir/<id>.wav``; returns its duration in seconds."""
    target = wav_dir / f"{job.uid}.wav"
    with tempfile.TemporaryDirectory(prefix="myxtts-demo-") as tmp:
        raw = Path(tmp) / "raw.wav"
        proc = subprocess.run([espeak, "-b", "1", *espeak_args(job.voice, job.speed),
                               "-w", str(raw)], input=job.normalized.encode("utf-8"),
                              capture_output=True, check=False, timeout=120)
        if proc.returncode != 0 or not raw.is_file():
            raise RuntimeError(f"espeak-ng failed on {job.uid} (voice {job.voice!r}): "
                               f"{proc.stderr.decode('utf-8', 'replace').strip()}")
        pcm, rate = sf.read(raw, dtype="int16", always_2d=True)
    if pcm.shape[1] != 1 or rate != SAMPLE_RATE:
        import soxr  # only needed for espeak voices that do not speak at 22050 Hz

        audio = soxr.resample(pcm.astype(np.float32).mean(axis=1) / 32768.0, rate, SAMPLE_RATE)
        pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)[:, None]
    if pcm.size == 0:
        raise RuntimeError(f"espeak-ng produced no audio for {job.uid}: {job.normalized!r}")
    partial = target.with_name(target.name + ".part")
    sf.write(partial, pcm, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    partial.replace(target)
    return len(pcm) / SAMPLE_RATE


def _plan(num_utterances: int, seed: int, voices: Sequence[str]) -> list[_Job]:
    pairs = generate_sentences(num_utterances, seed)
    rng = random.Random(f"voices:{seed}")
    assignment = [voices[i % len(voices)] for i in range(num_utterances)]
    rng.shuffle(assignment)
    return [_Job(f"DEMO-{i + 1:05d}", text, normalized, voice,
                 rng.randint(*SPEED_RANGE))
            for i, ((text, normalized), voice) in enumerate(zip(pairs, assignment))]


# ---------------------------------------------------------------- directory handling

def _write_text(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _read_marker(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FileExistsError(f"{path}: unreadable demo marker ({exc}); remove the directory "
                              "or choose another output") from None
    if not isinstance(data, dict):
        raise FileExistsError(f"{path}: unreadable demo marker; choose another output")
    return data


def _is_complete(output: Path, jobs: list[_Job]) -> bool:
    metadata = output / "metadata.csv"
    if not metadata.is_file() or not (output / "speakers.csv").is_file():
        return False
    lines = metadata.read_text(encoding="utf-8").splitlines()
    return len(lines) == len(jobs) and all((output / "wavs" / f"{j.uid}.wav").is_file()
                                           for j in jobs)


def _prepare_output(output: Path, params: dict, overwrite: bool) -> bool:
    """Check ``output`` may be written; True if a finished identical dataset is there."""
    if output.exists() and not output.is_dir():
        raise FileExistsError(f"{output} exists and is not a directory")
    if not output.is_dir() or not any(output.iterdir()):
        return False
    marker = output / MARKER
    if not marker.is_file():
        raise FileExistsError(f"{output} is not empty and was not made by make_demo_dataset "
                              f"(no {MARKER} file); refusing to write into it. Choose a new or "
                              "empty directory.")
    info = _read_marker(marker)
    same = {k: info.get(k) for k in params} == params
    if same and info.get("complete"):
        return True
    if not same and not overwrite:
        old = {k: info.get(k) for k in params}
        raise FileExistsError(f"{output} holds a demo dataset made with other parameters "
                              f"({old}); pass overwrite=True (--overwrite) to rebuild it, or "
                              "choose another directory")
    wav_dir = output / "wavs"
    if wav_dir.is_dir():
        for wav in wav_dir.iterdir():
            if wav.suffix in (".wav", ".part") and _ID_RE.match(wav.name.split(".")[0]):
                wav.unlink()
    return False


def make_demo_dataset(output: str | Path, num_utterances: int = 400, seed: int = 1234,
                      voices: Sequence[str] = DEFAULT_VOICES, jobs: int = 2,
                      overwrite: bool = False) -> Path:
    """Build (or reuse) the demo dataset in ``output`` and return its path.

    Refuses (FileExistsError) to write into a non-empty directory that this function did
    not make; a finished dataset with the same parameters is reused as it is; one with
    other parameters is rebuilt only with ``overwrite=True``.
    """
    if num_utterances < 1:
        raise ValueError(f"num_utterances must be at least 1, got {num_utterances}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    voices = tuple(voices)
    output = Path(output)
    params = {"version": _FORMAT_VERSION, "num_utterances": int(num_utterances),
              "seed": int(seed), "voices": list(voices)}
    espeak = _espeak()
    _check_voices(espeak, voices)
    plan = _plan(num_utterances, seed, voices)
    if _prepare_output(output, params, overwrite) and _is_complete(output, plan):
        log.info("%s exists, reusing (made with the same parameters)", output)
        return output
    wav_dir = output / "wavs"
    wav_dir.mkdir(parents=True, exist_ok=True)
    _write_text(output / MARKER, json.dumps({**params, "complete": False}, indent=1) + "\n")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda job: _synthesize(espeak, job, wav_dir), plan))
    _write_text(output / "metadata.csv",
                "".join(f"{j.uid}|{j.text}|{j.normalized}\n" for j in plan))
    _write_text(output / "speakers.csv", "".join(f"{j.uid}|{j.voice}\n" for j in plan))
    _write_text(output / MARKER, json.dumps({**params, "complete": True}, indent=1) + "\n")
    return output


# ---------------------------------------------------------------- summary

@dataclass(frozen=True)
class DemoSummary:
    """What a dataset directory holds."""

    utterances: int
    total_seconds: float
    speakers: dict[str, int]

    def __str__(self) -> str:
        who = ", ".join(f"{name} ({n})" for name, n in sorted(self.speakers.items()))
        return (f"{self.utterances} utterances, {self.total_seconds / 60:.1f} minutes, "
                f"{len(self.speakers)} speakers: {who}")


def summarize_dataset(output: str | Path) -> DemoSummary:
    """Count utterances, audio minutes and utterances per speaker of a demo dataset."""
    output = Path(output)
    metadata = output / "metadata.csv"
    if not metadata.is_file():
        raise FileNotFoundError(f"{metadata}: metadata file not found")
    speakers_file = output / "speakers.csv"
    speaker_of = {}
    if speakers_file.is_file():
        speaker_of = dict(line.split("|", 1) for line in
                          speakers_file.read_text(encoding="utf-8").splitlines() if "|" in line)
    counts: dict[str, int] = {}
    seconds = 0.0
    utterances = 0
    for line in metadata.read_text(encoding="utf-8").splitlines():
        uid = line.split("|", 1)[0]
        if not uid:
            continue
        utterances += 1
        info = sf.info(output / "wavs" / f"{uid}.wav")
        seconds += info.frames / info.samplerate
        speaker = speaker_of.get(uid, "speaker0")
        counts[speaker] = counts.get(speaker, 0) + 1
    return DemoSummary(utterances, seconds, counts)
