"""Settings for a process whose whole job is counting: the `tracebias` command and the Python
workers of a Spark job (never applied to a caller's own interpreter, e.g. a notebook)."""
from __future__ import annotations

import ctypes
import sys
from contextlib import contextmanager

_KEPT: bool | None = None


class _NoPandas:
    """A meta path finder under which ``import pandas`` fails."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not looked up while a count starts")
        return None


@contextmanager
def pyarrow_skips_pandas():
    """pyarrow looks for pandas the first time it converts Python objects or encodes a
    dictionary, and imports it when it is installed (0.14 s of every `tracebias count`,
    2026-11-26), for pandas integration a count never uses. Run the first such conversions
    inside this block (the local executor's warm-up does): pyarrow's look finds no pandas and
    it does not look again by itself. Nothing else changes: an explicit ``import pandas`` later
    works, and pyarrow imports pandas when a pandas function of its own is called (e.g.
    ``to_pandas``). Does nothing when pandas is imported already."""
    if "pandas" in sys.modules:
        yield
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep the memory it frees instead of handing it back to the OS.

    By default blocks above a moving threshold (128 KiB at first) come from mmap and go back to
    the OS when freed, and free space at the top of the heap goes back once it passes twice
    that threshold. A count frees each batch's decoded pieces (256 KiB each) together, and the
    OS then faults the same pages back in, zeroed: 190,000 page faults and 6% of a 4-shard run
    on one core (2026-11-26). With blocks up to 32 MiB served from the heap and 256 MiB of free
    top kept: 40,000 faults, peak RSS +30 MB. Returns False where there is no glibc
    ``mallopt`` (musl, macOS): nothing changes there. Idempotent."""
    global _KEPT
    if _KEPT is None:
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            _KEPT = False
        else:
            m_trim_threshold, m_mmap_threshold = -1, -3
            _KEPT = bool(mallopt(m_mmap_threshold, 32 << 20)
                         and mallopt(m_trim_threshold, 256 << 20))
    return _KEPT
