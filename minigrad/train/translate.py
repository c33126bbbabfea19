"""Training and scoring an English→Chinese translation model (§2.3 下游任务, §6 机器翻译).

    data = build_translation_data()                        # KJV → 和合本, held-out chapters
    model, model_config = build_translation_model(data)    # MarianMTModel, two vocabularies
    task = TranslationTask(data, label_smoothing=0.1)
    Trainer(model, task, TrainConfig(...), model_config, tokenizer=data.tokenizers).fit()
    evaluate_translation(model, data, split="test", num_beams=4)   # {'bleu', 'chrf', 'verses', ...}
    load_translator("runs/translate/best.safetensors").translate("In the beginning God ...")

Training is teacher forcing: the decoder reads the reference shifted one step right (pad
first, Marian's start token) and is scored on every next character by the cross-entropy
(§4.2), with label smoothing ε: the target puts 1 - ε on the right character and ε spread
over all of them, which keeps the model from becoming over-confident.  The validation loss
the trainer uses to keep the best weights is the plain cross-entropy (ε = 0), so exp(loss)
is a perplexity.

Evaluation is free running: the model translates held-out verses from nothing but the
English (greedy or beam search, models/generation.py), and the output is scored against the
和合本 with corpus BLEU (sacreBLEU's `zh` tokenisation: one word per Chinese character) and
chrF (metrics.py).  Two baselines put the figures in context: the most frequent training
translation for every verse, and the Chinese of the training verse with the most English
words in common (a "translation memory").
"""
from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from ..autograd import no_grad
from ..data.translation import (EOS_ID, IGNORE_INDEX, PAD_ID, TranslationData, TranslationTokenizers,
                                encode_ids)
from ..metrics import corpus_bleu, corpus_chrf
from .checkpoint import CheckpointMismatchError, read_checkpoint, tokenizer_from_dict

__all__ = ["TranslationTask", "build_translation_model", "evaluate_translation", "score_translations",
           "baseline_most_frequent", "baseline_retrieval", "translate", "load_translator", "Translator"]


def build_translation_model(data: TranslationData, d_model: int = 128, layers: int = 2, heads: int = 4,
                            dropout: float = 0.1, **config):
    """(MarianMTModel, its config dict) sized for the data's two vocabularies: MarianConfig.small
    (pre-LN, sinusoidal positions, scaled embeddings), separate source and target embeddings,
    the output layer tied to the target embeddings."""
    from ..models import MarianConfig, MarianMTModel
    cfg = MarianConfig.small(data.source_tokenizer.vocab_size, data.target_tokenizer.vocab_size,
                             pad_token_id=PAD_ID, eos_token_id=EOS_ID, d_model=d_model, layers=layers,
                             heads=heads, dropout=dropout, share_encoder_decoder_embeddings=False,
                             **config)
    return MarianMTModel(cfg), cfg.to_dict()


def _decode_target(tokenizer, ids) -> str:
    """Generated ids (start token first) -> Chinese text: up to the first eos, pad dropped."""
    ids = [int(i) for i in ids[1:]]
    if EOS_ID in ids:
        ids = ids[:ids.index(EOS_ID)]
    return tokenizer.decode([i for i in ids if i != PAD_ID])


def translate(model, src_tokenizer, tgt_tokenizer, texts, num_beams: int = 1, max_new_tokens: int = 128,
              batch_size: int = 32, max_source_length: int = 128, length_penalty: float = 1.0) -> list:
    """English texts -> Chinese strings.  Verses are decoded in batches of similar length
    (less padding), greedy (num_beams=1) or with beam search; the order of `texts` is kept."""
    if isinstance(texts, str):
        raise TypeError("translate: pass a list of texts (one str: [text])")
    texts = list(texts)
    if not texts:
        return []
    src, mask = encode_ids(src_tokenizer, texts, max_source_length)
    lengths = mask.sum(1)
    order = np.argsort(-lengths, kind="stable")
    out = [None] * len(texts)
    for i in range(0, len(texts), batch_size):
        rows = order[i:i + batch_size]
        width = int(lengths[rows].max())
        ids = model.generate(src[rows, :width], attention_mask=mask[rows, :width],
                             max_new_tokens=max_new_tokens, num_beams=num_beams,
                             length_penalty=length_penalty, eos_token_id=EOS_ID,
                             pad_token_id=PAD_ID).data
        for r, row in zip(rows, ids):
            out[r] = _decode_target(tgt_tokenizer, row)
    return out


def score_translations(hypotheses, references) -> dict:
    """Corpus BLEU (tokenize="zh": Chinese characters are words) and chrF, both 0-100."""
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"score_translations: {len(hypotheses)} hypotheses for {len(references)} references")
    return {"bleu": corpus_bleu(hypotheses, [references], tokenize="zh").score,
            "chrf": corpus_chrf(hypotheses, [references]).score, "verses": len(hypotheses)}


def evaluate_translation(model, data: TranslationData, split: str = "test", num_beams: int = 1,
                         max_verses: int | None = None, max_new_tokens: int | None = None,
                         batch_size: int = 32) -> dict:
    """Translate the first `max_verses` verses of a split (all with None) and score them:
    {'bleu', 'chrf', 'verses', 'hypotheses', 'references'}."""
    pairs = data.splits.split(split)[:max_verses]
    if not pairs:
        raise ValueError(f"evaluate_translation: the {split} split is empty")
    hyps = translate(model, data.source_tokenizer, data.target_tokenizer, [p.en for p in pairs],
                     num_beams=num_beams, max_new_tokens=max_new_tokens or data.max_target_length,
                     batch_size=batch_size, max_source_length=data.max_source_length)
    refs = [p.zh for p in pairs]
    return {**score_translations(hyps, refs), "hypotheses": hyps, "references": refs}


# --- baselines -------------------------------------------------------------------------------
def baseline_most_frequent(splits, split: str = "test", max_verses: int | None = None) -> list:
    """Every verse 'translated' as the training split's most frequent Chinese verse (ties: the
    one seen first)."""
    counts = Counter(p.zh for p in splits.train)
    best = max(counts.values())
    top = next(p.zh for p in splits.train if counts[p.zh] == best)
    return [top] * len(splits.split(split)[:max_verses])


_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def english_words(text: str) -> set:
    """The set of lowercased words of a verse: 'And God said' -> {'and', 'god', 'said'}."""
    return set(_WORD.findall(text.lower()))


def baseline_retrieval(splits, split: str = "test", max_verses: int | None = None) -> list:
    """A translation memory: for every verse, the Chinese of the training verse that shares the
    most English words with it (lowercased word sets; ties: the earliest training verse).

    Shared-word counts for all pairs at once: with X (train × words) and Q (verses × words) 0/1
    matrices, (Q Xᵀ)[i, j] = |words(verse i) ∩ words(training verse j)|."""
    from scipy import sparse
    train, queries = splits.train, splits.split(split)[:max_verses]
    if not train:
        raise ValueError("baseline_retrieval: the training split is empty")
    vocab: dict = {}

    def matrix(verses, grow: bool):
        rows, cols = [], []
        for i, p in enumerate(verses):
            for w in english_words(p.en):
                j = vocab.setdefault(w, len(vocab)) if grow else vocab.get(w)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        return rows, cols

    tr, tc = matrix(train, True)
    qr, qc = matrix(queries, False)
    X = sparse.csr_matrix((np.ones(len(tr), np.int32), (tr, tc)), shape=(len(train), len(vocab)))
    Q = sparse.csr_matrix((np.ones(len(qr), np.int32), (qr, qc)), shape=(len(queries), len(vocab)))
    out = []
    for i in range(0, len(queries), 256):                     # (256, N) shared-word counts at a time
        shared = (Q[i:i + 256] @ X.T).toarray()
        out += [train[j].zh for j in shared.argmax(1)]        # argmax: the first of the ties
    return out


# --- the task the Trainer runs ---------------------------------------------------------------
class TranslationTask:
    """English→Chinese with MarianMTModel: teacher forcing with label smoothing for the loss,
    validation loss (plain cross-entropy) + greedy BLEU/chrF on `eval_verses` held-out verses
    for the evaluation.  Plugs into Trainer like LMTask and ClassificationTask."""

    arch = "marian"

    def __init__(self, data: TranslationData, label_smoothing: float = 0.1, eval_verses: int | None = 64,
                 num_beams: int = 1, description: dict | None = None, loss_verses: int | None = 512,
                 test_verses: int | None = None):
        # eval_verses: translated for BLEU/chrF at each evaluation; loss_verses: scored for the
        # validation loss (None: all); test_verses: translated for the final test figure (None: all)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        self.data, self.label_smoothing = data, label_smoothing
        self.eval_verses, self.num_beams = eval_verses, num_beams
        self.loss_verses, self.test_verses = loss_verses, test_verses
        self.description = dict(description or {})

    def describe(self) -> dict:
        return {"task": "translate", **self.data.describe(), "label_smoothing": self.label_smoothing,
                **self.description}

    @property
    def has_test(self) -> bool:
        return bool(self.data.splits.test)

    def batch(self, step: int, batch_size: int, seed: int):
        return self.data.batch(step, batch_size, seed)

    def loss(self, model, batch):
        src, mask, labels = batch
        out = model(input_ids=src, attention_mask=mask, labels=labels, label_smoothing=self.label_smoothing)
        return out.loss, int((labels != IGNORE_INDEX).sum())

    def loss_items(self, batch) -> int:
        """The target tokens the mean loss of `batch` averages over (gradient accumulation
        weights micro-batches by them)."""
        return int((np.asarray(batch[2]) != IGNORE_INDEX).sum())

    @no_grad()
    def loss_on(self, model, split: str = "val", batch_size: int = 64, max_verses: int | None = None) -> tuple:
        """(mean cross-entropy per target token, tokens) over the first `max_verses` verses of a
        split (None: all), ε = 0 (§4.2)."""
        src, mask, labels = (a[:max_verses] for a in self.data.encode(split))
        was_training = model.training
        model.eval()
        total, n = 0.0, 0
        try:
            for i in range(0, len(src), batch_size):
                s, m, y = src[i:i + batch_size], mask[i:i + batch_size], labels[i:i + batch_size]
                s, m = s[:, :int(m.sum(1).max())], m[:, :int(m.sum(1).max())]
                y = y[:, :int((y != IGNORE_INDEX).sum(1).max())]
                k = int((y != IGNORE_INDEX).sum())
                total += model(input_ids=s, attention_mask=m, labels=y).loss.item() * k
                n += k
        finally:
            model.train(was_training)
        return total / n, n

    def evaluate(self, model, batch_size: int = 64, max_windows: int | None = -1, split: str = "val") -> dict:
        """{split}_loss, perplexity, and BLEU/chrF of free-running translations of the split's
        first `eval_verses` verses (max_windows: that number instead; None = every verse, or
        `test_verses` of the test split).  The loss covers `loss_verses` (with None: all)."""
        verses = self.eval_verses if max_windows == -1 else max_windows
        if verses is None and split == "test":
            verses = self.test_verses
        loss, tokens = self.loss_on(model, split, batch_size, self.loss_verses if max_windows == -1 else None)
        scores = evaluate_translation(model, self.data, split, num_beams=self.num_beams, max_verses=verses)
        return {f"{split}_loss": loss, "perplexity": math.exp(min(loss, 700.0)), "bleu": scores["bleu"],
                "chrf": scores["chrf"], "verses": scores["verses"], "tokens": tokens}


# --- a checkpoint as a translator ------------------------------------------------------------
class Translator:
    """A translation checkpoint ready to use: .model, .tokenizers, .translate(texts)."""

    def __init__(self, model, tokenizers: TranslationTokenizers, checkpoint: dict | None = None):
        self.model, self.tokenizers, self.checkpoint = model, tokenizers, checkpoint or {}
        task = self.checkpoint.get("task") or {}
        self.max_source_length = int(task.get("max_source_length", 128))
        self.max_new_tokens = int(task.get("max_target_length", 128))

    def translate(self, texts, num_beams: int = 1, max_new_tokens: int | None = None,
                  length_penalty: float = 1.0):
        """One English text -> one Chinese string; a list -> a list."""
        one = isinstance(texts, str)
        out = translate(self.model, self.tokenizers.source, self.tokenizers.target, [texts] if one else texts,
                        num_beams=num_beams, max_new_tokens=max_new_tokens or self.max_new_tokens,
                        max_source_length=self.max_source_length, length_penalty=length_penalty)
        return out[0] if one else out


def load_translator(checkpoint_path) -> Translator:
    """The model and both tokenizers of a translation checkpoint (checkpoint.safetensors or
    best.safetensors from `minigrad train --task translate`); nothing else is needed."""
    from .checkpoint import build_model
    ckpt = read_checkpoint(checkpoint_path)
    if ckpt["arch"] != "marian":
        raise CheckpointMismatchError(f"'{checkpoint_path}' holds a {ckpt['arch']!r} model, not a "
                                      f"translation model (train one with `minigrad train --task translate`)")
    stored = ckpt["tokenizer"]
    if not isinstance(stored, dict) or stored.get("type") != "translation":
        raise CheckpointMismatchError(f"'{checkpoint_path}' has no translation tokenizers (an English "
                                      f"and a Chinese vocabulary), so its ids cannot be read")
    try:
        tokenizers = tokenizer_from_dict(stored)
        model = build_model("marian", ckpt["model_config"])
        cfg = model.config
        if (cfg.vocab_size, cfg.decoder_vocab_size) != (tokenizers.source.vocab_size, tokenizers.target.vocab_size):
            raise ValueError(f"the model has vocabularies of {cfg.vocab_size} and {cfg.decoder_vocab_size} "
                             f"ids, the tokenizers {tokenizers.source.vocab_size} and "
                             f"{tokenizers.target.vocab_size}")
        model.load_state_dict(ckpt["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise CheckpointMismatchError(f"'{checkpoint_path}' is a damaged or edited translation "
                                      f"checkpoint ({type(e).__name__}: {e})") from None
    model.eval()
    return Translator(model, tokenizers, ckpt)
