"""Training loop of the neural vocoder: random segments -> compiled step -> logs,
validation on whole held-out utterances, checkpoints, exact resume, SIGTERM-safe.

Usage::

    data = ground_truth_data(config, "data/demo")          # or gta_data(...) to fine-tune
    trainer = VocoderTrainer(config, "runs/demo/vocoder", data)
    trainer.train()

The learning rate warms up, then follows a cosine from ``state.schedule_start`` to
``vocoder.max_steps``; switching the input (real mels -> an acoustic model's GTA mels)
starts a new schedule at the current step. Segments are drawn from a generator seeded
by (seed, step), so a resumed run draws exactly what the uninterrupted one would have.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from myxtts.config.config import XTTSConfig
from myxtts.training.run_log import RunLogger
from myxtts.training.safekeeping import GracefulStop
from myxtts.models.vocoder import MultiResolutionDiscriminator
from myxtts.training.vocoder_checkpoint import (VocoderState, build_generator,
                                                make_vocoder_checkpoint,
                                                restore_vocoder_training)
from myxtts.training.vocoder_data import VocoderData
from myxtts.training.vocoder_losses import (discriminator_loss, generator_adversarial_losses,
                                            vocoder_losses)


def _window(x: np.ndarray, begin: int, length: int) -> np.ndarray:
    """``x[begin:begin + length]`` (samples or mel frames) with zeros where that reaches
    past either end (zeros, as the generator's convolutions pad a whole utterance)."""
    out = np.zeros((length,) + x.shape[1:], np.float32)
    lo, hi = max(begin, 0), min(begin + length, len(x))
    if hi > lo:
        out[lo - begin:hi - begin] = x[lo:hi]
    return out


def context_frames(config: XTTSConfig) -> int:
    """Mel frames of context on either side of a training segment: the generator's
    receptive field (its embedding and every block widen it by ``kernel_size // 2``) with
    ``vocoder.mel_context``, else 0."""
    v = config.vocoder
    return (v.kernel_size // 2) * (v.blocks + 1) if v.mel_context else 0


@dataclass
class VocoderSummary:
    steps: int
    stop_reason: str
    checkpoint: str
    last_train: dict = field(default_factory=dict)
    last_val: dict = field(default_factory=dict)


class VocoderTrainer:
    """Trains ``config.vocoder`` on ``data`` in ``run_dir`` (resumes its latest checkpoint
    when ``resume`` is a prefix)."""

    def __init__(self, config: XTTSConfig, run_dir: str | Path, data: VocoderData,
                 resume: str | None = None):
        self.config, self.run_dir, self.data = config, Path(run_dir), data
        v = config.vocoder
        keras.utils.set_random_seed(v.seed)
        self.generator = build_generator(config)
        self.optimizer = keras.optimizers.AdamW(learning_rate=v.learning_rate,
                                                weight_decay=0.0, beta_1=0.8, beta_2=0.99)
        self.optimizer.build(self.generator.trainable_variables)
        self.discriminator = MultiResolutionDiscriminator(v.discriminator_channels)
        self.discriminator(tf.zeros([1, v.segment_frames * config.audio.hop_length]))
        self.d_optimizer = keras.optimizers.AdamW(learning_rate=v.learning_rate,
                                                  weight_decay=0.0, beta_1=0.8, beta_2=0.99)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.state = VocoderState(config.to_yaml())
        self.checkpoint = make_vocoder_checkpoint(self.generator, self.optimizer, self.state,
                                                  self.discriminator, self.d_optimizer)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.run_dir),
                                                  max_to_keep=v.keep_checkpoints)
        if resume:
            restore_vocoder_training(self.checkpoint, resume)
            self.state.config_yaml.assign(config.to_yaml())
        if self.state.source.numpy().decode() != data.source:
            self.state.schedule_start.assign(self.state.step)  # a new input: a new schedule
            self.state.source.assign(data.source)
            self.state.best_val_loss.assign(float("inf"))
        self._lengths = np.array([m.shape[0] for m in data.train_mels], np.float64)
        self._train_step = tf.function(self._step, reduce_retracing=True)
        self._gan_step = tf.function(self._adversarial_step, reduce_retracing=True)
        self._validation_terms = tf.function(self._reconstruction, reduce_retracing=True)
        self._vocode = tf.function(self.generator.call, reduce_retracing=True,
                                   input_signature=[tf.TensorSpec([1, None, config.audio.n_mels])])

    # ---------------------------------------------------------------- pieces
    def learning_rate(self, step: int) -> float:
        v = self.config.vocoder
        start = int(self.state.schedule_start.numpy())
        done = step - start
        if done < v.warmup_steps:
            return v.learning_rate * (done + 1) / v.warmup_steps
        span = max(v.max_steps - start - v.warmup_steps, 1)
        progress = min((done - v.warmup_steps) / span, 1.0)
        return v.min_learning_rate + 0.5 * (v.learning_rate - v.min_learning_rate) * (
            1 + math.cos(math.pi * progress))

    def segments(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The batch of step ``step``: random windows of random utterances (chosen in
        proportion to their length; on GTA data, each segment takes the recording's own
        mel with probability ``vocoder.gta_real_fraction``): ``[B, S, n_mels]`` mels,
        ``[B, S * hop]`` audio and the same audio with ``n_fft // 2`` samples of context on
        either side (:func:`~myxtts.training.vocoder_losses.target_spectrum`). With
        ``vocoder.mel_context`` each mel also carries :func:`context_frames` frames of its
        utterance on either side (``[B, S + 2 C, n_mels]``)."""
        v, hop = self.config.vocoder, self.config.audio.hop_length
        extra = context_frames(self.config)
        half = self.config.audio.n_fft // 2
        rng = np.random.default_rng([v.seed, step])
        picks = rng.choice(len(self._lengths), size=v.batch_size,
                           p=self._lengths / self._lengths.sum())
        real = self.data.train_real_mels
        # Its own stream, so the windows are the same with or without mixing.
        use_real = np.random.default_rng([v.seed, step, 1]).random(v.batch_size) \
            < v.gta_real_fraction
        mels, wavs, contexts = [], [], []
        for i, from_real in zip(picks, use_real):
            mel, wav = self.data.train_mels[i], self.data.train_wavs[i]
            if real is not None and from_real:
                mel = real[i]
            start = int(rng.integers(mel.shape[0] - v.segment_frames + 1))
            mels.append(_window(mel, start - extra, v.segment_frames + 2 * extra))
            wavs.append(wav[start * hop:(start + v.segment_frames) * hop])
            contexts.append(_window(wav, start * hop - half,
                                    v.segment_frames * hop + 2 * half))
        return np.stack(mels), np.stack(wavs), np.stack(contexts)

    def _reconstruction(self, mel, wav, context, extra: int = 0):
        """Generated audio and the reconstruction terms (``[B]``) of one batch; the
        outputs of ``extra`` context frames on either side of ``mel`` are dropped."""
        log_mag, phase = self.generator.log_magnitude_phase(mel)
        if extra:
            log_mag, phase = log_mag[:, extra:-extra], phase[:, extra:-extra]
        fake = self.generator.waveform(log_mag, phase)
        return fake, vocoder_losses(fake, wav, self.config.audio, self.config.vocoder,
                                    log_mag, phase, context)

    def _step(self, mel, wav, context):
        v = self.config.vocoder
        with tf.GradientTape() as tape:
            _, terms = self._reconstruction(mel, wav, context, context_frames(self.config))
            loss = tf.nn.compute_average_loss(terms["loss"], global_batch_size=v.batch_size)
        out = {k: tf.reduce_mean(t) for k, t in terms.items()}
        self._apply(self.optimizer, loss, tape, self.generator.trainable_variables, out,
                    "grad_norm")
        return out

    def _apply(self, optimizer, loss, tape, variables, out, name):
        grads = tape.gradient(loss, variables)
        norm = tf.linalg.global_norm(grads)
        clip = self.config.vocoder.grad_clip_norm
        if clip > 0:
            grads, _ = tf.clip_by_global_norm(grads, clip, use_norm=norm)
        if tf.math.is_finite(norm):
            optimizer.apply(grads, variables)
        out[name] = norm

    def _adversarial_step(self, mel, wav, context):
        """One generator and one discriminator update (hinge GAN + feature matching on top
        of the reconstruction terms; the logged ``loss`` stays the reconstruction loss)."""
        v = self.config.vocoder
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake, terms = self._reconstruction(mel, wav, context, context_frames(self.config))
            real_out = self.discriminator(wav)
            d_loss = discriminator_loss(real_out, self.discriminator(tf.stop_gradient(fake)))
            terms.update(generator_adversarial_losses(real_out, self.discriminator(fake)))
            total = (terms["loss"] + v.adversarial_weight * terms["adversarial_loss"]
                     + v.feature_matching_weight * terms["feature_matching_loss"])
            g_avg = tf.nn.compute_average_loss(total, global_batch_size=v.batch_size)
            d_avg = tf.nn.compute_average_loss(d_loss, global_batch_size=v.batch_size)
        terms["discriminator_loss"] = d_loss
        out = {k: tf.reduce_mean(t) for k, t in terms.items()}
        self._apply(self.optimizer, g_avg, g_tape, self.generator.trainable_variables, out,
                    "grad_norm")
        self._apply(self.d_optimizer, d_avg, d_tape, self.discriminator.trainable_variables,
                    out, "discriminator_grad_norm")
        return out

    def adversarial(self, step: int) -> bool:
        v = self.config.vocoder
        return v.adversarial_weight > 0 and step >= v.adversarial_start_step

    def vocode(self, log_mel: np.ndarray) -> np.ndarray:
        """Waveform of one un-normalised log-mel ``[T, n_mels]`` with the current weights."""
        return self._vocode(tf.constant(log_mel[None], tf.float32))[0].numpy()

    def validate(self) -> dict:
        """Mean losses of whole held-out utterances (their mels -> audio vs the real audio)."""
        totals: dict[str, float] = {}
        half = self.config.audio.n_fft // 2
        for mel, wav in zip(self.data.val_mels, self.data.val_wavs):
            _, terms = self._validation_terms(tf.constant(mel[None], tf.float32),
                                              tf.constant(wav[None]),
                                              tf.constant(np.pad(wav, half)[None]))
            for key, value in terms.items():
                totals[key] = totals.get(key, 0.0) + float(value[0])
        n = max(len(self.data.val_mels), 1)
        return {f"val_{k}": total / n for k, total in totals.items()}

    # ---------------------------------------------------------------- loop
    def train(self, progress: bool = True, max_steps: int | None = None,
              max_minutes: float | None = None) -> VocoderSummary:
        v = self.config.vocoder
        limit = max_steps or v.max_steps
        minutes = v.max_minutes if max_minutes is None else max_minutes
        step = int(self.state.step.numpy())
        if step >= limit:
            raise ValueError(f"the vocoder run is at step {step}, which already reaches "
                             f"vocoder.max_steps={limit}; pass a larger --max-steps")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config.save(self.run_dir / "config.yaml")
        logger = RunLogger(self.run_dir, float(self.state.wall_time.numpy()))
        logger.event(step, "resume" if step else "start",
                     f"vocoder {'resumed' if step else 'started'} at step {step} on "
                     f"{self.data.source}; training to step {limit}", task="vocoder",
                     source=self.data.source, limit=limit, floor_free=True,
                     train_utterances=len(self.data.train_mels),
                     val_utterances=len(self.data.val_mels),
                     parameters=int(sum(np.prod(w.shape) for w in
                                        self.generator.trainable_weights)))
        deadline = time.time() + 60 * minutes if minutes else None
        bar = tqdm(total=limit, initial=step, disable=not progress, dynamic_ncols=True,
                   desc="vocoder")
        last_train, last_val, reason = {}, {}, "max_steps"
        with GracefulStop() as stop:
            while step < limit:
                lr = self.learning_rate(step)
                self.optimizer.learning_rate.assign(lr)
                self.d_optimizer.learning_rate.assign(lr)
                step_fn = self._gan_step if self.adversarial(step) else self._train_step
                out = step_fn(*map(tf.constant, self.segments(step)))
                step += 1
                self.state.step.assign(step)
                self.state.wall_time.assign(logger.wall_time)
                bar.update(1)
                if step % v.log_every == 0 or step == limit:
                    last_train = {k: float(t) for k, t in out.items()} | {"lr": lr}
                    logger.train(step, 0, last_train)
                    bar.set_postfix(loss=f"{last_train['loss']:.3f}")
                if step % v.val_every == 0:
                    last_val = self._validate_and_log(logger, step)
                if step % v.checkpoint_every == 0:
                    self.manager.save(checkpoint_number=step)
                if stop.signal_name or (deadline and time.time() >= deadline):
                    reason = stop.signal_name or "max_minutes"
                    break
        bar.close()
        if reason not in ("SIGTERM", "SIGINT") and last_val.get("step") != step:
            last_val = self._validate_and_log(logger, step)
        path = self.manager.save(checkpoint_number=step)
        logger.event(step, "end", f"stopped: {reason}", reason=reason, checkpoint=path)
        logger.close()
        return VocoderSummary(step, reason, path, last_train, last_val)

    def _validate_and_log(self, logger: RunLogger, step: int) -> dict:
        values = self.validate()
        if values["val_loss"] < float(self.state.best_val_loss.numpy()):
            self.state.best_val_loss.assign(values["val_loss"])
        logger.validation(step, 0, values)
        return values | {"step": step}
