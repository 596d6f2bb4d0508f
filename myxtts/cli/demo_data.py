"""Build the synthetic espeak-ng demo dataset (LJSpeech layout) used by tests and benchmarks.

Example:
    myxtts-demo-data --output data/demo --num-utterances 400
    python3 utilities/make_demo_dataset.py --output data/demo   (the same command)
    python3 utilities/make_demo_dataset.py --output data/demo-fa --language fa
    python3 utilities/make_demo_dataset.py --output data/demo-enfa --language en+fa
    myxtts-demo-data --output data/demo_voices --multi-voice   (24 distinct voices + unseen/)
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from myxtts.data.demo import (DEFAULT_VOICES, DEMO_CHOICES, PERSIAN_VOICES, make_demo_dataset,
                              summarize_dataset)
from myxtts.data.demo_voices import MULTI_VOICES, UNSEEN_DIR, UNSEEN_VOICES, make_multi_voice_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", required=True, help="directory to create")
    parser.add_argument("--num-utterances", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--language", choices=DEMO_CHOICES, default="en",
                        help="en: English (default, as before); fa: Persian; en+fa: half each, "
                             "with a language column per row")
    parser.add_argument("--voices", default=None,
                        help="comma-separated espeak-ng voice specs, one speaker each "
                             "(voice[+variant][:pPITCH][:rRATE_OFFSET]; default: "
                             f"{','.join(DEFAULT_VOICES)} for en, {','.join(PERSIAN_VOICES)} "
                             "for fa, both for en+fa)")
    parser.add_argument("--multi-voice", action="store_true",
                        help=f"{len(MULTI_VOICES)} clearly different voices (or --voices) for "
                             f"training, plus OUTPUT/{UNSEEN_DIR}/ spoken by "
                             f"{len(UNSEEN_VOICES)} voices never trained on (English only)")
    parser.add_argument("--num-voices", type=int, default=None,
                        help="with --multi-voice: the first N voices of the catalogue "
                             f"(2-{len(MULTI_VOICES)}; 12 builds the set used before "
                             "2026-11-29)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel espeak-ng processes")
    parser.add_argument("--overwrite", action="store_true",
                        help="rebuild a demo dataset made earlier with other parameters "
                             "(never touches directories this tool did not make)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    if args.multi_voice and args.language != "en":
        print(f"error: --multi-voice builds an English set (its voice catalogue and unseen "
              f"voices are English); it cannot be combined with --language {args.language}",
              file=sys.stderr)
        return 2
    if args.num_voices is not None and (not args.multi_voice or args.voices is not None
                                        or not 2 <= args.num_voices <= len(MULTI_VOICES)):
        print(f"error: --num-voices takes 2-{len(MULTI_VOICES)} and goes with --multi-voice "
              "(not with --voices)", file=sys.stderr)
        return 2
    voices = (None if args.voices is None else
              [v.strip() for v in args.voices.split(",") if v.strip()])
    if args.multi_voice and voices is None:
        voices = list(MULTI_VOICES[:args.num_voices])
    start = time.perf_counter()
    try:
        if args.multi_voice:
            output = make_multi_voice_dataset(args.output, args.num_utterances, args.seed,
                                              voices, jobs=args.jobs, overwrite=args.overwrite)
        else:
            output = make_demo_dataset(args.output, args.num_utterances, args.seed, voices,
                                       jobs=args.jobs, overwrite=args.overwrite,
                                       language=args.language)
    except (FileExistsError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{output}: {summarize_dataset(output)} ({time.perf_counter() - start:.1f} s)")
    if args.multi_voice:
        print(f"{output / UNSEEN_DIR}: {summarize_dataset(output / UNSEEN_DIR)} (never trained on)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
