"""Check a dataset the way training does, without training and without writing anything.

Examples:
  myxtts-validate my_data
  python3 utilities/validate_dataset.py my_data --val-data my_val --json
  python3 utilities/validate_dataset.py my_data --symbols runs/my_voice/symbols.json

Every row is checked: a safe, unique id; text left after normalisation, with no characters
the normaliser drops and every symbol in the symbol table; audio that exists, decodes, is
not silent and lasts data.min_duration_s to data.max_duration_s. Resampling and mixing
down are reported once. Exit status: 0 clean, 1 rows would be dropped, 2 the dataset (or a
setting) cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys

from myxtts.cli.runtime import CLIError, configure_runtime, fail
from myxtts.cli.train_config import resolve_train_config
from myxtts.config.config import DATA_FORMATS, ConfigError, XTTSConfig
from myxtts.data.formats import read_corpus
from myxtts.data.metadata import DatasetError
from myxtts.data.report import ValidationReport
from myxtts.data.validation import settle_languages, validate_rows

EXIT_PROBLEMS = 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", help="dataset folder or metadata / file-list file")
    p.add_argument("--val-data", metavar="PATH", help="a separate validation dataset")
    p.add_argument("--format", choices=DATA_FORMATS, help="dataset layout (default: detect)")
    p.add_argument("--config", metavar="YAML", help="config file (audio, text and data settings)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a config key; repeatable")
    p.add_argument("--symbols", metavar="JSON",
                   help="check against this symbol table (a run's symbols.json) instead of "
                        "the built-in one")
    p.add_argument("--examples", type=int, default=5, metavar="N",
                   help="rows shown per problem (default 5)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    return p


def _tokenizer(config: XTTSConfig, symbols_path: str | None):
    from myxtts.text.symbols import SymbolTable
    from myxtts.text.tokenizer import Tokenizer

    try:
        symbols = SymbolTable.load(symbols_path) if symbols_path else None
        return Tokenizer(config.text, symbols)
    except (FileNotFoundError, RuntimeError, ValueError) as exc:
        raise CLIError(str(exc)) from None


def check_dataset(config: XTTSConfig, path: str, val_path: str | None = None,
                  symbols_path: str | None = None) -> list[ValidationReport]:
    """Reports for the training part and, when there is one, the validation part."""
    fmt = config.data.format
    corpus = read_corpus(path, fmt)
    parts = [("training data", corpus.source, corpus.format, corpus.rows)]
    if val_path:
        val = read_corpus(val_path, fmt)
        parts.append(("validation data", val.source, val.format, val.rows))
    elif corpus.val_rows is not None:
        parts.append(("validation data", corpus.source.with_name("metadata_val.csv"),
                      corpus.format, corpus.val_rows))
    settle_languages(config.text, [row for part in parts for row in part[3]])
    tokenizer = _tokenizer(config, symbols_path)
    seen: dict[str, str] = {}
    reports = []
    for part, source, name, rows in parts:
        report = ValidationReport(source, name, part)
        validate_rows(rows, tokenizer, config.audio, config.data, report, seen, want_mel=False)
        reports.append(report)
    return reports


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_runtime()
    overrides = list(args.set) + ([f"data.format={args.format}"] if args.format else [])
    try:
        config = resolve_train_config(args.config, None, None, overrides)
        reports = check_dataset(config, args.dataset, args.val_data, args.symbols)
    except ConfigError as exc:
        return fail(f"invalid configuration: {exc}")
    except (CLIError, DatasetError) as exc:
        return fail(str(exc))
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        print("\n".join(r.text(args.examples) for r in reports))
        clean = all(r.clean for r in reports)
        print("clean: every row is usable" if clean else
              "problems found: training would drop the rows above (--strict would stop)")
    return 0 if all(r.clean for r in reports) else EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
