"""Which ``tf.distribute`` strategy a run trains under, and what its workers agree on.

``training.distribute`` (``--distribute``) chooses the strategy:

* ``auto``: :class:`tf.distribute.MirroredStrategy` when more than one GPU is visible,
  else the default strategy (one device);
* ``none``: the default strategy (one device);
* ``mirrored``: ``MirroredStrategy`` over the visible GPUs, or, without GPUs, over the
  logical CPU devices (one unless the process configured several, as the tests do);
* ``multi_worker``: :class:`tf.distribute.MultiWorkerMirroredStrategy`, one process per
  machine, cluster and own task read from the ``TF_CONFIG`` environment variable.

:func:`create_strategy` must run before any other TensorFlow op of the process
(``MultiWorkerMirroredStrategy`` configures the runtime's collective ops at start-up).

The batch size (``data.batch_size``) is global: every worker assembles the same global
batch (the :class:`~myxtts.data.batching.Batcher` order depends only on seed, epoch and
batch index) and replica ``i`` of ``n`` trains on rows ``i::n``; the position stored in a
checkpoint (epoch, batch in epoch) therefore resumes every worker exactly. Only the chief
(worker 0) writes the run directory; the other workers write to a scratch directory that
is deleted when training ends. Decisions that must be the same on every worker (stop,
early stopping, the best checkpoint) use :func:`agreed_stop_reason` and
:func:`mean_over_workers`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass

import tensorflow as tf

from myxtts.config.config import DISTRIBUTE_MODES

log = logging.getLogger(__name__)

_TASK_TYPES = ("chief", "worker")


class DistributeError(ValueError):
    """A strategy cannot be created as asked (bad ``TF_CONFIG``, unknown mode)."""


def read_tf_config(environ=None) -> dict:
    """The ``TF_CONFIG`` of this process, checked: a cluster with ``worker`` (and optionally
    one ``chief``) addresses and this process's task in it. Errors name ``TF_CONFIG``."""
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG", "")
    example = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not raw.strip():
        raise DistributeError("--distribute multi_worker needs the TF_CONFIG environment "
                              f"variable (the cluster and this worker's task), {example}")
    try:
        conf = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({exc}); {example}") from None
    cluster = conf.get("cluster") if isinstance(conf, dict) else None
    if not isinstance(cluster, dict) or not cluster.get("worker"):
        raise DistributeError(f"TF_CONFIG has no cluster.worker list of host:port addresses; "
                              f"{example}")
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(
                isinstance(a, str) and ":" in a for a in addresses):
            raise DistributeError(f"TF_CONFIG cluster.{kind} must be a list of 'host:port' "
                                  f"strings, got {addresses!r}")
    unknown = sorted(set(cluster) - set(_TASK_TYPES))
    if unknown:
        raise DistributeError(f"TF_CONFIG cluster.{unknown[0]}: MultiWorkerMirroredStrategy "
                              f"takes only {' and '.join(_TASK_TYPES)} tasks")
    if len(cluster.get("chief", [])) > 1:
        raise DistributeError("TF_CONFIG cluster.chief may hold one address only")
    task = conf.get("task")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise DistributeError(f"TF_CONFIG task.type must name this process's task in the "
                              f"cluster ({', '.join(cluster)}), got {task!r}")
    index = task.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or \
            not 0 <= index < len(cluster[task["type"]]):
        raise DistributeError(f"TF_CONFIG task.index must be an integer from 0 to "
                              f"{len(cluster[task['type']]) - 1}, got {index!r}")
    return conf


def _cluster_size(environ=None) -> int:
    """Tasks named by a parseable TF_CONFIG (0 when unset or unreadable)."""
    try:
        conf = json.loads((os.environ if environ is None else environ).get("TF_CONFIG", ""))
        return sum(len(v) for v in conf["cluster"].values())
    except (ValueError, KeyError, TypeError, AttributeError):
        return 0


def create_strategy(mode: str) -> tf.distribute.Strategy:
    """The strategy for ``training.distribute`` ``mode`` (see the module doc).

    Call it first: before any other TensorFlow op of the process.
    """
    if mode not in DISTRIBUTE_MODES:
        raise DistributeError(f"training.distribute must be one of {', '.join(DISTRIBUTE_MODES)}, "
                              f"got {mode!r}")
    if mode == "multi_worker":
        read_tf_config()
        return tf.distribute.MultiWorkerMirroredStrategy()
    if _cluster_size() > 1:
        log.warning("TF_CONFIG names a cluster but training.distribute is %r: this process "
                    "trains alone; pass --distribute multi_worker to train on the cluster", mode)
    gpus = tf.config.list_physical_devices("GPU")
    if mode == "none" or (mode == "auto" and len(gpus) < 2):
        return tf.distribute.get_strategy()
    if gpus:
        return tf.distribute.MirroredStrategy()
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(cpus)


@dataclass(frozen=True)
class ClusterInfo:
    """How a strategy spreads a run: replicas, worker processes, and this process's place."""

    strategy: str
    replicas: int
    workers: int
    worker_index: int
    is_chief: bool

    def log_fields(self, global_batch: int) -> dict:
        """Keys of the run log's start / resume event."""
        return {"strategy": self.strategy, "replicas": self.replicas, "workers": self.workers,
                "worker_index": self.worker_index, "global_batch": global_batch,
                "per_replica_batch": global_batch // max(self.replicas, 1)}

    def describe(self, global_batch: int) -> str:
        """One line for people: strategy, replicas, workers, batch split."""
        role = "chief" if self.is_chief else "writes nothing to the run directory"
        worker = f" (this is worker {self.worker_index}: {role})" if self.workers > 1 else ""
        return (f"distribute: {self.strategy}, {self.replicas} replica(s) on {self.workers} "
                f"worker(s){worker}; global batch {global_batch} = "
                f"{global_batch // max(self.replicas, 1)} per replica")


def cluster_info(strategy: tf.distribute.Strategy) -> ClusterInfo:
    """:class:`ClusterInfo` of ``strategy`` (workers and chief from its cluster resolver)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    workers, index = 1, 0
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and resolver is not None:
        spec = resolver.cluster_spec().as_dict()
        workers = sum(len(spec.get(kind, [])) for kind in _TASK_TYPES) or 1
        chiefs = len(spec.get("chief", []))
        task_type, task_id = resolver.task_type, resolver.task_id or 0
        index = task_id if task_type == "chief" else task_id + chiefs
    name = ("MultiWorkerMirroredStrategy"  # its class is named CollectiveAllReduceStrategy
            if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            else type(strategy).__name__.strip("_"))
    return ClusterInfo(name, strategy.num_replicas_in_sync, workers, index,
                       bool(strategy.extended.should_checkpoint))


def write_dir(run_dir, info: ClusterInfo):
    """Where this process writes: ``run_dir`` on the chief; a new scratch directory (to be
    removed with :func:`remove_scratch`) on the other workers, which must still take part
    in saving checkpoints (a collective operation)."""
    if info.is_chief:
        return run_dir
    return tempfile.mkdtemp(prefix=f"myxtts-worker{info.worker_index}-")


def remove_scratch(path, info: ClusterInfo) -> None:
    """Delete a non-chief worker's scratch directory (nothing on the chief)."""
    if not info.is_chief:
        shutil.rmtree(path, ignore_errors=True)


def _all_reduce_mean(strategy: tf.distribute.Strategy, values: list[float]) -> list[float]:
    """Mean of ``values`` over the workers (every worker has as many replicas)."""
    local = tf.constant(values, tf.float64)
    per_replica = strategy.experimental_distribute_values_from_function(lambda _: local)
    return [float(v) for v in
            strategy.reduce(tf.distribute.ReduceOp.MEAN, per_replica, axis=None).numpy()]


def mean_over_workers(strategy: tf.distribute.Strategy, info: ClusterInfo,
                      values: dict) -> dict:
    """``values`` (numbers) averaged over the workers, so that every worker takes the same
    decisions from them (validation loss: early stopping, the best checkpoint). Unchanged
    with one worker. A collective: every worker must call it at the same point."""
    if info.workers == 1 or not values:
        return values
    keys = sorted(values)
    return dict(zip(keys, _all_reduce_mean(strategy, [float(values[k]) for k in keys])))


def agreed_stop_reason(strategy: tf.distribute.Strategy, info: ClusterInfo, reason: str,
                       reasons: tuple[str, ...]) -> str:
    """The stop reason all workers adopt: the first of ``reasons`` that any worker has
    (``""``: none has). Wall-clock limits and signals differ between machines; a worker
    that stopped alone would leave the others waiting in a collective. A collective
    with several workers; returns ``reason`` unchanged with one."""
    if info.workers == 1:
        return reason
    flags = _all_reduce_mean(strategy, [float(reason == r) for r in reasons])
    return next((r for r, flag in zip(reasons, flags) if flag > 0), "")
