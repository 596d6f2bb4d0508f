"""espeak-ng voice specs of the demo data, and the catalogue of clearly different voices.

A voice spec is an espeak-ng voice (``en-gb-scotland``, with an optional variant:
``en-gb-scotland+m3``) followed by optional ``:pNN`` (pitch 0-99; espeak's default is 50)
and ``:rNN`` (words per minute added to the utterance's speaking rate, may be negative),
e.g. ``en-us+f1:p80:r-15``. A spec without options speaks exactly as before, so the
default demo set is unchanged. The spec is also the speaker's name in ``speakers.csv``.

:data:`MULTI_VOICES` are the training voices of ``make_demo_dataset.py --multi-voice`` and
:data:`UNSEEN_VOICES` two more that only appear in ``DIR/unseen/`` (never trained on), for
cloning tests of voices the model has not seen. They were picked for distinctness by
measurement with resemblyzer (``benchmarks/voice_distinctness.py``; docs/VOICE_CLONING.md).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

MULTI_VOICES = (
    # the 12 of the first catalogue (``--num-voices 12`` builds exactly that set) ...
    "en-029+f1", "en-029+m2:p30:r-10", "en-029+m7", "en-gb+m2:p20:r15", "en-gb-x-gbclan+f5",
    "en-gb-x-gbcwmd+m4", "en-gb-x-rp+f4", "en-gb-x-rp+m5", "en-us+f1:p80:r-15", "en-us+klatt4",
    "en-us+m3", "en-us-nyc+m1",
    # ... and 12 more, the farthest from those (and from each other) among 48 candidates,
    # none nearer to an unseen voice than the first 12 are; their variants spread over accents
    "en-gb-x-rp+anika", "en-gb-x-gbclan+travis", "en-029+Lee", "en-us-nyc+steph",
    "en-gb-x-gbcwmd+iven3", "en-us+kaukovalta", "en-us+Alicia", "en-gb-x-rp+grandma",
    "en-us+quincy", "en-gb-x-gbclan+shelby", "en-us-nyc+Michael", "en-029+zac",
)
#: One accent training never hears (Scottish) and one it does (New York City).
UNSEEN_VOICES = ("en-gb-scotland+m6:p35", "en-us-nyc+f3:p65")
UNSEEN_DIR = "unseen"
#: Utterances per unseen voice in ``DIR/unseen`` (references and centroids for tests).
UNSEEN_UTTERANCES = 12

_OPTION = re.compile(r"^(p)(\d{1,2})$|^(r)([+-]?\d{1,3})$")


def parse_voice(spec: str) -> tuple[str, int | None, int]:
    """``(espeak voice, pitch or None, rate offset)``; ValueError naming a bad spec."""
    voice, *options = spec.split(":")
    pitch, rate = None, 0
    for option in options:
        match = _OPTION.match(option)
        if not match:
            raise ValueError(f"voices: bad option {option!r} in {spec!r} (use :pNN for pitch "
                             "0-99, :rNN for a speaking-rate offset in words per minute)")
        if match.group(1):
            pitch = int(match.group(2))
        else:
            rate = int(match.group(4))
            if not -100 <= rate <= 100:
                raise ValueError(f"voices: rate offset {rate} in {spec!r} is outside -100..100")
    if not voice:
        raise ValueError(f"voices: invalid voice name {spec!r}")
    return voice, pitch, rate


def espeak_args(spec: str, speed: int) -> list[str]:
    """espeak-ng arguments speaking ``spec`` at ``speed`` words per minute (plus its offset)."""
    voice, pitch, rate = parse_voice(spec)
    args = ["-v", voice, "-s", str(max(speed + rate, 80))]
    return args + (["-p", str(pitch)] if pitch is not None else [])


def make_multi_voice_dataset(output: str | Path, num_utterances: int = 400, seed: int = 1234,
                             voices: Sequence[str] = MULTI_VOICES,
                             unseen: Sequence[str] = UNSEEN_VOICES, jobs: int = 2,
                             overwrite: bool = False) -> Path:
    """The demo set spoken by ``voices`` in ``output``, plus ``output/unseen/`` (the same
    layout) spoken only by ``unseen`` voices, from other sentences. Deterministic."""
    from myxtts.data.demo import make_demo_dataset

    overlap = sorted(set(voices) & set(unseen))
    if overlap:
        raise ValueError(f"voices: {', '.join(overlap)} cannot be both trained and unseen")
    output = make_demo_dataset(output, num_utterances, seed, voices, jobs, overwrite)
    if unseen:
        make_demo_dataset(output / UNSEEN_DIR, UNSEEN_UTTERANCES * len(unseen), seed + 1,
                          unseen, jobs, overwrite)
    return output
