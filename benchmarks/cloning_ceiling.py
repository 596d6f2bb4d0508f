"""Speaker-ID ceiling of the vocoder: the held-out sentences' ground truth (espeak-ng in the
target voice) through the mel + Griffin-Lim round trip, judged like the model's output in
``convergence.py`` (nearest of all voice centroids). A model output can hardly be identified
better than its own vocoder's rendering of the true mels.

    python3 benchmarks/cloning_ceiling.py --data data/demo_voices --sentences 56
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--sentences", type=int, default=56)
    p.add_argument("--json", default="")
    args = p.parse_args(argv)
    import numpy as np
    from benchmarks.convergence import held_out_items, parse_args, speaker_judge, voice_recordings
    from myxtts.audio.features import log_mel
    from myxtts.audio.vocoder import GriffinLimVocoder
    from myxtts.config.config import XTTSConfig
    from myxtts.training.trainer import XTTSTrainer

    bench = parse_args(["--data", args.data, "--sentences", str(args.sentences)])
    config = XTTSConfig()
    trainer = XTTSTrainer(config, Path("/tmp/cloning_ceiling_run"))
    trainer.prepare_data(Path(args.data))
    recordings = voice_recordings(trainer, Path(args.data))
    items = held_out_items(bench, trainer, Path(args.data), recordings)
    judge = speaker_judge(bench, recordings)
    vocoder = GriffinLimVocoder(config.audio)
    out = {}
    for name, render in (("ground_truth", lambda w: w),
                         ("griffin_lim", lambda w: vocoder(log_mel(w, config.audio)))):
        embeddings = [judge.embed(np.asarray(render(i.ground_truth), np.float32), i.sample_rate)
                      for i in items]
        summary = judge.summary(embeddings, [i.voice for i in items], [i.group for i in items])
        out[name] = {g: {"similarity_mean": s["similarity_mean"], "id_accuracy": s["id_accuracy"]}
                     for g, s in summary.items()}
        print(name, json.dumps(out[name]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
