"""Helpers shared by the command modules: one-line errors and KEY=VALUE parsing."""
from __future__ import annotations

import sys


def die(msg: str, code: int = 2) -> None:
    """Print one clear line and exit (no traceback)."""
    print(f"tracebias: error: {msg}", file=sys.stderr)
    raise SystemExit(code)


def kv(items) -> dict:
    out = {}
    for item in items or []:
        k, sep, v = item.partition("=")
        if not sep:
            die(f"expected KEY=VALUE, got {item!r}")
        out[k] = v
    return out
