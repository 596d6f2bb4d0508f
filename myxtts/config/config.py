"""Typed, validated configuration: dataclasses, YAML I/O and command-line overrides.

Every field carries its one-line documentation in `field.metadata["doc"]` (see
`field_docs()`) and its rules (`choices`, `gt`/`ge`/`lt`/`le`) in the same metadata.
Values are coerced on construction and by `validate()`; errors are `ConfigError`
with the dotted key path, e.g. ``training.learning_rate: expected a number, got 'abc'``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, ClassVar

import yaml

from myxtts.config._coerce import (
    ConfigError, check_keys, choice_error, error, require_mapping)
from myxtts.config._section import _f, _Section, commented_yaml, parse_override
from myxtts.config.vocoder_config import VocoderConfig
from myxtts.config.presets import (
    MODEL_SIZES, OPTIMIZATION_LEVELS, apply_model_size, apply_optimization_level, level_fields)

#: Dataset layouts `data.format` accepts (see myxtts.data.formats).
DATA_FORMATS = ("auto", "ljspeech", "split", "vctk", "libritts", "filelist")
#: Languages with a normaliser and an espeak-ng voice (see myxtts.text.normalizers).
LANGUAGES = ("en", "fa")
#: Values of `training.distribute` (see myxtts.training.distribute).
DISTRIBUTE_MODES = ("auto", "none", "mirrored", "multi_worker")

__all__ = ["AudioConfig", "TextConfig", "DataConfig", "ModelConfig", "TrainingConfig",
           "VocoderConfig", "XTTSConfig", "ConfigError", "SECTIONS", "field_docs"]


@dataclass
class AudioConfig(_Section):
    """Audio loading and the mel-spectrogram definition."""

    SECTION: ClassVar[str] = "audio"
    sample_rate: int = _f(22050, "Sample rate in Hz; audio is resampled to it on load.", gt=0)
    n_mels: int = _f(80, "Number of mel channels per frame.", gt=0)
    n_fft: int = _f(1024, "STFT size in samples.", gt=0)
    hop_length: int = _f(256, "STFT hop in samples (one mel frame per hop).", gt=0)
    win_length: int = _f(1024, "STFT window length in samples (<= n_fft).", gt=0)
    fmin: float = _f(0.0, "Lowest mel filter frequency in Hz.", ge=0)
    fmax: float = _f(8000.0, "Highest mel filter frequency in Hz (<= sample_rate / 2).", gt=0)
    mel_floor: float = _f(1e-5, "Floor applied to mel magnitudes before the log.", gt=0)
    trim_silence: bool = _f(True, "Trim leading and trailing silence from training audio.")
    trim_top_db: float = _f(40.0, "Silence threshold for trimming, in dB below the peak.", gt=0)
    griffin_lim_iters: int = _f(32, "Griffin-Lim iterations when turning mels into audio.", gt=0)
    griffin_lim_power: float = _f(1.0, "Power on magnitudes before Griffin-Lim (>1 sharpens; 1.0 scored best MCD).",
                                  gt=0)

    def _check(self) -> None:
        if self.win_length > self.n_fft:
            raise self._fail("win_length", f"must be <= audio.n_fft ({self.n_fft}), "
                                           f"got {self.win_length}")
        if self.fmax > self.sample_rate / 2:
            raise self._fail("fmax", f"must be <= audio.sample_rate / 2 "
                                     f"({self.sample_rate / 2:g}), got {self.fmax:g}")
        if self.fmin >= self.fmax:
            raise self._fail("fmin", f"must be < audio.fmax ({self.fmax:g}), got {self.fmin:g}")


@dataclass
class TextConfig(_Section):
    """Text frontend."""

    SECTION: ClassVar[str] = "text"
    frontend: str = _f("phonemes", "Text frontend; phonemes are produced by espeak-ng.",
                       choices=("phonemes", "characters"))
    language: str = _f("en", "Default language of the transcripts (rows without their own "
                       "language column) and of synthesis.", choices=LANGUAGES)
    languages: str = _f("", "Languages the model knows, comma-separated, e.g. 'en,fa' (more "
                        "than one adds a language embedding); empty = the languages found in "
                        "the training data.")
    espeak_voice: str = _f("", "espeak-ng voice of the default language; empty = language "
                           "default (en-us, fa).")

    def _check(self) -> None:
        names = [n.strip() for n in self.languages.split(",") if n.strip()]
        for name in names:
            if name not in LANGUAGES:
                raise self._fail("languages", f"unknown language {name!r}; expected some of "
                                              f"{', '.join(LANGUAGES)}")
        if len(set(names)) != len(names):
            raise self._fail("languages", f"a language is listed twice in {self.languages!r}")
        self.languages = ",".join(names)

    def language_list(self) -> tuple[str, ...]:
        """The model's languages in id order (id 0 first); the default alone if unset."""
        names = tuple(n for n in self.languages.split(",") if n)
        return names or (self.language,)


@dataclass
class DataConfig(_Section):
    """Datasets, validation split, caching and batching."""

    SECTION: ClassVar[str] = "data"
    train_data: str = _f("", "Path of the training dataset; empty = not set.")
    val_data: str = _f("", "Path of a separate validation dataset; empty = split from train.")
    format: str = _f("auto", "Dataset layout; auto = detect from the files.", choices=DATA_FORMATS)
    strict: bool = _f(False, "Stop when any row fails validation instead of dropping it.")
    num_workers: int = _f(0, "Processes extracting audio features; 0 = one per CPU core.", ge=0)
    val_fraction: float = _f(0.05, "Share of train_data held out when val_data is empty.",
                             gt=0, lt=1)
    min_val_utterances: int = _f(8, "Minimum size of the held-out validation split.", ge=1)
    cache_dir: str = _f("", "Directory for cached features; empty = loader default.")
    batch_size: int = _f(16, "Utterances per training batch.", gt=0)
    min_duration_s: float = _f(0.3, "Skip utterances shorter than this (seconds).", ge=0)
    max_duration_s: float = _f(12.0, "Skip utterances longer than this (seconds).", gt=0)
    reference_max_frames: int = _f(192, "Max mel frames of a speaker reference clip.", gt=0)
    voice_warp: float = _f(
        0.0, "Half of the training items are heard as new voices: target and reference "
        "mels frequency-warped alike by a random factor within 1/(1 + x) .. 1 + x; 0 = off.",
        ge=0, lt=1)
    voice_warp_min: float = _f(
        0.0, "Smallest voice warp: factors are drawn within 1 + voice_warp_min .. 1 + "
        "voice_warp and their inverses, so no new voice is a near copy of its source.",
        ge=0, lt=1)
    voice_envelope: float = _f(
        0.0, "New voices (the items data.voice_warp picks, or half of the items without it) "
        "also get a random smooth spectral envelope, target and reference alike: at most "
        "this RMS in nats of log-mel (0.4 = 3.5 dB); 0 = off.", ge=0, le=2)
    mel_bucket_frames: int = _f(64, "Pad mel lengths up to a multiple of this.", gt=0)
    text_bucket_tokens: int = _f(16, "Pad token lengths up to a multiple of this.", gt=0)

    def _check(self) -> None:
        if self.min_duration_s >= self.max_duration_s:
            raise self._fail("min_duration_s", f"must be < data.max_duration_s "
                                               f"({self.max_duration_s:g}), "
                                               f"got {self.min_duration_s:g}")
        if self.voice_warp_min and self.voice_warp_min >= self.voice_warp:
            raise self._fail("voice_warp_min", f"must be < data.voice_warp "
                                               f"({self.voice_warp:g}), "
                                               f"got {self.voice_warp_min:g}")


@dataclass
class ModelConfig(_Section):
    """Model architecture. Architecture defaults equal `presets.MODEL_SIZES['tiny']`."""

    SECTION: ClassVar[str] = "model"
    size: str = _f("tiny", "Model size preset name (see presets.MODEL_SIZES).", choices=MODEL_SIZES)
    decoder_strategy: str = _f("non_autoregressive",
                               "Decoder: aligner + durations, or autoregressive attention.",
                               choices=("non_autoregressive", "autoregressive"))
    hidden_dim: int = _f(128, "Width of the text encoder and mel decoder.", gt=0)
    text_encoder_layers: int = _f(2, "Blocks in the text encoder.", gt=0)
    decoder_layers: int = _f(2, "Blocks in the mel decoder.", gt=0)
    num_heads: int = _f(2, "Attention heads (must divide hidden_dim).", gt=0)
    ffn_dim: int = _f(384, "Inner width of the feed-forward blocks.", gt=0)
    ffn_kernel_size: int = _f(3, "Kernel size of the convolutional feed-forward blocks.", gt=0)
    dropout: float = _f(0.1, "Dropout rate in encoder and decoder blocks.", ge=0, lt=1)
    speaker_latent_dim: int = _f(32, "Size of the speaker latent (mu / logvar).", gt=0)
    reference_encoder_dim: int = _f(96, "Width of the reference (speaker) encoder.", gt=0)
    reference_spectrum: bool = _f(
        True, "Give the decoder the reference's average mel spectrum beside the speaker "
        "latent and predict the mel around it: unseen-voice ID 0.25 vs 0.00, CER +0.008 "
        "+- 0.012, MCD-DTW -0.10 dB (3 seeds, VOICE_CLONING.md).")
    speaker_film: bool = _f(
        False, "Scale and shift the output of every decoder block by the speaker vector "
        "(FiLM); non-autoregressive decoder only.")
    aligner_dim: int = _f(80, "Width of the text-mel aligner projections.", gt=0)
    aligner_temperature: float = _f(0.2, "Scale of aligner distances before softmax (0.2: fastest alignment measured).", gt=0)
    duration_predictor_dim: int = _f(128, "Width of the duration predictor.", gt=0)
    duration_predictor_layers: int = _f(2, "Conv layers in the duration predictor.", gt=0)
    postnet_layers: int = _f(3, "Conv layers in the postnet.", gt=0)
    postnet_dim: int = _f(128, "Channels of the postnet convolutions.", gt=0)
    postnet_kernel_size: int = _f(5, "Kernel size of the postnet convolutions.", gt=0)
    reduction_factor: int = _f(2, "Mel frames per autoregressive decoder step.", gt=0)
    prenet_dim: int = _f(128, "Width of the autoregressive decoder prenet.", gt=0)
    prenet_dropout: float = _f(0.5, "Dropout rate in the decoder prenet.", ge=0, lt=1)
    max_decoder_steps: int = _f(1000, "Max autoregressive decoder steps at inference.", gt=0)
    stop_threshold: float = _f(0.5, "Stop probability that ends autoregressive decoding.",
                               gt=0, lt=1)

    def _check(self) -> None:
        if self.speaker_film and self.decoder_strategy != "non_autoregressive":
            raise self._fail("speaker_film", "works with the non_autoregressive decoder only")
        if self.hidden_dim % self.num_heads:
            raise self._fail("num_heads", f"must divide model.hidden_dim ({self.hidden_dim}), "
                                          f"got {self.num_heads}")


_STEPS = {"gt": 0}
#: Allowed `training.scheduler_params` keys and their rules.
SCHEDULER_PARAM_RULES: dict[str, dict[str, Any]] = {
    "decay_steps": _STEPS, "first_decay_steps": _STEPS, "restart_period_steps": _STEPS,
    "restart_period_epochs": _STEPS, "t_mul": {"gt": 0, "le": 100}, "m_mul": {"gt": 0},
    "alpha": {"ge": 0, "le": 1}, "decay_rate": {"gt": 0},
}


@dataclass
class TrainingConfig(_Section):
    """Optimizer, schedule, loss weighting, stopping, logging and precision."""

    SECTION: ClassVar[str] = "training"
    epochs: int = _f(200, "Maximum number of passes over the training data.", gt=0)
    max_steps: int = _f(0, "Stop after this many optimizer steps (0 = no limit).", ge=0)
    max_minutes: float = _f(0.0, "Stop after this many minutes of training (0 = no limit).", ge=0)
    learning_rate: float = _f(1e-3, "Peak learning rate, reached after warmup.", gt=0)
    min_learning_rate: float = _f(1e-5, "Lowest learning rate the schedule decays to.", ge=0)
    weight_decay: float = _f(1e-4, "Decoupled (AdamW) weight decay.", ge=0)
    beta_1: float = _f(0.9, "Adam first-moment decay.", ge=0, lt=1)
    beta_2: float = _f(0.98, "Adam second-moment decay.", ge=0, lt=1)
    epsilon: float = _f(1e-9, "Adam epsilon.", gt=0)
    warmup_steps: int = _f(400, "Linear warmup steps from 0 to learning_rate.", ge=0)
    scheduler: str = _f("cosine", "Learning-rate schedule after warmup.",
                        choices=("constant", "cosine", "exponential", "noam"))
    cosine_restarts: bool = _f(False, "Cosine decay with warm restarts (scheduler: cosine).")
    scheduler_params: dict[str, float] = _f(
        {}, "Extra numeric schedule parameters: " + ", ".join(SCHEDULER_PARAM_RULES) + ".",
        keys=SCHEDULER_PARAM_RULES)
    gradient_clip_norm: float = _f(1.0, "Clip gradients to this global norm.", gt=0)
    mel_loss_weight: float = _f(2.5, "Weight of the mel reconstruction loss.", ge=0)
    kl_loss_weight: float = _f(1.0, "Weight of the speaker-latent KL loss.", ge=0)
    speaker_loss_weight: float = _f(
        3.0, "Weight of the speaker loss: the reference's latent must pick out, among the "
        "batch, clips of its own speaker (contrastive; 0 = off, as before; runs saved "
        "without it resume with 0). 3: speaker-ID 0.94 vs 0.83 at 1 (VOICE_CLONING.md).",
        ge=0)
    stop_loss_weight: float = _f(1.0, "Weight of the stop-token loss.", ge=0)
    duration_loss_weight: float = _f(1.0, "Weight of the duration loss (non-autoregressive).",
                                     ge=0)
    alignment_loss_weight: float = _f(1.0, "Weight of the alignment loss.", ge=0)
    guided_attention_sigma: float = _f(0.2, "Width of the diagonal guided-attention prior.",
                                       gt=0)
    use_huber_loss: bool = _f(False, "Use Huber instead of L1 for the mel loss (off: L1 read "
                              "better in the stability ablation).")
    huber_delta: float = _f(1.0, "Huber loss delta.", gt=0)
    stop_token_positive_weight: float = _f(5.0, "Weight of the final-frame class in the stop loss.",
                                           gt=0)
    use_label_smoothing: bool = _f(True, "Smooth the stop-token targets.")
    label_smoothing: float = _f(0.05, "Label smoothing amount for stop targets.", ge=0, lt=0.5)
    use_adaptive_loss_weights: bool = _f(True, "Rescale loss terms by their recent magnitude.")
    adaptive_weight_min: float = _f(0.7, "Lower bound of an adaptive loss-weight factor.",
                                    gt=0, le=1)
    adaptive_weight_max: float = _f(1.3, "Upper bound of an adaptive loss-weight factor.", ge=1)
    loss_smoothing_factor: float = _f(0.1, "EMA factor of the smoothed loss (higher = faster).",
                                      gt=0, le=1)
    use_spike_dampening: bool = _f(False, "Damp loss spikes detected with spike_threshold (off: "
                                   "never acted in the stability ablation).")
    spike_threshold: float = _f(2.0, "Loss / recent mean ratio that counts as a spike.", gt=0)
    spike_window: int = _f(10, "Recent steps used to detect spikes.", gt=0)
    early_stopping_patience: int = _f(25, "Validations without improvement before stopping.",
                                      ge=0)
    early_stopping_min_delta: float = _f(0.0005, "Smallest val-loss drop that counts as better.",
                                         ge=0)
    log_every_steps: int = _f(10, "Log training metrics every N steps.", gt=0)
    val_every_steps: int = _f(200, "Run validation every N steps.", gt=0)
    checkpoint_every_steps: int = _f(500, "Save a checkpoint every N steps.", gt=0)
    keep_checkpoints: int = _f(3, "Number of recent checkpoints kept (the best one is kept "
                               "in RUN_DIR/best besides).", gt=0)
    nonfinite_rollback_steps: int = _f(
        5, "Roll back to the last good checkpoint after this many non-finite steps in a row "
           "(0 = never).", ge=0)
    rollback_lr_factor: float = _f(0.5, "Learning-rate multiplier applied at each roll-back.",
                                   gt=0, le=1)
    mixed_precision: str = _f("auto", "Precision policy; 'auto' picks one for the device.",
                              choices=("auto", "float32", "mixed_bfloat16", "mixed_float16"))
    jit_compile: bool = _f(False, "XLA-compile the training step.")
    distribute: str = _f("auto", "tf.distribute strategy: auto = mirrored when several GPUs are "
                         "visible, else one device; mirrored = all local GPUs (or logical CPU "
                         "devices); multi_worker = several machines, from TF_CONFIG. "
                         "data.batch_size is the global batch.", choices=DISTRIBUTE_MODES)
    seed: int = _f(1234, "Random seed for initialisation, shuffling and splits.", ge=0)
    optimization_level: str = _f("basic", "Optimization level (see presets.OPTIMIZATION_LEVELS).",
                                 choices=OPTIMIZATION_LEVELS)
    tensorboard: bool = _f(True, "Write TensorBoard summaries to RUN_DIR/tensorboard: the logged "
                           "scalars, and at each validation held-out audio, mel and alignment "
                           "images.")
    tensorboard_samples: int = _f(3, "Held-out sentences synthesised for TensorBoard at each "
                                     "validation (0 = none; images are still written).", ge=0)

    def _check(self) -> None:
        if self.min_learning_rate > self.learning_rate:
            raise self._fail("min_learning_rate",
                             f"must be <= training.learning_rate ({self.learning_rate:g}), "
                             f"got {self.min_learning_rate:g}")


_SECTION_TYPES: dict[str, type[_Section]] = {
    "audio": AudioConfig, "text": TextConfig, "data": DataConfig,
    "model": ModelConfig, "training": TrainingConfig, "vocoder": VocoderConfig,
}
#: Section names in file order.
SECTIONS: tuple[str, ...] = tuple(_SECTION_TYPES)


def _section(name: str, doc: str) -> Any:
    return field(default_factory=_SECTION_TYPES[name], metadata={"doc": doc})


@dataclass
class XTTSConfig:
    """Complete run configuration. Sections may be given as dataclasses or mappings."""

    audio: AudioConfig = _section("audio", "Audio loading and mel-spectrogram settings.")
    text: TextConfig = _section("text", "Text frontend settings.")
    data: DataConfig = _section("data", "Datasets, validation split, caching and batching.")
    model: ModelConfig = _section("model", "Model architecture.")
    training: TrainingConfig = _section("training", "Optimization, losses, stopping and logging.")
    vocoder: VocoderConfig = _section("vocoder", "The neural vocoder (train_main.py --task "
                                      "vocoder): architecture and its training.")

    def __post_init__(self) -> None:
        for name, cls in _SECTION_TYPES.items():
            value = getattr(self, name)
            if isinstance(value, Mapping):
                check_keys(value, [f.name for f in dataclasses.fields(cls)], name)
                setattr(self, name, cls(**value))
            elif not isinstance(value, cls):
                raise error(name, f"expected a mapping, got {type(value).__name__}")

    def validate(self) -> XTTSConfig:
        """Re-coerce and re-check every section (e.g. after attribute assignment)."""
        for name in SECTIONS:
            getattr(self, name).validate()
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> XTTSConfig:
        """Build from nested mappings merged over the defaults.

        A `model.size` given in `data` supplies that size's architecture fields and a
        `training.optimization_level` supplies that level's fields; the other keys in
        `data` override both.
        """
        top = require_mapping(data, "config")
        check_keys(top, SECTIONS, "")
        raw = {name: dict(require_mapping(top.get(name), name)) for name in SECTIONS}
        merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        if "size" in raw["model"]:
            size = raw["model"]["size"]
            if not isinstance(size, str) or size not in MODEL_SIZES:
                raise choice_error("model.size", size, MODEL_SIZES)
            merged["model"].update(MODEL_SIZES[size])
        if "optimization_level" in raw["training"]:
            level = raw["training"]["optimization_level"]
            if not isinstance(level, str) or level not in OPTIMIZATION_LEVELS:
                raise choice_error("training.optimization_level", level, OPTIMIZATION_LEVELS)
            for section, values in level_fields(level, raw["model"].get("size", "tiny")).items():
                merged[section].update(values)
        for name in SECTIONS:
            check_keys(raw[name], [f.name for f in dataclasses.fields(_SECTION_TYPES[name])],
                       name)
            merged[name].update(raw[name])
        return cls(**merged)

    @classmethod
    def from_yaml(cls, path: str | PathLike[str]) -> XTTSConfig:
        """Load a YAML file merged over the defaults; errors name the file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read config file: {exc}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from None
        try:
            return cls.from_dict(data)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}", key=exc.key) from None

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain nested dict (a deep copy) in section and field order."""
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}

    def to_yaml(self, path: str | PathLike[str] | None = None, *, comments: bool = False) -> str:
        """YAML text of the config (with field docs as comments if `comments`); also
        written to `path` when given."""
        if comments:
            text = commented_yaml(self)
        else:
            text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8")
        return text

    def save(self, path: str | PathLike[str], *, comments: bool = False) -> None:
        """Write the config as YAML to `path` (parent directories are created)."""
        self.to_yaml(path, comments=comments)

    def apply_overrides(self, overrides: Iterable[str]) -> XTTSConfig:
        """Apply "section.key=value" overrides in place and return self.

        Values are parsed with yaml.safe_load, then coerced and validated like file
        values. `model.size=` and `training.optimization_level=` apply their preset
        first; the other overrides follow in order. On error nothing is changed.
        """
        parsed = [parse_override(item, _SECTION_TYPES) for item in
                  ([overrides] if isinstance(overrides, str) else overrides)]
        config = self
        for key, value in parsed:
            if key == ("model", "size"):
                config = apply_model_size(config, value)
        for key, value in parsed:
            if key == ("training", "optimization_level"):
                config = apply_optimization_level(config, value)
        data = config.to_dict()
        for key, value in parsed:
            target = data[key[0]]
            if len(key) == 3:
                target[key[1]] = dict(target[key[1]] or {})
                target = target[key[1]]
            target[key[-1]] = value
        new = XTTSConfig.from_dict(data)
        for name in SECTIONS:
            setattr(self, name, getattr(new, name))
        return self


def field_docs() -> dict[str, str]:
    """One-line doc of every config key, keyed by dotted path ("training.learning_rate")."""
    docs = {}
    for name in SECTIONS:
        for f in dataclasses.fields(_SECTION_TYPES[name]):
            docs[f"{name}.{f.name}"] = f.metadata["doc"]
    return docs
