"""Inputs -> shards: what a folder holds that is not a shard is skipped, and said so."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import time

import pytest

from engine.corpus.shards import InputError, InputListing, ShardRef, expand_inputs, list_inputs

DOC = json.dumps({"id": "1", "text": "the nurse said she", "source": "web"}).encode() + b"\n"


def make(tmp_path, files: dict[str, bytes]):
    for rel, data in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return tmp_path


def skipped_rel(listing: InputListing, root) -> dict[str, str]:
    prefix = "file://" + str(root) + "/"
    return {u[len(prefix):]: why for u, why in listing.skipped}


def test_parent_folder_skips_stats_json_and_says_why(tmp_path):
    stats = json.dumps({"documents": 3, "shards": [{"file": "a"}, {"file": "b"}]}, indent=1)
    root = make(tmp_path, {
        "corpus/documents/a.json.gz": gzip.compress(DOC),
        "corpus/documents/b.json": DOC * 3,
        "corpus/stats.json": stats.encode(),
        "corpus/compact.json": json.dumps({"documents": 3}).encode(),
        "corpus/one.json": DOC,  # one document on one line: JSON Lines
        "corpus/input_paths.txt": b"x\n",
        "corpus/SOURCES.md": b"# x\n",
    })
    listing = list_inputs([str(root / "corpus")])
    assert [s.rel for s in listing.shards] == [
        "documents/a.json.gz", "documents/b.json", "one.json"]
    assert expand_inputs([str(root / "corpus")]) == listing.shards
    why = skipped_rel(listing, root / "corpus")
    assert set(why) == {"stats.json", "compact.json", "input_paths.txt", "SOURCES.md"}
    assert why["stats.json"].startswith("a pretty-printed JSON document")
    assert why["compact.json"].startswith("one JSON dict without a text field")
    assert why["input_paths.txt"] == "not a shard name"
    # named explicitly, such a file is an error before any work, never skipped silently
    with pytest.raises(InputError, match="pretty-printed JSON document.*rename it to .jsonl"):
        list_inputs([str(root / "corpus" / "stats.json")])
    assert [s.rel for s in list_inputs([str(root / "corpus" / "one.json")]).shards] == ["one.json"]


@pytest.mark.integration
def test_shared_data_parent_folder(wiki_dir):
    listing = list_inputs([str(wiki_dir.parent)])
    assert len(listing.shards) == 12
    assert {u.rsplit("/", 1)[-1]: w.split(" (")[0] for u, w in listing.skipped} == {
        "stats.json": "a pretty-printed JSON document", "input_paths.txt": "not a shard name"}


def test_hidden_files_and_folders_are_skipped(tmp_path):
    root = make(tmp_path, {
        "d/a.jsonl": DOC, "d/.x.jsonl": DOC, "d/_SUCCESS": b"", "d/.hidden/b.jsonl": DOC,
        "d/_tmp/c.jsonl": DOC, "d/sub/.part-0.jsonl.crc": b"", "d/sub/e.jsonl": DOC,
    })
    listing = list_inputs([str(root / "d")])
    assert [s.rel for s in listing.shards] == ["a.jsonl", "sub/e.jsonl"]
    why = skipped_rel(listing, root / "d")
    assert set(why) == {".x.jsonl", "_SUCCESS", ".hidden", "_tmp", "sub/.part-0.jsonl.crc"}
    assert all(w.startswith("hidden") for w in why.values())
    # a hidden input root and an explicitly named hidden file are what the user asked for
    assert [s.rel for s in expand_inputs([str(root / "d" / "_tmp")])] == ["c.jsonl"]
    assert [s.rel for s in expand_inputs([str(root / "d" / ".x.jsonl")])] == [".x.jsonl"]
    # globs skip hidden names unless the pattern itself names them
    assert [s.rel for s in expand_inputs([str(root / "d" / "*.jsonl")])] == ["a.jsonl"]
    assert [s.rel for s in expand_inputs([str(root / "d" / ".*.jsonl")])] == [".x.jsonl"]


def test_symlink_loops_and_dangling_links_are_skipped_not_a_traceback(tmp_path):
    root = make(tmp_path, {"d/a.jsonl": DOC, "d/sub/b.jsonl": DOC, "elsewhere/c.jsonl": DOC})
    d = root / "d"
    os.symlink("../nowhere.jsonl", d / "dangling.jsonl")
    os.symlink("self.jsonl", d / "self.jsonl")  # a loop of one link
    os.symlink("..", d / "sub" / "up")  # a folder loop
    os.symlink(str(root / "elsewhere"), d / "linked")  # a symlinked folder: followed
    os.symlink("../a.jsonl", d / "sub" / "same.jsonl")  # a second path to a listed file
    listing = list_inputs([str(d)])
    assert [s.rel for s in listing.shards] == ["a.jsonl", "linked/c.jsonl", "sub/b.jsonl"]
    why = skipped_rel(listing, d)
    assert why["dangling.jsonl"].startswith("dangling symlink")
    assert why["self.jsonl"] == "symlink loop"
    assert why["sub/up"].startswith("symlink loop")
    assert why["sub/same.jsonl"].startswith("same file as file://")
    # symlinks to files outside the inputs are shards, as many as there are links
    rep = root / "replicated"
    rep.mkdir()
    for k in range(3):
        os.symlink(root / "elsewhere" / "c.jsonl", rep / f"c{k}.jsonl")
    assert len(expand_inputs([str(rep)])) == 3
    with pytest.raises(InputError, match="dangling symlink"):
        list_inputs([str(d / "dangling.jsonl")])
    with pytest.raises(InputError, match="symlink loop"):
        list_inputs([str(d / "self.jsonl")])


def test_nothing_left_is_an_error(tmp_path):
    root = make(tmp_path, {"d/.x.jsonl": DOC, "d/notes.txt": b"", "e/x.txt": b""})
    with pytest.raises(InputError, match="holds no shard"):
        list_inputs([str(root / "d")])
    with pytest.raises(InputError, match="matches no shard.*not a shard name"):
        list_inputs([str(root / "e" / "*")])
    with pytest.raises(InputError, match="no input given"):
        list_inputs([])


def test_parquet_is_a_shard_suffix(tmp_path):
    root = make(tmp_path, {"d/part-0.parquet": b"PAR1", "d/part-1.jsonl": DOC})
    shards = expand_inputs([str(root / "d")])
    assert [(s.rel, s.format, s.compression) for s in shards] == [
        ("part-0.parquet", "parquet", "none"), ("part-1.jsonl", "jsonl", "none")]


def test_file_identity_from_the_listing(tmp_path):
    p = tmp_path / "d" / "a.jsonl.gz"
    p.parent.mkdir()
    p.write_bytes(gzip.compress(DOC))
    (s1,) = expand_inputs([str(tmp_path / "d")])
    (s1b,) = expand_inputs([str(p)])
    assert s1.size == p.stat().st_size and s1.mtime == p.stat().st_mtime
    assert s1.stamp == s1b.stamp and len(s1.stamp) == 16 and int(s1.stamp, 16) >= 0
    # same size, new modification time: a different file
    os.utime(p, (time.time() + 10, time.time() + 10))
    (s2,) = expand_inputs([str(tmp_path / "d")])
    assert s2.size == s1.size and s2.stamp != s1.stamp
    # replaced by a longer file
    p.write_bytes(gzip.compress(DOC * 3))
    (s3,) = expand_inputs([str(tmp_path / "d")])
    assert s3.stamp not in (s1.stamp, s2.stamp)
    # identity is not part of equality: a ShardRef built from (url, rel, size) still equals
    assert ShardRef(s3.url, s3.rel, s3.size) == s3
    # object stores' version fields go into the stamp
    a = ShardRef("s3://b/k", "k", 1, 1.0, "ETag=\"x\"")
    b = ShardRef("s3://b/k", "k", 1, 1.0, "ETag=\"y\"")
    assert a.stamp != b.stamp


def test_identity_of_object_store_listing_entries():
    from datetime import datetime, timezone

    from engine.corpus.shards import _identity

    s3 = {"name": "b/k", "size": 5, "LastModified": datetime(2024, 1, 2, tzinfo=timezone.utc),
          "ETag": '"abc"', "VersionId": "v1", "type": "file"}
    gcs = {"name": "b/k", "size": 5, "updated": "2024-01-02T00:00:00.000Z", "generation": "17",
           "type": "file"}
    t = datetime(2024, 1, 2, tzinfo=timezone.utc).timestamp()
    assert _identity(s3) == (5, t, 'VersionId=v1;ETag="abc"')
    assert _identity(gcs) == (5, t, "generation=17")


def test_copy_keeps_name_new_identity(tmp_path):
    src = tmp_path / "a.jsonl"
    src.write_bytes(DOC)
    (before,) = expand_inputs([str(src)])
    dst = tmp_path / "b"
    dst.mkdir()
    shutil.copy2(src, dst / "a.jsonl")
    (after,) = expand_inputs([str(dst / "a.jsonl")])
    assert before.stamp != after.stamp  # a different url
