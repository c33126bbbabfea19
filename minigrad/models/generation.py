"""Generation for the encoder–decoder (§2.3, §6 机器翻译): greedy decoding and beam search,
with a KV cache, following Hugging Face's generate() step for step so that the same model
gives the same tokens.

The encoder runs once.  Each step then asks the decoder for the next token's scores:

    with the cache     feed only the newest token; every layer keeps its self-attention keys
                       and values (B, nh, t, hs) and the cross-attention K, V of the encoder
                       output, computed at the first step and reused unchanged
    without the cache  feed the whole target prefix again (t tokens at step t: O(n²) work)

Greedy: the most likely token, until every row has produced end-of-sequence (a row that has
finished is padded) or max_length is reached.

Beam search keeps the num_beams most likely prefixes (scores are sums of log-probabilities).
Each step:
  1. every running beam proposes every token: score = beam score + log p(token | beam);
  2. the best K = 2·num_beams candidates of all beams are kept (K, not num_beams, so that
     num_beams of them are still running when some end in EOS);
  3. a candidate that ends (EOS, or max_length) and is among the first num_beams becomes a
     finished hypothesis, scored  sum log p / generated_length ** length_penalty  (a
     length_penalty > 0 favours longer outputs, < 0 shorter ones); the best num_beams
     finished hypotheses are kept;
  4. the best num_beams candidates that did not end run on;
  5. stop when no running beam can beat the worst kept finished one (early_stopping=False:
     Hugging Face's estimate with the current length; "never": the bound with max_length,
     exact for length_penalty >= 0), or, with early_stopping=True, as soon as num_beams
     hypotheses are finished, or at max_length.
The best finished hypothesis is returned.  Scores are float32 sums, and "impossible" is
-1e9, as in Hugging Face, so that ties break the same way.

Logits processors (in Hugging Face's order): bad_words_ids (banned token sequences; Marian's
directories ban the pad token), forced_eos_token_id (at the last position only EOS is allowed).
"""
from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor, as_tensor

__all__ = ["generate_seq2seq", "greedy_search", "beam_search", "LogitsProcessor", "Seq2SeqDecoder"]

_IMPOSSIBLE = np.float32(-1.0e9)                 # Hugging Face's "never choose this"


# --- logits processors ------------------------------------------------------------------
class LogitsProcessor:
    """Bans and forced tokens, applied to the (N, V) scores of the next token.

    bad_words_ids: list of token-id lists; a one-token entry is never produced, a longer one
    is blocked when the sequence ends with all but its last token (an entry that is only EOS
    is dropped, as Hugging Face does).  forced_eos_token_id: when the next token is the last
    one max_length allows, every other token gets -inf and EOS 0.
    """

    def __init__(self, bad_words_ids=None, eos_token_ids=(), forced_eos_token_id=None,
                 max_length: int = 20):
        bad = [list(map(int, b)) for b in (bad_words_ids or [])]
        if any(len(b) == 0 for b in bad):
            raise ValueError(f"bad_words_ids must be a list of non-empty token-id lists, got {bad_words_ids}")
        self.bad_words = [b for b in bad if b not in ([e] for e in eos_token_ids)]
        self.forced_eos = forced_eos_token_id
        self.max_length = max_length

    def __call__(self, ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """ids (N, t) the sequences so far; scores (N, V) float32 -> (N, V)."""
        V = scores.shape[-1]
        if self.bad_words:
            bias = np.zeros(scores.shape, dtype=scores.dtype)
            for seq in self.bad_words:
                if max(seq) >= V:
                    raise ValueError(f"bad_words_ids: token {max(seq)} is outside the vocabulary ({V})")
                prefix = seq[:-1]
                if len(prefix) > ids.shape[1]:
                    continue
                rows = (np.all(ids[:, ids.shape[1] - len(prefix):] == prefix, axis=1) if prefix
                        else np.ones(len(ids), dtype=bool))
                bias[rows, seq[-1]] = -np.inf
            scores = scores + bias
        if self.forced_eos is not None and ids.shape[1] == self.max_length - 1:
            scores = np.full_like(scores, -np.inf)
            scores[:, self.forced_eos] = 0.0
        return scores


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, in x's dtype (float32 here, as Hugging Face's)."""
    m = x.max(axis=-1, keepdims=True)
    z = x - m
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def topk_indices(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest entries of each row, largest first (ties: lower index first)."""
    return np.argsort(-x, axis=-1, kind="stable")[:, :k]


# --- the decoder, one step at a time ----------------------------------------------------
class Seq2SeqDecoder:
    """Wraps a model and its (already computed) encoder output for step-by-step decoding.

    next_logits(ids (N, t)) -> (N, V) float32 scores of token t+1.  With use_cache only
    ids[:, -1:] is fed and the layers' keys/values are kept; reorder(index) makes row i of
    the cache a copy of row index[i] (beam search continues the chosen beams).
    """

    def __init__(self, model, encoder_hidden: Tensor, attention_mask, use_cache: bool = True):
        self.model, self.memory, self.mask = model, encoder_hidden, attention_mask
        self.use_cache, self.past = use_cache, None

    def next_logits(self, ids: np.ndarray) -> np.ndarray:
        feed = ids[:, -1:] if self.past is not None else ids
        out = self.model(decoder_input_ids=feed, attention_mask=self.mask,
                         encoder_outputs=self.memory, past_key_values=self.past,
                         use_cache=self.use_cache)
        if self.use_cache:
            self.past = out.past_key_values
        return out.logits.data[:, -1, :].astype(np.float32)              # (N, V)

    def reorder(self, index: np.ndarray):
        if self.past is None:
            return
        # the self-attention cache follows the beams; the cross-attention K, V (entries 2, 3)
        # are the same for every beam of a sentence, and beams only move within a sentence
        self.past = tuple((Tensor(sk.data[index]), Tensor(sv.data[index]), ck, cv)
                          for sk, sv, ck, cv in self.past)


# --- greedy ----------------------------------------------------------------------------
def greedy_search(decoder: Seq2SeqDecoder, batch_size: int, start_id: int, max_length: int,
                  eos_ids, pad_id: int | None, processor: LogitsProcessor) -> np.ndarray:
    """The most likely token each step.  Returns (B, L) int64 with L <= max_length."""
    ids = np.full((batch_size, 1), start_id, dtype=np.int64)             # (B, 1)
    unfinished = np.ones(batch_size, dtype=bool)
    eos = np.asarray(list(eos_ids), dtype=np.int64)
    while True:
        scores = processor(ids, decoder.next_logits(ids))                 # (B, V)
        nxt = scores.argmax(axis=-1)                                      # (B,)
        if eos.size:
            nxt = np.where(unfinished, nxt, pad_id)                       # finished rows: pad
            unfinished &= ~np.isin(nxt, eos)
        ids = np.concatenate([ids, nxt[:, None]], axis=1)
        if ids.shape[1] >= max_length or not unfinished.any():
            return ids


# --- beam search -----------------------------------------------------------------------
def beam_search(decoder: Seq2SeqDecoder, batch_size: int, num_beams: int, start_id: int,
                max_length: int, eos_ids, pad_id: int | None, processor: LogitsProcessor,
                length_penalty: float = 1.0, early_stopping: bool | str = False) -> np.ndarray:
    """Beam search as Hugging Face's (see the module docstring).  The decoder's rows are
    B·num_beams (sentence b's beams at rows b·num_beams ...).  Returns (B, L) int64."""
    B, nb = batch_size, num_beams
    eos = np.asarray(list(eos_ids), dtype=np.int64)
    prompt = 1                                                    # the decoder start token
    K = max(2, 1 + eos.size) * nb                                 # candidates kept per step
    in_top_nb = np.arange(K) < nb
    fill = ((pad_id or int(eos[0])) if eos.size else -1)          # HF's fill of unused positions
    f32 = np.float32

    running = np.full((B, nb, max_length), fill, dtype=np.int64)  # (B, nb, L) running prefixes
    running[:, :, 0] = start_id
    running_scores = np.zeros((B, nb), dtype=f32)
    running_scores[:, 1:] = _IMPOSSIBLE                           # step 1: only beam 0 is real
    done = running.copy()                                         # (B, nb, L) finished hypotheses
    done_scores = np.full((B, nb), _IMPOSSIBLE, dtype=f32)
    done_len = np.zeros((B, nb), dtype=np.int64)                  # tokens generated in each
    is_done = np.zeros((B, nb), dtype=bool)
    improvable = np.ones((B, 1), dtype=bool)                      # can running beams still win?
    cur = 1
    while True:
        flat = running[:, :, :cur].reshape(B * nb, cur)                        # (B·nb, t)
        log_p = processor(flat, log_softmax(decoder.next_logits(flat)))        # (B·nb, V)
        V = log_p.shape[-1]
        # 1-2. every beam × every token, the best K per sentence
        cand_scores = (log_p.reshape(B, nb, V) + running_scores[:, :, None]).reshape(B, nb * V)
        top = topk_indices(cand_scores, K)                                      # (B, K)
        top_scores = np.take_along_axis(cand_scores, top, axis=1)               # (B, K)
        from_beam, token = top // V, top % V
        cand = np.take_along_axis(running, from_beam[:, :, None], axis=1)       # (B, K, L) copies
        cand[:, :, cur] = token
        ends = np.isin(token, eos) | (cur + 1 >= max_length)                    # (B, K)

        # 4. the best num_beams candidates that go on
        alive_scores = top_scores + ends.astype(f32) * _IMPOSSIBLE
        keep = topk_indices(alive_scores, nb)                                   # (B, nb)
        running = np.take_along_axis(cand, keep[:, :, None], axis=1)
        running_scores = np.take_along_axis(alive_scores, keep, axis=1)
        parent = np.take_along_axis(from_beam, keep, axis=1)                    # (B, nb)

        # 3. candidates that end become finished hypotheses, length-normalised
        just_done = ends & in_top_nb[None, :]
        norm = top_scores / float((cur + 1 - prompt) ** length_penalty)
        full = np.all(is_done, axis=1, keepdims=True) & (early_stopping is True)
        norm = norm + full.astype(f32) * _IMPOSSIBLE
        norm = norm + (~improvable).astype(f32) * _IMPOSSIBLE
        norm = norm + (~just_done).astype(f32) * _IMPOSSIBLE
        merged = np.concatenate([done_scores, norm], axis=1)                    # (B, nb + K)
        best = topk_indices(merged, nb)
        done = np.take_along_axis(np.concatenate([done, cand], axis=1), best[:, :, None], axis=1)
        done_scores = np.take_along_axis(merged, best, axis=1)
        done_len = np.take_along_axis(
            np.concatenate([done_len, np.full((B, K), cur + 1 - prompt)], axis=1), best, axis=1)
        is_done = np.take_along_axis(np.concatenate([is_done, just_done], axis=1), best, axis=1)

        # the cache follows the beams that go on
        decoder.reorder((parent + np.arange(B)[:, None] * nb).reshape(-1))
        cur += 1

        # 5. stop?
        if early_stopping == "never" and length_penalty > 0.0:
            best_len = max_length - prompt
        else:
            best_len = cur - prompt
        best_possible = running_scores[:, :1] / float(best_len ** length_penalty)     # (B, 1)
        worst_done = np.where(is_done, done_scores.min(axis=1, keepdims=True), _IMPOSSIBLE)
        improvable = improvable & np.any(best_possible > worst_done, axis=-1, keepdims=True)
        open_beam = not (is_done.all() and early_stopping is True)
        if not (improvable.any() and open_beam and not ends.all()):
            break
    out_len = prompt + int(done_len[:, 0].max())
    return done[:, 0, :out_len]


# --- the entry point -------------------------------------------------------------------
_DEFAULTS = dict(num_beams=1, length_penalty=1.0, early_stopping=False, max_length=20,
                 bad_words_ids=None, use_cache=True)


def _setting(name, given, model):
    """An argument if given, else generation_config.json's value, else the config's / default."""
    if given is not None:
        return given
    gen = getattr(model, "generation_config", None) or {}
    if name in gen and gen[name] is not None:
        return gen[name]
    if name in ("eos_token_id", "pad_token_id", "decoder_start_token_id", "forced_eos_token_id"):
        return getattr(model.config, name)
    return _DEFAULTS.get(name)


def generate_seq2seq(model, input_ids, attention_mask=None, max_new_tokens: int | None = None,
                     num_beams: int | None = None, length_penalty: float | None = None,
                     early_stopping: bool | str | None = None, max_length: int | None = None,
                     eos_token_id=None, pad_token_id: int | None = None,
                     decoder_start_token_id: int | None = None, forced_eos_token_id=None,
                     bad_words_ids=None, use_cache: bool | None = None,
                     do_sample: bool = False, num_return_sequences: int = 1) -> Tensor:
    """model.generate for MarianMTModel (see MarianMTModel.generate and this module's docstring).

    input_ids (B, S) or (S,) source ids; attention_mask (B, S), 1 = real token (default: all
    real, as in transformers 5: a padded batch needs its mask).
    max_new_tokens: tokens to generate after the start token (else max_length counts the
    start token too).  Runs in eval mode under no_grad; the previous mode is restored.
    """
    if do_sample:
        raise NotImplementedError("generate: sampling is not implemented for the encoder–decoder; "
                                  "use greedy (num_beams=1) or beam search")
    if num_return_sequences != 1:
        raise NotImplementedError("generate: num_return_sequences > 1 is not implemented")
    ids = np.asarray(as_tensor(input_ids).data)
    squeeze = ids.ndim == 1
    ids = ids[None] if squeeze else ids
    if ids.dtype.kind not in "iu" or ids.ndim != 2:
        raise TypeError(f"generate: input_ids must be integer ids of shape (B, S), got "
                        f"{ids.dtype} {ids.shape}")
    num_beams = int(_setting("num_beams", num_beams, model))
    length_penalty = float(_setting("length_penalty", length_penalty, model))
    early_stopping = _setting("early_stopping", early_stopping, model)
    if early_stopping not in (True, False, "never"):
        raise ValueError(f"generate: early_stopping must be True, False or 'never', got {early_stopping!r}")
    eos = _setting("eos_token_id", eos_token_id, model)
    eos_ids = [] if eos is None else ([int(eos)] if np.ndim(eos) == 0 else [int(e) for e in eos])
    pad = _setting("pad_token_id", pad_token_id, model)
    if pad is None and eos_ids:
        pad = eos_ids[0]
    start = int(_setting("decoder_start_token_id", decoder_start_token_id, model))
    forced = _setting("forced_eos_token_id", forced_eos_token_id, model)
    if max_new_tokens is not None:
        if max_new_tokens < 1:
            raise ValueError(f"generate: max_new_tokens must be >= 1, got {max_new_tokens}")
        max_length = 1 + int(max_new_tokens)
    else:
        max_length = int(_setting("max_length", max_length, model))
    if num_beams < 1:
        raise ValueError(f"generate: num_beams must be >= 1, got {num_beams}")
    use_cache = bool(_setting("use_cache", use_cache, model))
    processor = LogitsProcessor(_setting("bad_words_ids", bad_words_ids, model), eos_ids,
                                forced, max_length)

    # no attention_mask: every source token is real (transformers 5 infers no mask from pad
    # tokens for an encoder–decoder either); pass the tokenizer's mask for padded batches
    mask = (np.ones_like(ids, dtype=np.int64) if attention_mask is None
            else np.asarray(as_tensor(attention_mask).data))

    was_training = model.training
    model.eval()
    try:
        with no_grad():
            memory = model.get_encoder()(ids, mask).last_hidden_state       # (B, S, d), once
            B = ids.shape[0]
            if num_beams == 1:
                dec = Seq2SeqDecoder(model, memory, mask, use_cache)
                out = greedy_search(dec, B, start, max_length, eos_ids, pad, processor)
            else:                                   # each sentence's row repeated num_beams times
                memory = Tensor(np.repeat(memory.data, num_beams, axis=0))  # (B·nb, S, d)
                dec = Seq2SeqDecoder(model, memory, np.repeat(mask, num_beams, axis=0), use_cache)
                out = beam_search(dec, B, num_beams, start, max_length, eos_ids, pad, processor,
                                  length_penalty, early_stopping)
    finally:
        model.train(was_training)
    return Tensor(out[0] if squeeze else out)
