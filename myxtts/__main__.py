"""``python -m myxtts COMMAND [ARGS]``: the installed commands under one entry point.

Commands: train, train-vocoder, synthesize, export, diagnose, demo-data, validate
(``python -m myxtts COMMAND --help``).
"""

from __future__ import annotations

import importlib
import sys

#: command -> (module, what it does); each module has ``main(argv) -> int``.
COMMANDS = {
    "train": ("myxtts.cli.train", "train a model (same as myxtts-train / train_main.py)"),
    "train-vocoder": ("myxtts.cli.train_vocoder",
                      "train the neural vocoder (myxtts-train-vocoder / train_main.py --task "
                      "vocoder)"),
    "synthesize": ("myxtts.cli.synthesize",
                   "speak text with a checkpoint (myxtts-synthesize / inference_main.py)"),
    "export": ("myxtts.cli.export", "write a servable SavedModel or TFLite file (myxtts-export)"),
    "diagnose": ("myxtts.diagnosis.cli", "diagnose a run's loss curves (myxtts-diagnose)"),
    "demo-data": ("myxtts.cli.demo_data", "build the espeak-ng demo dataset (myxtts-demo-data)"),
    "validate": ("myxtts.cli.validate", "check a dataset before training (myxtts-validate)"),
}


def usage() -> str:
    lines = ["usage: python -m myxtts COMMAND [ARGS]", "", "commands:"]
    lines += [f"  {name:<13} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "python -m myxtts COMMAND --help shows a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from myxtts import __version__
        print(f"myxtts {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    sys.argv[0] = f"python -m myxtts {argv[0]}"
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
