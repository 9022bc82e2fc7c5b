"""`tracebias contexts`: the sampled mentions in context that a count keeps (contexts.parquet).

During the count every target mention, group mention and target x group unit (in the run's
narrowest word window) gets a priority from a hash of (document id, byte offset, key); each key
keeps the K mentions of smallest priority. The sample is uniform over the mentions, the same
whatever the sharding, and needs no second pass over the corpus.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from engine.run.output import MANIFEST, OutputDir


class ContextsError(ValueError):
    pass


def query_contexts(counts_dir: str, target: str | None = None, axis: str | None = None,
                   group: str | None = None, limit: int = 20) -> list[dict]:
    """Rows of contexts.parquet for a target, a group, or a target x group pair."""
    if not (target or group):
        raise ContextsError("give --target, --group, or both (a target x group pair)")
    out = OutputDir(counts_dir)
    if not out.exists(MANIFEST):
        raise ContextsError(f"{counts_dir} is not a finished counts directory (no {MANIFEST})")
    if not out.exists("contexts.parquet"):
        raise ContextsError(f"{counts_dir} has no contexts.parquet: it was counted with "
                            "--contexts 0; count again without it")
    t: pa.Table = out.read_table("contexts.parquet")
    kind = "pair" if target and group else ("target" if target else "group")
    t = t.filter(pc.equal(t["key_kind"], kind))
    if target:
        known = set(t["target"].to_pylist()) if kind == "pair" else None
        t = t.filter(pc.equal(t["target"], target))
        if t.num_rows == 0:
            all_targets = set(out.read_table("contexts.parquet")["target"].to_pylist()) - {""}
            hint = _near(target, all_targets)
            raise ContextsError(f"no sampled contexts for target {target!r}"
                                + (f" with group {group!r}" if group and target in (known or ())
                                   else "") + hint)
    if group:
        t = t.filter(pc.equal(t["group_name"], group))
        if axis:
            t = t.filter(pc.equal(t["axis"], axis))
        if t.num_rows == 0:
            raise ContextsError(f"no sampled contexts for group {group!r}"
                                + (f" of axis {axis!r}" if axis else "")
                                + (f" with target {target!r}" if target else ""))
    t = t.sort_by([("axis", "ascending"), ("group_name", "ascending"),
                   ("priority", "ascending")])
    return t.slice(0, max(0, limit)).to_pylist()


def _near(name: str, names: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(names), n=3)
    return f"; did you mean {', '.join(map(repr, close))}?" if close else ""


def format_contexts(rows: list[dict], width: int = 60) -> str:
    """Keyword in context: the left context right-aligned, the match, the right context."""
    lines = []
    for r in rows:
        left = r["left_context"][-width:]
        right = r["right_context"][:width]
        label = r["target"] or f"{r['axis']}/{r['group_name']}"
        if r["key_kind"] == "pair":
            label = f"{r['target']} x {r['axis']}/{r['group_name']}"
        lines.append(f"{left:>{width}} [{r['matched']}] {right}")
        lines.append(f"{'':>{width}}   {label}; doc {r['doc_id'] or '(no id)'}, "
                     f"{r['shard'].rsplit('/', 1)[-1]} row {r['row']}, chars "
                     f"{r['char_start']}-{r['char_end']}")
    return "\n".join(lines) if lines else "(no contexts)"
