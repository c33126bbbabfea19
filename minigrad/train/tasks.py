"""What the training loop trains on: a task gives batches, a loss, and an evaluation.

    LMTask              next-token prediction with a GPT (§3.2 预训练): loss = mean cross-entropy
                        (§4.2), evaluated by perplexity = exp(mean cross-entropy) on held-out
                        text (§3.2 模型评估)
    MLMTask             BERT's masked-language-model pre-training (§3.2): predict the 15% masked
                        characters; evaluated by masked-token cross-entropy, perplexity, accuracy
    ClassificationTask  fine-tuning (§3.3 微调, §5): texts -> labels, evaluated by accuracy

`evaluate(model, split="val")` scores the validation split, which the training loop uses to
keep the best weights (early stopping); `evaluate(model, split="test")` the test split, used
once at the end for the figure to report.  The keys say which: val_loss or test_loss (with
perplexity / accuracy of that split, and `tokens` or `texts`: how many were scored).

A task's `batch(step, batch_size, seed)` is a pure function of its arguments (plus minigrad's
generator for masking, whose state the checkpoint saves), which is what makes `--resume`
exact.  `describe()` is stored in checkpoints and compared when resuming.
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as _random
from ..autograd import no_grad
from ..data.datasets import LMData, TextClassificationSet, encode_texts, step_rng
from ..models.bert import mask_tokens
from ..nn import functional as F
from ..tokenizers import BertTokenizer


class LMTask:
    """Causal language modelling on token windows (GPT)."""

    arch = "gpt"

    def __init__(self, data: LMData, eval_windows: int | None = 256, description: dict | None = None):
        self.data = data
        self.eval_windows = eval_windows
        self.description = dict(description or {})

    def describe(self) -> dict:
        return {"task": "lm", "block_size": self.data.train.block_size, **self.description}

    @property
    def has_test(self) -> bool:
        return self.data.test is not None

    def batch(self, step: int, batch_size: int, seed: int):
        return self.data.train.batch(batch_size, step_rng(seed, step))

    def loss(self, model, batch):
        x, y = batch
        return model(x, y).loss, x.size

    @no_grad()
    def evaluate(self, model, batch_size: int = 32, max_windows: int | None = -1,
                 split: str = "val") -> dict:
        """Loss (mean cross-entropy per token) and perplexity = exp(loss) (§3.2 模型评估) over
        non-overlapping windows of the split (the first `eval_windows`, or all with None);
        `tokens`: how many predictions were scored."""
        windows = self.eval_windows if max_windows == -1 else max_windows
        was_training = model.training
        model.eval()
        total, n = 0.0, 0
        try:
            for x, y in self.data.split(split).eval_batches(batch_size, windows):
                total += model(x, y).loss.item() * y.size
                n += y.size
        finally:
            model.train(was_training)
        loss = total / n
        return {f"{split}_loss": loss, "perplexity": math.exp(loss), "tokens": n}


class MLMTask:
    """Masked-language-model pre-training of a BERT on character windows, each starting with
    [CLS] (as the classification inputs will)."""

    arch = "bert-mlm"

    def __init__(self, data: LMData, eval_windows: int | None = 256, description: dict | None = None):
        tok = data.tokenizer
        for role in ("mask_token", "cls_token", "pad_token"):
            if getattr(tok, role) is None:
                raise ValueError(f"MLMTask: the tokenizer needs a {role}")
        self.data, self.eval_windows = data, eval_windows
        self.description = dict(description or {})
        self.cls_id, self.mask_id = tok.cls_token_id, tok.mask_token_id
        self.special = tok.all_special_ids
        self.vocab_size = tok.vocab_size

    def describe(self) -> dict:
        return {"task": "mlm", "block_size": self.data.train.block_size + 1, **self.description}

    @property
    def has_test(self) -> bool:
        return self.data.test is not None

    def _mask(self, x):
        ids = np.concatenate([np.full((len(x), 1), self.cls_id), x], axis=1)   # (B, 1 + T)
        inputs, labels = mask_tokens(ids, self.mask_id, self.vocab_size, self.special)
        return inputs, labels

    def batch(self, step: int, batch_size: int, seed: int):
        x, _ = self.data.train.batch(batch_size, step_rng(seed, step))
        return x                       # masked by prepare(), with minigrad's (checkpointed) generator

    def prepare(self, batch):
        """The masks of a step, drawn once for the whole (global) batch: (inputs, labels)
        arrays (B, 1 + T).  The training loop calls this before cutting the batch into ranks
        or micro-batches, so every sample gets the masks one process would give it."""
        inputs, labels = self._mask(batch)
        return inputs.data, labels.data

    def loss_items(self, batch) -> int:
        """How many predictions the mean loss of `batch` (prepared) averages over: its masked
        tokens, which differ between the parts of a batch (distributed_loop weights by them)."""
        return int((np.asarray(batch[1]) != -100).sum())

    def loss(self, model, batch):
        inputs, labels = batch if isinstance(batch, tuple) else self._mask(batch)
        if not (np.asarray(getattr(labels, "data", labels)) != -100).any():
            # no token masked in this part of a batch (a micro-batch or a rank's share): it
            # adds nothing to the batch's loss, a zero gradient (the mean over none is 0/0)
            return model(inputs).logits.sum() * 0.0, int(np.prod(inputs.shape))
        return model(inputs, labels=labels).loss, int(np.prod(inputs.shape))

    @no_grad()
    def evaluate(self, model, batch_size: int = 32, max_windows: int | None = -1,
                 split: str = "val") -> dict:
        """Masked-token cross-entropy, perplexity and accuracy on a split ('val' or 'test');
        the masks come from a fixed seed, so every evaluation scores the same positions;
        `tokens`: how many masked tokens were scored."""
        windows = self.eval_windows if max_windows == -1 else max_windows
        part = self.data.split(split)
        was_training = model.training
        model.eval()
        state = _random.get_rng_state()
        _random.manual_seed(12345)
        total, correct, n = 0.0, 0, 0
        try:
            for x, _ in part.eval_batches(batch_size, windows):
                inputs, labels = self._mask(x)
                out = model(inputs, labels=labels)
                lab = labels.data
                k = int((lab != -100).sum())
                if k == 0:
                    continue
                total += out.loss.item() * k
                pred = out.logits.data.argmax(-1)
                correct += int(((pred == lab) & (lab != -100)).sum())
                n += k
        finally:
            _random.set_rng_state(state)
            model.train(was_training)
        loss = total / max(n, 1)
        return {f"{split}_loss": loss, "perplexity": math.exp(loss), "accuracy": correct / max(n, 1),
                "tokens": n}


def encode_classification(tokenizer, texts, max_length: int):
    """Texts -> (input_ids, attention_mask), (N, T) int64, right-padded, at most max_length ids.

    A WordPiece BertTokenizer (a Hugging Face BERT, §5) wraps each text as it was pre-trained:
    [CLS] text [SEP], cut to max_length tokens (the [SEP] kept), exactly as
    `tokenizer(texts, padding=True, truncation=True, max_length=...)` in Hugging Face.
    minigrad's character tokenizers put [CLS] in front only (their BERTs are pre-trained so).
    """
    if isinstance(tokenizer, BertTokenizer):
        enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                        return_tensors="np")
        return enc["input_ids"].astype(np.int64), enc["attention_mask"].astype(np.int64)
    return encode_texts(tokenizer, texts, max_length, tokenizer.cls_token)


class ClassificationTask:
    """Text classification with BertForSequenceClassification (§3.3 微调, §5).

    `val`: the texts that choose the best weights (early stopping), apart from `test`, which
    gives the final figure.  Without `val` the test texts are the validation texts too (as in
    a quick experiment); there is then no separate test figure (`has_test` is False)."""

    arch = "bert-cls"

    def __init__(self, train: TextClassificationSet, test: TextClassificationSet, tokenizer,
                 max_length: int = 128, description: dict | None = None,
                 val: TextClassificationSet | None = None):
        self.tokenizer, self.max_length = tokenizer, max_length
        self.train_ids, self.train_mask = encode_classification(tokenizer, train.texts, max_length)
        self.train_labels = train.labels
        self._splits = {"test": (*encode_classification(tokenizer, test.texts, max_length), test.labels)}
        self._splits["val"] = (self._splits["test"] if val is None else
                               (*encode_classification(tokenizer, val.texts, max_length), val.labels))
        self.has_test = val is not None
        self.test_ids, self.test_mask, self.test_labels = self._splits["test"]
        self.label_names = list(train.label_names)
        self.description = dict(description or {})

    def describe(self) -> dict:
        return {"task": "classification", "labels": self.label_names,
                "max_length": self.max_length, **self.description}

    def batch(self, step: int, batch_size: int, seed: int):
        """Epochs over the training set, each in the order of a permutation seeded by (seed,
        epoch), so step s always gets the same examples."""
        n = len(self.train_labels)
        start = step * batch_size
        perms = {e: np.random.default_rng([int(seed), 2**31, e]).permutation(n)
                 for e in range(start // n, (start + batch_size - 1) // n + 1)}
        idx = np.asarray([perms[i // n][i % n] for i in range(start, start + batch_size)])
        ids, mask = self.train_ids[idx], self.train_mask[idx]
        width = int(mask.sum(1).max())                     # drop columns that are padding only
        return ids[:, :width], mask[:, :width], self.train_labels[idx]

    def loss(self, model, batch):
        ids, mask, labels = batch
        return model(ids, attention_mask=mask, labels=labels).loss, int(mask.sum())

    @no_grad()
    def evaluate(self, model, batch_size: int = 64, max_windows=None, split: str = "val") -> dict:
        """Loss and accuracy = share of texts whose most likely label is right (§3.2 模型评估),
        on the validation texts ('val') or the test texts ('test'); `texts`: how many."""
        if split not in self._splits:
            raise ValueError(f"split must be 'val' or 'test', got {split!r}")
        all_ids, all_mask, all_labels = self._splits[split]
        was_training = model.training
        model.eval()
        total, correct = 0.0, 0
        n = len(all_labels)
        try:
            for i in range(0, n, batch_size):
                ids, mask = all_ids[i:i + batch_size], all_mask[i:i + batch_size]
                width = int(mask.sum(1).max())
                labels = all_labels[i:i + batch_size]
                out = model(ids[:, :width], attention_mask=mask[:, :width], labels=labels)
                total += out.loss.item() * len(labels)
                correct += int((out.logits.data.argmax(-1) == labels).sum())
        finally:
            model.train(was_training)
        return {f"{split}_loss": total / n, "accuracy": correct / n, "texts": n}
