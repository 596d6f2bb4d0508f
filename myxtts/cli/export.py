"""Export a trained MyXTTS checkpoint as a servable SavedModel or TFLite model.

Examples:
  myxtts-export --checkpoint runs/demo --format saved_model
  myxtts-export --checkpoint runs/demo/ckpt-500 --format tflite --output exports/demo

The exported model maps text ids and a reference log-mel to a log-mel (any text and
reference length). OUTPUT holds saved_model/ or model.tflite plus myxtts_export.json
(config, symbols, mel statistics, signature). Default OUTPUT: the checkpoint's run
directory + /export-FORMAT. Existing export files are never replaced unless --overwrite
is given. Inspect a SavedModel with: saved_model_cli show --dir OUTPUT/saved_model --all
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from myxtts.cli.runtime import CLIError, configure_runtime, fail

FORMATS = ("saved_model", "tflite")


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``myxtts-export``."""
    p = argparse.ArgumentParser(prog="myxtts-export", description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, metavar="DIR|PREFIX",
                   help="run directory (its latest checkpoint) or a checkpoint prefix "
                        "such as runs/demo/ckpt-500")
    p.add_argument("--format", default="saved_model", choices=FORMATS,
                   help="saved_model (any batch size) or tflite (batch 1); default saved_model")
    p.add_argument("--output", metavar="DIR",
                   help="export directory (default: RUN_DIR/export-FORMAT)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export")
    return p


def _output_dir(args: argparse.Namespace) -> Path:
    if args.output:
        return Path(args.output)
    checkpoint = Path(args.checkpoint)
    run_dir = checkpoint if checkpoint.is_dir() else checkpoint.parent
    return run_dir / f"export-{args.format}"


def _export(args: argparse.Namespace) -> int:
    from myxtts.inference.export import ExportError, export_checkpoint, model_size
    from myxtts.training.checkpoints import CheckpointError

    output = _output_dir(args)
    start = time.time()
    try:
        export_checkpoint(args.checkpoint, output, args.format, args.overwrite)
    except CheckpointError as exc:
        raise CLIError(f"--checkpoint: {exc}") from None
    except ExportError as exc:
        raise CLIError(str(exc)) from None
    size = model_size(output, args.format) / 1e6
    print(f"Wrote {args.format} export to {output} ({size:.1f} MB, {time.time() - start:.0f} s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and export; returns the exit status."""
    args = build_parser().parse_args(argv)
    configure_runtime()
    try:
        checkpoint = Path(args.checkpoint)
        if not checkpoint.exists() and not Path(args.checkpoint + ".index").is_file():
            raise CLIError(f"--checkpoint {checkpoint}: no such run directory or "
                           "checkpoint prefix")
        return _export(args)
    except CLIError as exc:
        return fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
