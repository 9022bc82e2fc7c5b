"""Parquet document shards: the same DocBatch / Reject stream as JSON Lines, streamed."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.corpus.shards import DocBatch, expand_inputs, read_shard


def collect(path, batch_bytes=1 << 20):
    shard = expand_inputs([str(path)])[0]
    cols = {"text": [], "source": [], "id": [], "rows": []}
    rejects, batches = [], 0
    for item in read_shard(shard, batch_bytes):
        if isinstance(item, DocBatch):
            batches += 1
            for arr in (item.text, item.source, item.id):
                assert arr.type == pa.string() and arr.null_count == 0
                arr.validate(full=True)
            cols["text"] += item.text.to_pylist()
            cols["source"] += item.source.to_pylist()
            cols["id"] += item.id.to_pylist()
            cols["rows"] += item.rows.tolist()
        else:
            rejects.append((item.line, item.row, item.reason))
    return cols, rejects, batches


def fineweb_docs(n=300):
    rng = np.random.default_rng(3)
    words = ["the", "nurse", "said", "she", "engineer", "he", "caf\u00e9", "\U0001F600", "\"q\"",
             "a\\b", "\n", "\t"]
    return [{"text": " ".join(rng.choice(words, size=int(rng.integers(1, 200)))),
             "id": f"<urn:uuid:{i:08x}>", "url": f"https://example.org/{i}",
             "dump": "CC-MAIN-2024-10", "language_score": float(rng.random())} for i in range(n)]


def test_same_documents_as_jsonl_and_as_parquet_give_equal_batches(tmp_path):
    docs = fineweb_docs()
    pq.write_table(pa.Table.from_pylist(docs), tmp_path / "a.parquet", row_group_size=64)
    (tmp_path / "a.jsonl.gz").write_bytes(
        gzip.compress(b"".join(json.dumps(d).encode() + b"\n" for d in docs)))
    from_parquet = collect(tmp_path / "a.parquet", batch_bytes=5000)
    from_jsonl = collect(tmp_path / "a.jsonl.gz", batch_bytes=5000)
    assert from_parquet[0] == from_jsonl[0] and from_parquet[1] == from_jsonl[1] == []
    assert from_parquet[0]["source"] == [""] * len(docs)  # FineWeb has no source column
    assert from_parquet[0]["rows"] == list(range(len(docs)))
    assert from_parquet[2] > 10  # streamed in batches of about batch_bytes of text


def test_integer_ids_and_sources_like_the_json_path(tmp_path):
    rows = [{"text": "a", "id": 12, "source": "web"}, {"text": "b", "id": None, "source": None},
            {"text": "c", "id": -3, "source": "books"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "i.parquet")
    (tmp_path / "i.jsonl").write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    assert collect(tmp_path / "i.parquet")[:2] == collect(tmp_path / "i.jsonl")[:2]
    assert collect(tmp_path / "i.parquet")[0]["id"] == ["12", "", "-3"]


def test_bad_rows_are_rejects_with_row_numbers(tmp_path):
    rows = [{"text": "ok 0", "source": "web"}, {"text": None, "source": "web"},
            {"text": "ok 2", "source": "web"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "n.parquet")
    cols, rejects, _ = collect(tmp_path / "n.parquet")
    assert cols["text"] == ["ok 0", "ok 2"] and cols["rows"] == [0, 2]
    assert rejects == [(2, 1, "missing text")]
    # a non-string source is a reject, as in JSON
    pq.write_table(pa.table({"text": ["a", "b"], "source": [7, None]}), tmp_path / "s.parquet")
    cols, rejects, _ = collect(tmp_path / "s.parquet")
    assert cols["text"] == ["b"] and cols["source"] == [""]
    assert rejects == [(1, 0, "source is not a string (int)")]


def test_invalid_utf8_in_a_binary_text_column(tmp_path):
    t = pa.table({"text": pa.array([b"fine", b"bad \xff", b"also fine"], pa.binary()),
                  "id": pa.array([b"1", b"2", b"3\xfe"], pa.binary())})
    pq.write_table(t, tmp_path / "b.parquet")
    cols, rejects, _ = collect(tmp_path / "b.parquet")
    assert cols["text"] == ["fine"] and cols["id"] == ["1"]
    assert rejects == [(2, 1, "invalid UTF-8 in text"), (3, 2, "invalid UTF-8 in id")]


@pytest.mark.parametrize("table,reason", [
    (pa.table({"content": ["a"]}), "no text column (columns: content)"),
    (pa.table({"text": [1, 2]}), "text column is int64, not a string: 2 rows not read"),
    (pa.table({"text": pa.array([], pa.string())}), "empty file"),
])
def test_whole_file_problems_are_one_reject(tmp_path, table, reason):
    pq.write_table(table, tmp_path / "w.parquet")
    cols, rejects, _ = collect(tmp_path / "w.parquet")
    assert cols["text"] == [] and rejects == [(0, -1, reason)]


def test_not_parquet_and_truncated(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"not parquet at all")
    _, rejects, _ = collect(tmp_path / "x.parquet")
    assert len(rejects) == 1 and rejects[0][0] == 0
    assert rejects[0][2].startswith("not a readable Parquet file")
    pq.write_table(pa.Table.from_pylist(fineweb_docs(50)), tmp_path / "t.parquet")
    data = (tmp_path / "t.parquet").read_bytes()
    (tmp_path / "t.parquet").write_bytes(data[: len(data) // 2])
    _, rejects, _ = collect(tmp_path / "t.parquet")
    assert len(rejects) == 1 and rejects[0][0] == 0


def test_corrupt_page_ends_the_shard_with_a_reject(tmp_path):
    """Page checksums (written by parquet-mr and by pyarrow with write_page_checksum) are
    verified, so damage inside a page is a reject at the first row not read."""
    docs = fineweb_docs(400)
    pq.write_table(pa.Table.from_pylist(docs), tmp_path / "c.parquet", row_group_size=100,
                   write_page_checksum=True, use_dictionary=False)
    data = bytearray((tmp_path / "c.parquet").read_bytes())
    md = pq.read_metadata(tmp_path / "c.parquet")
    rg = md.row_group(2)
    col = next(rg.column(j) for j in range(rg.num_columns)
               if rg.column(j).path_in_schema == "text")
    mid = col.data_page_offset + col.total_compressed_size // 2
    data[mid] ^= 0x01
    (tmp_path / "c.parquet").write_bytes(bytes(data))
    cols, rejects, _ = collect(tmp_path / "c.parquet", batch_bytes=1000)
    assert cols["rows"] == list(range(200))
    assert len(rejects) == 1 and rejects[0][0] == 201
    assert rejects[0][2].startswith("corrupt Parquet data") and "CRC" in rejects[0][2]


def test_on_bytes_reports_the_file_read(tmp_path):
    pq.write_table(pa.Table.from_pylist(fineweb_docs(100)), tmp_path / "p.parquet")
    seen = []
    shard = expand_inputs([str(tmp_path / "p.parquet")])[0]
    list(read_shard(shard, on_bytes=seen.append))
    assert 0 < sum(seen) <= 2 * shard.size
