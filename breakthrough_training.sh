#!/usr/bin/env bash
# Continue (or start) a run with the plateau_breaker optimization level.
#
#   bash breakthrough_training.sh                         # demo data, runs/plateau_breaker
#   DATA_PATH=data/my_voice CHECKPOINT_DIR=runs/my_voice bash breakthrough_training.sh
#   bash breakthrough_training.sh --max-steps 20000       # extra arguments go to train_main.py
#
# If $CHECKPOINT_DIR holds a checkpoint (a `checkpoint` file), training resumes from the
# latest one: weights and optimizer moments are kept, the plateau_breaker learning rate and
# schedule start at the restored step. Otherwise a new run starts.
#
# Environment variables (all optional):
#   DATA_PATH       dataset folder (metadata.csv + wavs/)       default: data/demo
#                   (the default demo set is built on first use; any other missing path fails)
#   CHECKPOINT_DIR  run directory                                default: runs/plateau_breaker
#   BATCH_SIZE      utterances per batch                         default: 24
#   MODEL_SIZE      tiny | small | normal | big (new runs only; a resumed run keeps its size)
#                                                                default: tiny
#   RESUME_FROM     checkpoint prefix or run directory to branch from when $CHECKPOINT_DIR
#                   has no checkpoint yet (e.g. a plateaued run); later calls resume
#                   $CHECKPOINT_DIR itself                      default: none
#   EPOCHS          --epochs, if set
#   MAX_MINUTES     --max-minutes, if set
#   PYTHON          Python interpreter                           default: python3
#   DRY_RUN         1 = print the command instead of running it
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEFAULT_DATA_PATH="data/demo"
DATA_PATH="${DATA_PATH:-$DEFAULT_DATA_PATH}"
CHECKPOINT_DIR="${CHECKPOINT_DIR:-runs/plateau_breaker}"
BATCH_SIZE="${BATCH_SIZE:-24}"
MODEL_SIZE="${MODEL_SIZE:-tiny}"
RESUME_FROM="${RESUME_FROM:-}"
EPOCHS="${EPOCHS:-}"
MAX_MINUTES="${MAX_MINUTES:-}"
PYTHON="${PYTHON:-python3}"
DRY_RUN="${DRY_RUN:-0}"

if [[ ! -e "$DATA_PATH" ]]; then
    if [[ "$DATA_PATH" == "$DEFAULT_DATA_PATH" ]]; then
        echo "Building the demo dataset in $DATA_PATH ..." >&2
        if [[ "$DRY_RUN" != "1" ]]; then
            "$PYTHON" "$SCRIPT_DIR/utilities/make_demo_dataset.py" --output "$DATA_PATH"
        fi
    else
        echo "error: DATA_PATH=$DATA_PATH does not exist; set DATA_PATH to a dataset folder" \
             "(metadata.csv + wavs/), or leave it unset to use the demo data" >&2
        exit 2
    fi
elif [[ ! -d "$DATA_PATH" ]]; then
    echo "error: DATA_PATH=$DATA_PATH is not a directory" >&2
    exit 2
fi

cmd=("$PYTHON" "$SCRIPT_DIR/train_main.py"
     --train-data "$DATA_PATH"
     --checkpoint-dir "$CHECKPOINT_DIR"
     --optimization-level plateau_breaker
     --batch-size "$BATCH_SIZE")
if [[ -f "$CHECKPOINT_DIR/checkpoint" ]]; then
    echo "Resuming the latest checkpoint in $CHECKPOINT_DIR with plateau_breaker." >&2
    if [[ -n "$RESUME_FROM" ]]; then
        echo "(RESUME_FROM=$RESUME_FROM is ignored: $CHECKPOINT_DIR already has checkpoints)" >&2
    fi
    cmd+=(--resume-checkpoint latest)
elif [[ -n "$RESUME_FROM" ]]; then
    if [[ ! -e "$RESUME_FROM" && ! -e "$RESUME_FROM.index" ]]; then
        echo "error: RESUME_FROM=$RESUME_FROM is neither a run directory nor a checkpoint" \
             "prefix (DIR/ckpt-N)" >&2
        exit 2
    fi
    echo "Branching $RESUME_FROM into $CHECKPOINT_DIR with plateau_breaker." >&2
    cmd+=(--resume-checkpoint "$RESUME_FROM")
else
    echo "No checkpoint in $CHECKPOINT_DIR: starting a new run with plateau_breaker." >&2
    cmd+=(--model-size "$MODEL_SIZE")
fi
if [[ -n "$EPOCHS" ]]; then cmd+=(--epochs "$EPOCHS"); fi
if [[ -n "$MAX_MINUTES" ]]; then cmd+=(--max-minutes "$MAX_MINUTES"); fi
cmd+=("$@")

if [[ "$DRY_RUN" == "1" ]]; then
    printf '%q ' "${cmd[@]}"
    printf '\n'
    exit 0
fi
exec "${cmd[@]}"
