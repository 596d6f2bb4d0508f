"""Train the neural vocoder: ``train_main.py --task vocoder`` / ``myxtts-train-vocoder``.

Examples:
  # 1. on the real mels of any dataset the acoustic model reads
  python3 train_main.py --task vocoder --train-data data/demo --checkpoint-dir runs/demo/vocoder
  # 2. fine-tune on an acoustic model's teacher-forced (GTA) mels, continuing the same run
  python3 train_main.py --task vocoder --gta-from runs/demo --resume-checkpoint latest \
      --max-steps 4000

The vocoder lives in RUN_DIR/vocoder of the acoustic run it serves (the default
--checkpoint-dir with --gta-from), where inference_main.py finds it. --lr, --batch-size,
--max-steps, --max-minutes and --seed set the vocoder.* keys; see docs/VOCODER.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from myxtts.cli.run_dir import check_new_run_dir, check_resume_target
from myxtts.cli.runtime import CLIError
from myxtts.cli.train_config import DEMO_DIR
from myxtts.config.stored import config_from_yaml_text
from myxtts.config.config import XTTSConfig

log = logging.getLogger("train_main")

#: Flags that set vocoder keys for this task (argparse dest -> config key).
VOCODER_FLAG_KEYS = {
    "lr": "vocoder.learning_rate", "batch_size": "vocoder.batch_size",
    "max_steps": "vocoder.max_steps", "max_minutes": "vocoder.max_minutes",
    "seed": "vocoder.seed", "train_data": "data.train_data", "val_data": "data.val_data",
    "data_format": "data.format", "strict": "data.strict",
}
#: Acoustic-model flags that mean nothing to the vocoder.
IGNORED = ("model_size", "optimization_level", "epochs", "distribute")


def _base_config(args: argparse.Namespace) -> tuple[XTTSConfig, str | None, int]:
    """Config before flags: --config, else the resumed vocoder's, else the --gta-from
    acoustic model's (same mel and data settings), else the defaults."""
    from myxtts.training.checkpoints import CheckpointError, read_metadata, resolve_checkpoint
    from myxtts.training.vocoder_checkpoint import read_vocoder_config

    prefix, step, config = None, 0, None
    if args.resume_checkpoint:
        where = args.checkpoint_dir if args.resume_checkpoint == "latest" else \
            args.resume_checkpoint
        if where is None and args.gta_from:
            where = str(Path(args.gta_from if Path(args.gta_from).is_dir()
                             else Path(args.gta_from).parent) / "vocoder")
        if where is None:
            raise CLIError("--resume-checkpoint latest needs --checkpoint-dir (or --gta-from)")
        try:
            prefix, config = read_vocoder_config(where)
            step = int(Path(prefix).name.split("-")[-1])
        except (CheckpointError, ValueError) as exc:
            raise CLIError(f"--resume-checkpoint: {exc}") from None
    elif args.gta_from:
        try:
            config = config_from_yaml_text(read_metadata(args.gta_from)["config_yaml"],
                                           str(resolve_checkpoint(args.gta_from)))
        except CheckpointError as exc:
            raise CLIError(f"--gta-from: {exc}") from None
    if args.config:
        config = XTTSConfig.from_yaml(args.config)
    return config or XTTSConfig(), prefix, step


def _run_dir(args: argparse.Namespace, prefix: str | None) -> Path:
    if args.checkpoint_dir:
        return Path(args.checkpoint_dir)
    if prefix is not None:
        return Path(prefix).parent
    if args.gta_from:
        source = Path(args.gta_from)
        run = source if source.is_dir() else source.parent
        return (run.parent if run.name == "best" else run) / "vocoder"
    return Path("runs") / "vocoder"


def main_vocoder(args: argparse.Namespace) -> int:
    """Train (or continue) a vocoder run as ``args`` say; returns the exit status."""
    for dest in IGNORED:
        if getattr(args, dest, None) is not None:
            log.warning("--%s does not apply to --task vocoder; ignored", dest.replace("_", "-"))
    config, prefix, step = _base_config(args)
    overrides = [f"{key}={getattr(args, dest)}" for dest, key in VOCODER_FLAG_KEYS.items()
                 if getattr(args, dest, None) is not None] + list(args.set)
    config = config.apply_overrides(overrides)
    if not config.data.train_data:
        config.data.train_data = str(DEMO_DIR)
    if args.print_config:
        print(config.to_yaml(), end="")
        return 0
    run_dir = _run_dir(args, prefix)
    if prefix is not None:
        check_resume_target(run_dir, prefix, step)
        if step >= config.vocoder.max_steps:
            raise CLIError(f"{prefix} is at step {step}, which already reaches "
                           f"vocoder.max_steps={config.vocoder.max_steps}; pass a larger "
                           "--max-steps (it counts all steps of the run)")
    else:
        check_new_run_dir(run_dir)
    return _train(args, config, run_dir, prefix)


def _train(args, config: XTTSConfig, run_dir: Path, prefix: str | None) -> int:
    from myxtts.training.checkpoints import CheckpointError, load_checkpoint
    from myxtts.training.vocoder_checkpoint import mel_mismatch
    from myxtts.training.vocoder_data import ground_truth_data, gta_data
    from myxtts.training.vocoder_trainer import VocoderTrainer

    train_data, val_data = config.data.train_data, config.data.val_data or None
    if Path(train_data) == DEMO_DIR:
        from myxtts.data.demo import make_demo_dataset
        make_demo_dataset(DEMO_DIR)
    start = time.time()
    try:
        if args.gta_from:
            loaded = load_checkpoint(args.gta_from)
            diff = mel_mismatch(config.audio, loaded.config.audio)
            if diff:
                raise CLIError(f"--gta-from {args.gta_from}: the acoustic model uses another "
                               f"mel definition than this vocoder ({'; '.join(diff)})")
            data = gta_data(loaded, config.vocoder, train_data, val_data)
        else:
            data = ground_truth_data(config, train_data, val_data)
        trainer = VocoderTrainer(config, run_dir, data, resume=prefix)
    except CheckpointError as exc:
        raise CLIError(str(exc)) from None
    print(f"Vocoder: {len(data.train_mels)} training and {len(data.val_mels)} validation "
          f"utterances ({data.source}); run directory {run_dir}", flush=True)
    summary = trainer.train(progress=not args.no_progress)
    minutes = (time.time() - start) / 60
    print(f"\nVocoder stopped at step {summary.steps}: {summary.stop_reason}; {minutes:.1f} min.")
    if summary.last_val:
        print(f"Last validation: val_loss {summary.last_val['val_loss']:.4f}, val_mel_loss "
              f"{summary.last_val['val_mel_loss']:.4f}")
    print(f"Checkpoint:  {summary.checkpoint}")
    if summary.stop_reason in ("SIGTERM", "SIGINT"):
        print(f"Continue with: python3 train_main.py --task vocoder --checkpoint-dir {run_dir} "
              "--resume-checkpoint latest", file=sys.stderr)
        return 143 if summary.stop_reason == "SIGTERM" else 130
    if run_dir.name == "vocoder":
        print(f"Synthesize:  python3 inference_main.py --checkpoint {run_dir.parent} --text "
              "\"Hello world.\" --output out.wav   (uses this vocoder)")
    else:
        print(f"Synthesize:  python3 inference_main.py --checkpoint RUN_DIR --vocoder-checkpoint "
              f"{run_dir} --text \"Hello world.\" --output out.wav")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``myxtts-train-vocoder``: ``train_main.py --task vocoder`` with the same flags."""
    from myxtts.cli.train import main as train_main

    return train_main(["--task", "vocoder", *(sys.argv[1:] if argv is None else argv)])
