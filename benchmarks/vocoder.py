#!/usr/bin/env python3
"""Griffin-Lim vs the neural vocoder, on held-out data, judged from outside.

Two tests, each scored for both vocoders on the same mels:

* copy-synthesis: the real log-mels of utterances the vocoder never trained on (its own
  validation split of --data) -> audio, scored against the recording: MCD-DTW, DNSMOS
  P.835 overall (extra [quality]), with the extra [eval] CER, and the pitch kept frame for
  frame (pYIN, myxtts.evaluation.pitch): voiced recall (of the recording's voiced frames,
  the fraction voiced in the output), voicing decision error and F0 error in cents;
* TTS: held-out sentences (in no demo dataset) spoken by the acoustic checkpoint in a
  training voice (--data's recording as reference) -> audio, scored against an espeak-ng
  recording of the sentence in that voice: MCD-DTW, DNSMOS overall, CER and the fraction of
  voiced frames (the recording's beside it).

Plus the real-time factor on this machine: seconds of compute per second of audio for the
acoustic model, each vocoder, and the total (median over the TTS sentences).

  python3 benchmarks/vocoder.py --tts-checkpoint runs/demo --data data/demo \
      --json docs/results/vocoder_demo.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tts-checkpoint", required=True, help="acoustic run directory or prefix")
    p.add_argument("--vocoder-checkpoint", default=None,
                   help="vocoder run directory or prefix (default: TTS_RUN/vocoder)")
    p.add_argument("--data", default="data/demo", help="dataset the vocoder was trained on")
    p.add_argument("--copy-utterances", type=int, default=12)
    p.add_argument("--sentences", type=int, default=12,
                   help="held-out TTS sentences (0 = copy-synthesis only)")
    p.add_argument("--language", default=None,
                   help="language of the TTS sentences (default: the acoustic checkpoint's)")
    p.add_argument("--no-cer", action="store_true", help="skip the offline recogniser")
    p.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS")
    p.add_argument("--save-dir", default="", help="write every wav here")
    p.add_argument("--json", default="", help="write the results here")
    return p.parse_args(argv)


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _std(values):
    values = [v for v in values if v is not None]
    return float(np.std(values)) if len(values) > 1 else None


class Judge:
    """MCD-DTW against the reference recording, DNSMOS, CER (each when available)."""

    def __init__(self, rate: int, cer: bool, dnsmos: bool, save_dir: str):
        from myxtts.evaluation.cer import optional_recognizer

        self.rate = rate
        self.recognizer = optional_recognizer(cer)
        self.dnsmos = dnsmos
        self.save_dir = Path(save_dir) if save_dir else None

    def score(self, name: str, wav: np.ndarray, reference: np.ndarray, text: str,
              same_timing: bool = False) -> dict:
        """Scores of ``wav`` against ``reference``; with ``same_timing`` (copy-synthesis)
        also the frame-by-frame pitch agreement."""
        from myxtts.evaluation.mcd import mcd_dtw_with_backend
        from myxtts.evaluation.pitch import pitch_agreement

        out = {"mcd": float(mcd_dtw_with_backend(reference, wav, self.rate)[0]),
               **self.reference_scores(wav, text, voicing=not same_timing)}
        if same_timing:  # the agreement tracks the output's pitch: no second pass
            pitch = pitch_agreement(reference, wav, self.rate)
            out.update({k: pitch[k] for k in ("voiced_fraction", "voiced_recall", "vde",
                                              "f0_cents")})
        if self.save_dir is not None:
            import soundfile as sf
            self.save_dir.mkdir(parents=True, exist_ok=True)
            sf.write(self.save_dir / f"{name}.wav", wav, self.rate)
        return out

    def reference_scores(self, wav: np.ndarray, text: str, voicing: bool = True) -> dict:
        """DNSMOS, transcript and CER of ``wav`` (each when available) and, with
        ``voicing``, its fraction of voiced frames."""
        from myxtts.evaluation.pitch import pitch_summary

        out = {}
        if voicing:
            out["voiced_fraction"] = pitch_summary(wav, self.rate)["voiced_fraction"]
        if self.dnsmos:
            from myxtts.evaluation.quality import dnsmos
            out["dnsmos"] = dnsmos(wav, self.rate)["ovrl"]
        if self.recognizer is not None:
            from myxtts.evaluation.text_metrics import cer
            out["transcript"] = self.recognizer.transcribe(wav, self.rate)
            out["cer"] = cer(text, out["transcript"])
        return out


def summarize(rows: list[dict], keys=("griffin_lim", "neural", "ground_truth")) -> dict:
    summary = {}
    for key in keys:
        metrics = sorted({m for r in rows for m, v in r.get(key, {}).items()
                          if isinstance(v, (int, float))})
        summary[key] = {m: _mean(r[key].get(m) for r in rows) for m in metrics}
        summary[key].update({f"{m}_std": _std(r[key].get(m) for r in rows) for m in metrics})
        summary[key].update({f"{m}_median": _median(r[key].get(m) for r in rows)
                             for m in metrics})
    return summary


def copy_synthesis(args, judge, gl, neural, vocoder_config) -> dict:
    """Real mels of the vocoder's held-out utterances through both vocoders."""
    from myxtts.audio.features import load_wav
    from myxtts.data.formats import read_corpus
    from myxtts.data.pipeline import build_data

    bundle = build_data(vocoder_config, args.data)
    paths = {u.id: u.wav_path for u in read_corpus(args.data).rows}
    rows = []
    for example in bundle.val_examples[: args.copy_utterances]:
        real = load_wav(paths[example.id], vocoder_config.audio)
        row = {"id": example.id, "ground_truth": judge.reference_scores(real, example.text)}
        for name, vocoder in (("griffin_lim", gl), ("neural", neural)):
            row[name] = judge.score(f"copy-{example.id}-{name}", vocoder(example.mel), real,
                                    example.text, same_timing=True)
        rows.append(row)
        print(f"copy {example.id}: GL {row['griffin_lim']}  neural {row['neural']}", flush=True)
    return {"n": len(rows), "summary": summarize(rows), "items": rows}


def tts(args, judge, synth, gl, neural) -> dict:
    """Held-out sentences through the acoustic model, then both vocoders; with timings."""
    from myxtts.data.demo import held_out_sentences
    from myxtts.evaluation.heldout import espeak_ground_truth

    data = Path(args.data)
    voice_of = dict(line.split("|", 1) for line in
                    (data / "speakers.csv").read_text(encoding="utf-8").splitlines() if line)
    voices = sorted(set(voice_of.values()))
    first = {v: next(uid for uid, w in voice_of.items() if w == v) for v in voices}
    rate = synth.config.audio.sample_rate
    language = args.language  # set by main: the checkpoint's default when not given
    rows = []
    for i, text in enumerate(held_out_sentences(args.sentences, language=language)):
        voice = voices[i % len(voices)]
        latent = synth.reference_latent(data / "wavs" / f"{first[voice]}.wav")
        start = time.perf_counter()
        mel = synth.synthesize_mel(text, speaker_latent=latent, language=language)
        acoustic = time.perf_counter() - start
        real = espeak_ground_truth(text, voice, rate)
        row = {"text": text, "voice": voice, "language": language,
               "ground_truth": judge.reference_scores(real, text)}
        seconds = None
        for name, vocoder in (("griffin_lim", gl), ("neural", neural)):
            vocoder(mel[:8])  # warm (first-call tracing is not synthesis time)
            start = time.perf_counter()
            wav = vocoder(mel)
            spent = time.perf_counter() - start
            seconds = len(wav) / rate
            row[name] = judge.score(f"tts-{i:03d}-{name}", wav, real, text)
            row[name]["rtf_vocoder"] = spent / seconds
            row[name]["rtf_total"] = (spent + acoustic) / seconds
        row["rtf_acoustic"] = acoustic / seconds
        rows.append(row)
        print(f"tts {i}: GL {row['griffin_lim']}  neural {row['neural']}", flush=True)
    summary = summarize(rows)
    for name in ("griffin_lim", "neural"):
        for key in ("rtf_vocoder", "rtf_total"):
            summary[name][f"{key}_median"] = statistics.median(r[name][key] for r in rows)
    summary["rtf_acoustic_median"] = statistics.median(r["rtf_acoustic"] for r in rows)
    return {"n": len(rows), "summary": summary, "items": rows}


def table(result: dict) -> str:
    # CER's median beside its mean: the recogniser now and then hallucinates a long
    # transcript (CER > 1, ground truth included), which moves the mean alone.
    lines = ["| test | vocoder | MCD-DTW (dB) | DNSMOS ovrl | CER mean (median) | voiced "
             "fraction | voiced recall | RTF (total) |", "|---|---|---|---|---|---|---|---|"]

    def fmt(v, spec=".2f"):
        return "-" if v is None else format(v, spec)

    for test in ("copy_synthesis", "tts"):
        if not result[test]:
            continue
        s = result[test]["summary"]
        for name in ("ground_truth", "griffin_lim", "neural"):
            m = s[name]
            lines.append(f"| {test} (n={result[test]['n']}) | {name} | {fmt(m.get('mcd'))} | "
                         f"{fmt(m.get('dnsmos'))} | {fmt(m.get('cer'), '.3f')} "
                         f"({fmt(m.get('cer_median'), '.3f')}) | "
                         f"{fmt(m.get('voiced_fraction'))} | {fmt(m.get('voiced_recall'))} | "
                         f"{fmt(m.get('rtf_total_median'), '.3f')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from myxtts.audio.vocoder import GriffinLimVocoder
    from myxtts.inference.synthesizer import Synthesizer
    from myxtts.inference.vocoders import NeuralVocoder
    from myxtts.training.vocoder_checkpoint import find_vocoder_dir, read_vocoder_config

    vocoder_path = args.vocoder_checkpoint or find_vocoder_dir(args.tts_checkpoint)
    if vocoder_path is None:
        print(f"error: no vocoder in {args.tts_checkpoint}/vocoder; pass --vocoder-checkpoint",
              file=sys.stderr)
        return 2
    synth = Synthesizer.from_checkpoint(args.tts_checkpoint, vocoder="griffin_lim")
    gl = GriffinLimVocoder(synth.config.audio)
    neural = NeuralVocoder.from_checkpoint(vocoder_path, synth.config.audio)
    prefix, vocoder_config = read_vocoder_config(vocoder_path)
    language = args.language = args.language or synth.default_language
    cer = not args.no_cer and language == "en"
    if not args.no_cer and not cer:
        print(f"CER not scored: the offline recogniser (Whisper tiny.en) reads English only, "
              f"the data is {language}", flush=True)
    judge = Judge(synth.config.audio.sample_rate, cer, not args.no_dnsmos, args.save_dir)
    result = {"tts_checkpoint": str(args.tts_checkpoint), "vocoder_checkpoint": prefix,
              "data": args.data, "language": language, "cpu_threads": os.cpu_count(),
              "copy_synthesis": copy_synthesis(args, judge, gl, neural, vocoder_config),
              "tts": tts(args, judge, synth, gl, neural) if args.sentences else None}
    print("\n" + table(result))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
