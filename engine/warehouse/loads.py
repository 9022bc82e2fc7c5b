"""Reading model-output files line by line: what is loaded, what is skipped and why.

A generations file is JSON Lines (``.jsonl``, ``.ndjson``, ``.json``), CSV or Parquet with the
columns ``model``, ``occupation``, ``text`` and ``prompt`` or ``template`` (optional: ``stage``,
``decoding``, ``template``, ``prompt_id``, ``sample``). A line that cannot be used is never a
traceback and never silent: it is skipped with its line number and reason (not JSON, not an
object, a missing or non-string field, an occupation the lexicon does not have, with a hint when
the case or a plural is the likely mistake) and counted in the load report and `load_rejects`.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.warehouse.runs import WarehouseError

GEN_REQUIRED = ("model", "occupation", "text")
GEN_COLUMNS = ("model", "stage", "template", "decoding", "occupation", "prompt_id", "prompt",
               "sample", "text")
NO_TEMPLATE = "(none)"  # the template label of generations that have none (never pooled '*')
POOLED = "*"


@dataclass
class LoadReport:
    path: str
    kind: str
    status: str = "added"  # added | unchanged | replaced
    rows_read: int = 0
    rows_added: int = 0
    replaced_rows: int = 0
    same_as: str | None = None
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason, sample)

    @property
    def rows_skipped(self) -> int:
        return len(self.rejects)

    def summary(self) -> str:
        what = {"generations": "generations", "scores": "scores", "probes": "probe rows"}.get(
            self.kind, "rows")
        if self.status == "unchanged":
            return (f"{self.path}: already loaded (same content as {self.same_as}); "
                    "nothing added")
        head = f"added {self.rows_added:,} {what} from {self.path}"
        if self.status == "replaced":
            head += f" (replacing {self.replaced_rows:,} rows of the earlier version of this file)"
        if not self.rejects:
            return head
        kinds = Counter(reason_kind(r) for _, r, _ in self.rejects)
        parts = []
        for kind, n in kinds.most_common():
            lines = [(ln, r) for ln, r, _ in self.rejects if reason_kind(r) == kind]
            first_line, first_reason = lines[0]
            more = f" and {n - 1:,} more" if n > 1 else ""
            parts.append(f"{n:,} {kind} (line {first_line}: {first_reason}{more})")
        return (f"{head}; skipped {self.rows_skipped:,} of {self.rows_read:,} lines: "
                + "; ".join(parts) + " -- see the load_rejects table")


def reason_kind(reason: str) -> str:
    """The reason without its particulars: "unknown occupation 'Nurse' (...)" -> "unknown
    occupation"."""
    return re.split(r"[:('\"]", reason, maxsplit=1)[0].strip()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _type_name(v) -> str:
    return "null" if v is None else type(v).__name__


def read_records(path: Path) -> tuple[list[tuple[int, dict]], list[tuple[int, str, str]], int]:
    """(line, record) pairs, rejected lines (line, reason, sample) and the number of lines read.

    JSON Lines are parsed line by line (blank lines are skipped); CSV and Parquet rows are
    numbered from 1 (CSV: the header is line 1, so the first row is line 2).
    """
    p = str(path)
    if not path.is_file():
        raise WarehouseError(f"file not found: {p}")
    if p.endswith((".jsonl", ".ndjson", ".json")):
        good, bad, n = [], [], 0
        with open(path, "rb") as fh:
            for i, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                n += 1
                sample = raw[:200].decode("utf-8", "replace").rstrip("\n")
                try:
                    rec = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError) as e:
                    bad.append((i, f"not JSON: {str(e).splitlines()[0][:80]}", sample))
                    continue
                if not isinstance(rec, dict):
                    bad.append((i, f"not a JSON object ({_type_name(rec)})", sample))
                    continue
                good.append((i, rec))
        return good, bad, n
    if p.endswith(".csv"):
        try:
            df = pl.read_csv(p, infer_schema=False)
        except Exception as e:  # noqa: BLE001
            raise WarehouseError(f"{p}: not a readable CSV file ({str(e).splitlines()[0]})") \
                from None
        return [(i + 2, r) for i, r in enumerate(df.to_dicts())], [], df.height
    if p.endswith(".parquet"):
        try:
            df = pl.read_parquet(p)
        except Exception as e:  # noqa: BLE001
            raise WarehouseError(f"{p}: not a readable Parquet file ({str(e).splitlines()[0]})") \
                from None
        return [(i + 1, r) for i, r in enumerate(df.to_dicts())], [], df.height
    raise WarehouseError(f"{p}: expected .jsonl, .ndjson, .json, .csv or .parquet")


def occupation_hint(name: str, known: dict[str, str]) -> str:
    """' (did you mean ...?)' when a case or plural slip explains an unknown occupation."""
    low = name.strip().lower()
    cands = [low]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("men", "man"), ("women", "woman")):
        if low.endswith(suffix) and len(low) > len(suffix) + 1:
            cands.append(low[: -len(suffix)] + repl)
    for c in cands:
        if c in known:
            why = "case" if c == low else "plural"
            return f" (did you mean {known[c]!r}? {why} differs)"
    return ""


def parse_generations(records, bad, targets: set[str], defaults: dict, path: str):
    """Validate generation records; return (polars frame, rejects)."""
    seen_cols = set()
    for _, r in records:
        seen_cols.update(r)
    if records:
        missing = [c for c in GEN_REQUIRED if c not in seen_cols]
        if missing or not ({"prompt", "template"} & seen_cols):
            raise WarehouseError(
                f"{path}: generations need columns model, occupation, text and prompt or "
                f"template (missing {missing or ['prompt/template']})")
    known = {t.lower(): t for t in targets}
    rows, rejects = [], list(bad)
    for line, r in records:
        reason = None
        for col in ("model", "occupation"):
            v = r.get(col)
            if not isinstance(v, str) or not v.strip():
                reason = f"{col} is missing or not a string ({_type_name(v)})"
                break
        if reason is None and not isinstance(r.get("text"), str):
            reason = f"text is not a string ({_type_name(r.get('text'))})"
        tmpl = r.get("template")
        if reason is None and tmpl is not None and not isinstance(tmpl, str):
            reason = f"template is not a string ({_type_name(tmpl)})"
        if reason is None and tmpl == POOLED:
            reason = "template '*' is reserved for the rows that pool all templates"
        if reason is None and r["occupation"] not in targets:
            reason = (f"unknown occupation {r['occupation']!r}"
                      + occupation_hint(r["occupation"], known))
        if reason is None:
            for col in ("stage", "decoding", "prompt", "prompt_id"):
                v = r.get(col)
                if v is not None and not isinstance(v, (str, int)):
                    reason = f"{col} is not a string ({_type_name(v)})"
                    break
        sample = r.get("sample")
        if reason is None and sample is not None:
            try:
                sample = int(sample)
            except (TypeError, ValueError):
                reason = f"sample is not a whole number ({sample!r})"
        if reason is not None:
            rejects.append((line, reason, json.dumps(r, ensure_ascii=False)[:200]))
            continue
        rows.append({
            "model": r["model"],
            "stage": str(r.get("stage") or defaults.get("stage") or "unknown"),
            "template": tmpl if tmpl not in (None, "") else NO_TEMPLATE,
            "decoding": str(r.get("decoding") if r.get("decoding") is not None
                            else defaults.get("decoding", "")),
            "occupation": r["occupation"],
            "prompt_id": None if r.get("prompt_id") is None else str(r["prompt_id"]),
            "prompt": None if r.get("prompt") is None else str(r["prompt"]),
            "sample": sample,
            "text": r["text"],
            "line": line,
        })
    schema = {"model": pl.Utf8, "stage": pl.Utf8, "template": pl.Utf8, "decoding": pl.Utf8,
              "occupation": pl.Utf8, "prompt_id": pl.Utf8, "prompt": pl.Utf8,
              "sample": pl.Int64, "text": pl.Utf8, "line": pl.Int64}
    df = pl.DataFrame(rows, schema=schema)
    rejects.sort()
    return df, rejects


def parse_scores(records, bad, targets: set[str], defaults: dict, path: str):
    seen = set()
    for _, r in records:
        seen.update(r)
    missing = {"model", "occupation", "metric", "value"} - seen
    if records and missing:
        raise WarehouseError(f"{path}: scores need columns model, occupation, metric, value "
                             f"(and optionally stage); missing {sorted(missing)}")
    known = {t.lower(): t for t in targets}
    rows, rejects = [], list(bad)
    for line, r in records:
        reason = None
        for col in ("model", "occupation", "metric"):
            if not isinstance(r.get(col), str) or not r[col].strip():
                reason = f"{col} is missing or not a string ({_type_name(r.get(col))})"
                break
        if reason is None and r["occupation"] not in targets:
            reason = (f"unknown occupation {r['occupation']!r}"
                      + occupation_hint(r["occupation"], known))
        value = r.get("value")
        if reason is None:
            try:
                value = None if value is None or value == "" else float(value)
            except (TypeError, ValueError):
                reason = f"value is not a number ({value!r})"
        if reason is not None:
            rejects.append((line, reason, json.dumps(r, ensure_ascii=False, default=str)[:200]))
            continue
        rows.append({"model": r["model"],
                     "stage": str(r.get("stage") or defaults.get("stage") or "unknown"),
                     "occupation": r["occupation"], "metric": r["metric"], "value": value})
    df = pl.DataFrame(rows, schema={"model": pl.Utf8, "stage": pl.Utf8, "occupation": pl.Utf8,
                                    "metric": pl.Utf8, "value": pl.Float64})
    rejects.sort()
    return df, rejects
