"""Reading shards: formats, streaming, and bad input that is counted, never fatal or silent."""
from __future__ import annotations

import gzip
import json

import pytest
import zstandard

from engine.corpus.shards import DocBatch, InputError, Reject, expand_inputs, read_shard


def doc(i, text=None, source="web"):
    return json.dumps({"id": str(i), "text": text if text is not None else f"document {i}",
                       "source": source, "added": "2024-01-01T00:00:00Z", "metadata": {"n": i}})


def lines_bytes(lines):
    return b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)


def read_all(path, batch_bytes=1 << 20):
    shard = expand_inputs([str(path)])[0]
    texts, rejects = [], []
    for item in read_shard(shard, batch_bytes):
        if isinstance(item, DocBatch):
            texts += item.text.to_pylist()
        else:
            rejects.append(item)
    return texts, rejects


@pytest.mark.parametrize("name,compress", [
    ("a.json.gz", gzip.compress), ("a.jsonl.gz", gzip.compress),
    ("a.json.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("a.jsonl.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("a.json", lambda b: b), ("a.jsonl", lambda b: b),
])
def test_formats(tmp_path, name, compress):
    p = tmp_path / name
    p.write_bytes(compress(lines_bytes([doc(i) for i in range(100)])))
    texts, rejects = read_all(p, batch_bytes=500)
    assert texts == [f"document {i}" for i in range(100)]
    assert rejects == []


def test_multi_member_gzip_and_no_final_newline(tmp_path):
    p = tmp_path / "m.json.gz"
    p.write_bytes(gzip.compress(lines_bytes([doc(0), doc(1)])) + gzip.compress(doc(2).encode()))
    texts, rejects = read_all(p)
    assert texts == ["document 0", "document 1", "document 2"] and rejects == []


def test_bad_lines_are_rejected_with_line_numbers(tmp_path):
    lines = [doc(1), b"not json at all", doc(2), json.dumps({"id": "x", "source": "web"}),
             json.dumps({"id": "y", "text": 42, "source": "books"}), b"", doc(3),
             b'{"id": "z", "text": "bad \xff\xfe bytes"}', b'{"id": "s", "text": "lone \\ud800"}',
             b"[1, 2]", json.dumps({"text": "ok", "source": 7}), doc(4)]
    p = tmp_path / "bad.json.gz"
    p.write_bytes(gzip.compress(lines_bytes(lines)))
    texts, rejects = read_all(p)
    assert texts == ["document 1", "document 2", "document 3", "document 4"]
    got = [(r.line, r.reason.split(" (")[0].split(":")[0]) for r in rejects]
    assert got == [(2, "not JSON"), (4, "missing text"), (5, "text is not a string"),
                   (8, "invalid UTF-8 at byte 25"), (9, "invalid UTF-8 in text"),
                   (10, "not a JSON object"), (11, "source is not a string")]
    assert rejects[2].source == "books"
    assert rejects[0].sample == b"not json at all"


def test_truncated_gzip_keeps_documents_before(tmp_path):
    data = gzip.compress(lines_bytes([doc(i, "x" * 200) for i in range(2000)]))
    p = tmp_path / "trunc.json.gz"
    p.write_bytes(data[: len(data) // 2])
    texts, rejects = read_all(p)
    assert 500 < len(texts) < 2000
    assert len(rejects) == 1
    assert "truncated gzip" in rejects[0].reason
    assert rejects[0].line == len(texts) + 1


def test_corrupt_gzip_is_a_reject_not_a_crash(tmp_path):
    data = bytearray(gzip.compress(lines_bytes([doc(i, "y" * 100) for i in range(3000)])))
    for k in range(len(data) // 2, len(data) // 2 + 64):
        data[k] ^= 0x5A
    p = tmp_path / "corrupt.json.gz"
    p.write_bytes(bytes(data))
    texts, rejects = read_all(p)
    assert len(texts) > 0 and len(rejects) >= 1
    assert any("gzip" in r.reason or "JSON" in r.reason for r in rejects)


def test_corrupt_zstd(tmp_path):
    data = zstandard.ZstdCompressor().compress(lines_bytes([doc(i) for i in range(10)]))
    p = tmp_path / "c.json.zst"
    p.write_bytes(data[:-7])
    texts, rejects = read_all(p)
    assert rejects and "zstd" in rejects[-1].reason


def test_empty_file(tmp_path):
    (tmp_path / "empty.json.gz").write_bytes(b"")
    (tmp_path / "empty2.jsonl").write_bytes(b"")
    for name in ("empty.json.gz", "empty2.jsonl"):
        texts, rejects = read_all(tmp_path / name)
        assert texts == [] and [(r.line, r.reason) for r in rejects] == [(0, "empty file")]


def test_long_line_larger_than_batch(tmp_path):
    p = tmp_path / "long.jsonl"
    p.write_bytes(lines_bytes([doc(0, "z" * 50_000), doc(1)]))
    texts, _ = read_all(p, batch_bytes=1000)
    assert len(texts[0]) == 50_000 and texts[1] == "document 1"


def test_expand_inputs(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for rel in ("d/a.json.gz", "d/sub/b.jsonl.zst", "d/notes.txt", "d/c.jsonl"):
        (tmp_path / rel).write_bytes(b"")
    shards = expand_inputs([str(tmp_path / "d")])
    assert [s.rel for s in shards] == ["a.json.gz", "c.jsonl", "sub/b.jsonl.zst"]
    assert all(s.url.startswith("file://") for s in shards)
    assert len({s.key for s in shards}) == 3
    assert [s.rel for s in expand_inputs([str(tmp_path / "d" / "*.json*")])] == ["a.json.gz", "c.jsonl"]
    assert [s.rel for s in expand_inputs(["file://" + str(tmp_path / "d" / "c.jsonl")])] == ["c.jsonl"]
    with pytest.raises(InputError, match="not found"):
        expand_inputs([str(tmp_path / "missing")])
    with pytest.raises(InputError, match="matches no file"):
        expand_inputs([str(tmp_path / "d" / "*.parquet")])
    with pytest.raises(InputError, match="not a shard name"):
        expand_inputs([str(tmp_path / "d" / "notes.txt")])
