"""Parquet document shards (FineWeb-style: columns ``text``, ``id``, ``url``, ``dump``, ...).

:func:`read_parquet_shard` streams record batches of about ``batch_bytes`` of text (only the
``text``, ``id`` and ``source`` columns are read) and yields the same DocBatch / Reject stream as
a JSON Lines shard, with the same per-document rules:

- ``text`` null -> reject "missing text"; invalid UTF-8 -> reject "invalid UTF-8 in text";
- ``source`` absent or null -> ""; not a string -> reject; invalid UTF-8 -> reject;
- ``id`` absent or null -> ""; strings as they are, other values as Python prints them
  (``12`` -> "12", the JSON path's rule); invalid UTF-8 -> reject.

A Parquet shard has no lines: a reject's ``line`` is the 1-based row number and ``row`` the
0-based row index (every row is a row, there are no blank lines); a DocBatch's ``first_line``
is the row number of its first row. Problems with the file as a whole (not Parquet, no
``text`` column, a ``text`` column that is not a string type) are one reject with line 0;
a damaged page ends the shard with one reject at the first row not read.
"""
from __future__ import annotations

import io
from collections.abc import Iterator

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from engine.corpus.shards import SAMPLE_BYTES, DocBatch, Reject, ShardRef

_STRING_TYPES = (pa.types.is_string, pa.types.is_large_string, pa.types.is_binary,
                 pa.types.is_large_binary)
_READ_BUFFER = 1 << 20  # buffered page reads: memory per column does not grow with row groups


def _is_stringish(t: pa.DataType) -> bool:
    return any(f(t) for f in _STRING_TYPES) or str(t) in ("string_view", "binary_view")


class _CountingFile(io.RawIOBase):
    """A seekable file that reports bytes read (progress bars)."""

    def __init__(self, f, on_bytes):
        self._f = f
        self._cb = on_bytes

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, pos, whence=0):
        return self._f.seek(pos, whence)

    def tell(self):
        return self._f.tell()

    def read(self, n=-1):
        b = self._f.read(n)
        if self._cb and b:
            self._cb(len(b))
        return b

    def readinto(self, b):
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


def read_parquet_shard(shard: ShardRef, batch_bytes: int, on_bytes=None) -> Iterator:
    import pyarrow.parquet as pq

    url = shard.url
    try:
        f = fsspec.open(url, "rb").open()
    except (OSError, ValueError) as e:
        yield Reject(url, 0, f"cannot open: {e}")
        return
    row = 0
    try:
        try:
            # no thread pool and no pre-buffering: pyarrow's threads must never hold the last
            # reference to a Python file object (issue 10, exit code 134 at interpreter exit)
            pf = pq.ParquetFile(_CountingFile(f, on_bytes), pre_buffer=False,
                                buffer_size=_READ_BUFFER, page_checksum_verification=True)
        except (pa.ArrowException, OSError, ValueError) as e:
            yield Reject(url, 0, f"not a readable Parquet file: {e}")
            return
        schema = pf.schema_arrow
        if "text" not in schema.names:
            yield Reject(url, 0, f"no text column (columns: {', '.join(schema.names)})")
            return
        text_type = schema.field("text").type
        if not _is_stringish(text_type):
            yield Reject(url, 0, f"text column is {text_type}, not a string: "
                                 f"{pf.metadata.num_rows} rows not read")
            return
        columns = ["text"] + [c for c in ("id", "source") if c in schema.names]
        if pf.metadata.num_rows == 0:
            yield Reject(url, 0, "empty file")
            return
        for batch in pf.iter_batches(batch_size=_rows_per_batch(pf, batch_bytes),
                                     columns=columns, use_threads=False):
            yield from document_batches(batch, row, url)
            row += batch.num_rows
    except (pa.ArrowException, OSError, ValueError) as e:
        yield Reject(url, row + 1, f"corrupt Parquet data: {e}; the rest of the shard was not read")
    finally:
        f.close()


def _rows_per_batch(pf, batch_bytes: int) -> int:
    """Rows holding about ``batch_bytes`` of text, from the footer's uncompressed sizes."""
    md = pf.metadata
    total = 0
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        for j in range(rg.num_columns):
            if rg.column(j).path_in_schema == "text":
                total += rg.column(j).total_uncompressed_size
    per_row = max(1, total // max(1, md.num_rows))
    return int(min(max(1, batch_bytes // per_row), 1 << 20))


def _utf8_bad(arr: pa.Array) -> np.ndarray:
    """Mask of rows whose bytes are not valid UTF-8 (nulls are not bad)."""
    bad = np.zeros(len(arr), dtype=bool)
    try:
        if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
            arr.cast(pa.large_string())  # validates
        else:
            arr.validate(full=True)
        return bad
    except (pa.ArrowInvalid, pa.ArrowException):
        pass
    for i, v in enumerate(arr.cast(pa.large_binary()).to_pylist()):
        if v is not None:
            try:
                v.decode("utf-8")
            except UnicodeDecodeError:
                bad[i] = True
    return bad


def _as_string(arr: pa.Array) -> pa.Array:
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_binary()).cast(pa.large_string()).cast(pa.string())
    return arr


def document_batches(batch: pa.RecordBatch, row0: int, url: str) -> Iterator:
    """DocBatch/Reject items of one record batch of a Parquet document shard (rows row0.. of
    ``url``): the per-row rules shared by the local reader and the Spark job."""
    n = batch.num_rows
    reasons: list[str | None] = [None] * n
    text = batch.column("text")
    if text.null_count:
        for i in np.flatnonzero(text.is_null().to_numpy(zero_copy_only=False)).tolist():
            reasons[i] = "missing text"
    for i in np.flatnonzero(_utf8_bad(text)).tolist():
        reasons[i] = reasons[i] or "invalid UTF-8 in text"
    names = batch.schema.names
    source = batch.column("source") if "source" in names else None
    source_ok = None
    if source is not None:
        if _is_stringish(source.type):
            for i in np.flatnonzero(_utf8_bad(source)).tolist():
                reasons[i] = reasons[i] or "invalid UTF-8 in source"
        else:
            for i, v in enumerate(source.to_pylist()):
                if v is not None:
                    reasons[i] = reasons[i] or f"source is not a string ({type(v).__name__})"
            source_ok = False
    doc_id = batch.column("id") if "id" in names else None
    ids_py = None
    if doc_id is not None:
        if _is_stringish(doc_id.type):
            for i in np.flatnonzero(_utf8_bad(doc_id)).tolist():
                reasons[i] = reasons[i] or "invalid UTF-8 in id"
        elif not pa.types.is_integer(doc_id.type):
            ids_py = ["" if v is None else str(v) for v in doc_id.to_pylist()]
    bad = np.array([r is not None for r in reasons], dtype=bool)
    good = ~bad
    rows = np.arange(row0, row0 + n, dtype=np.int64)
    if good.any():
        keep = pa.array(good)

        def kept(arr):  # bad rows out first: a binary column casts to string once valid
            return arr.filter(keep) if bad.any() else arr

        t = _as_string(kept(text))
        if source is None or source_ok is False:
            s = pa.array([""] * int(good.sum()), pa.string())
        else:
            s = _as_string(pc.fill_null(kept(source), ""))
        if doc_id is None:
            d = pa.array([""] * int(good.sum()), pa.string())
        elif ids_py is not None:
            d = kept(pa.array(ids_py, pa.string()))
        elif pa.types.is_integer(doc_id.type):
            d = pc.fill_null(kept(doc_id).cast(pa.string()), "")  # 12 -> "12", as str(int)
        else:
            d = _as_string(pc.fill_null(kept(doc_id), ""))
        yield DocBatch(t, s, row0 + 1, d, rows[good])
    if bad.any():
        text_b = text.cast(pa.large_binary())  # no UTF-8 validation: samples of bad text too
        src_b = (source.cast(pa.large_binary())
                 if source is not None and source_ok is None else None)
        for i in np.flatnonzero(bad).tolist():
            sample = text_b[i].as_py() or b""
            src = src_b[i].as_py() if src_b is not None else None
            try:
                src = src.decode("utf-8") if src is not None else ""
            except UnicodeDecodeError:
                src = ""
            yield Reject(url, row0 + i + 1, reasons[i], sample[:SAMPLE_BYTES], src, row0 + i)
