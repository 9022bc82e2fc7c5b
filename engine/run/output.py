"""The output directory: layout, atomic writes, per-shard partial files, the run lock.

An output directory (any fsspec URL) holds::

    manifest.json          what was counted, how, with which versions, and every final table
                           with its rows and bytes; removed first and written last by a run
    lexicon.json           the lexicon counted with (canonical tracebias-lexicon/2 JSON)
    <table>.parquet        the final tables (engine/count/tables.py; docs/data-format.md)
    partials/<key>.<fingerprint>.<stamp>.arrow
                           one file per counted shard holding all its tables (one Arrow IPC
                           stream each, then a JSON footer); its name is the done-marker:
                           the shard key, the configuration's fingerprint and the shard's
                           identity stamp (size, modification time, version). One listing of
                           partials/ tells which shards are done; a shard that changed, or a
                           count with another configuration, looks for another name.
    .tracebias.lock        held while a run writes into the directory

Every file is written to a temporary name and renamed into place, so a crash never leaves a
file that reads as complete. Parquet is read through a pyarrow filesystem (the native one for
local paths), never through a Python file object on a thread pool: that combination can abort
the interpreter at exit.
"""
from __future__ import annotations

import io
import json
import os
import platform
import time
import uuid
from contextlib import contextmanager

import fsspec
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from engine.count import tables as TB

MANIFEST = "manifest.json"
LEXICON_FILE = "lexicon.json"
LOCK = ".tracebias.lock"
PARTIALS = "partials"
PARTIAL_SUFFIX = ".arrow"
PARTIAL_MAGIC = b"TBPART1\n"  # the last 8 bytes of a partial file
_PARTIAL_LZ4_BYTES = 1 << 16  # tables at least this large are written lz4-compressed


def json_file_bytes(obj) -> bytes:
    """A JSON file of an output directory (manifest, checkpoints): indented, sorted keys,
    UTF-8, a final newline; for this layer and the Spark job's (engine.spark.hfs)."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def lexicon_file_bytes(lexicon) -> bytes:
    """A run's lexicon.json: the lexicon's canonical text (its sha256 is the manifest's) and a
    newline."""
    return (lexicon.canonical_json + "\n").encode("utf-8")


class OutputError(RuntimeError):
    """An output directory that cannot be used (locked, unreadable, inconsistent)."""


def partial_file_bytes(tables: dict[str, pa.Table], marker: dict, compress: bool = True) -> bytes:
    """One shard's partial file: each table as its own Arrow IPC stream (its own schema; lz4
    buffers when ``compress`` and the table holds 64 KiB or more), one after the other, then a
    UTF-8 JSON footer (the marker, and each table's byte offset and length), the footer's length
    (8 bytes, little endian) and PARTIAL_MAGIC. docs/data-format.md describes it.

    OutputDir compresses for remote filesystems only: on a local disk lz4 cost more than the
    bytes it saved (the 12 Wikipedia shards with the identity-sentiment lexicon, whose contexts
    make 3.5 MB partials: 118 ms of lz4 against 31 ms uncompressed, 2026-11-26).

    Arrow IPC, not Parquet: the file is read back once, by a later run's reduction, and writing
    a Wikipedia shard's tables took 6.3 ms as Parquet against 1.0 ms as IPC (2026-11-26), a
    tenth of a small shard's whole cost; the file is about 1.4x larger."""
    sink = io.BytesIO()
    where = {}
    plain = pa.ipc.IpcWriteOptions()
    lz4 = pa.ipc.IpcWriteOptions(compression="lz4")
    for tname, t in tables.items():
        start = sink.tell()
        with pa.ipc.new_stream(sink, t.schema,
                               options=lz4 if compress and t.nbytes >= _PARTIAL_LZ4_BYTES
                               else plain) as w:
            w.write_table(t)
        where[tname] = [start, sink.tell() - start]
    footer = json.dumps({**marker, "tables": where}, sort_keys=True).encode()
    sink.write(footer)
    sink.write(len(footer).to_bytes(8, "little"))
    sink.write(PARTIAL_MAGIC)
    return sink.getvalue()


def read_partial_bytes(buf) -> tuple[dict, dict[str, pa.Table]]:
    """(marker, {table: Table}) of partial_file_bytes' output (any buffer-like object); each
    table cast to its schema in engine.count.tables. Raises ValueError for a file that is not a
    whole partial."""
    buf = pa.py_buffer(buf) if not isinstance(buf, pa.Buffer) else buf
    tail = len(PARTIAL_MAGIC) + 8
    if buf.size < tail or buf.slice(buf.size - len(PARTIAL_MAGIC)).to_pybytes() != PARTIAL_MAGIC:
        raise ValueError("not a tracebias partial file (no end marker: truncated or foreign)")
    n = int.from_bytes(buf.slice(buf.size - tail, 8).to_pybytes(), "little")
    if n > buf.size - tail:
        raise ValueError("partial file footer is longer than the file")
    marker = json.loads(buf.slice(buf.size - tail - n, n).to_pybytes())
    out = {}
    for tname, (start, size) in marker.pop("tables").items():
        spec = TB.spec(tname)
        t = pa.ipc.open_stream(buf.slice(start, size)).read_all()
        out[tname] = t.select(spec.schema.names).cast(spec.schema)
    return marker, out


class OutputDir:
    """An output directory on any fsspec filesystem."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")
        self.fs, self.root = fsspec.core.url_to_fs(self.url)
        self.local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple)
                                else (self.fs.protocol,))
        self.pafs = pafs.LocalFileSystem() if self.local else \
            pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self.path(*parts))

    def _atomic_write(self, rel: tuple[str, ...], data: bytes) -> None:
        final = self.path(*rel)
        parent = final.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}-{final.rsplit('/', 1)[1]}"
        try:
            with self.fs.open(tmp, "wb") as f:
                f.write(data)
            self.fs.mv(tmp, final)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)

    def write_table(self, table: pa.Table, *rel: str) -> int:
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="zstd", use_dictionary=True)
        data = buf.getvalue()
        self._atomic_write(rel, data)
        return len(data)

    def read_table(self, *rel: str) -> pa.Table:
        return read_parquet(self.pafs, self.path(*rel))

    def write_json(self, obj, *rel: str) -> None:
        self._atomic_write(rel, json_file_bytes(obj))

    def write_bytes(self, data: bytes, *rel: str) -> None:
        self._atomic_write(rel, data)

    def read_json(self, *rel: str):
        with self.fs.open(self.path(*rel), "rb") as f:
            return json.loads(f.read())

    def remove(self, *rel: str) -> None:
        p = self.path(*rel)
        if self.fs.exists(p):
            self.fs.rm(p, recursive=True)

    def size(self, *rel: str) -> int:
        return int(self.fs.size(self.path(*rel)))

    # ---- partial files ---------------------------------------------------------------------
    @staticmethod
    def partial_name(shard_key: str, fingerprint: str, stamp: str) -> str:
        return f"{shard_key}.{fingerprint}.{stamp}{PARTIAL_SUFFIX}"

    def list_partials(self) -> set[str]:
        """File names under partials/ (one listing call)."""
        p = self.path(PARTIALS)
        try:
            return {x.rsplit("/", 1)[-1] for x in self.fs.find(p)}
        except FileNotFoundError:
            return set()

    def write_partial(self, name: str, tables: dict[str, pa.Table], marker: dict) -> None:
        """All tables of one shard in one file (see partial_file_bytes; lz4 unless local)."""
        self._atomic_write((PARTIALS, name), partial_file_bytes(tables, marker, not self.local))

    def read_partial(self, name: str) -> tuple[dict, dict[str, pa.Table]]:
        """(marker, tables) of a partial file (see read_partial_bytes)."""
        with self.pafs.open_input_file(self.path(PARTIALS, name)) as f:
            return read_partial_bytes(f.read_buffer())

    @staticmethod
    def partial_key(name: str) -> str:
        """The shard key of a partial's file name (fingerprint and stamp hold no dots)."""
        return name.rsplit(".", 3)[0]

    def remove_partials_of(self, shard_key: str, keep: str | None = None,
                           names: list[str] | None = None) -> None:
        """Remove the shard's other partials (another configuration or an older copy of the
        shard): ``names`` when the caller listed them already, else one listing."""
        listed = self.list_partials() if names is None else names
        for name in listed:
            if self.partial_key(name) == shard_key and name != keep:
                self.remove(PARTIALS, name)

    # ---- the lock ----------------------------------------------------------------------------
    @contextmanager
    def lock(self, command: str = "count"):
        """Hold the directory's lock; a second run into it fails at once with a clear message."""
        info = lock_info(command)
        path = self.path(LOCK)
        self.fs.makedirs(self.root, exist_ok=True)
        while True:
            try:
                if self.local:
                    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                    with os.fdopen(fd, "w") as f:
                        json.dump(info, f)
                else:
                    if self.fs.exists(path):
                        raise FileExistsError(path)
                    with self.fs.open(path, "wb") as f:
                        f.write(json.dumps(info).encode())
                break
            except FileExistsError:
                try:
                    held = self.read_json(LOCK)
                except (OSError, ValueError):
                    held = {}
                if lock_is_stale(held):
                    self.remove(LOCK)  # left by a run that died on this machine
                    continue
                raise lock_held_error(self.url, LOCK, held) from None
        try:
            yield self
        finally:
            try:
                self.remove(LOCK)
            except OSError:
                pass


def lock_info(command: str) -> dict:
    """What a lock file holds: who took it, where, when."""
    return {"pid": os.getpid(), "host": platform.node(), "command": command,
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}


def lock_is_stale(held: dict) -> bool:
    """True when the lock was taken on this machine by a process that is gone."""
    return held.get("host") == platform.node() and not _alive(held.get("pid"))


def lock_held_error(url: str, name: str, held: dict) -> OutputError:
    return OutputError(
        f"another run is writing into {url} (pid {held.get('pid', '?')} on "
        f"{held.get('host', '?')} since {held.get('since', '?')}); wait for it to "
        f"finish, or delete {url}/{name} if that run is gone")


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_parquet(fs: pafs.FileSystem, path: str, columns=None) -> pa.Table:
    """Read a Parquet file through a pyarrow filesystem, single-threaded (see module doc)."""
    return pq.read_table(path, filesystem=fs, columns=columns, use_threads=False,
                         pre_buffer=False)
