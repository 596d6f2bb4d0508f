"""How distinct are espeak-ng demo voices to a speaker encoder? (resemblyzer, offline)

Speaks the same number of demo sentences in every voice, embeds each utterance, and
reports the pairwise cosine between voice centroids (max and mean off-diagonal) and the
nearest-centroid speaker-identification accuracy on this espeak ground truth (each
utterance left out of its own centroid). ``--select N`` also drops, one at a time, a voice of
the most similar pair until N remain (greedy pick for distinctness).

    python3 benchmarks/voice_distinctness.py                       # the --multi-voice set
    python3 benchmarks/voice_distinctness.py --voices "en-us,en-us+f3,en-us+m3,en-us+f2"
    python3 benchmarks/voice_distinctness.py --candidates --select 14

Needs the ``[speaker]`` extra (pip install -r requirements-speaker.txt).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: Candidate voices measured when the catalogue grew to 24 (--candidates): named variants
#: measured on en-us, other variants and pitches across the accents.
EXTRA_CANDIDATES = (
    "en-029+f3", "en-029+f4:p70", "en-gb+belinda", "en-gb+croak", "en-gb+f3", "en-gb+john",
    "en-gb+klatt3", "en-gb+m7:p60", "en-gb-x-gbclan+f2:p30", "en-gb-x-gbclan+m3",
    "en-gb-x-gbcwmd+f1", "en-gb-x-gbcwmd+m7:p25", "en-gb-x-rp+aunty", "en-gb-x-rp+f2:p70",
    "en-gb-x-rp+m1", "en-us+Alicia", "en-us+Andy", "en-us+Lee", "en-us+Michael", "en-us+anika",
    "en-us+annie", "en-us+f2", "en-us+f3:p40", "en-us+f4", "en-us+grandma", "en-us+grandpa",
    "en-us+iven3", "en-us+kaukovalta", "en-us+klatt6", "en-us+linda", "en-us+m1:p25",
    "en-us+m5", "en-us+m6", "en-us+m8", "en-us+max", "en-us+norbert", "en-us+paul",
    "en-us+quincy", "en-us+rob", "en-us+robert", "en-us+shelby", "en-us+steph", "en-us+travis",
    "en-us+victor", "en-us+zac", "en-us-nyc+f2", "en-us-nyc+klatt2", "en-us-nyc+m4:p40",
)


def measure(voices: list[str], per_voice: int, encoder, seed: int = 7) -> dict:
    from myxtts.data.demo import make_demo_dataset
    from myxtts.evaluation.speaker import centroids, cosine, identify

    with tempfile.TemporaryDirectory(prefix="myxtts-voices-") as tmp:
        out = make_demo_dataset(Path(tmp) / "set", per_voice * len(voices), seed, voices)
        rows = [line.split("|") for line in (out / "speakers.csv").read_text().splitlines()]
        emb = {v: [] for v in voices}
        for uid, voice in rows:
            emb[voice].append(encoder.embed_file(out / "wavs" / f"{uid}.wav"))
    cents = centroids(emb)
    names = sorted(voices)
    matrix = np.array([[float(cosine(cents[a], cents[b])) for b in names] for a in names])
    off = matrix[~np.eye(len(names), dtype=bool)]
    i, j = np.unravel_index(np.argmax(np.where(np.eye(len(names), dtype=bool), -2, matrix)),
                            matrix.shape)
    correct, total, within = 0, 0, []
    per_voice_acc = {}
    for voice in names:
        hits = 0
        for k, e in enumerate(emb[voice]):
            rest = {**cents, voice: centroids({voice: emb[voice][:k] + emb[voice][k + 1:]})[voice]}
            hits += identify(e[None], rest)[0] == voice
            within.append(float(cosine(e, rest[voice])))
        per_voice_acc[voice] = hits / len(emb[voice])
        correct, total = correct + hits, total + len(emb[voice])
    return {"voices": names, "per_voice": per_voice, "matrix": matrix.round(3).tolist(),
            "max_off_diagonal": float(off.max()), "max_pair": [names[i], names[j]],
            "mean_off_diagonal": float(off.mean()), "mean_within_voice": float(np.mean(within)),
            "id_accuracy": correct / total, "id_accuracy_per_voice": per_voice_acc}


def select(result: dict, keep: int) -> list[str]:
    """Greedy: drop a voice of the most similar remaining pair (the one more similar to
    all others) until ``keep`` voices remain."""
    names = list(result["voices"])
    m = np.array(result["matrix"])
    alive = list(range(len(names)))
    while len(alive) > keep:
        sub = m[np.ix_(alive, alive)] - 2 * np.eye(len(alive))
        a, b = np.unravel_index(np.argmax(sub), sub.shape)
        drop = a if sub[a].mean() >= sub[b].mean() else b
        alive.pop(drop)
    return [names[k] for k in alive]


def main(argv=None) -> int:
    from myxtts.data.demo_voices import MULTI_VOICES, UNSEEN_VOICES
    from myxtts.evaluation.speaker import SpeakerEncoder

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voices", default="", help="comma-separated voice specs "
                   "(default: the --multi-voice training and unseen voices)")
    p.add_argument("--candidates", action="store_true", help="add more candidate voices")
    p.add_argument("--per-voice", type=int, default=8, help="utterances per voice")
    p.add_argument("--select", type=int, default=0, help="greedy pick of this many voices")
    p.add_argument("--json", default="", help="write the result here")
    args = p.parse_args(argv)
    voices = [v for v in args.voices.split(",") if v] or [*MULTI_VOICES, *UNSEEN_VOICES]
    if args.candidates:
        voices += [v for v in EXTRA_CANDIDATES if v not in voices]
    result = measure(voices, args.per_voice, SpeakerEncoder())
    print(f"{len(voices)} voices x {args.per_voice} utterances")
    print(f"max centroid cosine between two voices {result['max_off_diagonal']:.3f} "
          f"({' vs '.join(result['max_pair'])}); mean {result['mean_off_diagonal']:.3f}; "
          f"utterance-to-own-centroid mean {result['mean_within_voice']:.3f}")
    print(f"nearest-centroid ID accuracy {result['id_accuracy']:.3f}")
    for voice, acc in result["id_accuracy_per_voice"].items():
        print(f"  {voice:28s} {acc:.2f}")
    if args.select:
        result["selected"] = select(result, args.select)
        print("selected:", ",".join(result["selected"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
