"""Command line of utilities/diagnose_plateau.py: parse arguments, diagnose, print, exit code."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence, TextIO

from myxtts.diagnosis.api import diagnose_log_file, diagnose_run_dir
from myxtts.diagnosis.logdata import LogReadError
from myxtts.diagnosis.report import render_comparison, render_json, render_text
from myxtts.diagnosis.results import EXIT_USAGE, Diagnosis, Thresholds

SEVERITY = (2, 1, 3, 0)  # exit code of several runs: the first of these that any run has


class UsageError(Exception):
    """Bad command-line usage (exit code 64)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


class _AddInput(argparse.Action):
    """Collect --run-dir / --log-file in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        inputs = list(getattr(namespace, "inputs", None) or [])
        inputs.append((self.dest, values))
        namespace.inputs = inputs


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="diagnose_plateau.py",
        description="Diagnose a training run: loss trends, plateau/divergence/overfitting/instability, "
                    "and recommendations based on the run's real config.",
        epilog="Exit codes: 0 improving, 1 plateau/overfitting, 2 diverging/unstable, "
               "3 insufficient data, 64 usage or bad input. See docs/DIAGNOSE_PLATEAU.md.",
    )
    parser.add_argument("--run-dir", dest="run_dir", action=_AddInput, metavar="DIR",
                        help="run/checkpoint directory (train_log.jsonl or training.log, config.yaml, checkpoint)")
    parser.add_argument("--log-file", dest="log_file", action=_AddInput, metavar="PATH",
                        help="a log file: training.log, train_log.jsonl, CSV/JSONL with step+loss, or text lines")
    parser.add_argument("--window", type=float, default=None, metavar="N",
                        help="analyse the last N steps (epochs/lines for logs without steps); default: last third")
    parser.add_argument("--min-improvement", type=float, default=Thresholds.min_improvement, metavar="FRAC",
                        help="relative loss decrease across the window below which the loss counts as flat "
                             "(default %(default)s)")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of the report")
    parser.add_argument("--plot", metavar="PNG", help="write a plot of loss terms and LR to this PNG file")
    parser.add_argument("--data", metavar="PATH", help="training data path to put in recommended commands")
    parser.set_defaults(inputs=[])
    return parser


def combined_exit_code(diags: Sequence[Diagnosis]) -> int:
    """Most severe exit code over runs: 2 before 1 before 3 before 0."""
    codes = {d.exit_code for d in diags}
    return next(code for code in SEVERITY if code in codes)


def _diagnose_all(args: argparse.Namespace, th: Thresholds) -> list[Diagnosis]:
    diags = []
    for kind, path in args.inputs:
        if kind == "run_dir":
            diags.append(diagnose_run_dir(path, window=args.window, data_path=args.data, th=th))
        else:
            diags.append(diagnose_log_file(path, window=args.window, data_path=args.data, th=th))
    return diags


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the tool; returns the exit code (see ``build_parser`` epilog)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.inputs:
            raise UsageError("give at least one --run-dir DIR or --log-file PATH")
        if args.window is not None and args.window <= 0:
            raise UsageError(f"--window must be > 0 (got {args.window:g})")
        if not 0 < args.min_improvement < 1:
            raise UsageError(f"--min-improvement must be in (0, 1) (got {args.min_improvement:g})")
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=err)
        print(parser.format_usage().rstrip(), file=err)
        return EXIT_USAGE
    try:
        diags = _diagnose_all(args, Thresholds(min_improvement=args.min_improvement))
    except LogReadError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    code = combined_exit_code(diags)
    if args.json:
        print(render_json(diags, code), file=out)
    else:
        print("\n\n".join(render_text(d) for d in diags), file=out)
        if len(diags) > 1:
            print("\n" + render_comparison(diags), file=out)
    for diag in diags:
        if diag.skipped_lines and args.json:
            print(f"warning: {diag.source}: {diag.skipped_lines} lines without metrics ignored", file=err)
    if args.plot:
        try:
            from myxtts.diagnosis.plot import plot_comparison, plot_run  # noqa: PLC0415 - matplotlib is slow

            path = plot_run(diags[0], args.plot) if len(diags) == 1 else plot_comparison(diags, args.plot)
        except (ImportError, OSError, ValueError) as exc:
            print(f"error: cannot write plot {args.plot}: {exc}", file=err)
            return EXIT_USAGE
        print(f"plot written to {path}", file=err)
    return code
