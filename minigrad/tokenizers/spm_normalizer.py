"""SentencePiece's text normaliser, from the model file's ``NormalizerSpec`` (normalizer.cc).

Before a sentence is cut into pieces it is *normalised*:

1. **Character map** (``precompiled_charsmap``). The default rule ``nmt_nfkc`` is Unicode NFKC
   plus a few changes for translation (control characters dropped, every kind of space made
   ``" "``). SentencePiece does not run NFKC at encoding time: the trainer compiles the whole rule
   into a table of *replacements* — "these input bytes become those output bytes" — stored in a
   double-array trie. Normalising is then: at each position take the **longest** key that is a
   prefix of the rest of the text and write its replacement; where no key matches, copy one
   character. (Keys can be several characters long: ``e`` + combining acute ``U+0301`` is one key,
   whose replacement is ``é``.)
2. **Whitespace**: leading, trailing and repeated spaces are removed (``remove_extra_whitespaces``),
   a space is put in front (``add_dummy_prefix``, so that "world" and "hello world" both contain
   ``▁world``), and every space becomes ``▁`` U+2581 (``escape_whitespaces``) so a piece can hold it.

User-defined symbols (``USER_DEFINED`` pieces) are copied as they are, never normalised.

The charsmap blob is ``[uint32 little-endian: trie size in bytes][trie units][replacement strings]``;
the replacements are NUL-terminated UTF-8 strings, and a trie value is the byte offset of one.

The double-array trie (darts-clone) is an array of 32-bit *units*. Unit ``u`` encodes

    label    = u & 0x800000FF      the byte that leads to this node (bit 31 set: a leaf unit)
    has_leaf = (u >> 8) & 1        a key ends here: its value is in the unit at ``pos ^ offset``
    offset   = (u >> 10) << ((u & 0x200) >> 6)   children of the node are at ``pos ^ offset ^ byte``
    value    = u & 0x7FFFFFFF      (in a leaf unit)

Walking the trie along the bytes of the text gives every key that is a prefix of it (a "common
prefix search"), in a few array look-ups per byte.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DoubleArray", "Normalizer", "SPACE_SYMBOL"]

#: U+2581 LOWER ONE EIGHTH BLOCK, the visible stand-in for a space inside pieces.
SPACE_SYMBOL = "\u2581"
_SPACE_BYTES = SPACE_SYMBOL.encode("utf-8")


def utf8_char_len(lead: int) -> int:
    """Bytes in the UTF-8 character that starts with byte ``lead`` (SentencePiece's OneCharLen)."""
    return (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4)[lead >> 4]


class DoubleArray:
    """A read-only darts-clone double-array trie over bytes (see the module docstring)."""

    def __init__(self, units: bytes):
        if len(units) % 4 or not units:
            raise ValueError(f"a double-array trie is a whole number of 4-byte units, got {len(units)} bytes")
        # A plain list of ints: the fastest thing to index from Python, one unit at a time.
        self.units = np.frombuffer(units, dtype="<u4").astype(np.int64).tolist()

    def common_prefix_search(self, key: bytes, start: int = 0) -> list[tuple[int, int]]:
        """All keys that are a prefix of ``key[start:]``: a list of ``(length in bytes, value)``."""
        units, n = self.units, len(self.units)
        results = []
        unit = units[0]
        pos = (unit >> 10) << ((unit & 0x200) >> 6)      # root's offset: where its children are
        for i in range(start, len(key)):
            byte = key[i]
            pos ^= byte
            if pos >= n:
                break
            unit = units[pos]
            if unit & 0x800000FF != byte:                 # no child with this label: stop
                break
            pos ^= (unit >> 10) << ((unit & 0x200) >> 6)
            if (unit >> 8) & 1:                           # a key ends after this byte
                results.append((i + 1 - start, units[pos] & 0x7FFFFFFF))
        return results


    def has_child(self, prefix: bytes, label: int) -> bool:
        """Whether the trie continues from ``prefix`` with the byte ``label`` (1..255)."""
        units, n = self.units, len(self.units)
        unit = units[0]
        pos = (unit >> 10) << ((unit & 0x200) >> 6)
        for byte in prefix + bytes([label]):
            pos ^= byte
            if pos >= n or units[pos] & 0x800000FF != byte:
                return False
            unit = units[pos]
            pos ^= (unit >> 10) << ((unit & 0x200) >> 6)
        return True


class Normalizer:
    """Normalise text as SentencePiece does for one ``NormalizerSpec`` (a dict from protobuf.py).

    ``user_defined``: the model's USER_DEFINED pieces, copied through unnormalised.
    ``treat_whitespace_as_suffix``: the TrainerSpec flag that puts the dummy ``▁`` at the end.
    """

    def __init__(self, spec: dict, user_defined=(), treat_whitespace_as_suffix: bool = False):
        self.name = spec.get("name", "")
        self.add_dummy_prefix = spec["add_dummy_prefix"]
        self.remove_extra_whitespaces = spec["remove_extra_whitespaces"]
        self.escape_whitespaces = spec["escape_whitespaces"]
        self.treat_whitespace_as_suffix = treat_whitespace_as_suffix
        self.trie, self._replacements = None, b""
        blob = spec["precompiled_charsmap"]
        if blob:
            if len(blob) <= 4:
                raise ValueError("the normaliser's precompiled_charsmap is broken (shorter than its header)")
            trie_size = int.from_bytes(blob[:4], "little")
            if trie_size >= len(blob):
                raise ValueError(f"the normaliser's precompiled_charsmap says its trie has {trie_size} bytes, "
                                 f"but the whole blob has only {len(blob)}")
            self.trie = DoubleArray(blob[4:4 + trie_size])
            self._replacements = blob[4 + trie_size:]
        self._replacement_cache: dict[int, bytes] = {}
        self._ascii = self._ascii_table()
        # User-defined symbols, grouped by first byte, longest first (a longest-prefix match).
        self._user: dict[int, list[bytes]] = {}
        for sym in sorted({s.encode("utf-8") for s in user_defined if s}, key=len, reverse=True):
            self._user.setdefault(sym[0], []).append(sym)

    def _ascii_table(self) -> list:
        """A shortcut for ASCII text (a speed-up only; the result is the same).

        ``table[b]`` is the normalised form of the ASCII byte ``b`` *when the next byte is ASCII
        too* — or None where the trie has a key ``b`` + another ASCII byte, so the full search is
        needed. (nmt_nfkc's keys that start with a letter continue with a combining mark, which is
        never ASCII.)
        """
        table: list = []
        for b in range(128):
            if self.trie is None:
                table.append(bytes([b]))
                continue
            if any(self.trie.has_child(bytes([b]), c) for c in range(1, 128)):
                table.append(None)
                continue
            match = self.trie.common_prefix_search(bytes([b]))
            table.append(self._replacement(match[0][1]) if match else bytes([b]))
        return table

    def _replacement(self, offset: int) -> bytes:
        out = self._replacement_cache.get(offset)
        if out is None:
            end = self._replacements.find(b"\0", offset)
            out = self._replacements[offset:end if end >= 0 else len(self._replacements)]
            self._replacement_cache[offset] = out
        return out

    def normalize_prefix(self, data: bytes, i: int) -> tuple[bytes, int]:
        """Normalise the start of ``data[i:]``: returns ``(replacement bytes, input bytes consumed)``."""
        b = data[i]
        for sym in self._user.get(b, ()):
            if data.startswith(sym, i):
                return sym, len(sym)
        if b < 0x80 and (i + 1 == len(data) or data[i + 1] < 0x80):
            rep = self._ascii[b]                    # the shortcut: see _ascii_table
            if rep is not None:
                return rep, 1
        if self.trie is not None:
            matches = self.trie.common_prefix_search(data, i)
            if matches:
                length, value = max(matches)        # the longest key wins
                return self._replacement(value), length
        n = utf8_char_len(data[i])
        return data[i:i + n], n

    def normalize(self, text: str) -> str:
        """The normalised text, with spaces as ``▁`` (what the segmenters read)."""
        data = text.encode("utf-8")
        n, i = len(data), 0
        space = _SPACE_BYTES if self.escape_whitespaces else b" "
        if self.remove_extra_whitespaces:           # drop leading spaces (after normalisation)
            while i < n:
                rep, used = self.normalize_prefix(data, i)
                if rep != b" ":
                    break
                i += used
        if i >= n:
            return ""
        out = bytearray()
        if self.add_dummy_prefix and not self.treat_whitespace_as_suffix:
            out += space
        is_prev_space = self.remove_extra_whitespaces
        ascii_table = None if self._user else self._ascii
        while i < n:
            b, rep = data[i], None
            if ascii_table is not None and b < 0x80 and (i + 1 == n or data[i + 1] < 0x80):
                rep, used = ascii_table[b], 1       # the shortcut for ASCII (see _ascii_table)
            if rep is None:
                rep, used = self.normalize_prefix(data, i)
            if is_prev_space:
                rep = rep.lstrip(b" ")              # no space right after a space
            if rep:
                out += rep.replace(b" ", space) if self.escape_whitespaces else rep
                is_prev_space = rep.endswith(b" ")
            i += used
            if not self.remove_extra_whitespaces:
                is_prev_space = False
        if self.remove_extra_whitespaces:           # drop trailing spaces
            while out.endswith(space):
                del out[-len(space):]
        if self.add_dummy_prefix and self.treat_whitespace_as_suffix:
            out += space
        return out.decode("utf-8")

    __call__ = normalize

