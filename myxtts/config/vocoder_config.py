"""The ``vocoder`` config section: the neural vocoder's architecture and training.

The vocoder reads the one mel definition of the ``audio`` section; its checkpoint stores
the whole config, so a vocoder trained for another mel setting is refused at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from myxtts.config._section import _f, _Section


@dataclass
class VocoderConfig(_Section):
    """Neural vocoder (Vocos-style, inverse-STFT head) and how it is trained."""

    SECTION: ClassVar[str] = "vocoder"
    channels: int = _f(256, "Width of the generator's ConvNeXt blocks.", gt=0)
    blocks: int = _f(8, "Number of ConvNeXt blocks (all at the mel frame rate).", gt=0)
    kernel_size: int = _f(7, "Depthwise convolution width in frames.", gt=0)
    expansion: int = _f(3, "Pointwise expansion factor inside a block.", gt=0)
    magnitude_prior: bool = _f(True, "Predict log-magnitudes as a correction of the mel's "
                                     "pseudo-inverse (FreeV prior) instead of from scratch.")
    match_level: bool = _f(True, "At synthesis, scale each output so its mel energy equals "
                                 "the input mel's (the frames' overlap-add cancels some of the "
                                 "predicted energy: 0.2-1.7 dB measured on the demo data).")
    segment_frames: int = _f(32, "Mel frames per training segment (x hop_length samples).",
                             gt=0)
    mel_context: bool = _f(True, "Give each training segment the mel frames around it in its "
                                 "utterance, as many as the generator's receptive field "
                                 "((kernel_size // 2) x (blocks + 1)), and drop their outputs: "
                                 "training frames then see the context they have in a whole "
                                 "utterance at synthesis (without it every frame of a segment "
                                 "sees a zero-padded edge; see docs/VOCODER.md).")
    batch_size: int = _f(16, "Segments per training step.", gt=0)
    learning_rate: float = _f(1e-3, "Peak AdamW learning rate.", gt=0)
    min_learning_rate: float = _f(5e-5, "Learning rate at the end of the cosine decay.", ge=0)
    warmup_steps: int = _f(200, "Linear warm-up steps.", ge=0)
    max_steps: int = _f(3000, "Total training steps of the run, counting resumed ones "
                              "(the cosine decay ends here).", gt=0)
    max_minutes: float = _f(0.0, "Training time limit of this session in minutes (0 = none).",
                            ge=0)
    mel_loss_weight: float = _f(1.0, "Weight of the log-mel L1 term.", ge=0)
    stft_loss_weight: float = _f(1.0, "Weight of the multi-resolution STFT term.", ge=0)
    amplitude_loss_weight: float = _f(0.0, "Weight of the L1 between the generator's own STFT "
                                           "log-magnitudes and the recording's (APNet "
                                           "amplitude loss; logged either way; 0 = off: with "
                                           "the phase loss it cost copy-synthesis MCD, DNSMOS "
                                           "and CER at 500 steps, see docs/VOCODER.md).", ge=0)
    phase_loss_weight: float = _f(0.0, "Weight of the anti-wrapping phase losses: "
                                       "instantaneous phase + group delay + instantaneous "
                                       "frequency, frame for frame (APNet; logged either "
                                       "way; 0 = off, see amplitude_loss_weight).", ge=0)
    adversarial_weight: float = _f(0.0, "Weight of the hinge adversarial term (multi-resolution "
                                        "spectrogram discriminators; 0 = off: on 2 CPU cores 314 "
                                        "adversarial steps cost 5x a step and changed no score, "
                                        "see docs/VOCODER.md).", ge=0)
    feature_matching_weight: float = _f(2.0, "Weight of discriminator feature matching.", ge=0)
    adversarial_start_step: int = _f(3000, "Step from which the discriminators train and the "
                                           "adversarial terms apply.", ge=0)
    discriminator_channels: int = _f(16, "Channels of each spectrogram discriminator.", gt=0)
    gta_real_fraction: float = _f(0.5, "During GTA fine-tuning (--gta-from), the fraction of "
                                       "training segments that take the recording's own mel "
                                       "instead of the acoustic model's, so the vocoder keeps "
                                       "rendering real mels well (0 = GTA mels only).",
                                  ge=0, le=1)
    grad_clip_norm: float = _f(1.0, "Global gradient-norm clip (0 = none).", ge=0)
    val_utterances: int = _f(8, "Held-out utterances scored at each validation.", gt=0)
    val_every: int = _f(500, "Validate (whole held-out utterances) every N steps.", gt=0)
    log_every: int = _f(50, "Write a training record every N steps.", gt=0)
    checkpoint_every: int = _f(500, "Save a checkpoint every N steps.", gt=0)
    keep_checkpoints: int = _f(3, "Checkpoints kept in the vocoder run directory.", gt=0)
    seed: int = _f(0, "Seed of weights and segment sampling (the held-out split is the "
                          "acoustic model's: data.val_fraction, training.seed).")

    def _check(self) -> None:
        if self.min_learning_rate > self.learning_rate:
            raise self._fail("min_learning_rate",
                             f"must be <= vocoder.learning_rate ({self.learning_rate:g}), "
                             f"got {self.min_learning_rate:g}")
