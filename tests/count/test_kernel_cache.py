"""numba keys a cached kernel on its own source file only: the engine drops the numba caches of
its kernel packages when any of their sources changed, so a kernel never runs code it inlined
from an older file."""
from __future__ import annotations

from engine import _drop_stale_kernel_caches


def test_caches_go_when_any_source_changes(tmp_path):
    for pkg in ("corpus", "count"):
        (tmp_path / pkg / "__pycache__").mkdir(parents=True)
    (tmp_path / "corpus" / "unaligned.py").write_text("A = 1\n")
    (tmp_path / "count" / "tagging.py").write_text("B = 1\n")
    caches = [tmp_path / "count" / "__pycache__" / n
              for n in ("tagging._tag-1.py311.nbi", "tagging._tag-1.py311.1.nbc")]
    other = tmp_path / "count" / "__pycache__" / "tagging.cpython-311.pyc"

    def populate():
        for f in caches + [other]:
            f.write_bytes(b"x")

    def check():
        _drop_stale_kernel_caches(tmp_path, ("corpus", "count"))
        return [f.exists() for f in caches]

    populate()
    assert check() == [False, False] and other.exists()  # no digest yet: unknown sources
    populate()
    assert check() == [True, True]  # same sources: kept
    (tmp_path / "corpus" / "unaligned.py").write_text("A = 2\n")  # another package's source
    assert check() == [False, False] and other.exists()
    populate()
    assert check() == [True, True]
