"""Training-run diagnosis: read MyXTTS (or generic) training logs, judge the loss trend, advise.

Modules: ``readers`` (log files), ``textformats`` (pasted line shapes, markdown), ``rundir`` (run folder, config, checkpoint), ``trends``/``signals``
(analysis), ``verdict``, ``recommend``, ``report`` (text/JSON), ``plot`` (matplotlib, lazy),
``api`` (end to end), ``cli`` (command line). No TensorFlow import anywhere.
"""

from myxtts.diagnosis.api import diagnose_log_file, diagnose_run_dir
from myxtts.diagnosis.logdata import LogReadError
from myxtts.diagnosis.results import EXIT_CODES, EXIT_USAGE, Diagnosis, Thresholds

__all__ = [
    "Diagnosis",
    "EXIT_CODES",
    "EXIT_USAGE",
    "LogReadError",
    "Thresholds",
    "diagnose_log_file",
    "diagnose_run_dir",
]
