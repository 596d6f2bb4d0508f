"""Pure per-example loss terms for MyXTTS.

Every function takes batched tensors (any float dtype; math is done in float32),
returns an unweighted ``[B]`` float32 tensor and is safe inside ``tf.function``
and ``tf.distribute`` replica functions. Padded positions are zeroed *before*
any arithmetic, so whatever the model writes into padding (even NaN/inf) never
changes a loss value or its gradient.

Every term's floor is zero: a perfect prediction scores ~0. Where the textbook form
of a term has a floor above zero (the stop-token BCE under label smoothing, the
forward-sum NLL with the alignment prior inside), the floor is subtracted as a
quantity without gradient, so the gradient is the textbook one
(docs/MODEL_AND_LOSS.md, "Loss terms and their floors").
"""

from __future__ import annotations

import tensorflow as tf

_NEG_LARGE = -1e4  # stands in for log(0) on padded tokens; finite keeps gradients finite


def _f32(x: tf.Tensor) -> tf.Tensor:
    return tf.cast(x, tf.float32)


def sequence_mask(lengths: tf.Tensor, maxlen: tf.Tensor) -> tf.Tensor:
    """Boolean ``[B, maxlen]`` mask, True where ``index < lengths``."""
    return tf.sequence_mask(tf.cast(lengths, tf.int32), maxlen=maxlen)


def _safe_count(x: tf.Tensor) -> tf.Tensor:
    return tf.maximum(_f32(x), 1.0)


def masked_mel_loss(
    target: tf.Tensor,
    pred: tf.Tensor,
    lengths: tf.Tensor,
    use_huber: bool = False,
    delta: float = 1.0,
) -> tf.Tensor:
    """L1 (the default, as ``training.use_huber_loss``) or Huber (``use_huber``) error,
    averaged over valid frames x mel bins.

    Args:
        target, pred: ``[B, T, M]`` mel spectrograms.
        lengths: ``[B]`` number of valid frames per example.
    """
    target = _f32(target)
    pred = _f32(pred)
    mask = sequence_mask(lengths, tf.shape(target)[1])[:, :, None]  # [B,T,1]
    target = tf.where(mask, target, 0.0)
    pred = tf.where(mask, pred, 0.0)
    abs_err = tf.abs(pred - target)
    if use_huber:
        delta_t = tf.constant(float(delta), tf.float32)
        quadratic = tf.minimum(abs_err, delta_t)
        linear = abs_err - quadratic
        err = 0.5 * tf.square(quadratic) + delta_t * linear
    else:
        err = abs_err
    n_bins = _f32(tf.shape(target)[2])
    denom = _safe_count(lengths) * n_bins
    return tf.reduce_sum(err, axis=[1, 2]) / denom


def stop_token_loss(
    logits: tf.Tensor,
    lengths: tf.Tensor,
    positive_weight: float = 1.0,
    label_smoothing: float = 0.0,
) -> tf.Tensor:
    """Weighted BCE-with-logits on stop tokens, mean over valid frames.

    The target is 1 at frame ``lengths - 1`` and 0 before it; label smoothing maps
    a target ``t`` to ``t * (1 - ls) + 0.5 * ls``. ``positive_weight`` multiplies
    the positive-class term (the single stop frame is heavily outnumbered).
    """
    logits = _f32(logits)
    max_t = tf.shape(logits)[1]
    lengths = tf.cast(lengths, tf.int32)
    mask = sequence_mask(lengths, max_t)
    targets = tf.one_hot(lengths - 1, depth=max_t, dtype=tf.float32)
    if label_smoothing:
        ls = float(label_smoothing)
        targets = targets * (1.0 - ls) + 0.5 * ls
    logits = tf.where(mask, logits, 0.0)
    bce = tf.nn.weighted_cross_entropy_with_logits(
        labels=targets, logits=logits, pos_weight=float(positive_weight)
    )
    bce = bce - stop_token_floor(targets, positive_weight)
    bce = tf.where(mask, bce, 0.0)
    return tf.reduce_sum(bce, axis=1) / _safe_count(lengths)


def stop_token_floor(targets: tf.Tensor, positive_weight: float = 1.0) -> tf.Tensor:
    """Smallest value the weighted BCE can take per frame, for (smoothed) ``targets``.

    ``w*y*softplus(-x) + (1-y)*softplus(x)`` is minimised at ``sigmoid(x) = p*``,
    ``p* = w*y / (w*y + 1 - y)``, where it equals ``-w*y*log(p*) - (1-y)*log(1-p*)``:
    the entropy floor that label smoothing puts under the loss (0 for hard targets).
    A constant of the data: subtracting it leaves the gradient unchanged.
    """
    y = tf.cast(targets, tf.float32)
    wy = float(positive_weight) * y
    p_star = wy / tf.maximum(wy + 1.0 - y, 1e-12)
    return -(tf.math.xlogy(wy, p_star) + tf.math.xlogy(1.0 - y, 1.0 - p_star))


def kl_loss(mu: tf.Tensor, logvar: tf.Tensor) -> tf.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) averaged over latent dims: ``[B]``."""
    mu = _f32(mu)
    logvar = _f32(logvar)
    return 0.5 * tf.reduce_mean(tf.square(mu) + tf.exp(logvar) - 1.0 - logvar, axis=-1)


def forward_sum_loss(
    attn_logprob: tf.Tensor,
    text_lengths: tf.Tensor,
    mel_lengths: tf.Tensor,
    log_prior: tf.Tensor | None = None,
    durations: tf.Tensor | None = None,
) -> tf.Tensor:
    """Forward-sum alignment loss: NLL of all monotonic alignments, per frame.

    With ``log_prior`` (the alignment prior's log-probability that ``attn_logprob``
    includes) and ``durations`` (the hard monotonic path, e.g. from MAS), the prior's
    own NLL along that path is subtracted without gradient: a perfect aligner (all its
    mass on one monotonic path) then scores 0 instead of the prior's NLL of the path
    (~2.4 nats per frame on the demo data), and the gradient is unchanged.

    The forward algorithm of the alignment model that monotonic alignment search
    uses (every frame belongs to one token, tokens in order, each token at least one
    frame), summed over all paths in log space. It runs as a ``tf.scan`` over frames,
    about 20x faster on a CPU than the same quantity through ``tf.nn.ctc_loss``.

    Args:
        attn_logprob: ``[B, T, N]`` log attention probabilities over tokens.
        text_lengths, mel_lengths: ``[B]`` valid token / frame counts.

    Examples with fewer frames than tokens (no monotonic path exists) get 0
    instead of inf, like PyTorch's ``zero_infinity``; their gradient is 0.
    """
    logp = _f32(attn_logprob)
    n_tokens = tf.shape(logp)[2]
    text_lengths = tf.cast(text_lengths, tf.int32)
    mel_lengths = tf.cast(mel_lengths, tf.int32)
    feasible = (mel_lengths >= text_lengths) & (text_lengths > 0)
    safe_mel = tf.maximum(mel_lengths, 1)
    safe_text = tf.maximum(tf.minimum(text_lengths, safe_mel), 1)

    token_mask = sequence_mask(safe_text, n_tokens)
    logp = tf.where(token_mask[:, None, :], logp, _NEG_LARGE)
    per_frame = tf.transpose(logp, [1, 0, 2])  # [T, B, N]
    first = tf.concat(
        [per_frame[0, :, :1], tf.fill([tf.shape(per_frame)[1], n_tokens - 1], _NEG_LARGE)], axis=1)

    def step(prev: tf.Tensor, row: tf.Tensor) -> tf.Tensor:
        shifted = tf.pad(prev[:, :-1], [[0, 0], [1, 0]], constant_values=_NEG_LARGE)
        return row + tf.reduce_logsumexp(tf.stack([prev, shifted]), axis=0)

    alphas = tf.scan(step, per_frame[1:], initializer=first)
    alphas = tf.concat([first[None], alphas], axis=0)
    index = tf.stack([safe_mel - 1, tf.range(tf.shape(alphas)[1]), safe_text - 1], axis=1)
    nll = -tf.gather_nd(alphas, index) / tf.cast(safe_mel, tf.float32)
    if log_prior is not None and durations is not None:
        nll = nll - tf.stop_gradient(path_mean(-log_prior, durations, mel_lengths))
    return tf.where(feasible, nll, tf.stop_gradient(tf.zeros_like(nll)))


def path_mean(values: tf.Tensor, durations: tf.Tensor,
                        mel_lengths: tf.Tensor) -> tf.Tensor:
    """Mean of ``values[b, t, token(t)]`` over the valid frames of the hard path that
    ``durations`` ``[B, N]`` describes (token ``n`` covers ``durations[b, n]`` frames):
    ``[B]``. Entries off the path (and padding, even if non-finite) are ignored."""
    values = _f32(values)
    durations = tf.cast(durations, tf.int32)
    ends = tf.cumsum(durations, axis=1)
    starts = ends - durations
    t = tf.range(tf.shape(values)[1])[None, :, None]
    on_path = (t >= starts[:, None, :]) & (t < ends[:, None, :])
    on_path &= sequence_mask(mel_lengths, tf.shape(values)[1])[:, :, None]
    total = tf.reduce_sum(tf.where(on_path, values, 0.0), axis=[1, 2])
    return total / _safe_count(mel_lengths)


def guided_attention_loss(
    alignments: tf.Tensor,
    text_lengths: tf.Tensor,
    dec_lengths: tf.Tensor,
    sigma: float = 0.2,
) -> tf.Tensor:
    """Guided attention penalty: mean of ``A * W`` over each example's valid region.

    ``W[t, n] = 1 - exp(-(n/N - t/T)^2 / (2 sigma^2))`` is ~0 near the diagonal and
    ~1 far from it, so attention off the monotonic diagonal is penalised.

    Args:
        alignments: ``[B, T_dec, N]`` attention weights.
        text_lengths: ``[B]`` valid tokens; dec_lengths: ``[B]`` valid decoder steps.
    """
    attn = _f32(alignments)
    t_max = tf.shape(attn)[1]
    n_max = tf.shape(attn)[2]
    n_len = _safe_count(text_lengths)[:, None, None]
    t_len = _safe_count(dec_lengths)[:, None, None]
    t_pos = _f32(tf.range(t_max))[None, :, None]
    n_pos = _f32(tf.range(n_max))[None, None, :]
    weight = 1.0 - tf.exp(-tf.square(n_pos / n_len - t_pos / t_len) / (2.0 * float(sigma) ** 2))
    mask = tf.logical_and(
        sequence_mask(dec_lengths, t_max)[:, :, None],
        sequence_mask(text_lengths, n_max)[:, None, :],
    )
    penalty = tf.where(mask, tf.where(mask, attn, 0.0) * weight, 0.0)
    return tf.reduce_sum(penalty, axis=[1, 2]) / (n_len[:, 0, 0] * t_len[:, 0, 0])


def duration_loss(
    log_duration_pred: tf.Tensor,
    durations: tf.Tensor,
    text_lengths: tf.Tensor,
) -> tf.Tensor:
    """Masked MSE between predicted log-durations and ``log(durations + 1)``."""
    pred = _f32(log_duration_pred)
    target = tf.math.log(_f32(durations) + 1.0)
    mask = sequence_mask(text_lengths, tf.shape(pred)[1])
    pred = tf.where(mask, pred, 0.0)
    target = tf.where(mask, target, 0.0)
    return tf.reduce_sum(tf.square(pred - target), axis=1) / _safe_count(text_lengths)


#: Temperature of the speaker loss's cosine similarities (0.1: a sharp softmax over the
#: batch, as in supervised-contrastive and GE2E-style speaker training).
SPEAKER_LOSS_TEMPERATURE = 0.1


def speaker_contrastive_loss(
    anchors: tf.Tensor,
    candidates: tf.Tensor,
    speaker_ids: tf.Tensor | None = None,
    temperature: float = SPEAKER_LOSS_TEMPERATURE,
) -> tf.Tensor:
    """Supervised-contrastive speaker loss: ``[B]``.

    Row ``i`` scores, among the batch's ``candidates`` (cosine similarity / temperature,
    softmax over all ``j``), the probability of the candidates with the same speaker id
    as ``i``; the loss is its negative log: 0 when every other voice is far. The pair
    ``(i, i)`` must be the same voice (the model passes the latent of example ``i``'s
    reference and of its own target utterance), so every row has a positive; without
    ``speaker_ids`` only that pair is.

    Args:
        anchors, candidates: ``[B, D]`` latents (reference latent, target-clip latent).
        speaker_ids: ``[B]`` integer labels, equal for the same speaker (any numbering).

    Under ``tf.distribute`` (replica context) the candidates of all replicas are gathered,
    so each row is scored against the global batch, exactly as on one device.
    """
    a = tf.math.l2_normalize(_f32(anchors), axis=-1)
    c = tf.math.l2_normalize(_f32(candidates), axis=-1)
    n = tf.shape(a)[0]
    own = tf.range(n)
    ids = None if speaker_ids is None else tf.reshape(tf.cast(speaker_ids, tf.int32), [-1])
    candidate_ids = ids
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        # Contrast with the whole global batch, as on one device: every replica gathers
        # all candidates (equal shares; replica r's rows come r-th).
        own = own + tf.cast(ctx.replica_id_in_sync_group, tf.int32) * n
        c = ctx.all_gather(c, axis=0)
        candidate_ids = None if ids is None else ctx.all_gather(ids, axis=0)
    logits = tf.matmul(a, c, transpose_b=True) / float(temperature)  # [B, global B]
    same = tf.equal(own[:, None], tf.range(tf.shape(c)[0])[None, :])
    if ids is not None:
        same = same | tf.equal(ids[:, None], candidate_ids[None, :])
    positive = tf.reduce_logsumexp(tf.where(same, logits, _NEG_LARGE), axis=1)
    return tf.reduce_logsumexp(logits, axis=1) - positive
