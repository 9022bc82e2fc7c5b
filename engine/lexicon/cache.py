"""A disk cache of parsed and compiled lexicons.

Reading and checking a lexicon with thousands of forms, then compiling its match tables, takes
0.1-0.2 s of Python (``identity-sentiment``: 6,778 targets), in every run and in every Spark
Python worker. Both steps are pure functions of their input, so their results are kept as
pickles keyed by a SHA-256 of the input and of this engine's code (the lexicon modules, the
Unicode tables, the engine, Python and NumPy versions): a different lexicon or engine never
reads another's entry. Small lexicons (under ``MIN_BYTES`` of JSON) are built each time; they
take a few milliseconds. Writing an entry deletes all but the ``KEEP_ENTRIES`` newest.

Where: ``$TRACEBIAS_CACHE_DIR/lexicons``, else ``$XDG_CACHE_HOME/tracebias/lexicons``, else
``~/.cache/tracebias/lexicons``; ``TRACEBIAS_CACHE_DIR=`` (empty) turns the cache off. A cache
that cannot be read or written is skipped without a word: it only ever saves time.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, TypeVar

T = TypeVar("T")

CACHE_ENV = "TRACEBIAS_CACHE_DIR"
MIN_BYTES = 32_768  # inputs smaller than this are built every time
KEEP_ENTRIES = 32  # the most recently written entries kept; older ones are deleted


def cache_dir() -> Path | None:
    """The lexicon cache's folder, or None when the cache is off."""
    root = os.environ.get(CACHE_ENV)
    if root == "":
        return None
    if root is None:
        xdg = os.environ.get("XDG_CACHE_HOME")
        try:
            root = str(Path(xdg) / "tracebias" if xdg else Path.home() / ".cache" / "tracebias")
        except (RuntimeError, KeyError, OSError):  # no home directory (some cluster containers)
            return None
    return Path(root) / "lexicons"


@lru_cache(maxsize=1)
def code_digest() -> str | None:
    """What the cached values depend on besides their input: the code that builds them. Read
    through importlib.resources, so an engine imported from a zip (``--py-files``) works too;
    None (no caching) when the sources cannot be read."""
    import numpy as np

    from engine import __version__

    h = hashlib.sha256(f"{__version__}|{sys.version_info[:2]}|{np.__version__}".encode())
    try:
        lexicon_dir = resources.files("engine.lexicon")
        for name in ("lexicon.py", "matcher.py", "unicode.py"):
            h.update(lexicon_dir.joinpath(name).read_bytes())
        h.update(resources.files("engine").joinpath("data/unicode_tables.json").read_bytes())
    except (OSError, ValueError):
        return None
    return h.hexdigest()


def _unpickle(data: bytes):
    """pickle.loads without the collector: the tens of thousands of objects it creates would
    set off collections that walk every live object (24 ms instead of 4 for a large lexicon)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data)
    finally:
        if enabled:
            gc.enable()


def _prune(folder: Path) -> None:
    """Delete all but the KEEP_ENTRIES most recently written entries (each engine version and
    edited lexicon leaves its own)."""
    entries = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP_ENTRIES:]:
        try:
            old.unlink()
        except OSError:
            pass


def cached(kind: str, payload: bytes, build: Callable[[], T]) -> T:
    """``build()``, or the value an earlier ``build()`` of the same ``kind`` and ``payload``
    (the complete input of ``build``) stored in the cache."""
    folder = cache_dir()
    digest = code_digest() if folder is not None and len(payload) >= MIN_BYTES else None
    if digest is None:
        return build()
    key = hashlib.sha256(f"{kind}|{digest}|".encode() + payload).hexdigest()[:40]
    path = folder / f"{kind}-{key}.pickle"
    try:
        return _unpickle(path.read_bytes())  # one read: pickle.load(file) took 6x longer
    except Exception:  # noqa: BLE001 - absent, unreadable or cut short: build it again
        pass
    value = build()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # readers see a whole file or none
        _prune(folder)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
    return value
