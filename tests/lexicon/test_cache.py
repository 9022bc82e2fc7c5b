"""The disk cache of parsed and compiled lexicons (engine.lexicon.cache)."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from engine.count.config import CountConfig
from engine.lexicon import cache
from engine.lexicon.lexicon import load_lexicon, resolve_lexicon
from engine.lexicon.matcher import compile_lexicon


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    return tmp_path / "lexicons"


def _same_tables(a, b):
    for name, x in a.tables._asdict().items():
        y = getattr(b.tables, name)
        assert np.array_equal(np.asarray(x), np.asarray(y)), name
    assert a.target_names == b.target_names and a.group_columns == b.group_columns


def test_a_large_lexicon_is_built_once_then_read(cache_dir):
    first = resolve_lexicon("identity-sentiment")
    compiled = CountConfig(first).compiled
    files = sorted(p.name.split("-")[0] for p in cache_dir.iterdir())
    assert files == ["compiled", "lexicon"]
    again = resolve_lexicon("identity-sentiment")
    assert again == first and again.sha256() == first.sha256()
    _same_tables(CountConfig(again).compiled, compiled)
    _same_tables(compiled, compile_lexicon(first))  # the cached tables are the built ones


def test_a_small_lexicon_is_not_cached(cache_dir):
    CountConfig(load_lexicon("pronouns")).compiled  # 1.5 KB of JSON
    assert not cache_dir.exists()


def test_an_unreadable_entry_is_built_again(cache_dir):
    lex = resolve_lexicon("identity-sentiment")
    entry = next(cache_dir.glob("lexicon-*"))
    entry.write_bytes(b"not a pickle")
    assert resolve_lexicon("identity-sentiment") == lex
    assert pickle.loads(entry.read_bytes()) == lex  # replaced by a whole entry


def test_a_different_lexicon_never_reads_another_entry(cache_dir, tmp_path):
    d = load_lexicon("identity-sentiment").to_json()
    resolve_lexicon("identity-sentiment")
    d["targets"] = d["targets"][:-1]  # one target fewer
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    edited = load_lexicon(path)
    assert len(edited.targets) == len(load_lexicon("identity-sentiment").targets) - 1
    assert len(list(cache_dir.glob("lexicon-*"))) == 2


def test_empty_setting_turns_the_cache_off(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, "")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache.cache_dir() is None
    resolve_lexicon("identity-sentiment")
    assert not any(tmp_path.rglob("*.pickle"))


def test_an_unwritable_folder_is_skipped(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker))  # lexicons/ cannot be made under a file
    assert resolve_lexicon("identity-sentiment").name == "identity-sentiment"


def test_no_home_directory_means_no_cache(monkeypatch):
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(cache.Path, "home", staticmethod(no_home))
    assert cache.cache_dir() is None
    assert resolve_lexicon("identity-sentiment").name == "identity-sentiment"


def test_an_engine_imported_from_a_zip_caches_too(tmp_path):
    """Spark's --py-files ships the engine as a zip: the code digest is read through
    importlib.resources, not the file system."""
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    import engine

    root = Path(engine.__file__).parent
    zpath = tmp_path / "engine.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for p in root.rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts:
                z.write(p, Path("engine") / p.relative_to(root))
    probe = ("import engine, sys; assert '.zip' in engine.__file__, engine.__file__\n"
             "from engine.lexicon import cache\n"
             "from engine.lexicon.lexicon import resolve_lexicon\n"
             "assert cache.code_digest() is not None\n"
             "print(resolve_lexicon('identity-sentiment').name)\n")
    env = {**os.environ, cache.CACHE_ENV: str(tmp_path / "c"),
           "PYTHONPATH": str(zpath)}
    out = subprocess.run([sys.executable, "-P", "-c", probe], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "identity-sentiment"
    assert list((tmp_path / "c" / "lexicons").glob("lexicon-*.pickle"))


def test_old_entries_are_pruned(cache_dir, monkeypatch):
    cache_dir.mkdir(parents=True)
    for i in range(5):
        old = cache_dir / f"lexicon-old{i}.pickle"
        old.write_bytes(b"x")
        os.utime(old, (1_000_000 + i, 1_000_000 + i))
    monkeypatch.setattr(cache, "KEEP_ENTRIES", 3)
    resolve_lexicon("identity-sentiment")  # writes one entry, keeps the 3 newest
    names = sorted(p.name for p in cache_dir.iterdir())
    assert len(names) == 3 and "lexicon-old4.pickle" in names and "lexicon-old3.pickle" in names
    assert not any(n.startswith("lexicon-old0") for n in names)
