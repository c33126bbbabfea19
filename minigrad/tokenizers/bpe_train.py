"""Training byte-pair encoding: learn merges from a corpus (Sennrich et al. 2016; GPT-2, 2019).

Chapter §3.2 (预训练): the tokenizer is the first thing "trained" on the pre-training data.
BPE starts from the 256 bytes and repeatedly glues together the pair of adjacent symbols
that occurs most often in the corpus, making it a new symbol, until the vocabulary is as large
as asked. Frequent words end up as one token; rare words stay split into pieces.

The naive algorithm recounts every pair in the whole corpus after every merge: for thousands
of merges over megabytes of text, far too slow. Three ideas make it fast:

1. **Count words once.** Merges never cross pre-token boundaries, so the corpus is just a
   multiset of distinct "words" (pre-tokens) with their frequencies: a 1 MB English text has
   only ~15,000 distinct words.
2. **Incremental pair counts.** ``pair_counts[(a, b)]`` is the number of times the pair occurs,
   weighted by word frequency. A merge only changes the words that contain the merged pair;
   ``where[(a, b)]`` (the set of words holding the pair) finds them, and only their pair counts
   are subtracted and re-added.
3. **A heap for the maximum.** Entries are ``(-count, a, b)``; an entry whose count no longer
   matches ``pair_counts`` is stale and is skipped when popped ("lazy deletion").

Ties (pairs with the same count) go to the smallest ``(a, b)`` id pair, so training is
deterministic.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

__all__ = ["learn_merges"]


def _merge_word(word: list[int], a: int, b: int, new: int) -> list[int]:
    """Replace each non-overlapping ``a b`` in ``word`` (left to right) with ``new``."""
    out, i, n = [], 0, len(word)
    while i < n:
        if i < n - 1 and word[i] == a and word[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


def learn_merges(words: list[list[int]], freqs: list[int], token_strings: list[str],
                 target_size: int, min_frequency: int = 1) -> list[tuple[int, int, int]]:
    """Learn merges until there are ``target_size`` tokens (or no pair is frequent enough).

    ``words[k]``: the symbol ids of the k-th distinct pre-token (at first, its bytes' ids);
    ``freqs[k]``: how often it occurs. ``token_strings[i]`` is token i's string; it grows as
    merges add tokens, and a merge whose glued string already exists reuses that id (as
    Hugging Face's trainer does). Returns ``[(a, b, new_id), ...]`` in merge order; ``words``
    and ``token_strings`` are updated in place.
    """
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    where: dict[tuple[int, int], set[int]] = defaultdict(set)
    for k, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += freqs[k]
            where[pair].add(k)
    heap = [(-c, a, b) for (a, b), c in pair_counts.items()]
    heapq.heapify(heap)
    index = {s: i for i, s in enumerate(token_strings)}
    merges = []

    while len(token_strings) < target_size and heap:
        neg, a, b = heapq.heappop(heap)
        count = pair_counts.get((a, b), 0)
        if count != -neg or count == 0:
            continue                                # stale heap entry
        if count < min_frequency:
            break
        glued = token_strings[a] + token_strings[b]
        new = index.get(glued)
        if new is None:
            new = index[glued] = len(token_strings)
            token_strings.append(glued)
        merges.append((a, b, new))

        changed = set()
        for k in where.pop((a, b)):
            word, f = words[k], freqs[k]
            if len(word) < 2:
                continue
            for pair in zip(word, word[1:]):        # take the word's old pairs out ...
                pair_counts[pair] -= f
                changed.add(pair)
            word = words[k] = _merge_word(word, a, b, new)
            for pair in zip(word, word[1:]):        # ... and put its new pairs in
                pair_counts[pair] += f
                where[pair].add(k)
                changed.add(pair)
        for pair in changed:
            c = pair_counts[pair]
            if c > 0:
                heapq.heappush(heap, (-c, pair[0], pair[1]))
            else:
                del pair_counts[pair]
                where.pop(pair, None)
    return merges
