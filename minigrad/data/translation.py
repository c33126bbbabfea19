"""English→Chinese translation data: the King James Bible and the 和合本, verse by verse
(§2.3 下游任务 and §6 机器翻译: translation is the first task the chapter names).

    pairs = load_verse_pairs()                       # 31,100 VersePair(book, chapter, verse, en, zh)
    splits = split_verse_pairs(pairs, by="chapter")  # TranslationSplits(train, val, test)
    data = build_translation_data(splits)            # tokenizers + padded id arrays
    src, src_mask, labels = data.batch(step, batch_size=32, seed=0)

Held out by chapter (or by book), never by verse: neighbouring verses repeat each other ("And
God said, Let there be ..."), so a verse-level split would put near-copies of the test verses
in the training set and flatter the model.

Ids follow Marian's convention (models/marian.py): pad = 0, eos = 1 on both sides; every
source and every target ends with eos, and the decoder starts from pad (shift_tokens_right).
The English side is byte-level BPE subwords learned on the training split only (§3.2: the
tokenizer is trained too); the Chinese side is characters seen at least `min_count` times in
the training split, the others read as <unk>.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..tokenizers import BPETokenizer, CharTokenizer
from .corpora import cuv_verses, kjv_verses

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
PAD_ID, EOS_ID = 0, 1
IGNORE_INDEX = -100          # label positions the loss skips (padding)


@dataclass(frozen=True)
class VersePair:
    """One verse in both languages: ('Ge', 1, 1, 'In the beginning God ...', '起初 神创造天地。')."""
    book: str
    chapter: int
    verse: int
    en: str
    zh: str


@dataclass(frozen=True)
class TranslationSplits:
    """Training, validation (chooses the weights) and test (reported once) verse pairs."""
    train: tuple
    val: tuple
    test: tuple

    def split(self, name: str) -> tuple:
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self, name)


MERGED = "见上节"          # "see the verse above": the CUV translated this verse with the one before


def load_verse_pairs(skip_merged: bool = False) -> list:
    """The KJV and the 和合本 joined on (book, chapter, verse), in canonical order: 31,100
    pairs (two verses of each are numbered differently by the other and have no partner).

    70 of the Chinese verses are just 见上节 ("see the verse above"): the 和合本 joined them to
    the previous verse, so the English has no translation of its own; it is the most frequent
    Chinese verse of the corpus.  skip_merged=True leaves those pairs out (31,030 remain)."""
    chinese = {(b, c, v): t for b, c, v, t in cuv_verses()}
    pairs = [VersePair(b, c, v, en, chinese[(b, c, v)])
             for b, c, v, en in kjv_verses() if (b, c, v) in chinese]
    return [p for p in pairs if p.zh.strip("。 ") != MERGED] if skip_merged else pairs


def split_verse_pairs(pairs, by: str = "chapter", val_fraction: float = 0.05,
                      test_fraction: float = 0.05, seed: int = 0) -> TranslationSplits:
    """Hold out whole chapters (by="chapter") or whole books (by="book").

    The units (chapters or books, in order of first appearance) are shuffled by a generator
    seeded with `seed`; the first round(test_fraction · units) go to test, the next
    round(val_fraction · units) to validation (at least one each), the rest to training.
    Verse order inside every split is the order of `pairs`.  Deterministic, and a verse's
    unit decides its split, so no verse (and no chapter) is ever in two splits."""
    if by not in ("chapter", "book"):
        raise ValueError(f"split_verse_pairs: by must be 'chapter' or 'book', got {by!r}")
    if not 0.0 < val_fraction < 1.0 or not 0.0 < test_fraction < 1.0 or val_fraction + test_fraction >= 1.0:
        raise ValueError(f"split_verse_pairs: val_fraction and test_fraction must be in (0, 1) and sum "
                         f"to less than 1, got {val_fraction} and {test_fraction}")
    pairs = list(pairs)
    unit = (lambda p: (p.book, p.chapter)) if by == "chapter" else (lambda p: p.book)
    units = list(dict.fromkeys(unit(p) for p in pairs))
    n_test = max(1, round(test_fraction * len(units)))
    n_val = max(1, round(val_fraction * len(units)))
    if n_test + n_val >= len(units):
        raise ValueError(f"split_verse_pairs: {len(units)} {by}s are too few to hold out {n_test} for "
                         f"test and {n_val} for validation and still train on some")
    order = np.random.default_rng(seed).permutation(len(units))
    where = {units[i]: "test" for i in order[:n_test]}
    where.update({units[i]: "val" for i in order[n_test:n_test + n_val]})
    parts = {"train": [], "val": [], "test": []}
    for p in pairs:
        parts[where.get(unit(p), "train")].append(p)
    return TranslationSplits(tuple(parts["train"]), tuple(parts["val"]), tuple(parts["test"]))


# --- tokenizers ------------------------------------------------------------------------------
def train_source_tokenizer(texts, vocab_size: int = 3000) -> BPETokenizer:
    """Byte-level BPE (tokenizers/bpe.py) learned on the English texts, laid out with <pad> = 0
    and </s> = 1 in front of the 256 bytes and the merges."""
    learned = BPETokenizer.train("\n".join(texts), vocab_size - 2, special_tokens=())
    return make_source_tokenizer([PAD, EOS] + list(learned._tokens), learned.merges)


def make_source_tokenizer(tokens, merges) -> BPETokenizer:
    """A BPETokenizer from its tokens in id order (<pad>, </s> first) and its merges."""
    tok = BPETokenizer({t: i for i, t in enumerate(tokens)}, [tuple(m) for m in merges])
    tok.eos_token = EOS
    tok.pad_token = PAD                 # (the setter registers both as special tokens)
    return tok


def train_target_tokenizer(texts, min_count: int = 2) -> CharTokenizer:
    """Chinese characters seen at least `min_count` times, after <pad> = 0, </s> = 1, <unk> = 2."""
    return CharTokenizer.from_text("".join(texts), special_tokens=[PAD, EOS, UNK], min_count=min_count,
                                   pad_token=PAD, eos_token=EOS, unk_token=UNK)


def check_tokenizers(source, target) -> None:
    """Both sides must put pad at 0 and eos at 1 (what the model and the decoder start assume)."""
    for side, tok in (("source", source), ("target", target)):
        if tok.pad_token_id != PAD_ID or tok.eos_token_id != EOS_ID:
            raise ValueError(f"the {side} tokenizer must have pad id {PAD_ID} and eos id {EOS_ID}, got "
                             f"{tok.pad_token_id} and {tok.eos_token_id}")


@dataclass
class TranslationTokenizers:
    """The two vocabularies of a translation model: English BPE in, Chinese characters out."""
    source: BPETokenizer
    target: CharTokenizer

    def __post_init__(self):
        check_tokenizers(self.source, self.target)

    def __call__(self, text=None, text_target=None, return_tensors=None, max_length: int = 128) -> dict:
        """As MarianTokenizer: English text(s) -> {'input_ids', 'attention_mask'} (eos at the
        end), Chinese text_target -> {'labels'} (eos at the end); one text gives one row.
        Arrays (N, T) with return_tensors="np", lists otherwise."""
        if text is None and text_target is None:
            raise ValueError("TranslationTokenizers: give text (English) and/or text_target (Chinese)")
        if return_tensors not in (None, "np"):
            raise ValueError(f"TranslationTokenizers: return_tensors must be None or 'np', got {return_tensors!r}")
        out = {}
        for texts, side, keys in ((text, self.source, ("input_ids", "attention_mask")),
                                  (text_target, self.target, ("labels",))):
            if texts is None:
                continue
            ids, mask = encode_ids(side, [texts] if isinstance(texts, str) else list(texts), max_length)
            arrays = (ids, mask)[:len(keys)]
            for key, a in zip(keys, arrays):
                out[key] = a if return_tensors == "np" else [row[m == 1].tolist() for row, m in zip(a, mask)]
        return out


def encode_ids(tokenizer, texts, max_length: int):
    """Texts -> (ids, mask), (N, T) int64, right-padded with 0; each row is the text's ids cut
    to max_length - 1, then eos."""
    rows = [tokenizer.encode(t, add_special_tokens=False)[:max_length - 1] + [EOS_ID] for t in texts]
    T = max(len(r) for r in rows)
    ids = np.full((len(rows), T), PAD_ID, dtype=np.int64)
    mask = np.zeros((len(rows), T), dtype=np.int64)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
        mask[i, :len(r)] = 1
    return ids, mask


class TranslationData:
    """Verse pairs as padded id arrays, and training batches.

    `encode(split)` -> (source ids, source mask, labels), each (N, T); labels are the Chinese
    ids + eos with -100 on the padding (the loss skips it, §4.2).  `batch(step, batch_size,
    seed)` is a pure function of its arguments: epochs over the training pairs, each in a
    permutation seeded by (seed, epoch), so step s always sees the same verses (exact --resume).

    length_buckets=k (0: off) groups verses of similar length into the same batch: each epoch's
    permutation is cut into chunks of k batches, each chunk sorted by length (source + target
    tokens) and cut into batches, and the batches of the epoch shuffled.  Less padding, so a
    step costs less (about 1.5x at k=50 on the KJV); every verse is still seen once per epoch.
    """

    def __init__(self, splits: TranslationSplits, tokenizers: TranslationTokenizers,
                 max_source_length: int = 128, max_target_length: int = 128, length_buckets: int = 0):
        if not splits.train:
            raise ValueError("TranslationData: the training split is empty")
        if int(length_buckets) < 0:
            raise ValueError(f"length_buckets must be >= 0 (0: off), got {length_buckets}")
        self.splits, self.tokenizers = splits, tokenizers
        self.max_source_length, self.max_target_length = max_source_length, max_target_length
        self.length_buckets = int(length_buckets)
        self._encoded = {}
        self._orders = {}

    @property
    def source_tokenizer(self) -> BPETokenizer:
        return self.tokenizers.source

    @property
    def target_tokenizer(self) -> CharTokenizer:
        return self.tokenizers.target

    def encode_source(self, texts):
        """English texts -> (ids, mask) (N, S)."""
        return encode_ids(self.tokenizers.source, texts, self.max_source_length)

    def encode_target(self, texts):
        """Chinese texts -> labels (N, T), eos at the end and -100 on the padding."""
        ids, mask = encode_ids(self.tokenizers.target, texts, self.max_target_length)
        return np.where(mask == 1, ids, IGNORE_INDEX)

    def encode(self, split: str = "train"):
        """(source ids, source mask, labels) of a split, computed once."""
        if split not in self._encoded:
            pairs = self.splits.split(split)
            if not pairs:
                raise ValueError(f"the {split} split is empty")
            ids, mask = self.encode_source([p.en for p in pairs])
            self._encoded[split] = (ids, mask, self.encode_target([p.zh for p in pairs]))
        return self._encoded[split]

    def decode(self, ids) -> str:
        """Target ids -> Chinese text, stopping at the first eos; pad and eos dropped."""
        ids = [int(i) for i in ids]
        if EOS_ID in ids:
            ids = ids[:ids.index(EOS_ID)]
        return self.tokenizers.target.decode([i for i in ids if i != PAD_ID])

    def epoch_order(self, epoch: int, batch_size: int, seed: int) -> np.ndarray:
        """The training pairs in the order epoch `epoch` visits them: a permutation seeded by
        (seed, epoch); with length_buckets, regrouped so that each run of batch_size positions
        holds verses of similar length (see the class docstring)."""
        key = (int(epoch), int(batch_size), int(seed))
        if key not in self._orders:
            n = len(self.splits.train)
            order = np.random.default_rng([int(seed), 2**31 + 1, int(epoch)]).permutation(n)
            if self.length_buckets:
                _, mask, labels = self.encode("train")
                length = mask.sum(1) + (labels != IGNORE_INDEX).sum(1)          # (N,)
                chunk = self.length_buckets * batch_size
                order = np.concatenate([c[np.argsort(length[c], kind="stable")]
                                        for c in np.split(order, range(chunk, n, chunk))])
                batches = np.split(order, range(batch_size, n, batch_size))
                shuffle = np.random.default_rng([int(seed), 2**31 + 2, int(epoch)]).permutation(len(batches))
                order = np.concatenate([batches[b] for b in shuffle])
            if len(self._orders) > 4:                                           # keep a few epochs
                self._orders.pop(next(iter(self._orders)))
            self._orders[key] = order
        return self._orders[key]

    def batch_indices(self, step: int, batch_size: int, seed: int) -> np.ndarray:
        """Which training pairs step `step` uses: positions step·B ... step·B + B - 1 of the
        endless sequence of epochs, epoch e being epoch_order(e): a permutation seeded by
        (seed, e)."""
        n = len(self.splits.train)
        start = step * batch_size
        orders = {e: self.epoch_order(e, batch_size, seed)
                  for e in range(start // n, (start + batch_size - 1) // n + 1)}
        return np.asarray([orders[i // n][i % n] for i in range(start, start + batch_size)])

    def batch(self, step: int, batch_size: int, seed: int):
        """(source ids (B, S), source mask (B, S), labels (B, T)) for training step `step`,
        columns that are padding in every row dropped."""
        src, mask, labels = self.encode("train")
        idx = self.batch_indices(step, batch_size, seed)
        s_width = int(mask[idx].sum(1).max())
        t_width = int((labels[idx] != IGNORE_INDEX).sum(1).max())
        return src[idx, :s_width], mask[idx, :s_width], labels[idx, :t_width]

    def describe(self) -> dict:
        return {"source_vocab": self.tokenizers.source.vocab_size,
                "target_vocab": self.tokenizers.target.vocab_size,
                "max_source_length": self.max_source_length, "max_target_length": self.max_target_length,
                "pairs": [len(self.splits.train), len(self.splits.val), len(self.splits.test)]}


def build_translation_data(splits: TranslationSplits | None = None, *, by: str = "chapter",
                           seed: int = 0, max_pairs: int | None = None, source_vocab_size: int = 3000,
                           min_count: int = 2, max_source_length: int = 128,
                           max_target_length: int = 128, skip_merged: bool = False,
                           length_buckets: int = 0) -> TranslationData:
    """The data set end to end: the verse pairs (the first `max_pairs` only, for quick runs;
    skip_merged: without the 见上节 verses), split by chapter or book, and both tokenizers
    learned on the training split; length_buckets: see TranslationData."""
    if splits is None:
        pairs = load_verse_pairs(skip_merged)
        if max_pairs is not None:
            if max_pairs < 1:
                raise ValueError(f"max_pairs must be >= 1, got {max_pairs}")
            pairs = pairs[:max_pairs]
        splits = split_verse_pairs(pairs, by=by, seed=seed)
    tokenizers = TranslationTokenizers(train_source_tokenizer([p.en for p in splits.train], source_vocab_size),
                                       train_target_tokenizer([p.zh for p in splits.train], min_count))
    return TranslationData(splits, tokenizers, max_source_length, max_target_length, length_buckets)


def chapter_counts(pairs) -> Counter:
    """How many verses each (book, chapter) has: for checking splits."""
    return Counter((p.book, p.chapter) for p in pairs)
