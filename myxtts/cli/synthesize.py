"""Synthesize speech with a trained MyXTTS checkpoint.

Examples:
  python3 inference_main.py --checkpoint runs/demo --text "Hello world." --output hello.wav
  python3 inference_main.py --checkpoint runs/demo/ckpt-500 --text "Hi." \\
      --reference-audio speaker.wav --output hi.wav
  python3 inference_main.py --checkpoint runs/demo --text "Hi." \\
      --reference-audio clip1.wav clip2.wav clip3.wav --output hi.wav
  python3 inference_main.py --checkpoint runs/demo --text "Hi." --speaker en-us+f3 --output hi.wav
  python3 inference_main.py --checkpoint runs/demo --text-file sentences.txt --output-dir out/
  python3 inference_main.py --checkpoint runs/bilingual --language fa --text "سلام." --output fa.wav

A sentence file holds one sentence per line, optionally as `id<TAB>text`; it writes
OUTPUT_DIR/<id>.wav (ids default to 0001, 0002, ...). Blank lines are skipped.
Existing wav files are never replaced unless --overwrite is given. Several
--reference-audio clips of one voice are averaged (their speaker latents). --speaker uses
the mean latent of a training speaker stored in the checkpoint; with neither option the
voice is the mean latent of all training speakers (checkpoints saved before these were
stored fall back to an all-zero reference mel, with a warning).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from myxtts.cli.runtime import CLIError, configure_runtime, fail
from myxtts.cli.texts import TextFileError, read_text_file
from myxtts.cli.wav_output import check_writable, write_wav


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``inference_main.py``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, metavar="DIR|PREFIX",
                   help="run directory (its latest checkpoint) or a checkpoint prefix "
                        "such as runs/demo/ckpt-500")
    text = p.add_mutually_exclusive_group(required=True)
    text.add_argument("--text", help="the sentence to speak (use with --output)")
    text.add_argument("--text-file", metavar="FILE",
                      help="UTF-8 file, one sentence per line (use with --output-dir)")
    p.add_argument("--output", metavar="WAV", help="output wav for --text")
    p.add_argument("--output-dir", metavar="DIR", help="output folder for --text-file")
    voice = p.add_mutually_exclusive_group()
    voice.add_argument("--reference-audio", metavar="WAV", nargs="+",
                       help="one or more recordings of the voice to clone (any sample rate); "
                            "several are averaged")
    voice.add_argument("--speaker", metavar="NAME",
                       help="a speaker of the training data (its mean latent in the checkpoint)")
    p.add_argument("--speed", type=float, default=1.0,
                   help="speaking rate: >1 faster, <1 slower (default 1.0)")
    p.add_argument("--language", metavar="CODE",
                   help="language of the text, e.g. en or fa (default: the checkpoint's "
                        "default language); it must be one the checkpoint was trained on")
    p.add_argument("--overwrite", action="store_true", help="replace existing wav files")
    p.add_argument("--vocoder", choices=("auto", "neural", "griffin_lim"), default="auto",
                   help="mel -> audio: the run's neural vocoder (RUN_DIR/vocoder, or "
                        "--vocoder-checkpoint), or Griffin-Lim; auto (default) uses the neural "
                        "one when there is one")
    p.add_argument("--vocoder-checkpoint", metavar="DIR|PREFIX",
                   help="a neural vocoder trained with train_main.py --task vocoder")
    return p


def _plan(args: argparse.Namespace) -> list[tuple[str, str, Path]]:
    """``(id, text, output path)`` for each sentence; CLIError for unusable arguments."""
    if args.text is not None:
        if args.output_dir:
            raise CLIError("--output-dir goes with --text-file; use --output with --text")
        if not args.output:
            raise CLIError("--text needs --output WAV")
        if not args.text.strip():
            raise CLIError("--text is empty")
        items = [("output", args.text.strip(), Path(args.output))]
    else:
        if args.output:
            raise CLIError("--output goes with --text; use --output-dir with --text-file")
        if not args.output_dir:
            raise CLIError("--text-file needs --output-dir DIR")
        try:
            pairs = read_text_file(args.text_file)
        except TextFileError as exc:
            raise CLIError(str(exc)) from None
        out = Path(args.output_dir)
        if out.exists() and not out.is_dir():
            raise CLIError(f"--output-dir {out} exists and is not a directory")
        items = [(uid, text, out / f"{uid}.wav") for uid, text in pairs]
    if not args.speed > 0:
        raise CLIError(f"--speed must be > 0, got {args.speed}")
    for ref in args.reference_audio or []:
        if not Path(ref).is_file():
            raise CLIError(f"--reference-audio {ref}: file not found")
    check_writable([path for _, _, path in items], args.overwrite)
    return items


def _synthesize(args: argparse.Namespace, items: list[tuple[str, str, Path]]) -> int:
    from myxtts.audio.features import AudioError
    from myxtts.inference.synthesizer import Synthesizer
    from myxtts.training.checkpoints import CheckpointError

    try:
        synth = Synthesizer.from_checkpoint(args.checkpoint, args.vocoder,
                                            args.vocoder_checkpoint)
    except CheckpointError as exc:
        raise CLIError(f"--checkpoint: {exc}") from None
    except ValueError as exc:
        raise CLIError(f"--vocoder: {exc}") from None
    print(f"Vocoder: {synth.vocoder.name}", flush=True)
    try:
        synth.tokenizer.resolve_language(args.language)
    except ValueError as exc:
        raise CLIError(f"--language: {exc}") from None
    for uid, text, _ in items:  # fail before writing anything if a text cannot be spoken
        try:
            synth.tokenizer.encode(text, args.language)
        except ValueError as exc:
            where = "--text" if args.text is not None else f"{args.text_file}, id {uid}"
            raise CLIError(f"{where}: {exc}") from None
    try:
        latent = synth.reference_latent(args.reference_audio, args.speaker)
    except AudioError as exc:
        raise CLIError(f"--reference-audio: {exc}") from None
    except ValueError as exc:
        raise CLIError(f"--speaker: {exc}") from None
    rate = synth.config.audio.sample_rate
    for uid, text, path in items:
        start = time.time()
        wav = synth.vocoder(synth.synthesize_mel(text, speed=args.speed, speaker_latent=latent,
                                                 language=args.language))
        write_wav(path, wav, rate)
        print(f"{path}  {len(wav) / rate:.2f} s audio  ({time.time() - start:.1f} s)  {text}",
              flush=True)
    if len(items) > 1:
        print(f"Wrote {len(items)} files to {items[0][2].parent}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and synthesize; returns the exit status."""
    args = build_parser().parse_args(argv)
    configure_runtime()
    try:
        items = _plan(args)
        if not Path(args.checkpoint).exists() and not Path(args.checkpoint + ".index").is_file():
            raise CLIError(f"--checkpoint {args.checkpoint}: no such run directory or "
                           "checkpoint prefix")
        return _synthesize(args, items)
    except CLIError as exc:
        return fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
