"""Datasets for pre-training and fine-tuning (§3.2 预训练 · 数据收集, §3.3 微调 · 数据准备).

Language modelling (§3.2): a corpus becomes one long array of token ids per split.  A training
batch is `batch_size` windows of `block_size + 1` ids at random offsets; the input is the first
`block_size` ids and the target the same window shifted by one (targets[t] = ids[t + 1]):

    ids      the Lord is my shepherd      window = ids[i : i + block_size + 1]
    x        the Lord is my shepher       x = window[:-1]
    y         he Lord is my shepherd      y = window[1:]

Held-out data (§3.2 模型评估) is never cut out of the middle of a document:

    by document  a poem corpus (全唐诗, 唐诗三百首) is split poem by poem into training,
                 validation and test poems (`split_documents`: a poem's split is a function of
                 its text, so it never moves when poems are added or removed); each split is
                 its poems, each followed by an end-of-text token (<|endoftext|>, as in GPT-2),
                 so the model learns where a poem ends, and generation can start a new one
    by position  plain text (the KJV, a text file): the first part trains, the next part
                 validates, the end tests (by position, not at random: neighbouring windows
                 overlap, so a random split would leak held-out text into training)

The validation split chooses when to stop (the best checkpoint); the test split, used once at
the end, gives the figure to report.

Batches are drawn from a generator seeded by (seed, step), so the batch of step 1000 is the
same whether the run was interrupted at step 500 or not: resuming needs no data state.

Classification (§3.3, §5): texts with real labels from the bundled corpora,

    kjv_genre()     a KJV verse -> its book's genre (Law, History, Wisdom, Prophets, Gospels,
                    Epistles, Apocalyptic; from kjv_books.tsv)
    tang_form()     a Tang poem -> 五言 or 七言 (5- or 7-character lines)
    tang_author()   a Tang poem -> its author (the most frequent authors only)
    sentiment()     a short English movie review -> negative / positive (a set written for
                    minigrad, see sentiment/README.md; it has a fixed held-out test split)

each a `TextClassificationSet` (texts, integer labels, label names) that can be split,
subsampled per class, and turned into padded id arrays.
"""
from __future__ import annotations

import csv
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .corpora import kjv_books, kjv_text, kjv_verses, quantangshi_poems, tang_poems, tang_text

SENTIMENT_DIR = Path(__file__).resolve().parent / "sentiment"

__all__ = ["split_by_position", "split_documents", "document_split", "TokenWindows", "LMData", "step_rng", "load_text",
           "load_documents", "CORPUS_NAMES", "DOCUMENT_CORPORA", "END_OF_TEXT", "UNK_TOKEN",
           "TextClassificationSet", "encode_texts", "kjv_genre", "tang_form", "tang_author",
           "sentiment", "CLASSIFICATION_TASKS", "classification_task"]


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The generator for step `step` of a run seeded with `seed`: a pure function of both, so a
    resumed run draws exactly the batches the uninterrupted run would have drawn."""
    return np.random.default_rng([int(seed), int(step)])


END_OF_TEXT = "<|endoftext|>"       # closes every document of a split (GPT-2's name for it)
UNK_TOKEN = "<unk>"                  # a character the vocabulary does not have

CORPUS_NAMES = {"quantangshi": "全唐诗 (Complete Tang Poems)",
                "tang": "唐诗三百首 (Three Hundred Tang Poems)",
                "kjv": "the King James Bible"}
DOCUMENT_CORPORA = {"quantangshi": quantangshi_poems, "tang": tang_poems}   # split by poem


def load_documents(source: str):
    """The documents of a corpus that is split by document (the poems of 'quantangshi' or
    'tang', each its lines joined by newlines), or None for one that is split by position."""
    if source not in DOCUMENT_CORPORA:
        return None
    return [p.text for p in DOCUMENT_CORPORA[source]()]


def load_text(source: str, max_chars: int | None = None) -> str:
    """A bundled corpus by name ('quantangshi', 'tang', 'kjv') or a UTF-8 text file by path.
    A poem corpus comes as its poems separated by blank lines (`load_documents` gives them
    one by one, which is how the language-model data uses them).

    A missing or empty file is an error that names the file (before any training starts)."""
    if source == "tang":
        return tang_text()
    if source == "quantangshi":
        return "\n\n".join(load_documents(source)) + "\n"
    if source == "kjv":
        return kjv_text(max_chars)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"data file '{source}' does not exist (use 'quantangshi', 'tang' "
                                f"or 'kjv' for a bundled corpus, or the path of a UTF-8 text file)")
    if path.is_dir():
        raise IsADirectoryError(f"data file '{source}' is a directory; give a text file")
    text = path.read_text(encoding="utf-8")
    if max_chars is not None:
        text = text[:max_chars]
    if not text.strip():
        raise ValueError(f"data file '{source}' is empty: there is nothing to train on")
    return text


def _check_fractions(val_fraction: float, test_fraction: float) -> None:
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if not 0.0 <= test_fraction < 1.0 or val_fraction + test_fraction >= 1.0:
        raise ValueError(f"test_fraction must be in [0, 1) and leave data to train on "
                         f"(val_fraction + test_fraction < 1), got {val_fraction} + {test_fraction}")


def split_by_position(ids, val_fraction: float = 0.1, test_fraction: float | None = None):
    """(train, val): the first 1 - val_fraction of the ids, then the rest (§3.2 模型评估).
    With `test_fraction`: (train, val, test), the test part at the very end."""
    _check_fractions(val_fraction, test_fraction or 0.0)
    ids = np.asarray(ids, dtype=np.int64)
    n_test = int(round(len(ids) * (test_fraction or 0.0)))
    n_val = int(round(len(ids) * val_fraction))
    n_train = len(ids) - n_val - n_test
    if test_fraction is None:
        return ids[:n_train], ids[n_train:]
    return ids[:n_train], ids[n_train:n_train + n_val], ids[n_train + n_val:]


def document_split(text: str, val_fraction: float, test_fraction: float) -> str:
    """'train', 'val' or 'test' for one document: u = crc32(text) / 2^32 is uniform in [0, 1);
    u < val_fraction: validation, then test_fraction more: test, the rest: training.  A
    function of the text alone, so a poem keeps its split whatever else is in the corpus, and
    two copies of a poem can never sit on both sides."""
    u = zlib.crc32(text.encode("utf-8")) / 2 ** 32
    if u < val_fraction:
        return "val"
    return "test" if u < val_fraction + test_fraction else "train"


def split_documents(docs, val_fraction: float = 0.05, test_fraction: float = 0.05):
    """(train, val, test) lists of documents, each document whole in one of them."""
    _check_fractions(val_fraction, test_fraction)
    parts = {"train": [], "val": [], "test": []}
    for d in docs:
        parts[document_split(d, val_fraction, test_fraction)].append(d)
    for name, what in (("train", "training"), ("val", "validation"), ("test", "test")):
        if not parts[name] and (name != "test" or test_fraction > 0):
            raise ValueError(f"split by document: no {what} documents among {len(docs)} "
                             f"(use more documents or larger fractions)")
    return parts["train"], parts["val"], parts["test"]


class TokenWindows:
    """Windows of block_size + 1 consecutive ids from one array (a language-model dataset)."""

    def __init__(self, ids, block_size: int, name: str = "data"):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.block_size = int(block_size)
        if self.ids.ndim != 1:
            raise ValueError(f"{name}: ids must be 1-D, got shape {self.ids.shape}")
        if len(self.ids) < self.block_size + 1:
            raise ValueError(f"{name}: {len(self.ids)} tokens are too few for block_size "
                             f"{self.block_size} (need at least {self.block_size + 1}); use more "
                             f"text or a smaller --block-size")

    def __len__(self) -> int:
        """The number of distinct windows (start offsets)."""
        return len(self.ids) - self.block_size

    def batch(self, batch_size: int, rng: np.random.Generator):
        """`batch_size` windows at random offsets -> (x, y), each (B, block_size) int64."""
        starts = rng.integers(0, len(self), size=batch_size)
        return self.windows(starts)

    def windows(self, starts):
        idx = np.asarray(starts)[:, None] + np.arange(self.block_size + 1)[None, :]
        w = self.ids[idx]                                        # (B, block_size + 1)
        return w[:, :-1], w[:, 1:]

    def eval_batches(self, batch_size: int, max_windows: int | None = None):
        """Non-overlapping windows in order, batched: every token (but the first of each window)
        is predicted once, with 0..block_size-1 tokens of context.  Yields (x, y)."""
        starts = np.arange(0, len(self.ids) - self.block_size, self.block_size)
        if max_windows is not None:
            starts = starts[:max_windows]
        for i in range(0, len(starts), batch_size):
            yield self.windows(starts[i:i + batch_size])


@dataclass
class LMData:
    """A tokenized corpus split into training, validation and (optionally) test windows (§3.2).

    `unit`: how it was split, "position" or "document" (poems); `documents`: for a split by
    document, how many documents each split holds."""
    train: TokenWindows
    val: TokenWindows
    tokenizer: object
    source: str = ""
    test: TokenWindows | None = None
    unit: str = "position"
    documents: dict = field(default_factory=dict)

    @classmethod
    def from_text(cls, text: str, tokenizer, block_size: int, val_fraction: float = 0.1,
                  source: str = "", test_fraction: float = 0.0) -> "LMData":
        """Split by position: training text, then validation, then (test_fraction > 0) test."""
        ids = tokenizer.encode(text) if hasattr(tokenizer, "encode") else tokenizer(text)
        if not test_fraction:
            train, val = split_by_position(ids, val_fraction)
            test = None
        else:
            train, val, test = split_by_position(ids, val_fraction, test_fraction)
            test = TokenWindows(test, block_size, "test split")
        return cls(TokenWindows(train, block_size, "training split"),
                   TokenWindows(val, block_size, "validation split"), tokenizer, source, test)

    @classmethod
    def from_documents(cls, docs, tokenizer, block_size: int, val_fraction: float = 0.05,
                       test_fraction: float = 0.05, source: str = "",
                       separator: str | None = None) -> "LMData":
        """Split by document (`split_documents`); each split is its documents in corpus order,
        each followed by `separator` (default: the tokenizer's eos_token), a special token."""
        separator = separator or tokenizer.eos_token
        if separator is None:
            raise ValueError("from_documents: give a separator or a tokenizer with an eos_token")
        parts = split_documents(docs, val_fraction, test_fraction)
        names = ("training split", "validation split", "test split")
        windows = [TokenWindows(tokenizer.encode("".join(d + separator for d in part)), block_size,
                                name) if part else None for part, name in zip(parts, names)]
        return cls(windows[0], windows[1], tokenizer, source, windows[2], unit="document",
                   documents={"train": len(parts[0]), "val": len(parts[1]), "test": len(parts[2])})

    def split(self, name: str) -> TokenWindows:
        """The TokenWindows of 'train', 'val' or 'test'."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        part = getattr(self, name)
        if part is None:
            raise ValueError(f"this data has no {name} split (give a test fraction > 0)")
        return part


# ----------------------------------------------------------------------------------------------
# classification
# ----------------------------------------------------------------------------------------------
@dataclass
class TextClassificationSet:
    """Texts with integer labels (indices into label_names)."""
    texts: list
    labels: np.ndarray
    label_names: list
    name: str = ""
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{self.name}: {len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def counts(self) -> dict:
        """label name -> number of examples."""
        c = Counter(self.labels.tolist())
        return {name: c.get(i, 0) for i, name in enumerate(self.label_names)}

    def take(self, index) -> "TextClassificationSet":
        index = np.asarray(index, dtype=np.int64)
        return TextClassificationSet([self.texts[i] for i in index], self.labels[index],
                                     list(self.label_names), self.name, dict(self.info))

    def split(self, test_fraction: float = 0.2, seed: int = 0):
        """(train, test), stratified: each label keeps its share in both parts."""
        rng = np.random.default_rng(seed)
        train, test = [], []
        for label in range(self.num_labels):
            idx = np.flatnonzero(self.labels == label)
            rng.shuffle(idx)
            n_test = int(round(len(idx) * test_fraction))
            test.extend(idx[:n_test])
            train.extend(idx[n_test:])
        return self.take(rng.permutation(train)), self.take(rng.permutation(test))

    def sample(self, n: int, seed: int = 0, balanced: bool = True) -> "TextClassificationSet":
        """n examples: as equal a number per label as the data allows (balanced), or at random."""
        rng = np.random.default_rng(seed)
        if n >= len(self):
            return self.take(rng.permutation(len(self)))
        if not balanced:
            return self.take(rng.permutation(len(self))[:n])
        pools = [rng.permutation(np.flatnonzero(self.labels == k)) for k in range(self.num_labels)]
        chosen, k = [], 0
        while len(chosen) < n:                                   # round robin over the labels
            pool = pools[k % self.num_labels]
            i = k // self.num_labels
            if i < len(pool):
                chosen.append(pool[i])
            k += 1
        return self.take(rng.permutation(chosen))


def encode_texts(tokenizer, texts, max_length: int, cls_token: str | None = None):
    """Texts -> (input_ids, attention_mask), (N, T) int64, right-padded with the pad token and
    cut to max_length ids.  With `cls_token`, each row starts with it (BERT pools [CLS], §5)."""
    if tokenizer.pad_token is None:
        raise ValueError("encode_texts: the tokenizer needs a pad_token")
    pad = tokenizer.pad_token_id
    head = [] if cls_token is None else [tokenizer.convert_tokens_to_ids(cls_token)]
    rows = [(head + tokenizer.encode(t, add_special_tokens=False))[:max_length] for t in texts]
    T = max(len(r) for r in rows)
    ids = np.full((len(rows), T), pad, dtype=np.int64)
    mask = np.zeros((len(rows), T), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


def kjv_genre(min_chars: int = 0) -> TextClassificationSet:
    """Every KJV verse with its book's genre (7 labels; real labels from kjv_books.tsv)."""
    books = kjv_books()
    names = ["Law", "History", "Wisdom", "Prophets", "Gospels", "Epistles", "Apocalyptic"]
    index = {n: i for i, n in enumerate(names)}
    texts, labels = [], []
    for book, _, _, text in kjv_verses():
        if len(text) >= min_chars:
            texts.append(text)
            labels.append(index[books[book]["genre"]])
    return TextClassificationSet(texts, labels, names, "kjv-genre")


def _line_lengths(poem) -> set:
    return {len(s) for line in poem.lines for s in re.split(r"[，。？！；、：,.?!;:]", line) if s}


def tang_form() -> TextClassificationSet:
    """Tang poems whose lines all have 5 characters (五言) or all 7 (七言): 155 vs 136 poems."""
    texts, labels = [], []
    for p in tang_poems():
        lengths = _line_lengths(p)
        if lengths in ({5}, {7}):
            texts.append(p.text)
            labels.append(0 if lengths == {5} else 1)
    return TextClassificationSet(texts, labels, ["五言", "七言"], "tang-form")


def tang_author(top: int = 5) -> TextClassificationSet:
    """Poems by the `top` most frequent authors of 唐诗三百首 (杜甫, 王维, 李白, 李商隐, 孟浩然)."""
    poems = tang_poems()
    authors = [a for a, _ in Counter(p.author for p in poems).most_common(top)]
    index = {a: i for i, a in enumerate(authors)}
    chosen = [p for p in poems if p.author in index]
    return TextClassificationSet([p.text for p in chosen], [index[p.author] for p in chosen],
                                 authors, "tang-author")


def sentiment(split: str = "train") -> TextClassificationSet:
    """The movie-review sentiment set written for minigrad (§5): 'train' or 'test' (held out).
    How it was made, its balance and its split: minigrad/data/sentiment/README.md."""
    if split not in ("train", "test"):
        raise ValueError(f"sentiment: split must be 'train' or 'test', got {split!r}")
    path = SENTIMENT_DIR / f"{split}.tsv"
    if not path.exists():
        raise FileNotFoundError(f"bundled sentiment set {path} is missing; reinstall minigrad")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    names = ["negative", "positive"]
    return TextClassificationSet([r["text"] for r in rows], [names.index(r["label"]) for r in rows],
                                 names, f"sentiment-{split}")


CLASSIFICATION_TASKS = {"kjv-genre": kjv_genre, "tang-form": tang_form,
                        "tang-author": tang_author, "sentiment": sentiment}


def classification_task(name: str, test_fraction: float = 0.2, seed: int = 0):
    """(train, test) for a task name; the sentiment set has its own fixed test split."""
    if name not in CLASSIFICATION_TASKS:
        raise ValueError(f"unknown task {name!r}; choose from {sorted(CLASSIFICATION_TASKS)}")
    if name == "sentiment":
        return sentiment("train"), sentiment("test")
    return CLASSIFICATION_TASKS[name]().split(test_fraction, seed)
