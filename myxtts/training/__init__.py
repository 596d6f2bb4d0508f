"""Training: losses, schedules, the train step, the trainer, checkpoints and run logs.

Importing this package imports no TensorFlow; the names below are shared with the
command-line tools, which check run directories before TensorFlow loads.
"""

#: Sub-directory of a run directory that holds its best checkpoint by ``val_loss``.
BEST_DIR = "best"
