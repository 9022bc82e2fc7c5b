"""The per-shard partial file (engine/run/output.py: partial_file_bytes, read_partial_bytes)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from engine.count import tables as TB
from engine.run.output import PARTIAL_MAGIC, partial_file_bytes, read_partial_bytes


def _tables() -> dict[str, pa.Table]:
    n = 5000  # large enough for the lz4 path (>= 64 KiB)
    rng = np.random.default_rng(7)
    schema = TB.CONTEXTS.schema
    cols = {}
    for f in schema:
        if pa.types.is_string(f.type):
            cols[f.name] = pa.array([f"{f.name}-{i}-ü" for i in rng.integers(0, 1000, n)],
                                    f.type)
        else:
            cols[f.name] = pa.array(rng.integers(0, 1 << 40, n), f.type)
    contexts = pa.table(cols, schema=schema)
    shards = pa.table({"shard": ["a.json.gz"], "source": ["wiki"], "documents": [3],
                       "bytes": [10], "words": [2], "rejects": [0]}, schema=TB.SHARDS.schema)
    return {"contexts": contexts, "shards": shards, "rejects": TB.REJECTS.empty()}


def test_round_trip_keeps_every_table_and_the_marker():
    tables = _tables()
    assert tables["contexts"].nbytes >= 1 << 16 and tables["shards"].nbytes < 1 << 16
    marker = {"url": "file:///x/a.json.gz", "documents": 3, "seconds": 0.5, "host": "h"}
    data = partial_file_bytes(tables, marker)
    assert data.endswith(PARTIAL_MAGIC)
    got_marker, got = read_partial_bytes(data)
    assert got_marker == marker
    assert sorted(got) == sorted(tables)
    for name, t in tables.items():
        assert got[name].equals(t), name
        assert got[name].schema == TB.spec(name).schema
    assert partial_file_bytes(tables, marker) == data  # same tables, same bytes


def test_a_cut_or_foreign_file_is_refused():
    data = partial_file_bytes(_tables(), {"documents": 3})
    for cut in (0, 7, len(PARTIAL_MAGIC) + 7, len(data) // 2, len(data) - 1):
        with pytest.raises(ValueError, match="not a tracebias partial"):
            read_partial_bytes(data[:cut])
    with pytest.raises(ValueError, match="longer than the file"):
        read_partial_bytes((1 << 40).to_bytes(8, "little") + PARTIAL_MAGIC)
    with pytest.raises(ValueError, match="not a tracebias partial"):
        read_partial_bytes(b"PAR1 this is not a tracebias file PAR1")


def test_partials_are_compressed_on_remote_filesystems_only(tmp_path):
    """lz4 where bytes travel (any non-local fsspec filesystem), plain on a local disk; both
    read back to the same tables."""
    from engine.run.output import OutputDir

    tables = _tables()
    marker = {"documents": 3}
    plain = partial_file_bytes(tables, marker, compress=False)
    packed = partial_file_bytes(tables, marker, compress=True)
    assert len(packed) < len(plain)
    for data in (plain, packed):
        got = read_partial_bytes(data)[1]
        assert all(got[n].equals(t) for n, t in tables.items())
    local = OutputDir(str(tmp_path / "out"))
    remote = OutputDir(f"memory://{tmp_path.name}/out")
    for out, want in ((local, plain), (remote, packed)):
        out.write_partial("a.arrow", tables, marker)
        with out.fs.open(out.path("partials", "a.arrow"), "rb") as f:
            assert f.read() == want
        assert all(out.read_partial("a.arrow")[1][n].equals(t) for n, t in tables.items())
