"""mg.save / mg.load: state dicts in the safetensors format, written atomically.

Training a large model (§3.2 预训练 · 模型训练) takes days; the weights are saved as it goes,
and the saved file is what is later loaded for fine-tuning (§3.3).  Two things matter:

1. **The format is plain data.**  A safetensors file is

       bytes 0..7       N, the header length (unsigned 64-bit, little-endian)
       bytes 8..8+N     a JSON header, padded with spaces:
                        {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]},
                         ...,
                         "__metadata__": {"key": "value", ...}}      (strings only; optional)
       the rest         the data buffer: each tensor's bytes, little-endian, row-major;
                        offsets are relative to the start of this buffer (end exclusive)

   Unlike `pickle` (what `torch.save` used), loading it never runs code, so a file from
   anyone is safe to open.  `load` checks every field before it trusts it: the tensors
   must cover the buffer exactly, with no gap, overlap, or bytes left over.

2. **A crash while saving must not destroy the last good checkpoint.**  `save` writes to a
   temporary file in the same directory, flushes it to disk (`os.fsync`), then renames it
   onto the target with `os.replace`, which is atomic: a reader sees the old file or the
   new one, never half of one.  Finally it fsyncs the directory so the rename itself is on
   disk.  A crash leaves at worst a stray `.NAME.*.tmp` file, which never has the
   checkpoint's name; the next save to the same path removes it.  Saving to a symbolic link
   replaces the file it points to (the link stays).

3. **A flipped bit is found, not loaded.**  `save` stores a SHA-256 digest of every tensor's
   bytes in the metadata, under the key "minigrad.sha256" (a JSON object name -> hex digest,
   so any safetensors reader still reads the file), and `load` recomputes and compares them:
   a tensor whose bytes changed on disk is refused with its name.  Files written by other
   programs have no digests and load as before.  The key is not in the metadata `load` returns.

dtypes: float16/32/64, int8/16/32/64, uint8/16/32/64 and bool are written and read as
they are.  bfloat16 ("BF16", common in pretrained checkpoints) has no NumPy dtype: `load`
*converts* it to float32, exactly (a bfloat16 is the top 16 bits of a float32).
`metadata` (str -> str) is the place for step counts or a config: `json.dumps` them.
"""
from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import stat
import struct
import tempfile

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

# safetensors dtype name <-> NumPy dtype (little-endian, as stored in the file)
_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U64": np.dtype("<u8"), "U32": np.dtype("<u4"), "U16": np.dtype("<u2"), "U8": np.dtype("u1"),
    "BOOL": np.dtype("bool"),
}
_NAMES = {dt.newbyteorder("="): name for name, dt in _DTYPES.items()}
_MAX_HEADER = 100_000_000        # the reference implementation refuses larger headers too
_CHUNK = 1 << 24                 # write large tensors 16 MiB at a time
CHECKSUM_KEY = "minigrad.sha256"  # metadata key: JSON {tensor name: SHA-256 hex digest of its bytes}
_UMASK = os.umask(0o022)         # read the process umask (the only way is to set it) ...
os.umask(_UMASK)                 # ... and put it back at once


class CheckpointError(ValueError):
    """A file that is not a valid safetensors checkpoint; the message names file and fault."""


# ----------------------------------------------------------------------------------------
# save
# ----------------------------------------------------------------------------------------
def save(state_dict: dict, path, metadata: dict | None = None) -> None:
    """Write `state_dict` ({str: Tensor or np.ndarray}) to `path` as safetensors, atomically.

    `metadata` is an optional {str: str} dict stored in the header (e.g. {"step": "1000",
    "config": json.dumps(cfg)}); "format": "pt" is added unless given, which Hugging Face
    Transformers v4 requires.  Nested dicts are refused: flatten them ("layer.weight").
    """
    path = os.path.realpath(os.fspath(path))   # a symlink: write (atomically) what it points to
    arrays = _check_state_dict(state_dict)
    meta = _check_metadata(metadata)
    meta[CHECKSUM_KEY] = json.dumps({name: _digest(a) for name, a in arrays.items()},
                                    separators=(",", ":"))

    # Lay the tensors out: widest dtype first, so that every tensor starts at a multiple
    # of its item size (the header is padded to a multiple of 8).  The JSON keeps the
    # caller's order, which `load` returns.
    header, offset = {}, 0
    layout = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    spans = {}
    for name in layout:
        spans[name] = (offset, offset + arrays[name].nbytes)
        offset += arrays[name].nbytes
    if meta:
        header["__metadata__"] = meta
    for name, a in arrays.items():
        header[name] = {"dtype": _NAMES[a.dtype.newbyteorder("=")], "shape": list(a.shape),
                        "data_offsets": list(spans[name])}
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"mg.save: the directory of '{path}' does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):            # mkstemp makes it private (0600); use the usual mode
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            _write_chunk(f, struct.pack("<Q", len(header_bytes)))
            _write_chunk(f, header_bytes)
            for name in layout:
                data = memoryview(arrays[name].reshape(-1).view(np.uint8))
                for start in range(0, len(data), _CHUNK):
                    _write_chunk(f, data[start:start + _CHUNK])
            f.flush()
            os.fsync(f.fileno())             # the bytes are on disk before the rename
        os.replace(tmp, path)                # atomic: readers see the old file or the new one
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)              # ... and so is the rename
    _remove_stale_temporaries(path, keep=tmp)


def _remove_stale_temporaries(path: str, keep: str) -> None:
    """Temporary files of earlier saves to `path` that were killed before their rename."""
    pattern = os.path.join(os.path.dirname(path), f".{glob.escape(os.path.basename(path))}.*.tmp")
    for stale in glob.glob(pattern):
        if stale != keep:
            try:
                os.unlink(stale)
            except OSError:
                pass


def _digest(array: np.ndarray) -> str:
    """SHA-256 of the bytes a tensor has in the file (little-endian, row-major)."""
    return hashlib.sha256(memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))).hexdigest()


def _write_chunk(f, data) -> None:
    """Every byte of a checkpoint goes through here (tests slow it down to crash mid-save)."""
    f.write(data)


def _fsync_directory(directory: str) -> None:
    if os.name != "posix":                   # Windows cannot open a directory to fsync it
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_state_dict(state_dict) -> dict:
    if not isinstance(state_dict, dict):
        raise TypeError(f"mg.save: expected a dict of name -> Tensor, got {type(state_dict).__name__}")
    arrays = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"mg.save: keys must be strings, got {key!r} ({type(key).__name__})")
        if key == "__metadata__":
            raise ValueError("mg.save: '__metadata__' is reserved; pass metadata=... instead")
        if isinstance(value, dict):
            raise TypeError(f"mg.save: the value of '{key}' is a dict; nested dicts are not "
                            f"allowed: flatten the keys ('{key}.<name>')")
        if isinstance(value, Tensor):
            value = value.data
        elif isinstance(value, np.generic):
            value = np.asarray(value)
        elif not isinstance(value, np.ndarray):
            raise TypeError(f"mg.save: the value of '{key}' is a {type(value).__name__}; only "
                            "Tensors and NumPy arrays can be saved (numbers and strings belong "
                            "in metadata)")
        native = value.dtype.newbyteorder("=")
        if native not in _NAMES:
            raise TypeError(f"mg.save: '{key}' has dtype {value.dtype}, which safetensors files "
                            f"cannot hold here; supported: "
                            f"{', '.join(sorted({str(d) for d in _NAMES}))}")
        # little-endian, contiguous (a copy only when needed)
        arrays[key] = np.asarray(value, dtype=_DTYPES[_NAMES[native]], order="C")
    return arrays


def _check_metadata(metadata) -> dict:
    meta = {} if metadata is None else metadata
    if not isinstance(meta, dict):
        raise TypeError(f"mg.save: metadata must be a dict of str -> str, got {type(meta).__name__}")
    for k, v in meta.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"mg.save: metadata must map str -> str, but {k!r} -> {v!r} "
                            f"({type(v).__name__}); encode other values with json.dumps")
        if k == CHECKSUM_KEY:
            raise ValueError(f"mg.save: the metadata key '{CHECKSUM_KEY}' is reserved (save "
                             "writes the tensors' digests there)")
    return {"format": "pt", **meta}


# ----------------------------------------------------------------------------------------
# load
# ----------------------------------------------------------------------------------------
def load(path, return_metadata: bool = False, verify: bool = True):
    """Read a safetensors file -> {name: Tensor} (requires_grad False, stored dtype; BF16
    becomes float32).  With `return_metadata=True`, returns (tensors, metadata).

    When the file holds minigrad's digests (every file `save` writes), each tensor's bytes are
    checked against its SHA-256 (`verify=False` skips that).  Raises FileNotFoundError if
    there is no such file and CheckpointError (a ValueError) naming the file and the fault if
    it is not a regular file, truncated, malformed, or a tensor's bytes have changed.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"mg.load: no such file: '{path}'")

    def bad(msg):
        return CheckpointError(f"mg.load: '{path}' is not a valid safetensors file: {msg}")

    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):               # a FIFO would block open() for ever
        kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
                if stat.S_ISSOCK(mode) else "not a regular file")
        raise CheckpointError(f"mg.load: '{path}' is {kind}, not a checkpoint file")

    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        if file_size < 8:
            raise bad(f"it has {file_size} bytes, fewer than the 8 of the header length")
        (n,) = struct.unpack("<Q", f.read(8))
        if n > _MAX_HEADER:
            raise bad(f"the header length {n} is larger than the limit ({_MAX_HEADER} bytes)")
        if 8 + n > file_size:
            raise bad(f"the header length {n} runs past the end of the file ({file_size} bytes); "
                      "truncated?")
        header = _parse_header(f.read(n), bad)
        buffer_size = file_size - 8 - n
        metadata = dict(header.pop("__metadata__", {}))
        digests = _parse_digests(metadata.pop(CHECKSUM_KEY, None), bad)
        entries = _check_entries(header, buffer_size, bad)
        if digests is not None and verify:
            missing = sorted(set(entries) - set(digests))
            extra = sorted(set(digests) - set(entries))
            if missing or extra:
                raise bad(f"the tensors do not match the digests saved with them (no digest "
                          f"for {missing[:5]}; digests of missing tensors {extra[:5]}): the "
                          "file was edited after it was written")

        tensors = {}
        for name, (dtype, shape, begin, end, stored) in entries.items():
            raw = np.empty(end - begin, dtype=np.uint8)
            f.seek(8 + n + begin)
            if f.readinto(raw) != raw.size:
                raise bad(f"tensor '{name}': could not read bytes {begin}..{end} of the data")
            if digests is not None and verify and _digest(raw) != digests[name]:
                raise bad(f"tensor '{name}': its bytes do not match the SHA-256 saved with it "
                          "(the file was changed or damaged after it was written); refusing "
                          "to load it")
            arr = raw.view(dtype).reshape(shape)
            if stored == "BF16":             # widen: a bfloat16 is the top half of a float32
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            elif stored == "BOOL" and raw.size and raw.max() > 1:
                raise bad(f"tensor '{name}' is BOOL but holds bytes other than 0 and 1")
            if not arr.dtype.isnative:       # big-endian machines: to native order
                arr = arr.astype(arr.dtype.newbyteorder("="))
            tensors[name] = Tensor(arr)
    return (tensors, metadata) if return_metadata else tensors


def _parse_header(raw: bytes, bad) -> dict:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("the header is not UTF-8 text") from None
    if not text.startswith("{"):
        raise bad(f"the header does not start with '{{' (it starts {text[:20]!r})")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise bad(f"the header names {sorted(dup)} more than once")
        return dict(pairs)

    try:
        header = json.loads(text.rstrip(" "), object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        raise bad(f"the header is not valid JSON ({e})") from None
    except RecursionError:
        raise bad("the header's JSON is nested too deeply to be a checkpoint header") from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in meta.items()):
        raise bad("'__metadata__' must be an object of string -> string")
    return header


def _parse_digests(text, bad) -> dict | None:
    if text is None:
        return None
    try:
        digests = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise bad(f"the metadata entry '{CHECKSUM_KEY}' is not valid JSON") from None
    if not isinstance(digests, dict) or not all(
            isinstance(v, str) and len(v) == 64 for v in digests.values()):
        raise bad(f"the metadata entry '{CHECKSUM_KEY}' must map tensor names to SHA-256 hex digests")
    return digests


def _check_entries(header: dict, buffer_size: int, bad) -> dict:
    """Validate every tensor entry; returns name -> (dtype, shape, begin, end, stored dtype)."""
    entries = {}
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"tensor '{name}': the entry must have exactly the keys dtype, shape, "
                      f"data_offsets; it is {info!r}"[:300])
        stored, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if stored == "BF16":
            dtype = np.dtype("<u2")
        elif stored in _DTYPES:
            dtype = _DTYPES[stored]
        else:
            raise bad(f"tensor '{name}' has unknown dtype {stored!r} (known: "
                      f"{', '.join(list(_DTYPES) + ['BF16'])})")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise bad(f"tensor '{name}' has an invalid shape {shape!r} (need a list of ints >= 0)")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int for o in offsets) or not 0 <= offsets[0] <= offsets[1]):
            raise bad(f"tensor '{name}' has invalid data_offsets {offsets!r} (need [begin, end] "
                      "with 0 <= begin <= end)")
        begin, end = offsets
        if end > buffer_size:
            raise bad(f"tensor '{name}' has data_offsets [{begin}, {end}] beyond the data buffer "
                      f"({buffer_size} bytes); truncated?")
        expected = math.prod(shape) * dtype.itemsize     # Python ints: no overflow
        if end - begin != expected:
            raise bad(f"tensor '{name}' has {end - begin} bytes but shape {shape} of {stored} "
                      f"needs {expected}")
        entries[name] = (dtype, tuple(shape), begin, end, stored)

    # The tensors must tile the buffer: sorted by offset, each starts where the last ended.
    position, previous = 0, None
    for name, (_, _, begin, end, _) in sorted(entries.items(), key=lambda kv: kv[1][2:4]):
        if begin < position:
            raise bad(f"tensors '{previous}' and '{name}' overlap (bytes {begin}..{position})")
        if begin > position:
            raise bad(f"the data has a gap of unused bytes {position}..{begin} before '{name}'")
        position, previous = end, name
    if position != buffer_size:
        raise bad(f"the tensors end at byte {position} of the data but the file has "
                  f"{buffer_size} data bytes (extra bytes at the end)")
    return entries
