"""SentencePiece, from scratch: read a ``.model`` / ``.spm`` file and encode / decode like the C++ library.

Chapter §3.2 (预训练): a subword tokenizer keeps the vocabulary small and never meets an unknown
word — a rare word is spelled with smaller pieces. SentencePiece (Kudo & Richardson, 2018) treats the
text as a plain sequence of characters, spaces included (written ``▁``), so it needs no
language-specific word splitting: the same algorithm cuts English and Chinese. It is what the
OPUS-MT translation models (Marian) use, one model for the source language and one for the target.

Encoding a sentence is three steps::

    text --normalise--> "▁In▁the▁beginning"   (spm_normalizer.py: NFKC map, ▁ for spaces)
         --segment-->   ["▁In", "▁the", "▁beg", "inning"]   (Viterbi or BPE, below)
         --look up-->   [117, 5, 904, 388]      (a piece's id is its index in the model file)

Two segmenters, chosen by the model file's ``trainer_spec.model_type``:

* **Unigram** (``model_type = 1``). Every piece ``x`` has a score ``log p(x)``; a segmentation
  ``x1 .. xk`` of the sentence has probability ``p(x1) ... p(xk)``, and the encoder picks the most
  probable one. The candidate segmentations form a *lattice* — a graph whose nodes are the
  positions between characters and whose edges are the pieces that fit between two positions.
  The best path is found by dynamic programming (the **Viterbi** algorithm)::

      best[0] = 0
      best[j] = max over pieces x = text[i:j] of  best[i] + log p(x)

  then following the winning edges back from the end. A character that no piece covers becomes
  ``<unk>`` with score ``min(log p) - 10``; consecutive unknown characters are merged into one
  ``<unk>``, or, with ``byte_fallback``, spelled as their UTF-8 bytes ``<0xE9><0xBE><0x98>``.
  USER_DEFINED pieces get a bonus so that they always win.

* **BPE** (``model_type = 2``). Start from single characters and repeatedly merge the adjacent
  pair whose concatenation is the vocabulary piece with the **highest score** (the trainer gives
  earlier merges higher scores: ``0, -1, -2, ...``); on a tie the leftmost pair goes first. Stop
  when no adjacent pair forms a piece.

Decoding is the way back: pieces are concatenated, ``▁`` becomes a space, the dummy leading space
is dropped, byte pieces are put together and read as UTF-8.

The ids are those of the ``sentencepiece`` package for the same model file (tests/
test_sentencepiece_interop.py compares them on thousands of English and Chinese lines). Scores are
float32 in the file and the C++ Viterbi adds them in float32; so does this one (see ``_f32``), so
that even near-ties are broken the same way.
"""

from __future__ import annotations

import heapq
import os
from array import array

from . import protobuf as pb
from .spm_normalizer import SPACE_SYMBOL, Normalizer

__all__ = ["SentencePieceTokenizer", "SentencePieceError"]

_FLT_MIN = 1.1754943508222875e-38   # C's FLT_MIN: the start value of the C++ max_score_
_UNK_PENALTY = 10.0                   # unknown characters score min(log p) - 10
_REPLACEMENT = "\ufffd"


class SentencePieceError(ValueError):
    """The model file is not a usable SentencePiece model (no <unk>, duplicate pieces, ...)."""


def _f32_rounder():
    """A function that rounds a Python float to the nearest float32 (as C++ stores a ``float``)."""
    box = array("f", [0.0])

    def f32(x: float) -> float:
        box[0] = x
        return box[0]
    return f32


_f32 = _f32_rounder()


def _byte_piece(b: int) -> str:
    return f"<0x{b:02X}>"


class SentencePieceTokenizer:
    """A SentencePiece model: ``SentencePieceTokenizer("source.spm")``.

    >>> sp = SentencePieceTokenizer("source.spm")           # doctest: +SKIP
    >>> sp.encode("In the beginning")                       # doctest: +SKIP
    [117, 5, 904, 388]
    >>> sp.decode([117, 5, 904, 388])                       # doctest: +SKIP
    'In the beginning'

    ``encode`` adds no special tokens unless asked (``add_bos=True`` / ``add_eos=True``), as the
    ``sentencepiece`` package. ``model_file`` is a path, or the file's bytes (``model_proto=``).
    """

    def __init__(self, model_file: str | os.PathLike | None = None, *, model_proto: bytes | None = None):
        if (model_file is None) == (model_proto is None):
            raise TypeError("give either model_file (a path) or model_proto (the file's bytes)")
        if model_proto is None:
            self.model_file = os.fspath(model_file)
            if not os.path.isfile(self.model_file):
                raise FileNotFoundError(f"SentencePiece model file not found: {self.model_file}")
            with open(self.model_file, "rb") as f:
                model_proto = f.read()
        else:
            self.model_file = None
        try:
            proto = pb.read_model_proto(model_proto)
        except pb.ProtobufError as e:
            where = self.model_file or "the model bytes"
            raise SentencePieceError(f"{where} is not a SentencePiece model: {e}") from None
        self._serialized = bytes(model_proto)
        self._init_from_proto(proto)

    # ----------------------------------------------------------------- loading
    def _init_from_proto(self, proto: dict) -> None:
        self.proto = proto
        trainer, norm = proto["trainer_spec"], proto["normalizer_spec"]
        self.model_type = trainer["model_type"]
        if self.model_type not in (pb.UNIGRAM, pb.BPE):
            kind = {pb.WORD: "WORD", pb.CHAR: "CHAR"}.get(self.model_type, str(self.model_type))
            raise SentencePieceError(f"model_type {kind} is not supported (only UNIGRAM=1 and BPE=2)")
        pieces = proto["pieces"]
        if not pieces:
            raise SentencePieceError("the model has no pieces")
        self._pieces_list = [p["piece"] for p in pieces]
        self._scores = [p["score"] for p in pieces]
        self._types = [p["type"] for p in pieces]
        # Two look-up tables, as in the C++ ModelInterface: the pieces the segmenter may emit
        # (NORMAL, USER_DEFINED, UNUSED) and the reserved ones (UNKNOWN, CONTROL, BYTE).
        self._normal: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self.byte_fallback = trainer["byte_fallback"]
        self._byte_ids = [-1] * 256
        unk = None
        for i, (piece, kind) in enumerate(zip(self._pieces_list, self._types)):
            if not piece:
                raise SentencePieceError(f"piece {i} is empty")
            table = self._normal if kind in (pb.NORMAL, pb.USER_DEFINED, pb.UNUSED) else self._reserved
            if piece in table:
                raise SentencePieceError(f"the piece {piece!r} is defined twice (ids {table[piece]} and {i})")
            table[piece] = i
            if kind == pb.UNKNOWN:
                if unk is not None:
                    raise SentencePieceError(f"<unk> is defined twice (ids {unk} and {i})")
                unk = i
            elif kind == pb.BYTE:
                if not self.byte_fallback:
                    raise SentencePieceError(f"byte piece {piece!r} found although byte_fallback is false")
                b = _piece_to_byte(piece)
                if b < 0:
                    raise SentencePieceError(f"byte piece {piece!r} is invalid (expected <0x00>..<0xFF>)")
                self._byte_ids[b] = i
        if unk is None:
            raise SentencePieceError("the model has no UNKNOWN piece (<unk>)")
        if self.byte_fallback and -1 in self._byte_ids:
            raise SentencePieceError("byte_fallback is true but the model does not have all 256 byte pieces")
        self._unk = unk
        self._user_defined = [p for p, t in zip(self._pieces_list, self._types) if t == pb.USER_DEFINED]
        self._user_by_char: dict[str, list[str]] = {}
        for sym in sorted(self._user_defined, key=len, reverse=True):
            self._user_by_char.setdefault(sym[0], []).append(sym)
        self.normalizer = Normalizer(norm, self._user_defined, trainer["treat_whitespace_as_suffix"])
        denorm = proto["denormalizer_spec"]
        self.denormalizer = (Normalizer(denorm) if denorm is not None and denorm["precompiled_charsmap"]
                             else None)
        self.unk_surface = trainer["unk_surface"] if "unk_surface" in trainer["_present"] else " \u2047 "
        self._trainer = trainer

        # A character trie of the segmenter's pieces: nested dicts, char -> child; key "" holds the id.
        self._trie: dict = {}
        for piece, i in self._normal.items():
            node = self._trie
            for ch in piece:
                node = node.setdefault(ch, {})
            node[""] = i
        normal_scores = [s for s, t in zip(self._scores, self._types) if t == pb.NORMAL]
        self._min_score = min(normal_scores, default=3.4028234663852886e38)
        self._max_score = max([_FLT_MIN] + normal_scores)
        self._unk_score = _f32(self._min_score - _UNK_PENALTY)

    # ----------------------------------------------------------------- vocabulary
    def __len__(self) -> int:
        return len(self._pieces_list)

    vocab_size = property(__len__)
    get_piece_size = __len__

    def id_to_piece(self, i: int) -> str:
        if not 0 <= int(i) < len(self._pieces_list):
            raise IndexError(f"piece id {i} is out of range: this model has ids 0..{len(self) - 1}")
        return self._pieces_list[int(i)]

    def piece_to_id(self, piece: str) -> int:
        """The id of a piece; a piece the model does not have gives the ``<unk>`` id (as the C++)."""
        i = self._reserved.get(piece)
        if i is None:
            i = self._normal.get(piece, self._unk)
        return i

    def get_score(self, i: int) -> float:
        return self._scores[int(i)]

    def is_unknown(self, i: int) -> bool:
        return self._types[int(i)] == pb.UNKNOWN

    def is_control(self, i: int) -> bool:
        return self._types[int(i)] == pb.CONTROL

    def is_unused(self, i: int) -> bool:
        return self._types[int(i)] == pb.UNUSED

    def is_byte(self, i: int) -> bool:
        return self._types[int(i)] == pb.BYTE

    def _special_id(self, name: str, check) -> int:
        piece = self._trainer[f"{name}_piece"] or {"unk": "<unk>", "bos": "<s>", "eos": "</s>", "pad": "<pad>"}[name]
        i = self.piece_to_id(piece)
        return i if check(i) else -1

    @property
    def unk_id(self) -> int:
        return self._special_id("unk", self.is_unknown)

    @property
    def bos_id(self) -> int:
        """The id of ``<s>``, or -1 when the model has none (as ``sentencepiece``'s ``bos_id()``)."""
        return self._special_id("bos", self.is_control)

    @property
    def eos_id(self) -> int:
        return self._special_id("eos", self.is_control)

    @property
    def pad_id(self) -> int:
        return self._special_id("pad", self.is_control)

    def serialized_model_proto(self) -> bytes:
        """The model file's bytes (to save a copy of it)."""
        return self._serialized

    # ----------------------------------------------------------------- encoding
    def normalize(self, text: str) -> str:
        return self.normalizer(text)

    def encode(self, text, out_type=int, add_bos: bool = False, add_eos: bool = False):
        """Text -> ids (``out_type=int``) or pieces (``out_type=str``); a list of texts -> a list of lists."""
        if isinstance(text, (list, tuple)):
            return [self.encode(t, out_type, add_bos, add_eos) for t in text]
        if not isinstance(text, str):
            raise TypeError(f"SentencePieceTokenizer.encode expects a str or a list of str, got {type(text).__name__}")
        if out_type not in (int, str):
            raise ValueError(f"out_type must be int or str, not {out_type!r}")
        pieces = self._encode_pieces(text)
        for wanted, name, i in ((add_bos, "bos", self.bos_id), (add_eos, "eos", self.eos_id)):
            if wanted and i < 0:
                raise ValueError(f"add_{name}=True, but this model has no {name} piece as a CONTROL symbol")
        if add_bos:
            pieces.insert(0, (self.id_to_piece(self.bos_id), self.bos_id))
        if add_eos:
            pieces.append((self.id_to_piece(self.eos_id), self.eos_id))
        return [i for _, i in pieces] if out_type is int else [p for p, _ in pieces]

    def encode_as_pieces(self, text):
        return self.encode(text, out_type=str)

    def encode_as_ids(self, text):
        return self.encode(text, out_type=int)

    def _encode_pieces(self, text: str) -> list[tuple[str, int]]:
        """Normalise, segment, then handle unknowns (PopulateSentencePieceText in the C++)."""
        normalized = self.normalizer(text)
        if not normalized:
            return []
        segments = (self._viterbi(normalized) if self.model_type == pb.UNIGRAM
                    else self._bpe(normalized))
        out: list[tuple[str, int]] = []
        prev_unk = False
        for piece, i in segments:
            is_unk = i == self._unk
            if is_unk and self.byte_fallback:
                out.extend((_byte_piece(b), self._byte_ids[b]) for b in piece.encode("utf-8"))
            elif is_unk and prev_unk:
                out[-1] = (out[-1][0] + piece, i)      # one <unk> for a run of unknown characters
            else:
                out.append((piece, i))
            prev_unk = is_unk
        return out

    def _viterbi(self, s: str) -> list[tuple[str, int]]:
        """The most probable segmentation of ``s`` under the unigram model (module docstring).

        ``best[j]`` is the score of the best segmentation of ``s[:j]``; ``start[j]`` and ``ids[j]``
        are the last piece on that path. Positions are characters; each is visited once, and from
        it every piece that starts there (a walk down the character trie) proposes ``best[j]``.
        Arithmetic follows unigram_model.cc's EncodeOptimized: ``best`` is stored as float32;
        a known piece's candidate is compared in double, an unknown's in float32.
        """
        n = len(s)
        best = array("f", bytes(4 * (n + 1)))   # float32, like the C++ BestPathNode
        start = [-1] * (n + 1)
        ids = [-1] * (n + 1)
        scores, types, trie = self._scores, self._types, self._trie
        for i in range(n):
            base = best[i]
            has_single = False
            node, j = trie, i
            while j < n:
                node = node.get(s[j])
                if node is None:
                    break
                j += 1
                pid = node.get("")
                if pid is None:
                    continue
                kind = types[pid]
                if kind == pb.UNUSED:
                    continue
                if kind == pb.USER_DEFINED:   # the bonus: (length in bytes) * max_score - 0.1
                    score = _f32(len(s[i:j].encode("utf-8")) * self._max_score) - 0.1
                else:
                    score = scores[pid]
                candidate = score + base
                if start[j] == -1 or candidate > best[j]:
                    best[j], start[j], ids[j] = candidate, i, pid
                if j == i + 1:
                    has_single = True
            if not has_single:                  # no piece covers this character: <unk>
                candidate = _f32(self._unk_score + base)
                if start[i + 1] == -1 or candidate > best[i + 1]:
                    best[i + 1], start[i + 1], ids[i + 1] = candidate, i, self._unk
        path = []
        j = n
        while j > 0:                            # follow the winning edges back from the end
            path.append((s[start[j]:j], ids[j]))
            j = start[j]
        path.reverse()
        return path

    def _first_symbols(self, s: str) -> list[tuple[int, int, bool]]:
        """``s`` cut into characters, except that user-defined symbols stay whole (and frozen)."""
        symbols = []
        i, n = 0, len(s)
        while i < n:
            length, frozen = 1, False
            for sym in self._user_by_char.get(s[i], ()):   # longest first
                if s.startswith(sym, i):
                    length, frozen = len(sym), True
                    break
            symbols.append((i, i + length, frozen))
            i += length
        return symbols

    def _bpe(self, s: str) -> list[tuple[str, int]]:
        """Merge the best-scoring adjacent pair until none forms a piece (bpe_model.cc).

        The symbols form a doubly linked list (``prev``/``nxt``); candidate merges wait in a heap
        ordered by (highest score, leftmost). A merge that became stale — one of its symbols has
        grown or vanished since it was queued — is recognised by its length and skipped.
        """
        first = self._first_symbols(s)
        begin = [b for b, _, _ in first]
        end = [e for _, e, _ in first]
        frozen = [f for _, _, f in first]
        m = len(first)
        prev = list(range(-1, m - 1))
        nxt = list(range(1, m)) + [-1]
        alive = [True] * m
        heap: list = []
        rev_merge: dict[str, tuple[str, str]] = {}
        normal, scores, types = self._normal, self._scores, self._types

        def maybe_add(left: int, right: int) -> None:
            if left == -1 or right == -1 or frozen[left] or frozen[right]:
                return
            piece = s[begin[left]:end[right]]
            pid = normal.get(piece)
            if pid is None:
                return
            heapq.heappush(heap, (-scores[pid], left, right, end[right] - begin[left]))
            if types[pid] == pb.UNUSED:         # remember how to split it again (resegment)
                rev_merge[piece] = (s[begin[left]:end[left]], s[begin[right]:end[right]])

        for k in range(1, m):
            maybe_add(k - 1, k)
        while heap:
            _, left, right, size = heapq.heappop(heap)
            if not (alive[left] and alive[right]) or end[right] - begin[left] != size:
                continue
            end[left] = end[right]              # merge: `left` absorbs `right`
            alive[right] = False
            nxt[left] = nxt[right]
            if nxt[right] >= 0:
                prev[nxt[right]] = left
            maybe_add(prev[left], left)
            maybe_add(left, nxt[left])

        out: list[tuple[str, int]] = []

        def resegment(piece: str) -> None:      # UNUSED pieces are split back into what made them
            pid = self.piece_to_id(piece)
            if types[pid] == pb.UNUSED and piece in rev_merge:
                a, b = rev_merge[piece]
                resegment(a)
                resegment(b)
            else:
                out.append((piece, pid))

        k = 0
        while k != -1 and m:
            resegment(s[begin[k]:end[k]])
            k = nxt[k]
        return out

    # ----------------------------------------------------------------- decoding
    def decode(self, ids) -> str:
        """Ids -> text (a list of id lists -> a list of texts). Control ids (``<s>``, ``</s>``) vanish."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        if isinstance(ids, int):
            ids = [ids]
        if ids and isinstance(ids[0], (list, tuple)):
            return [self.decode(row) for row in ids]
        n = len(self._pieces_list)
        for i in ids:
            if not 0 <= int(i) < n:
                raise IndexError(f"invalid id {i}: this model has ids 0..{n - 1}")
        return self.decode_pieces([self._pieces_list[int(i)] for i in ids])

    decode_ids = decode

    def decode_pieces(self, pieces) -> str:
        """Pieces -> text (SentencePieceProcessor::Decode). A piece the model lacks is copied as is."""
        if pieces and isinstance(pieces[0], (list, tuple)):
            return [self.decode_pieces(row) for row in pieces]
        text: list[str] = []
        norm = self.proto["normalizer_spec"]
        strip_bos_ws = norm["add_dummy_prefix"] or norm["remove_extra_whitespaces"]
        is_bos_ws, bos_ws_seen = True, False
        byte_run: list[int] = []
        for piece in pieces:
            pid = self.piece_to_id(piece)
            if self._types[pid] == pb.BYTE:
                byte_run.append(_piece_to_byte(piece))
                continue
            if byte_run:
                text.append(_decode_bytes(byte_run))
                byte_run = []
            if bos_ws_seen or any(text):
                is_bos_ws = False
            bos_ws_seen = False
            if self._types[pid] == pb.CONTROL:
                continue                                  # <s>, </s>: invisible
            if self._types[pid] == pb.UNKNOWN:
                text.append(self.unk_surface if piece == self._pieces_list[pid] else piece)
                continue
            if is_bos_ws and strip_bos_ws and piece.startswith(SPACE_SYMBOL):
                piece = piece[1:]                         # the dummy prefix's space
                bos_ws_seen = not norm["remove_extra_whitespaces"]
            text.append(piece.replace(SPACE_SYMBOL, " "))
        if byte_run:
            text.append(_decode_bytes(byte_run))
        out = "".join(text)
        if self.denormalizer is not None:
            out = self.denormalizer(out)
        return out

    def __repr__(self) -> str:
        kind = "unigram" if self.model_type == pb.UNIGRAM else "bpe"
        return (f"SentencePieceTokenizer({self.model_file or '<bytes>'}, {kind}, {len(self)} pieces, "
                f"normalizer={self.normalizer.name or 'custom'}, byte_fallback={self.byte_fallback})")


def _piece_to_byte(piece: str) -> int:
    """``"<0x41>"`` -> 65; anything else -> -1 (upper-case hex, two digits, as the C++ writes them)."""
    if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
        digits = piece[3:5]
        if all(c in "0123456789ABCDEF" for c in digits):
            return int(digits, 16)
    return -1


def _decode_bytes(data: list[int]) -> str:
    """UTF-8 bytes -> text, one U+FFFD per byte that does not start a valid character (as the C++).

    (Python's ``errors="replace"`` would give one U+FFFD per *run* of bad bytes instead.)
    """
    raw = bytes(data)
    out, i = [], 0
    while i < len(raw):
        n = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4)[raw[i] >> 4]
        try:
            out.append(raw[i:i + n].decode("utf-8"))
            i += n
        except UnicodeDecodeError:
            out.append(_REPLACEMENT)
            i += 1
    return "".join(out)
