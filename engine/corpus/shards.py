"""Reading Dolma-style shards: inputs -> bounded Arrow batches of documents + rejects.

A shard is one JSON Lines file, optionally gzip- or zstd-compressed, or one Parquet file of
documents, on any filesystem fsspec can open (local paths, file://, s3://, gs://, hdfs://, ...).
Each JSON line is a document object with at least ``text`` (string) and usually ``id`` and
``source``; a Parquet shard has a ``text`` column and optionally ``id`` and ``source``.

Reading is streamed: compressed bytes are inflated piece by piece (:mod:`engine.corpus.inflate`),
cut into chunks of about ``batch_bytes`` at line boundaries and scanned straight into Arrow
string buffers (:mod:`engine.corpus.jsonscan`); any line the scanner is not certain about goes
to the exact per-line path (:func:`parse_line`, on ``json.loads``), which is the reference.
Memory is bounded by the chunk size (or by the longest single line). Bad input never aborts a
shard and is never dropped silently: every problem becomes a ``Reject`` (shard, 1-based line,
reason, a sample of the raw bytes), and the documents before and after it are still read.
Every decision about a line depends on that line alone, never on its chunk (docs/reading.md).
"""
from __future__ import annotations

import errno
import glob as _glob
import hashlib
import io
import json
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import fsspec
import numpy as np
import pyarrow as pa

from engine.corpus.inflate import CorruptStream, decoded_pieces
from engine.corpus.jsonscan import BLANK, DOC, FALLBACK, count_newlines, scan_chunk

JSONL_SUFFIXES = (".json.gz", ".jsonl.gz", ".json.zst", ".jsonl.zst", ".json.zstd",
                  ".jsonl.zstd", ".json", ".jsonl")
PARQUET_SUFFIXES = (".parquet",)
SUFFIXES = JSONL_SUFFIXES + PARQUET_SUFFIXES
DEFAULT_BATCH_BYTES = 16 << 20
SAMPLE_BYTES = 512
SNIFF_BYTES = 1 << 20  # how much of an uncompressed .json file is read to tell JSON from JSONL
BOM = b"\xef\xbb\xbf"
HIDDEN_PREFIXES = (".", "_")


class InputError(ValueError):
    """An input path that does not exist or cannot be read as shards."""


@dataclass(frozen=True, order=True)
class ShardRef:
    url: str  # fully qualified, e.g. file:///data/documents/part-0.json.gz
    rel: str  # path relative to the input root it was found under (Dolma layout)
    size: int  # bytes on storage (compressed)
    # file identity from the listing (not part of equality or ordering): modification time
    # (POSIX seconds) and, where the filesystem has one, an ETag / generation / version id
    mtime: float | None = field(default=None, compare=False)
    version: str | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """Stable, filesystem-safe identifier used for per-shard outputs and markers."""
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.rel).strip("_")[-80:]
        return f"{safe}-{hashlib.sha1(self.url.encode()).hexdigest()[:10]}"

    @property
    def stamp(self) -> str:
        """Short hex digest of (url, size, mtime, version): changes when the file is replaced."""
        ident = f"{self.url}\n{self.size}\n{self.mtime!r}\n{self.version or ''}"
        return hashlib.sha1(ident.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    @property
    def compression(self) -> str:
        return compression_of(self.url)

    @property
    def format(self) -> str:
        """``"parquet"`` or ``"jsonl"``."""
        return format_of(self.url)


@dataclass(frozen=True)
class Reject:
    shard: str
    line: int  # 1-based line in the decompressed shard (Parquet: row number); 0 = the file
    reason: str
    sample: bytes = b""
    source: str = ""  # the document's source when it could be read, else ""
    row: int = -1  # 0-based row (non-blank line) index in the shard; -1 = not a row
    # a reject that covers several lines (a damaged gzip member / zstd frame): its last line
    # (0 = only ``line``) and the compressed byte offset where the member starts (-1 = none)
    end_line: int = 0
    offset: int = -1


@dataclass(frozen=True)
class DocBatch:
    text: pa.Array  # string, no nulls, valid UTF-8
    source: pa.Array  # string, no nulls ("" when the document has none)
    first_line: int  # line number of the chunk's first line (Parquet: row number)
    id: pa.Array | None = None  # string, no nulls ("" when the document has none)
    rows: np.ndarray | None = None  # 0-based row (non-blank line) index of each document


@dataclass(frozen=True)
class InputListing:
    shards: list[ShardRef]
    skipped: list[tuple[str, str]]  # (path, reason) of files and folders left out, for the CLI


def compression_of(path: str) -> str:
    p = path.lower()
    if p.endswith((".gz", ".gzip")):
        return "gzip"
    if p.endswith((".zst", ".zstd")):
        return "zstd"
    return "none"


def format_of(path: str) -> str:
    return "parquet" if path.lower().endswith(PARQUET_SUFFIXES) else "jsonl"


def _is_shard_name(path: str) -> bool:
    return path.lower().endswith(SUFFIXES)


# ---- inputs -> shards ------------------------------------------------------------------------

def expand_inputs(inputs: list[str]) -> list[ShardRef]:
    """Resolve files, directories (recursively) and globs to a sorted list of shards.

    Raises InputError before any work starts when an input does not exist or matches nothing.
    Files left out of directories and globs are listed by :func:`list_inputs`.
    """
    return list_inputs(inputs).shards


def list_inputs(inputs: list[str]) -> InputListing:
    """Like :func:`expand_inputs`, plus the files and folders left out and why.

    In directories (searched recursively) and glob matches, these are skipped with a reason:
    hidden names (starting with "." or "_", as Spark and Hadoop do), names without a shard
    suffix, uncompressed ``.json`` files that are one JSON document rather than JSON Lines,
    dangling symlinks, symlink loops, and a symlink to a file that is also listed by its own
    path (it would be counted twice). A file named explicitly is never skipped: it is a
    shard, or the listing fails with an InputError.
    """
    if not inputs:
        raise InputError("no input given")
    skipped: list[tuple[str, str]] = []
    # pass 1: what each input names -> (input, fs, local, kind, candidates)
    listed = []
    for inp in inputs:
        fs, path = fsspec.core.url_to_fs(inp)
        local = _is_local(fs)
        candidates: list[tuple[str, str, dict]] = []  # (path, rel, listing entry)
        if _glob.has_magic(path):
            kind = "glob"
            matches = fs.glob(path, detail=True)
            if not matches:
                raise InputError(f"input pattern matches no file: {inp}")
            first_magic = min(i for i, ch in enumerate(path) if ch in "*?[")
            root = path[:first_magic].rsplit("/", 1)[0]
            pattern_parts = path[len(root):].strip("/").split("/")
            for p, info in sorted(matches.items()):
                if info.get("islink"):
                    try:
                        info = {**fs.info(p), "islink": True}
                    except OSError:
                        pass
                rel = p[len(root):].lstrip("/")
                if _hidden_part(rel, pattern_parts) is not None:
                    skipped.append((_url(fs, p), _HIDDEN))
                elif info.get("type") == "directory":
                    continue  # a glob names files; folders it matches are not searched
                elif info.get("type") != "file":
                    skipped.append((_url(fs, p), _broken_link(p) if info.get("islink")
                                    else f"not a regular file ({info.get('type')})"))
                else:
                    candidates.append((p, rel, info))
        elif fs.isdir(path):
            kind = "dir"
            root = path.rstrip("/")
            if local:
                _walk_local(fs, root, "", {os.path.realpath(root)}, candidates, skipped)
            else:
                _walk_remote(fs, root, candidates, skipped)
        else:
            kind = "file"
            try:
                info = fs.info(path)
            except (FileNotFoundError, OSError):
                info = None
            if info is None or info.get("type") != "file":
                if local and os.path.islink(path):
                    raise InputError(f"input is a {_broken_link(path)}: {inp}")
                raise InputError(f"input not found: {inp}")
            if not _is_shard_name(path):
                raise InputError(f"not a shard name (expected one of {', '.join(SUFFIXES)}): {inp}")
            why = _sniff_json(fs, path) if is_ambiguous(path) else None
            if why is not None:
                raise InputError(f"{inp} is {why}; rename it to .jsonl if it really is JSON Lines")
            candidates.append((path, path.rsplit("/", 1)[-1], info))
        listed.append((inp, fs, local, kind, candidates))
    # local files listed by their own path (no symlink on the way): a symlink to one of them
    # would count it twice
    direct = {}
    for _, fs, local, _, candidates in listed:
        if local:
            for p, _, _ in candidates:
                real = os.path.realpath(p)
                if real == os.path.abspath(p):
                    direct.setdefault(real, _url(fs, p))
    # pass 2: keep the shards
    found: dict[str, ShardRef] = {}
    for inp, fs, local, kind, candidates in listed:
        n_before = len(skipped)
        kept = 0
        for p, rel, info in candidates:
            url = _url(fs, p)
            if kind != "file":
                if not _is_shard_name(p):
                    skipped.append((url, "not a shard name"))
                    continue
                if is_ambiguous(p):
                    why = _sniff_json(fs, p)
                    if why is not None:
                        skipped.append((url, why))
                        continue
                if local:
                    real = os.path.realpath(p)
                    if real != os.path.abspath(p) and real in direct:
                        skipped.append((url, f"same file as {direct[real]} (a symlink to it)"))
                        continue
            ref = _shard_ref(fs, p, rel, info)
            found.setdefault(ref.url, ref)
            kept += 1
        if not kept and kind == "glob":
            why = "; ".join(f"{u}: {r}" for u, r in skipped[n_before:][:3])
            raise InputError(f"input pattern matches no shard: {inp}"
                             + (f" ({why})" if why else ""))
        if not kept and kind == "dir":
            raise InputError(f"input directory holds no shard ({', '.join(SUFFIXES)}): {inp}")
    shards = sorted(found.values(), key=lambda s: (s.rel, s.url))
    return InputListing(shards, skipped)


_HIDDEN = "hidden (name starts with '.' or '_'; Spark and Hadoop skip these too)"


def _hidden_part(rel: str, pattern_parts: list[str] | None = None) -> str | None:
    """The first component of ``rel`` that is hidden, unless the pattern asked for it."""
    parts = rel.split("/")
    for i, part in enumerate(parts):
        if part.startswith(HIDDEN_PREFIXES):
            if (pattern_parts is not None and len(pattern_parts) == len(parts)
                    and pattern_parts[i].startswith(part[0])):
                continue  # the glob itself names hidden files (".*.jsonl")
            return part
    return None


def _is_local(fs) -> bool:
    protocol = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocol or "local" in protocol


def _url(fs, p: str) -> str:
    return fs.unstrip_protocol(p)


def _broken_link(path: str) -> str:
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "symlink loop"
        return "dangling symlink (its target does not exist)"
    return "symlink"


def _walk_local(fs, dirpath: str, rel: str, ancestors: set[str], out: list, skipped: list,
                visited: set[str] | None = None) -> None:
    """Depth-first, sorted; follows symlinked folders unless they loop."""
    visited = visited if visited is not None else set(ancestors)
    try:
        entries = sorted(fs.ls(dirpath, detail=True), key=lambda e: e["name"])
    except OSError as e:
        skipped.append((_url(fs, dirpath), f"cannot list folder: {e}"))
        return
    for info in entries:
        name = info["name"].rstrip("/")
        base = name.rsplit("/", 1)[-1]
        sub = f"{rel}/{base}" if rel else base
        if base.startswith(HIDDEN_PREFIXES):
            skipped.append((_url(fs, name), _HIDDEN))
            continue
        if info.get("islink"):
            try:  # ls describes the link itself; its target decides
                info = {**fs.info(name), "islink": True}
            except OSError:
                pass
        kind = info.get("type")
        if kind == "directory":
            real = os.path.realpath(name)
            if real in ancestors:
                skipped.append((_url(fs, name),
                                "symlink loop (points to a folder that contains it)"))
                continue
            if real in visited:
                skipped.append((_url(fs, name), "folder already listed through another path"))
                continue
            visited.add(real)
            _walk_local(fs, name, sub, ancestors | {real}, out, skipped, visited)
        elif kind == "file":
            out.append((name, sub, info))
        elif info.get("islink"):
            skipped.append((_url(fs, name), _broken_link(name)))
        else:
            skipped.append((_url(fs, name), f"not a regular file ({kind})"))


def _walk_remote(fs, root: str, out: list, skipped: list) -> None:
    """One recursive listing (``find(detail=True)``): the object stores' cheap way."""
    hidden_dirs: set[str] = set()
    for p, info in sorted(fs.find(root, detail=True).items()):
        if info.get("type") not in (None, "file"):
            continue
        rel = p[len(root):].lstrip("/")
        parts = rel.split("/")
        hidden = next((i for i, part in enumerate(parts) if part.startswith(HIDDEN_PREFIXES)), None)
        if hidden is None:
            out.append((p, rel, info))
        elif hidden == len(parts) - 1:
            skipped.append((_url(fs, p), _HIDDEN))
        else:
            d = root + "/" + "/".join(parts[: hidden + 1])
            if d not in hidden_dirs:
                hidden_dirs.add(d)
                skipped.append((_url(fs, d), _HIDDEN))


def is_ambiguous(path: str) -> bool:
    """Only an uncompressed ``.json`` name may hold either JSON Lines or one JSON document."""
    return path.lower().endswith(".json")


def _sniff_json(fs, path: str) -> str | None:
    """Why an uncompressed ``.json`` file is not JSON Lines of documents, or None if it may be.

    Not JSON Lines: its first non-blank line is only ``{`` or ``[`` (pretty-printed JSON; a
    JSON Lines document is a whole object on one line), or the file is at most 1 MiB, parses
    as one JSON value and that value spans several lines or is not an object with ``text``.
    Anything else is read as a shard (its bad lines become rejects).
    """
    try:
        with fs.open(path, "rb") as f:
            head = f.read(SNIFF_BYTES + 1)
    except OSError:
        return None  # reading it will report the problem as a reject
    return sniff_json_head(head)


def sniff_json_head(head: bytes) -> str | None:
    """_sniff_json on the first SNIFF_BYTES + 1 bytes of a file (all of it when shorter), for
    listings that read files their own way (the Spark job, through Hadoop's FileSystem)."""
    whole = len(head) <= SNIFF_BYTES
    body = head.removeprefix(BOM)
    lines = [ln for ln in body.split(b"\n") if ln.strip()]
    if not lines:
        return None
    if lines[0].strip() in (b"{", b"["):
        first = lines[0].strip().decode()
        return (f"a pretty-printed JSON document (its first line is '{first}'), "
                "not JSON Lines of documents")
    if whole:
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            return None
        if len(lines) > 1:
            return "one JSON document over several lines, not JSON Lines of documents"
        if not (isinstance(value, dict) and "text" in value):
            return (f"one JSON {type(value).__name__} without a text field, "
                    "not JSON Lines of documents")
    return None


def _shard_ref(fs, p: str, rel: str, info: dict) -> ShardRef:
    size, mtime, version = _identity(info)
    return ShardRef(url=_url(fs, p), rel=rel, size=size, mtime=mtime, version=version)


_MTIME_KEYS = ("mtime", "LastModified", "last_modified", "updated", "modified", "modification_time")
_VERSION_KEYS = ("VersionId", "version_id", "generation", "ETag", "etag")


def _identity(info: dict) -> tuple[int, float | None, str | None]:
    """(size, mtime, version) from one listing entry of any fsspec filesystem."""
    size = int(info.get("size") or info.get("Size") or 0)
    mtime = None
    for k in _MTIME_KEYS:
        v = info.get(k)
        if v is None:
            continue
        if isinstance(v, (int, float)):
            mtime = float(v)
        elif isinstance(v, datetime):
            mtime = v.timestamp()
        elif isinstance(v, str):
            try:
                mtime = datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
        if mtime is not None:
            break
    parts = [f"{k}={info[k]}" for k in _VERSION_KEYS if info.get(k) not in (None, "")]
    return size, mtime, ";".join(parts) or None


# ---- reading ---------------------------------------------------------------------------------

def read_shard(shard: ShardRef, batch_bytes: int = DEFAULT_BATCH_BYTES, on_bytes=None, *,
               gzip_backend: str | None = None) -> Iterator[DocBatch | Reject]:
    """Stream a shard as DocBatch chunks interleaved with Rejects; documents in row order.

    ``on_bytes(n)`` is called with compressed bytes consumed (for progress bars).
    ``gzip_backend`` ("isal" / "zlib") overrides the inflater (tests, benchmarks).
    """
    if shard.format == "parquet":
        from engine.corpus.parquet import read_parquet_shard

        yield from read_parquet_shard(shard, batch_bytes, on_bytes)
        return
    try:
        f = fsspec.open(shard.url, "rb").open()
    except (OSError, ValueError) as e:
        yield Reject(shard.url, 0, f"cannot open: {e}")
        return
    try:
        yield from _read_jsonl(shard, _CountingReader(f, on_bytes), batch_bytes, gzip_backend)
    finally:
        f.close()


def _read_jsonl(shard: ShardRef, raw, batch_bytes: int, gzip_backend) -> Iterator:
    url = shard.url
    pieces: list[bytes] = []  # decoded, not yet parsed
    plen = 0
    nl_piece = -1  # index in ``pieces`` of the last piece holding a newline, and its position
    nl_pos = -1
    line_no = 1  # line number of the first pending line
    row_pos = [0]  # rows (non-blank lines) before the first pending line
    total = 0
    at_start = True  # the first chunk starts at the first byte of the file: a BOM is stripped
    parsed = 0  # decoded bytes handed to the parser so far (line_no is the line starting there)
    member_at = 0  # decoded offset where the member being decoded starts
    member_line: int | None = 1  # its first line; None until the parser reaches its start

    def on_member(offset: int) -> None:
        nonlocal member_at, member_line
        member_at, member_line = total, None

    def take_chunk(final: bool = False) -> np.ndarray:
        """The pending bytes up to their last newline (all of them if ``final``, with a newline
        added when missing), copied into one reusable buffer."""
        nonlocal pieces, plen, nl_piece, nl_pos, at_start, parsed, member_line
        if final:
            parts, n = pieces, plen
            pieces, plen = [], 0
        else:
            last = pieces[nl_piece]
            parts = pieces[:nl_piece] + [memoryview(last)[: nl_pos + 1]]
            n = sum(len(p) for p in parts)
            rest = last[nl_pos + 1:]
            pieces = ([rest] if rest else []) + pieces[nl_piece + 1:]
            plen -= n
        nl_piece = nl_pos = -1
        buf = _BUFFERS.get(n + 1)
        o = 0
        for part in parts:
            buf[o:o + len(part)] = np.frombuffer(part, dtype=np.uint8)
            o += len(part)
        if member_line is None and member_at < parsed + o:  # the member starts in this chunk
            member_line = line_no + count_newlines(buf, member_at - parsed)
        parsed += o
        if final and (o == 0 or buf[o - 1] != 10):
            buf[o] = 10
            o += 1
        start = 0
        if at_start:
            at_start = False
            if o >= 3 and buf[:3].tobytes() == BOM:
                start = 3
        return buf[start:o]

    try:
        for piece in decoded_pieces(raw, shard.compression, on_member, gzip_backend):
            total += len(piece)
            pieces.append(piece)
            plen += len(piece)
            k = piece.rfind(b"\n")
            if k >= 0:
                nl_piece, nl_pos = len(pieces) - 1, k
            if plen >= batch_bytes and nl_piece >= 0:
                line_no += yield from _parse_chunk(take_chunk(), url, line_no, row_pos)
    except CorruptStream as e:
        if nl_piece >= 0:
            line_no += yield from _parse_chunk(take_chunk(), url, line_no, row_pos)
        partial = b"".join(pieces)
        if member_line is None:  # it starts in the incomplete line left (no newline in it)
            member_line = line_no
        yield _stream_reject(url, e, line_no, member_line, partial)
        return
    except OSError as e:
        yield Reject(url, line_no, f"read error: {e}")
        return
    if pieces:
        yield from _parse_chunk(take_chunk(final=True), url, line_no, row_pos)
    if total == 0:
        yield Reject(url, 0, "empty file")


def _stream_reject(url: str, e: CorruptStream, line_no: int, member_line: int,
                   partial: bytes) -> Reject:
    lost = f"; {len(partial)} bytes of an incomplete line discarded" if partial else ""
    sample = partial[:SAMPLE_BYTES]
    if e.kind == "truncated":
        return Reject(url, line_no, f"{e} starting at compressed byte {e.member_offset}{lost}",
                      sample, offset=e.member_offset)
    last = line_no - 1  # the last complete line decoded from the stream
    name = e.name
    if last >= member_line:
        span = (f"lines {member_line}-{last} were decoded from it and read before the damage was "
                f"detected; {name} checks a {e.unit}'s checksum only at its end, so their text "
                f"may be wrong")
    else:
        span = f"no complete line was decoded from it (it starts at line {member_line})"
    reason = (f"corrupt {name} data in the {e.unit} starting at compressed byte {e.member_offset}"
              f" (damage detected by byte {e.error_offset}): {e.detail}; {span}{lost}; "
              f"the rest of the shard was not read")
    return Reject(url, member_line, reason, sample, end_line=max(last, member_line),
                  offset=e.member_offset)


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


# ---- lines -> documents ----------------------------------------------------------------------

def parse_chunk(chunk: bytes, shard: str, first_line: int,
                row_pos: list[int] | None = None) -> Iterator[DocBatch | Reject]:
    """Parse whole lines (a missing final newline is added) to a DocBatch and Rejects.

    ``row_pos[0]`` is the number of rows (non-blank lines) before this chunk; it is advanced.
    """
    n = len(chunk)
    buf = _BUFFERS.get(n + 1)
    buf[:n] = np.frombuffer(chunk, dtype=np.uint8)
    if n and buf[n - 1] != 10:
        buf[n] = 10  # a last line without its newline
        n += 1
    yield from _parse_chunk(buf[:n], shard, first_line, row_pos if row_pos is not None else [0])


class _Buffers(threading.local):
    """Per-thread reusable byte buffers for chunks and decoded text.

    Writing to fresh memory costs a page fault per 4 KiB, as much as scanning the bytes, so
    buffers are reused -- but only when nothing references them any more (a DocBatch's text
    array keeps its buffer alive; CPython's reference count tells).
    """

    KEEP = 6  # buffers kept per thread
    MAX_KEPT = 256 << 20  # larger ones (a giant line) are not kept

    def __init__(self):
        self.arrays: list[np.ndarray] = []

    def get(self, n: int) -> np.ndarray:
        arrays = self.arrays
        free = [i for i in range(len(arrays)) if sys.getrefcount(arrays[i]) == 2]
        for i in free:
            if arrays[i].size >= n:
                return arrays[i]
        size = max(n + (n >> 3), 1 << 20)
        a = np.empty(size, dtype=np.uint8)
        if size <= self.MAX_KEPT:
            if free:
                arrays[free[0]] = a  # replace a smaller free buffer
            elif len(arrays) < self.KEEP:
                arrays.append(a)
        return a


_BUFFERS = _Buffers()


def _parse_chunk(buf: np.ndarray, shard: str, first_line: int, row_pos: list[int]):
    """The fast scanner, then the exact path for the lines it declines. Returns the line count.

    ``buf`` (uint8, whole lines) is only read during the call; the DocBatch's text keeps its
    own buffer.
    """
    if buf.size == 0:
        return 0
    n = buf.size
    if n > MAX_CHUNK:
        return (yield from _parse_huge(buf, shard, first_line, row_pos))
    text_buf = _BUFFERS.get(n)
    id_buf = _BUFFERS.get(n)
    src_buf = _BUFFERS.get(n)
    kind, starts, to, toff, io, ioff, so, soff, nd = scan_chunk(buf, text_buf, id_buf, src_buf)
    ids = id_buf[:io].copy()  # short: copied out so their scratch buffers are free again
    src = src_buf[:so].copy()
    del id_buf, src_buf
    n_lines = len(kind)
    fallback = np.flatnonzero(kind == FALLBACK)
    slow_rows: list[int] = []
    slow_docs: list[tuple[str, str, str]] = []
    rejects: list[tuple[int, str, bytes, str]] = []  # (line index, reason, sample, source)
    if fallback.size:
        for i in fallback.tolist():
            line = buf[starts[i]:starts[i + 1] - 1].tobytes()
            res = parse_line(line)
            if res is None:
                kind[i] = BLANK
            elif isinstance(res, tuple):
                slow_rows.append(i)
                slow_docs.append(res)
            else:
                rejects.append((i, res.reason, line[:SAMPLE_BYTES], res.source))
    nonblank = kind != BLANK
    row_of_line = np.cumsum(nonblank, dtype=np.int64) - 1 + row_pos[0]
    row_pos[0] += int(nonblank.sum())
    n_docs = nd + len(slow_docs)
    if n_docs:
        text_a = pa.StringArray.from_buffers(nd, pa.py_buffer(toff), pa.py_buffer(text_buf[:to]))
        src_a = pa.StringArray.from_buffers(nd, pa.py_buffer(soff), pa.py_buffer(src))
        id_a = pa.StringArray.from_buffers(nd, pa.py_buffer(ioff), pa.py_buffer(ids))
        rows = row_of_line[kind == DOC]
        if slow_docs:
            slow_r = row_of_line[np.asarray(slow_rows, dtype=np.int64)]
            texts, sources, doc_ids = zip(*slow_docs)
            all_rows = np.concatenate([rows, slow_r])
            order = pa.array(np.argsort(all_rows, kind="stable"))
            text_a = pa.concat_arrays([text_a, pa.array(texts, pa.string())]).take(order)
            src_a = pa.concat_arrays([src_a, pa.array(sources, pa.string())]).take(order)
            id_a = pa.concat_arrays([id_a, pa.array(doc_ids, pa.string())]).take(order)
            rows = np.sort(all_rows)
        del text_buf
        yield DocBatch(text_a, src_a, first_line, id_a, rows)
    else:
        del text_buf
    # documents are yielded before the rejects of the same chunk; order within a chunk does
    # not affect counts, and rejects keep their exact line numbers and rows
    for i, reason, sample, source in rejects:
        yield Reject(shard, first_line + i, reason, sample, source, int(row_of_line[i]))
    return n_lines


MAX_CHUNK = (1 << 31) - 2  # Arrow string arrays have int32 offsets


def _parse_huge(buf: np.ndarray, shard: str, first_line: int, row_pos: list[int]):
    """A chunk too large for one Arrow string array (it holds a giant line): lines of more than
    ``MAX_CHUNK`` bytes are rejected, the others parsed in sub-chunks."""
    ends = np.flatnonzero(buf == 10)
    start = 0  # first byte of the pending sub-chunk
    line = 0  # index of its first line
    k = 0
    while k < len(ends):
        e = int(ends[k])
        line_start = int(ends[k - 1]) + 1 if k else 0
        if e + 1 - line_start > MAX_CHUNK:  # the line with its newline does not fit alone
            if line_start > start:  # the lines before it
                line += yield from _parse_chunk(buf[start:line_start], shard, first_line + line,
                                                row_pos)
            row = row_pos[0]
            row_pos[0] += 1
            yield Reject(shard, first_line + line,
                         f"line of {e - line_start} bytes: longer than one Arrow string array "
                         f"holds ({MAX_CHUNK} bytes)",
                         buf[line_start:line_start + SAMPLE_BYTES].tobytes(), "", row)
            line += 1
            start = e + 1
        elif e + 1 - start > MAX_CHUNK:
            line += yield from _parse_chunk(buf[start:line_start], shard, first_line + line,
                                            row_pos)
            start = line_start
            continue  # this line again, in the next sub-chunk
        k += 1
    if start < buf.size:
        line += yield from _parse_chunk(buf[start:], shard, first_line + line, row_pos)
    return line


@dataclass(frozen=True)
class Rejected:
    """Why the exact path refused a line, and the document's source when it could be read."""
    reason: str
    source: str = ""


def parse_line(line: bytes) -> tuple[str, str, str] | Rejected | None:
    """The exact path, one line (without its newline): the reference for the fast scanner.

    Returns None for a blank line, ``(text, source, id)`` for a document, or a Rejected.
    A UTF-8 BOM is a reject here (it is only stripped at the very start of a file).
    """
    if not line.strip():
        return None
    try:
        s = line.decode("utf-8")
    except UnicodeDecodeError as e:
        where, src = _locate_bad_utf8(line)
        return Rejected(f"invalid UTF-8 at byte {e.start}{where}", src)
    try:
        obj = json.loads(s)
    except json.JSONDecodeError as e:
        return Rejected(f"not JSON: {e.msg} at column {e.colno}")
    except ValueError as e:  # an integer of more than 4300 digits
        return Rejected(f"not JSON: {str(e).split(';')[0]}")
    except RecursionError:
        return Rejected("not JSON: nested too deeply")
    if not isinstance(obj, dict):
        return Rejected(f"not a JSON object ({type(obj).__name__})")
    source = obj.get("source")
    src = source if isinstance(source, str) and _encodable(source) else ""
    text = obj.get("text")
    if text is None:
        return Rejected("missing text", src)
    if not isinstance(text, str):
        return Rejected(f"text is not a string ({type(text).__name__})", src)
    if source is not None and not isinstance(source, str):
        return Rejected(f"source is not a string ({type(source).__name__})")
    if not _encodable(text):
        return Rejected("invalid UTF-8 in text (unpaired surrogate escape)", src)
    if source is not None and not _encodable(source):
        return Rejected("invalid UTF-8 in source (unpaired surrogate escape)")
    doc_id = obj.get("id")
    if doc_id is None:
        doc_id = ""
    elif isinstance(doc_id, str):
        if not _encodable(doc_id):
            return Rejected("invalid UTF-8 in id (unpaired surrogate escape)", src)
    else:
        doc_id = str(doc_id)  # numbers as Python prints them: 12 -> "12", 1.5 -> "1.5"
    return text, source or "", doc_id


def _encodable(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_ESCAPED = re.compile("[\udc80-\udcff]")


def _locate_bad_utf8(line: bytes) -> tuple[str, str]:
    """(" (in <field>)", readable source) for a line with invalid UTF-8 bytes."""
    try:
        obj = json.loads(line.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError):
        return "", ""
    if not isinstance(obj, dict):
        return "", ""
    where = ""
    for k, v in obj.items():
        if _ESCAPED.search(k):
            where = " (in a key)"
            break
        if _holds_escaped(v):
            where = f" (in {k})" if k in ("text", "id", "source") else f" (in field {k!r})"
            break
    source = obj.get("source")
    src = source if isinstance(source, str) and _encodable(source) else ""
    return where, src


def _holds_escaped(v) -> bool:
    if isinstance(v, str):
        return bool(_ESCAPED.search(v))
    if isinstance(v, list):
        return any(_holds_escaped(x) for x in v)
    if isinstance(v, dict):
        return any(_ESCAPED.search(k) or _holds_escaped(x) for k, x in v.items())
    return False


def reference_parse(chunk: bytes, shard: str, first_line: int,
                    row_pos: list[int] | None = None) -> Iterator[DocBatch | Reject]:
    """:func:`parse_chunk` on the exact path alone (every line through :func:`parse_line`):
    the reference the fast scanner is tested against."""
    row_pos = row_pos if row_pos is not None else [0]
    rows: list[int] = []
    docs: list[tuple[str, str, str]] = []
    rejects: list[Reject] = []
    lines = bytes(chunk).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, line in enumerate(lines):
        res = parse_line(line)
        if res is None:
            continue
        row = row_pos[0]
        row_pos[0] += 1
        if isinstance(res, Rejected):
            rejects.append(Reject(shard, first_line + i, res.reason, line[:SAMPLE_BYTES],
                                  res.source, row))
        else:
            docs.append(res)
            rows.append(row)
    if docs:
        texts, sources, ids = zip(*docs)
        yield DocBatch(pa.array(texts, pa.string()), pa.array(sources, pa.string()), first_line,
                       pa.array(ids, pa.string()), np.array(rows, dtype=np.int64))
    yield from rejects
