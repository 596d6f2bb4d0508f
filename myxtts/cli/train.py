"""Train a MyXTTS voice-cloning TTS model.

Examples:
  python3 train_main.py                     # demo data (built in data/demo), tiny model
  python3 train_main.py --train-data data/my_voice --model-size small --checkpoint-dir runs/my_voice
  python3 train_main.py --checkpoint-dir runs/my_voice --resume-checkpoint latest --max-steps 20000
  python3 train_main.py --print-config --model-size small --lr 5e-4 --set data.batch_size=8

Config order (later wins): defaults (or, when resuming, the checkpoint's stored config)
-> --config -> --model-size -> --optimization-level -> explicit flags -> --set.
See docs/TRAINING.md.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from myxtts.cli.run_dir import check_new_run_dir, check_resume_target
from myxtts.cli.runtime import EXIT_INTERRUPTED, CLIError, configure_runtime, fail
from myxtts.cli.train_config import (DEMO_DIR, FLAG_KEYS, flag_overrides,
                                     resolve_train_config, with_default_train_data)
from myxtts.config.config import DATA_FORMATS, DISTRIBUTE_MODES, ConfigError, XTTSConfig
from myxtts.config.presets import list_model_sizes, list_optimization_levels
from myxtts.config.stored import config_from_yaml_text
from myxtts.data.metadata import DatasetError
from myxtts.training import BEST_DIR

log = logging.getLogger("train_main")
#: Exit status after a signal stopped training (checkpoint saved): 128 + signal number.
SIGNAL_EXIT = {"SIGINT": EXIT_INTERRUPTED, "SIGTERM": 143}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface of ``train_main.py``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=("tts", "vocoder"), default="tts",
                   help="what to train: the acoustic model (tts, default) or the neural "
                        "vocoder (see docs/VOCODER.md; --lr/--batch-size/--max-steps/"
                        "--max-minutes/--seed then set vocoder.* keys)")
    p.add_argument("--gta-from", metavar="RUN_DIR|PREFIX",
                   help="--task vocoder: train on this acoustic model's teacher-forced mels "
                        "(fine-tuning; default run directory RUN_DIR/vocoder)")
    data = p.add_argument_group("data")
    data.add_argument("--train-data", metavar="PATH",
                      help="dataset folder or metadata file: LJSpeech (metadata.csv, wavs/, "
                           "optional speakers.csv), metadata_train.csv + metadata_val.csv, VCTK, "
                           "a LibriTTS-style tree or an 'audio_path|text[|speaker]' file list; "
                           "WAV, FLAC or OGG (see docs/TRAINING.md); default: the built-in demo "
                           f"set, built in {DEMO_DIR} on first use")
    data.add_argument("--val-data", metavar="PATH",
                      help="separate validation dataset, folder or metadata file (default: "
                           "metadata_val.csv of a split layout, else a deterministic split of "
                           "--train-data, see data.val_fraction)")
    data.add_argument("--data-format", choices=DATA_FORMATS,
                      help="dataset layout (sets data.format; default: auto-detect)")
    data.add_argument("--strict", action="store_const", const=True,
                      help="stop when any row fails validation instead of training on the "
                           "valid rows (sets data.strict)")
    cfg = p.add_argument_group("configuration")
    cfg.add_argument("--config", metavar="YAML", help="config file (see config.yaml)")
    cfg.add_argument("--model-size", choices=list_model_sizes(), help="model size preset")
    cfg.add_argument("--optimization-level", choices=list_optimization_levels(),
                     help="optimization level preset")
    for flag, kind, meta in (("--batch-size", int, "N"), ("--lr", float, "LR"),
                             ("--epochs", int, "N"), ("--max-steps", int, "N"),
                             ("--max-minutes", float, "MIN"), ("--seed", int, "N")):
        helps = {"--max-steps": " (total steps of the run, counting resumed ones; 0 = no limit)",
                 "--max-minutes": " (training time of this session; 0 = no limit)"}
        key = FLAG_KEYS[flag[2:].replace("-", "_")]
        cfg.add_argument(flag, type=kind, metavar=meta, help=f"sets {key}{helps.get(flag, '')}")
    cfg.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                     help="override any config key, applied last; repeatable "
                          "(e.g. --set training.warmup_steps=200)")
    cfg.add_argument("--print-config", action="store_true",
                     help="print the resolved config as YAML and exit")
    run = p.add_argument_group("run")
    run.add_argument("--checkpoint-dir", metavar="DIR",
                     help="run directory for checkpoints, logs and config.yaml (default: "
                          "runs/<model size>, or the folder of --resume-checkpoint PATH)")
    run.add_argument("--resume-checkpoint", metavar="PATH|latest",
                     help="continue from a checkpoint prefix (DIR/ckpt-500), a run directory, "
                          "or 'latest' (the newest checkpoint in --checkpoint-dir)")
    run.add_argument("--distribute", choices=DISTRIBUTE_MODES,
                     help="tf.distribute strategy (sets training.distribute; default auto: "
                          "mirrored over several local GPUs, else one device; multi_worker "
                          "reads TF_CONFIG, see docs/TRAINING.md). --batch-size is the global "
                          "batch, split evenly over the replicas")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _load_resume_source(args: argparse.Namespace,
                        default_dir: Path) -> tuple[str, int, XTTSConfig]:
    """Checkpoint prefix, step and stored config of the checkpoint to resume (imports TF)."""
    if args.resume_checkpoint == "latest":
        run_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else default_dir
        if not Path(run_dir).is_dir() or not any(Path(run_dir).glob("ckpt-*.index")):
            raise CLIError(f"--resume-checkpoint latest: there is no checkpoint in {run_dir} to "
                           "resume; start a new run by leaving out --resume-checkpoint (or pass "
                           "the right --checkpoint-dir)")
        source = run_dir
    else:
        source = Path(args.resume_checkpoint)
        if not source.exists() and not Path(f"{source}.index").is_file():
            raise CLIError(f"--resume-checkpoint {source}: no such checkpoint prefix or run "
                           "directory")
    from myxtts.training.checkpoints import CheckpointError, read_metadata

    try:
        meta = read_metadata(source)
    except CheckpointError as exc:
        raise CLIError(f"--resume-checkpoint: {exc}") from None
    return meta["prefix"], meta["step"], config_from_yaml_text(meta["config_yaml"], meta["prefix"])


def _resolve(args: argparse.Namespace) -> tuple[XTTSConfig, Path, str | None, int]:
    """Resolved config, run directory, and the checkpoint to resume (prefix, step) if any."""
    overrides = flag_overrides(vars(args)) + list(args.set)
    prefix, step, stored = None, 0, None
    if args.resume_checkpoint:
        # Without --checkpoint-dir, 'latest' looks in runs/<size of the config built without it>.
        plain = resolve_train_config(args.config, args.model_size, args.optimization_level,
                                     overrides)
        prefix, step, stored = _load_resume_source(args, Path("runs") / plain.model.size)
    config = resolve_train_config(args.config, args.model_size, args.optimization_level,
                                  overrides, checkpoint_config=stored)
    config = with_default_train_data(config)
    if args.checkpoint_dir:
        run_dir = Path(args.checkpoint_dir)
    elif prefix is not None:
        run_dir = Path(prefix).parent
        if run_dir.name == BEST_DIR:  # RUN/best/ckpt-N continues in RUN
            run_dir = run_dir.parent
    else:
        run_dir = Path("runs") / config.model.size
    return config, run_dir, prefix, step


def _train(args: argparse.Namespace, config: XTTSConfig, run_dir: Path,
           prefix: str | None, step: int) -> int:
    max_steps = config.training.max_steps
    if prefix is not None and max_steps and step >= max_steps:
        raise CLIError(f"{prefix} is at step {step}, which already reaches training.max_steps="
                       f"{max_steps}; pass a larger --max-steps (it counts all steps of the run, "
                       "including those already trained)")
    if prefix is not None:
        check_resume_target(run_dir, prefix, step)
    else:
        check_new_run_dir(run_dir)
    strategy = _create_strategy(config.training.distribute)  # before any other TF op
    train_data = Path(config.data.train_data)
    if train_data == DEMO_DIR:
        from myxtts.data.demo import make_demo_dataset
        print(f"Using the built-in demo dataset in {DEMO_DIR} (built on first use).", flush=True)
        try:
            make_demo_dataset(DEMO_DIR)
        except (FileExistsError, RuntimeError, ValueError) as exc:
            raise CLIError(f"cannot build the demo dataset: {exc}") from None

    from myxtts.training.checkpoints import CheckpointError
    from myxtts.training.trainer import NothingToTrain, XTTSTrainer

    log.info("run directory %s; model size %s; optimization level %s; data %s%s", run_dir,
             config.model.size, config.training.optimization_level, train_data,
             f"; resuming {prefix} (step {step})" if prefix else "")
    start = time.time()
    trainer = XTTSTrainer(config, run_dir, strategy=strategy)
    try:
        trainer.prepare_data(train_data, config.data.val_data or None, resume=prefix)
        trainer.build()
    except CheckpointError as exc:
        raise CLIError(str(exc)) from None
    print(trainer.cluster.describe(trainer.data.train.batch_size), flush=True)
    try:
        summary = trainer.train(progress=not args.no_progress)
    except NothingToTrain as exc:
        raise CLIError(f"{prefix}: {exc}") from None
    except KeyboardInterrupt:  # a second Ctrl-C while the first one's checkpoint is saved
        print(f"\nInterrupted at step {int(trainer.state.step.numpy())}; steps after the last "
              f"checkpoint are lost. Continue with: python3 train_main.py --checkpoint-dir "
              f"{run_dir} --resume-checkpoint latest", file=sys.stderr)
        return EXIT_INTERRUPTED
    if summary.stop_reason in SIGNAL_EXIT:
        print(f"\n{summary.stop_reason}: saved {summary.checkpoint} at step {summary.steps}. "
              f"Continue with: python3 train_main.py --checkpoint-dir {run_dir} "
              "--resume-checkpoint latest", file=sys.stderr)
        return SIGNAL_EXIT[summary.stop_reason]
    minutes = (time.time() - start) / 60
    if not trainer.cluster.is_chief:
        print(f"\nWorker {trainer.cluster.worker_index} stopped at step {summary.steps}: "
              f"{summary.stop_reason}; {summary.steps - step} steps in {minutes:.1f} min. The "
              f"chief (worker 0) wrote {run_dir}.")
        return 0
    val = summary.last_val
    print(f"\nTraining stopped at step {summary.steps} (epoch {summary.epochs}): "
          f"{summary.stop_reason}; this session ran {summary.steps - step} steps in "
          f"{minutes:.1f} min.")
    if "val_loss" in val:
        align = val.get("alignment_score")
        print(f"Last validation: val_loss {val['val_loss']:.4f}"
              + (f", alignment_score {align:.3f}" if align is not None else ""))
    print(f"Checkpoint:  {summary.checkpoint}")
    print(f"Config:      {run_dir / 'config.yaml'}")
    print(f"Logs:        {run_dir / 'training.log'} and {run_dir / 'train_log.jsonl'}")
    if trainer.config.training.tensorboard:
        print(f"TensorBoard: tensorboard --logdir {run_dir}")
    print(f"Synthesize:  python3 inference_main.py --checkpoint {run_dir} "
          f"--text \"Hello world.\" --output out.wav")
    print(f"Continue:    python3 train_main.py --checkpoint-dir {run_dir} "
          f"--resume-checkpoint latest --max-steps N")
    return 0


def _create_strategy(mode: str):
    """The tf.distribute strategy of ``training.distribute`` (imports TensorFlow)."""
    from myxtts.training.distribute import DistributeError, create_strategy

    try:
        return create_strategy(mode)
    except DistributeError as exc:
        raise CLIError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv``, resolve the config, train; returns the exit status."""
    args = build_parser().parse_args(argv)
    configure_runtime()
    if args.task == "vocoder":
        return _vocoder(args)
    if args.gta_from:
        return fail("--gta-from applies to --task vocoder only")
    try:
        config, run_dir, prefix, step = _resolve(args)
        if args.print_config:
            print(config.to_yaml(), end="")
            return 0
        return _train(args, config, run_dir, prefix, step)
    except ConfigError as exc:
        return fail(f"invalid configuration: {exc}")
    except (CLIError, DatasetError) as exc:
        return fail(str(exc))


def _vocoder(args: argparse.Namespace) -> int:
    from myxtts.cli.train_vocoder import main_vocoder

    try:
        return main_vocoder(args)
    except ConfigError as exc:
        return fail(f"invalid configuration: {exc}")
    except (CLIError, DatasetError, ValueError) as exc:
        return fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
