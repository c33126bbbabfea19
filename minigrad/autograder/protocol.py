"""The messages between the grader and the process that runs a student's file.

Never pickle: a message is JSON, and its arrays are NumPy's .npy format, read back with
allow_pickle=False and after checking that each array's header matches its bytes.  So a
student's process can send wrong values, but no value it sends can run code in the grader.

A frame on the socket:

    b"MGAG" | header length (u32, little-endian) | body length (u64) | header | body

    header  UTF-8 JSON: {"seq": n, "nonce": "...", "msg": VALUE}
    body    the arrays of the message, .npy blobs one after another; the header's
            "arrays" lists each one's [offset, length] in the body

A VALUE is plain JSON (None, bool, int, float with NaN/Infinity, str, list) or a tagged
object {"$": tag, ...} for what JSON does not have:

    array   {"i": k}                       array k of the body
    scalar  {"i": k}                       a NumPy scalar (a 0-d array, given back as np.generic)
    tuple   {"items": [...]}
    dict    {"items": [[key, value], ...]}
    tensor  {"data": k, "requires_grad", "has_node", "grad": VALUE, "handle"}   a minigrad Tensor
    object  {"type", "repr", "callable", "handle"}   anything else (a model, a tokenizer): the
                                           grader sees its type and repr and can hand it back
    handle  {"id": n}                      grader -> student: an object the student's side holds
    function {"module", "qualname"}        grader -> student: a function of minigrad (a test
                                           function of a check, or a library function)
    build   {"ctor", "args", "kwargs", "state", "train", "attrs"}
                                           grader -> student: construct minigrad's ctor(*args,
                                           **kwargs), load the state dict, .train()/.eval(), set attrs

Each side decodes the tags it knows (decode's `hooks`); an unknown tag is a ProtocolError.
"""
from __future__ import annotations

import io
import json
import struct

import numpy as np

MAGIC = b"MGAG"
_PREFIX = struct.Struct("<4sIQ")          # magic, header length, body length
PREFIX_SIZE = _PREFIX.size

MAX_HEADER = 16 * 2 ** 20                 # bytes of JSON in one message
MAX_BODY = 128 * 2 ** 20                  # bytes of arrays in one message
MAX_DEPTH = 64                            # nesting of a value (deeper: sent as an object)
MAX_REPR = 240                            # characters of an object's repr

_DTYPE_KINDS = set("biufc")               # bool, ints, uints, floats, complex: nothing else


class ProtocolError(Exception):
    """A message that is not a well-formed frame of this protocol (the text says what)."""


# ----------------------------------------------------------------------------------------
# Arrays: .npy blobs, checked before they are read
# ----------------------------------------------------------------------------------------
def array_to_npy(a: np.ndarray) -> bytes:
    a = np.asarray(a)
    if a.dtype.kind not in _DTYPE_KINDS:
        raise TypeError(f"cannot send an array of dtype {a.dtype}")
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=False)
    return buf.getvalue()


def npy_to_array(blob: bytes) -> np.ndarray:
    """The array in one .npy blob (a writable copy), or ProtocolError: a bad header, a dtype
    that is not a number or bool, or a byte count that does not match the header's shape."""
    fp = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, SyntaxError, TypeError, OverflowError) as e:
        raise ProtocolError(f"an unreadable array header ({e})") from None
    if dtype.hasobject or dtype.kind not in _DTYPE_KINDS or dtype.fields is not None:
        raise ProtocolError(f"an array of dtype {dtype} (only numbers and bool are accepted)")
    count = 1
    for n in shape:
        if not isinstance(n, int) or n < 0:
            raise ProtocolError(f"an array of shape {shape}")
        count *= n
    start = fp.tell()
    if count * dtype.itemsize != len(blob) - start:
        raise ProtocolError(f"an array of shape {shape} and dtype {dtype} with "
                            f"{len(blob) - start} bytes of data")
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=start)
    return flat.reshape(shape, order="F" if fortran else "C").copy()


# ----------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------
class Encoder:
    """Turns a value into JSON plus arrays.  `custom(value, encoder, depth)` may return the
    tree of a value of a type this module does not know (a Tensor, a handle), or None;
    `opaque(value)` gives the tree of anything else (else TypeError)."""

    def __init__(self, custom=None, opaque=None):
        self.blobs: list[bytes] = []
        self.custom, self.opaque = custom, opaque

    def array(self, a) -> int:
        """Add an array to the body; its index, for {"$": "array", "i": index}."""
        self.blobs.append(array_to_npy(a))
        return len(self.blobs) - 1

    def encode(self, value, depth: int = 0):
        if value is None or type(value) in (bool, int, float, str):
            return value
        if depth > MAX_DEPTH:
            return self._opaque(value)
        if self.custom is not None:
            tree = self.custom(value, self, depth)
            if tree is not None:
                return tree
        if isinstance(value, np.ndarray) and value.dtype.kind in _DTYPE_KINDS:
            return {"$": "array", "i": self.array(value)}
        if isinstance(value, np.generic) and np.dtype(type(value)).kind in _DTYPE_KINDS:
            return {"$": "scalar", "i": self.array(np.asarray(value))}
        if type(value) is list:
            return [self.encode(v, depth + 1) for v in value]
        if type(value) is tuple:
            return {"$": "tuple", "items": [self.encode(v, depth + 1) for v in value]}
        if type(value) is dict:
            return {"$": "dict", "items": [[self.encode(k, depth + 1), self.encode(v, depth + 1)]
                                           for k, v in value.items()]}
        return self._opaque(value)

    def _opaque(self, value):
        if self.opaque is not None:
            return self.opaque(value)
        raise TypeError(f"cannot send a {type(value).__name__}")


def decode(tree, arrays: list[np.ndarray], hooks: dict, depth: int = 0):
    """The value of a tree; `hooks[tag](node, decode_child)` decodes the tags of one side."""
    if depth > MAX_DEPTH + 8:
        raise ProtocolError("a value nested too deeply")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    sub = lambda t: decode(t, arrays, hooks, depth + 1)         # noqa: E731
    if isinstance(tree, list):
        return [sub(t) for t in tree]
    if not isinstance(tree, dict):
        raise ProtocolError(f"a value of JSON type {type(tree).__name__}")
    tag = tree.get("$")
    if tag in ("array", "scalar"):
        a = _array_ref(tree.get("i"), arrays)
        if tag == "scalar":
            if a.ndim != 0:
                raise ProtocolError(f"a scalar of shape {a.shape}")
            return a[()]
        return a
    if tag == "tuple":
        return tuple(sub(t) for t in _items(tree))
    if tag == "dict":
        out = {}
        for pair in _items(tree):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ProtocolError("a dict entry that is not a [key, value] pair")
            key = sub(pair[0])
            try:
                out[key] = sub(pair[1])
            except TypeError:
                raise ProtocolError("a dict key that cannot be a key") from None
        return out
    if tag in hooks:
        return hooks[tag](tree, sub)
    raise ProtocolError(f"a value tagged {str(tag)[:40]!r}")


def array_ref(index, arrays) -> np.ndarray:
    """Array `index` of a message (for the hooks of tagged values holding arrays)."""
    return _array_ref(index, arrays)


def _array_ref(index, arrays) -> np.ndarray:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(arrays):
        raise ProtocolError(f"a reference to array {index!r} of {len(arrays)}")
    return arrays[index]


def _items(tree) -> list:
    items = tree.get("items")
    if not isinstance(items, list):
        raise ProtocolError(f"a {tree.get('$')} without items")
    return items


# ----------------------------------------------------------------------------------------
# Frames
# ----------------------------------------------------------------------------------------
def pack(seq: int, nonce: str, msg, custom=None, opaque=None) -> bytes:
    """One frame holding `msg` (encoded by an Encoder(custom, opaque))."""
    enc = Encoder(custom, opaque)
    tree = enc.encode(msg)
    offsets, pos = [], 0
    for blob in enc.blobs:
        offsets.append([pos, len(blob)])
        pos += len(blob)
    header = json.dumps({"seq": seq, "nonce": nonce, "msg": tree, "arrays": offsets},
                        ensure_ascii=True, separators=(",", ":")).encode("ascii")
    body = b"".join(enc.blobs)
    if len(header) > MAX_HEADER or len(body) > MAX_BODY:
        raise ValueError(f"a message of {len(header) + len(body)} bytes is too large to send")
    return _PREFIX.pack(MAGIC, len(header), len(body)) + header + body


def parse_prefix(prefix: bytes) -> tuple[int, int]:
    """(header length, body length) from a frame's first PREFIX_SIZE bytes."""
    magic, n_header, n_body = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise ProtocolError(f"a frame that does not start with {MAGIC!r} (got {magic!r})")
    if n_header > MAX_HEADER or n_body > MAX_BODY:
        raise ProtocolError(f"a message of {n_header} + {n_body} bytes (more than the limit)")
    return n_header, n_body


def unpack(header: bytes, body: bytes) -> tuple[int, str, object, list]:
    """(seq, nonce, tree, arrays) of a frame's header and body, ProtocolError if anything is
    off; decode(tree, arrays, hooks) gives the message."""
    try:
        head = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ProtocolError(f"a header that is not JSON ({str(e)[:80]})") from None
    if not isinstance(head, dict) or not isinstance(head.get("seq"), int) \
            or not isinstance(head.get("nonce"), str) or not isinstance(head.get("arrays"), list):
        raise ProtocolError("a header without seq, nonce and arrays")
    arrays = []
    for ref in head["arrays"]:
        if not (isinstance(ref, list) and len(ref) == 2 and all(isinstance(v, int) for v in ref)
                and 0 <= ref[0] and 0 <= ref[1] and ref[0] + ref[1] <= len(body)):
            raise ProtocolError(f"an array reference {str(ref)[:40]} outside the body")
        arrays.append(npy_to_array(body[ref[0]:ref[0] + ref[1]]))
    return head["seq"], head["nonce"], head.get("msg"), arrays


def peek(tree, key: str):
    """The entry `key` of an encoded dict, if it is a plain JSON value (else None), without
    decoding the rest."""
    if isinstance(tree, dict) and tree.get("$") == "dict" and isinstance(tree.get("items"), list):
        for pair in tree["items"]:
            if isinstance(pair, list) and len(pair) == 2 and pair[0] == key:
                value = pair[1]
                return value if value is None or isinstance(value, (bool, int, float, str)) else None
    return None


def decode_message(tree, arrays, hooks: dict):
    """decode, with a too deeply nested value as a ProtocolError."""
    try:
        return decode(tree, arrays, hooks)
    except RecursionError:
        raise ProtocolError("a value nested too deeply") from None


def read_frame_blocking(sock):
    """Read one frame from a blocking socket (the student's side): (seq, nonce, tree, arrays),
    or None at end of file."""
    prefix = _recv_exactly(sock, PREFIX_SIZE)
    if prefix is None:
        return None
    n_header, n_body = parse_prefix(prefix)
    header = _recv_exactly(sock, n_header)
    body = _recv_exactly(sock, n_body)
    if header is None or body is None:
        return None
    return unpack(header, body)


def _recv_exactly(sock, n: int):
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
