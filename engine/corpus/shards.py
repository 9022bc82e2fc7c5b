"""Reading Dolma-style shards: inputs -> bounded Arrow batches of documents + rejects.

A shard is one JSON Lines file, optionally gzip- or zstd-compressed, on any filesystem fsspec
can open (local paths, file://, s3://, gs://, hdfs://, ...). Each line is a document object
with at least ``text`` (string) and usually ``id`` and ``source``.

Reading is streamed: compressed bytes are decoded piece by piece, cut into chunks of about
``batch_bytes`` at line boundaries and parsed to Arrow. Memory is bounded by the chunk size
(or by the longest single line). Bad input never aborts a shard and is never dropped
silently: every problem becomes a ``Reject`` (shard, 1-based line, reason, a sample of the raw
bytes), and the documents before and after it are still read.
"""
from __future__ import annotations

import glob as _glob
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass
from typing import Iterator

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.json as pj

SUFFIXES = (".json.gz", ".jsonl.gz", ".json.zst", ".jsonl.zst", ".json.zstd", ".jsonl.zstd",
            ".json", ".jsonl")
DEFAULT_BATCH_BYTES = 16 << 20
_PIECE = 1 << 16  # compressed bytes fed to a decoder at a time
_MAX_OUT = 1 << 18  # decoded bytes per decoder call
SAMPLE_BYTES = 512

_FAST_SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string())])
_PARSE = pj.ParseOptions(explicit_schema=_FAST_SCHEMA, unexpected_field_behavior="ignore")


class InputError(ValueError):
    """An input path that does not exist or cannot be read as shards."""


@dataclass(frozen=True, order=True)
class ShardRef:
    url: str  # fully qualified, e.g. file:///data/documents/part-0.json.gz
    rel: str  # path relative to the input root it was found under (Dolma layout)
    size: int  # bytes on storage (compressed)

    @property
    def key(self) -> str:
        """Stable, filesystem-safe identifier used for per-shard outputs and markers."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.rel).strip("_")[-80:]
        return f"{safe}-{hashlib.sha1(self.url.encode()).hexdigest()[:10]}"

    @property
    def compression(self) -> str:
        return compression_of(self.url)


@dataclass(frozen=True)
class Reject:
    shard: str
    line: int  # 1-based line in the decompressed shard; 0 = the file as a whole
    reason: str
    sample: bytes = b""
    source: str = ""  # the document's source when it could be read, else ""
    row: int = -1  # 0-based row (non-blank line) index in the shard; -1 = not a row


@dataclass(frozen=True)
class DocBatch:
    text: pa.Array  # string, no nulls, valid UTF-8
    source: pa.Array  # string, no nulls ("" when the document has none)
    first_line: int  # line number of the chunk's first line
    id: pa.Array | None = None  # string, no nulls ("" when the document has none)
    rows: np.ndarray | None = None  # 0-based row (non-blank line) index of each document


def compression_of(path: str) -> str:
    p = path.lower()
    if p.endswith((".gz", ".gzip")):
        return "gzip"
    if p.endswith((".zst", ".zstd")):
        return "zstd"
    return "none"


def _is_shard_name(path: str) -> bool:
    return path.lower().endswith(SUFFIXES)


def expand_inputs(inputs: list[str]) -> list[ShardRef]:
    """Resolve files, directories (recursively) and globs to a sorted list of shards.

    Raises InputError before any work starts when an input does not exist or matches nothing.
    """
    if not inputs:
        raise InputError("no input given")
    found: dict[str, ShardRef] = {}
    for inp in inputs:
        fs, path = fsspec.core.url_to_fs(inp)
        if _glob.has_magic(path):
            matches = sorted(m for m in fs.glob(path) if fs.isfile(m))
            if not matches:
                raise InputError(f"input pattern matches no file: {inp}")
            root = path.split("*")[0].rsplit("/", 1)[0]
            files = [(m, m[len(root):].lstrip("/")) for m in matches]
        elif fs.isdir(path):
            files = [(m, m[len(path.rstrip("/")):].lstrip("/"))
                     for m in sorted(fs.find(path)) if _is_shard_name(m)]
            if not files:
                raise InputError(f"input directory holds no shard ({', '.join(SUFFIXES)}): {inp}")
        elif fs.isfile(path):
            if not _is_shard_name(path):
                raise InputError(f"not a shard name (expected one of {', '.join(SUFFIXES)}): {inp}")
            files = [(path, path.rsplit("/", 1)[-1])]
        else:
            raise InputError(f"input not found: {inp}")
        for p, rel in files:
            url = fs.unstrip_protocol(p)
            found.setdefault(url, ShardRef(url=url, rel=rel, size=int(fs.size(p) or 0)))
    return sorted(found.values(), key=lambda s: (s.rel, s.url))


class CorruptStream(Exception):
    pass


def _decoded_pieces(raw, new_decoder, step, name: str) -> Iterator[bytes]:
    """Drive a streaming decoder over concatenated members/frames, piece by piece.

    ``step(decoder, data) -> (output, unconsumed)``; a decoder with ``eof`` set hands its
    ``unused_data`` (the next member or frame) to a fresh decoder. A stream that ends inside a
    member is truncated.
    """
    d = new_decoder()
    started = False
    while True:
        comp = raw.read(_PIECE)
        if not comp:
            break
        while comp:
            started = True
            try:
                out, rest = step(d, comp)
            except Exception as e:  # zlib.error, zstandard.ZstdError
                raise CorruptStream(f"corrupt {name} data: {e}") from None
            if out:
                yield out
            if d.eof:
                comp = d.unused_data
                d = new_decoder()
                started = False
                if comp and comp.strip(b"\x00") == b"":
                    comp = b""  # zero padding after the last member
            else:
                comp = rest
    if started and not d.eof:
        raise CorruptStream(f"truncated {name} stream (ended inside a compressed member)")


def _gzip_pieces(raw) -> Iterator[bytes]:
    """gzip, output per call capped so a corruption loses at most ``_MAX_OUT`` bytes of text."""

    def step(d, data):
        return d.decompress(data, _MAX_OUT), d.unconsumed_tail

    return _decoded_pieces(raw, lambda: zlib.decompressobj(wbits=31), step, "gzip")


def _zstd_pieces(raw) -> Iterator[bytes]:
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    return _decoded_pieces(raw, dctx.decompressobj, lambda d, data: (d.decompress(data), b""),
                           "zstd")


def _plain_pieces(raw) -> Iterator[bytes]:
    while True:
        out = raw.read(_PIECE * 4)
        if not out:
            break
        yield out


def _pieces(raw, compression: str) -> Iterator[bytes]:
    return {"gzip": _gzip_pieces, "zstd": _zstd_pieces, "none": _plain_pieces}[compression](raw)


def read_shard(shard: ShardRef, batch_bytes: int = DEFAULT_BATCH_BYTES,
               on_bytes=None) -> Iterator[DocBatch | Reject]:
    """Stream a shard as DocBatch chunks interleaved with Rejects, in line order.

    ``on_bytes(n)`` is called with compressed bytes consumed (for progress bars).
    """
    try:
        f = fsspec.open(shard.url, "rb").open()
    except (OSError, ValueError) as e:
        yield Reject(shard.url, 0, f"cannot open: {e}")
        return
    raw = _CountingReader(f, on_bytes)
    buf = bytearray()
    line_no = 1
    pos = [0]  # rows (non-blank lines) seen so far, updated by parse_chunk
    total = 0
    try:
        try:
            for piece in _pieces(raw, shard.compression):
                total += len(piece)
                buf += piece
                if len(buf) < batch_bytes:
                    continue
                cut = buf.rfind(b"\n")
                if cut < 0:
                    continue  # one long line: keep reading until it ends
                chunk = bytes(buf[: cut + 1])
                del buf[: cut + 1]
                yield from parse_chunk(chunk, shard.url, line_no, pos)
                line_no += chunk.count(b"\n")
        except CorruptStream as e:
            cut = buf.rfind(b"\n")
            if cut >= 0:
                chunk = bytes(buf[: cut + 1])
                del buf[: cut + 1]
                yield from parse_chunk(chunk, shard.url, line_no, pos)
                line_no += chunk.count(b"\n")
            lost = f"; {len(buf)} bytes of an incomplete line discarded" if buf else ""
            yield Reject(shard.url, line_no, f"{e}{lost}", bytes(buf[:SAMPLE_BYTES]))
            return
        except OSError as e:
            yield Reject(shard.url, line_no, f"read error: {e}")
            return
        if buf:
            if not buf.endswith(b"\n"):
                buf += b"\n"
            yield from parse_chunk(bytes(buf), shard.url, line_no, pos)
        if total == 0:
            yield Reject(shard.url, 0, "empty file")
    finally:
        f.close()


class _CountingReader(io.RawIOBase):
    def __init__(self, f, on_bytes):
        self._f = f
        self._cb = on_bytes

    def read(self, n=-1):
        b = self._f.read(n)
        if self._cb and b:
            self._cb(len(b))
        return b

    def readable(self):
        return True


def parse_chunk(chunk: bytes, shard: str, first_line: int,
                row_pos: list[int] | None = None) -> Iterator[DocBatch | Reject]:
    """Parse whole lines to Arrow: fast path via pyarrow.json, per-line path on any anomaly.

    ``row_pos[0]`` is the number of rows (non-blank lines) before this chunk; it is advanced.
    """
    row_pos = row_pos if row_pos is not None else [0]
    try:
        table = pj.read_json(
            pa.BufferReader(chunk),
            read_options=pj.ReadOptions(use_threads=False, block_size=len(chunk) + 1),
            parse_options=_PARSE,
        )
        text = table.column("text").combine_chunks()
        if text.null_count == 0 and len(text) == chunk.count(b"\n"):  # no blank lines
            text.validate(full=True)  # UTF-8 check; raises on invalid bytes
            source = table.column("source").combine_chunks().fill_null("")
            ids = table.column("id").combine_chunks().fill_null("")
            rows = np.arange(row_pos[0], row_pos[0] + len(text), dtype=np.int64)
            row_pos[0] += len(text)
            if len(text):
                yield DocBatch(text, source, first_line, ids, rows)
            return
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        pass
    yield from _parse_lines(chunk, shard, first_line, row_pos)


def _parse_lines(chunk: bytes, shard: str, first_line: int,
                 row_pos: list[int]) -> Iterator[DocBatch | Reject]:
    rows: list[int] = []
    texts: list[str] = []
    sources: list[str] = []
    ids: list[str] = []
    rejects: list[Reject] = []
    lines = chunk.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines):
        reason = None
        src = ""
        if not line.strip():
            continue  # blank lines separate nothing and are not documents
        row = row_pos[0]
        row_pos[0] += 1
        try:
            s = line.decode("utf-8")
        except UnicodeDecodeError as e:
            reason = f"invalid UTF-8 at byte {e.start}"
        else:
            try:
                obj = json.loads(s)
            except json.JSONDecodeError as e:
                reason = f"not JSON: {e.msg} at column {e.colno}"
            else:
                if isinstance(obj, dict) and isinstance(obj.get("source"), str):
                    src = obj["source"]
                if not isinstance(obj, dict):
                    reason = f"not a JSON object ({type(obj).__name__})"
                elif "text" not in obj or obj["text"] is None:
                    reason = "missing text"
                elif not isinstance(obj["text"], str):
                    reason = f"text is not a string ({type(obj['text']).__name__})"
                elif obj.get("source") is not None and not isinstance(obj["source"], str):
                    reason = f"source is not a string ({type(obj['source']).__name__})"
                else:
                    try:
                        obj["text"].encode("utf-8")
                    except UnicodeEncodeError:
                        reason = "invalid UTF-8 in text (unpaired surrogate escape)"
                    else:
                        texts.append(obj["text"])
                        sources.append(obj.get("source") or "")
                        doc_id = "" if obj.get("id") is None else str(obj["id"])
                        ids.append(doc_id.encode("utf-8", "replace").decode("utf-8"))
                        rows.append(row)
        if reason:
            rejects.append(Reject(shard, first_line + i, reason, line[:SAMPLE_BYTES], src, row))
    # documents are yielded before the rejects of the same chunk; order within a chunk does
    # not affect counts, and rejects keep their exact line numbers
    if texts:
        yield DocBatch(pa.array(texts, pa.string()), pa.array(sources, pa.string()), first_line,
                       pa.array(ids, pa.string()), np.array(rows, dtype=np.int64))
    yield from rejects
