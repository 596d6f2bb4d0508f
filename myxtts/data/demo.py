"""A small synthetic multi-speaker dataset spoken by espeak-ng: English, Persian or both.

``make_demo_dataset`` writes an LJSpeech-layout directory::

    DIR/metadata.csv   id|text|normalized_text      (English; no header)
                       id|text|normalized_text|speaker|language   (Persian, English+Persian)
    DIR/speakers.csv   id|speaker                   (no header; speaker = espeak voice)
    DIR/wavs/<id>.wav  22050 Hz, mono, 16-bit PCM
    DIR/.myxtts_demo   JSON marker: the parameters, and whether the build finished

Sentences come from the project's own grammars (:mod:`myxtts.data.demo_sentences`).
Everything is a function of the seed: the same parameters give byte-identical files, and
the English set (``language="en"``, the default) is byte-identical to what earlier
versions wrote. ``held_out_sentences`` never gives a sentence of any demo dataset.
"""

from __future__ import annotations

import dataclasses
import itertools
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
from typing import Sequence

import numpy as np
import soundfile as sf

from myxtts.data.demo_sentences import (DEMO_LANGUAGES, MAX_WORDS, MIN_WORDS,  # noqa: F401
                                        generate_sentences, held_out_sentences)
from myxtts.data.demo_voices import espeak_args, parse_voice

__all__ = ["DEFAULT_VOICES", "PERSIAN_VOICES", "DEMO_CHOICES", "MARKER", "SAMPLE_RATE",
           "DemoSummary", "generate_sentences", "held_out_sentences", "make_demo_dataset",
           "summarize_dataset", "voices_for"]

log = logging.getLogger(__name__)

DEFAULT_VOICES = ("en-us", "en-us+f3", "en-us+m3", "en-us+f2")
#: espeak-ng Persian voice variants of the Persian demo (four speakers, like the English one).
PERSIAN_VOICES = ("fa", "fa+f2", "fa+m3", "fa+f4")
#: ``language`` values of :func:`make_demo_dataset`: one language, or both ("en+fa").
DEMO_CHOICES = ("en", "fa", "en+fa")
MARKER = ".myxtts_demo"
SAMPLE_RATE = 22050
SPEED_RANGE = (150, 185)          # espeak-ng words per minute
_FORMAT_VERSION = 1
_ID_RE = re.compile(r"^DEMO-\d{5,}$")
_VOICES = {"en": DEFAULT_VOICES, "fa": PERSIAN_VOICES}

# ---------------------------------------------------------------- synthesis

@dataclass(frozen=True)
class _Job:
    uid: str
    text: str
    normalized: str
    voice: str
    speed: int
    language: str = "en"


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


def _voice_language(voice: str) -> str | None:
    base = voice.split(":")[0].partition("+")[0].strip().lower()  # a spec: voice+variant:pNN
    return next((lang for lang in DEMO_LANGUAGES if base.split("-")[0] == lang), None)


def voices_for(language: str = "en",
               voices: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
    """The espeak-ng voices of each language of ``language`` ("en", "fa" or "en+fa").

    ``voices`` None gives the built-in ones; for one language every given voice speaks it;
    for "en+fa" each voice goes to the language its name starts with ("en-us+f3", "fa+m3").
    """
    if language not in DEMO_CHOICES:
        raise ValueError(f"language: expected one of {', '.join(DEMO_CHOICES)}, "
                         f"got {language!r}")
    languages = language.split("+")
    if voices is None:
        return {lang: _VOICES[lang] for lang in languages}
    voices = tuple(voices)
    if len(languages) == 1:
        return {language: voices}
    for voice in voices:
        if _voice_language(voice) not in languages:
            raise ValueError(f"voices: cannot tell the language of voice {voice!r} for "
                             f"language {language!r}; name voices en-... or fa...")
    grouped = {lang: tuple(v for v in voices if _voice_language(v) == lang)
               for lang in languages}
    for lang, chosen in grouped.items():
        if not chosen:
            raise ValueError(f"voices: no {lang} voice among {', '.join(voices)} "
                             f"(language {language!r} needs one per language)")
    return grouped


def _plan_language(count: int, seed: int, voices: Sequence[str], language: str,
                   rng_name: str) -> list[_Job]:
    pairs = generate_sentences(count, seed, language)
    rng = random.Random(rng_name)
    assignment = [voices[i % len(voices)] for i in range(count)]
    rng.shuffle(assignment)
    return [_Job("", text, normalized, voice, rng.randint(*SPEED_RANGE), language)
            for (text, normalized), voice in zip(pairs, assignment)]


def _plan(num_utterances: int, seed: int, by_language: dict[str, Sequence[str]]) -> list[_Job]:
    """Jobs of all languages, interleaved (en, fa, en, ...), numbered DEMO-00001..."""
    languages = list(by_language)
    if len(languages) == 1:  # the rng name of the English-only set is kept: same files
        parts = [_plan_language(num_utterances, seed, by_language[languages[0]], languages[0],
                                f"voices:{seed}")]
    else:
        counts = [num_utterances // len(languages) + (i < num_utterances % len(languages))
                  for i in range(len(languages))]
        parts = [_plan_language(n, seed, by_language[lang], lang, f"voices:{seed}:{lang}")
                 for n, lang in zip(counts, languages)]
    mixed = [job for group in itertools.zip_longest(*parts) for job in group if job]
    return [dataclasses.replace(job, uid=f"DEMO-{i + 1:05d}") for i, job in enumerate(mixed)]


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
    same = ({k: info.get(k) for k in params} == params
            and info.get("language", "en") == params.get("language", "en"))
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
                      voices: Sequence[str] | None = None, jobs: int = 2,
                      overwrite: bool = False, language: str = "en") -> Path:
    """Build (or reuse) the demo dataset in ``output`` and return its path.

    ``language`` is "en" (English, the default), "fa" (Persian) or "en+fa" (half each,
    interleaved); ``voices`` None = the built-in voices of those languages (see
    :func:`voices_for`). Persian and bilingual sets carry a language column per row.
    Refuses (FileExistsError) to write into a non-empty directory that this function did
    not make; a finished dataset with the same parameters is reused as it is; one with
    other parameters is rebuilt only with ``overwrite=True``.
    """
    if num_utterances < 1:
        raise ValueError(f"num_utterances must be at least 1, got {num_utterances}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    by_language = voices_for(language, voices)
    voices = tuple(v for group in by_language.values() for v in group)
    output = Path(output)
    params = {"version": _FORMAT_VERSION, "num_utterances": int(num_utterances),
              "seed": int(seed), "voices": list(voices)}
    if language != "en":  # the English marker stays as it was
        params["language"] = language
    espeak = _espeak()
    _check_voices(espeak, voices)
    plan = _plan(num_utterances, seed, by_language)
    if _prepare_output(output, params, overwrite) and _is_complete(output, plan):
        log.info("%s exists, reusing (made with the same parameters)", output)
        return output
    wav_dir = output / "wavs"
    wav_dir.mkdir(parents=True, exist_ok=True)
    _write_text(output / MARKER, json.dumps({**params, "complete": False}, indent=1) + "\n")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda job: _synthesize(espeak, job, wav_dir), plan))
    if language == "en":
        rows = [f"{j.uid}|{j.text}|{j.normalized}\n" for j in plan]
    else:
        rows = [f"{j.uid}|{j.text}|{j.normalized}|{j.voice}|{j.language}\n" for j in plan]
    _write_text(output / "metadata.csv", "".join(rows))
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
