"""A minimal Protocol Buffers reader, enough for SentencePiece's ``.model`` / ``.spm`` files.

A SentencePiece model file is one serialized ``ModelProto`` message (``sentencepiece_model.proto``).
Protocol Buffers' *wire format* is simple; a message is a flat run of fields, each one

    key = varint(field_number << 3 | wire_type), then the value:

    wire type 0  varint            int32, int64, uint64, bool, enum
    wire type 1  fixed64           8 bytes little-endian (double, fixed64): skipped here
    wire type 2  length-delimited  varint length, then that many bytes (string, bytes, a sub-message)
    wire type 5  fixed32           4 bytes little-endian (float)

A *varint* stores 7 bits per byte, least significant group first; the high bit of each byte says
"more bytes follow". A negative ``int32`` (``pad_id = -1``) is sign-extended to 64 bits, so it takes
10 bytes. Fields may come in any order; a repeated field is the same key several times; fields this
reader does not know are skipped (that is how protobuf stays forward compatible).

``read_model_proto(data)`` returns plain Python dicts with the defaults of the ``.proto`` filled in.
The schema below names the fields minigrad uses, with their numbers from
``sentencepiece_model.proto`` (google/sentencepiece, ``src/sentencepiece_model.proto``).
"""

from __future__ import annotations

import struct

__all__ = ["ProtobufError", "read_varint", "iter_fields", "parse_message", "read_model_proto",
           "MODEL_PROTO", "NORMAL", "UNKNOWN", "CONTROL", "USER_DEFINED", "UNUSED", "BYTE",
           "UNIGRAM", "BPE", "WORD", "CHAR"]


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message (truncated, or a bad wire type)."""


# ModelProto.SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
# TrainerSpec.ModelType
UNIGRAM, BPE, WORD, CHAR = 1, 2, 3, 4


# ----------------------------------------------------------------- the wire format
def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode the varint at ``data[pos:]``: returns ``(value, position after it)``."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint at the end of the message")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtobufError(f"varint longer than 10 bytes at byte {pos}")


def iter_fields(data: bytes):
    """Yield ``(field_number, wire_type, value)`` for each field of one message.

    ``value`` is an int for varints, 4 raw bytes for fixed32, 8 raw bytes for fixed64, and the
    payload bytes for length-delimited fields (decoded later, once the schema says what they are).
    """
    pos, end = 0, len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError(f"field number 0 at byte {pos} (not a protobuf message?)")
        if wire == 0:
            value, pos = read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ProtobufError(f"wire type {wire} (field {number}) is not supported "
                                f"(groups are deprecated; not a SentencePiece model?)")
        if pos > end:
            raise ProtobufError(f"field {number} runs past the end of the message (truncated file?)")
        yield number, wire, value


def _as_int32(v: int) -> int:
    """A varint read as a signed 32-bit integer (negative numbers were sign-extended to 64 bits)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


# Each scalar kind: (the wire type it must arrive in, how to decode the raw value).
_SCALARS = {
    "int32": (0, _as_int32),
    "uint64": (0, lambda v: v & 0xFFFFFFFFFFFFFFFF),
    "enum": (0, _as_int32),
    "bool": (0, bool),
    "float": (5, lambda b: struct.unpack("<f", b)[0]),
    "string": (2, lambda b: b.decode("utf-8")),
    "bytes": (2, bytes),
}


def parse_message(data: bytes, schema: dict, path: str = "message") -> dict:
    """Decode one message with ``schema = {field_number: (name, kind, default)}``.

    ``kind`` is a scalar name (``"int32"``, ``"float"``, ...), a nested schema dict (a sub-message),
    or a one-element list ``[kind]`` for a repeated field (default: an empty list). Missing fields
    get their default; ``out["_present"]`` is the set of field names that were in the data
    (proto2's ``has_...``).
    """
    out: dict = {}
    present: set[str] = set()
    for number, (name, kind, default) in schema.items():
        out[name] = [] if isinstance(kind, list) else default
    for number, wire, value in iter_fields(data):
        if number not in schema:
            continue  # an unknown field: skip it
        name, kind, _ = schema[number]
        repeated = isinstance(kind, list)
        item_kind = kind[0] if repeated else kind
        where = f"{path}.{name} (field {number})"
        if isinstance(item_kind, dict):
            if wire != 2:
                raise ProtobufError(f"{where} should be a sub-message, got wire type {wire}")
            decoded = parse_message(value, item_kind, where)
        else:
            want, convert = _SCALARS[item_kind]
            if wire != want:
                raise ProtobufError(f"{where} should have wire type {want} ({item_kind}), got {wire}")
            try:
                decoded = convert(value)
            except (UnicodeDecodeError, struct.error) as e:
                raise ProtobufError(f"{where}: cannot decode {item_kind}: {e}") from None
        if repeated:
            out[name].append(decoded)
        else:
            out[name] = decoded  # proto semantics: the last occurrence wins
        present.add(name)
    out["_present"] = present
    return out


# ----------------------------------------------------------------- sentencepiece_model.proto
#: message ModelProto.SentencePiece { piece = 1; score = 2; type = 3 [default = NORMAL]; }
SENTENCE_PIECE = {
    1: ("piece", "string", ""),
    2: ("score", "float", 0.0),
    3: ("type", "enum", NORMAL),
}

#: message TrainerSpec: the fields that change how text is encoded (training-only fields are skipped).
TRAINER_SPEC = {
    3: ("model_type", "enum", UNIGRAM),
    4: ("vocab_size", "int32", 8000),
    24: ("treat_whitespace_as_suffix", "bool", False),
    25: ("split_digits", "bool", False),
    26: ("allow_whitespace_only_pieces", "bool", False),
    30: ("control_symbols", ["string"], None),
    31: ("user_defined_symbols", ["string"], None),
    35: ("byte_fallback", "bool", False),
    40: ("unk_id", "int32", 0),
    41: ("bos_id", "int32", 1),
    42: ("eos_id", "int32", 2),
    43: ("pad_id", "int32", -1),
    44: ("unk_surface", "string", " \u2047 "),
    45: ("unk_piece", "string", "<unk>"),
    46: ("bos_piece", "string", "<s>"),
    47: ("eos_piece", "string", "</s>"),
    48: ("pad_piece", "string", "<pad>"),
}

#: message NormalizerSpec
NORMALIZER_SPEC = {
    1: ("name", "string", ""),
    2: ("precompiled_charsmap", "bytes", b""),
    3: ("add_dummy_prefix", "bool", True),
    4: ("remove_extra_whitespaces", "bool", True),
    5: ("escape_whitespaces", "bool", True),
    6: ("normalization_rule_tsv", "string", ""),
}

#: message ModelProto { pieces = 1; trainer_spec = 2; normalizer_spec = 3; self_test_data = 4;
#: denormalizer_spec = 5; }  (self_test_data is not read)
MODEL_PROTO = {
    1: ("pieces", [SENTENCE_PIECE], None),
    2: ("trainer_spec", TRAINER_SPEC, None),
    3: ("normalizer_spec", NORMALIZER_SPEC, None),
    5: ("denormalizer_spec", NORMALIZER_SPEC, None),
}


def read_model_proto(data: bytes) -> dict:
    """Parse a SentencePiece model file's bytes into ``{"pieces": [...], "trainer_spec": {...}, ...}``.

    A missing ``trainer_spec`` / ``normalizer_spec`` is filled with the ``.proto`` defaults, as the
    C++ library does; a missing ``denormalizer_spec`` stays ``None``.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the model file's bytes, got {type(data).__name__}")
    proto = parse_message(bytes(data), MODEL_PROTO, "ModelProto")
    for name, schema in (("trainer_spec", TRAINER_SPEC), ("normalizer_spec", NORMALIZER_SPEC)):
        if proto[name] is None:
            proto[name] = parse_message(b"", schema, name)
    return proto
