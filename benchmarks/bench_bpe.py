"""BPE training speed: minigrad's byte-level BPE on ~1 MB of the King James Bible.

    python benchmarks/bench_bpe.py [PATH_TO_kjv.tsv.gz] [--chars 1000000] [--sizes 512 2048] [--repeat 1]

PATH defaults to the copy bundled in the package (``minigrad/data/corpora/kjv.tsv.gz``), or, before it
is bundled, the project's shared data folder. The file is a gzip'd TSV with the header
``book chapter verse text``; the verses' text, one per line, is cut to ``--chars`` characters.

For each vocabulary size it prints the training time (the median of ``--repeat`` runs), the
number of merges, and then the encoding speed and the compression (bytes per token) of the
trained tokenizer on the same text. If Hugging Face ``tokenizers`` is installed, its Rust
trainer's time on the same text is printed beside ours for scale (it is not a dependency).
"""
from __future__ import annotations

import argparse
import csv
import gzip
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from minigrad.tokenizers import BPETokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CANDIDATES = [os.path.join(HERE, "..", "minigrad", "data", "corpora", "kjv.tsv.gz"),
              os.path.join(HERE, "..", "..", "shared", "data", "kjv.tsv.gz")]


def default_path() -> str:
    for path in CANDIDATES:
        if os.path.exists(path):
            return os.path.normpath(path)
    return os.path.normpath(CANDIDATES[0])


def read_kjv(path: str, n_chars: int) -> str:
    """The verses' text, one verse per line, cut to ``n_chars`` characters."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        if rows.fieldnames is None or "text" not in rows.fieldnames:
            raise ValueError(f"{path}: expected a TSV with a 'text' column, got columns {rows.fieldnames}")
        lines, total = [], 0
        for row in rows:
            lines.append(row["text"])
            total += len(row["text"]) + 1
            if total >= n_chars:
                break
    return "\n".join(lines)[:n_chars]


def timed(fn, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def hf_train_time(text: str, vocab_size: int, repeat: int):
    try:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    except ImportError:
        return None

    def train():
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
        tok.train_from_iterator([text], trainer)
    return timed(train, repeat)[0]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default=default_path(), help="kjv.tsv.gz (default: %(default)s)")
    parser.add_argument("--chars", type=int, default=1_000_000, help="characters of text to train on")
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 2048], help="vocabulary sizes")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (the median is printed)")
    args = parser.parse_args(argv)

    text = read_kjv(args.path, args.chars)
    n_bytes = len(text.encode("utf-8"))
    print(f"corpus: {args.path}\n        {len(text):,} characters, {n_bytes:,} bytes ({n_bytes / 2**20:.2f} MiB)")
    print(f"{'vocab':>6} {'merges':>7} {'train s':>8} {'HF Rust s':>10} {'encode s':>9} {'bytes/token':>12}")
    for size in args.sizes:
        seconds, tok = timed(lambda: BPETokenizer.train(text, size), args.repeat)
        tok._cache.clear()
        t0 = time.perf_counter()
        ids = tok.encode(text)
        encode_s = time.perf_counter() - t0
        assert tok.decode(ids) == text
        hf = hf_train_time(text, size, args.repeat)
        hf_s = f"{hf:10.2f}" if hf is not None else f"{'-':>10}"
        print(f"{size:>6} {len(tok.merges):>7} {seconds:8.2f} {hf_s} {encode_s:9.2f} {n_bytes / len(ids):12.2f}")


if __name__ == "__main__":
    main()
