"""A counts directory as the warehouse reads it: its manifest, its tables, its lexicon.

``parse_counts_arg`` accepts ``DIR`` or ``NAME=DIR`` and refuses, with one line naming the file,
a directory that is not a finished ``tracebias-counts/2`` run or whose files do not match its
manifest (a listed file missing, of another size, another Parquet row count, or other columns).
Only the tables the manifest lists are loaded; other ``*.parquet`` files in the directory (e.g.
a ``bootstrap.parquet`` left by an earlier configuration) are reported and ignored.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from engine.count.tables import BY_NAME, FORMAT, TableSpec
from engine.lexicon import Lexicon, LexiconError, lexicon_from_dict

OLDER_FORMATS = ("tracebias-counts/1",)


class WarehouseError(ValueError):
    """A bad input or argument: the message is one line for the user."""


@dataclass(frozen=True)
class CountsRun:
    name: str
    path: Path
    manifest: dict
    lexicon: Lexicon | None = None
    lexicon_json: dict | None = None
    tables: dict = field(default_factory=dict)  # table name -> Path of its Parquet file
    ignored: tuple[str, ...] = ()  # Parquet files present but not listed in the manifest

    @property
    def windows(self) -> list[str]:
        return [str(w) for w in self.manifest.get("windows") or []]

    @property
    def replicates(self) -> int:
        b = self.manifest.get("bootstrap")
        if isinstance(b, dict):
            b = b.get("replicates")
        return int(b) if isinstance(b, int) and not isinstance(b, bool) and b > 0 else 0

    def has(self, table: str) -> bool:
        return table in self.tables


def parse_counts_arg(arg: str) -> CountsRun:
    """``DIR`` or ``NAME=DIR``: a finished, consistent counts directory, or WarehouseError."""
    name, sep, path = arg.partition("=")
    if not sep:
        name, path = "", arg
    p = Path(path).resolve()
    name = name or p.name
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
        raise WarehouseError(f"run name {name!r}: use letters, digits, '_', '.', '-' (NAME=DIR)")
    if not p.is_dir():
        raise WarehouseError(f"{path}: no such counts directory")
    mf = p / "manifest.json"
    if not mf.is_file():
        raise WarehouseError(f"{path} is not a finished counts directory (no manifest.json)")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WarehouseError(f"{mf}: not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise WarehouseError(f"{mf}: not a JSON object")
    check_format(mf, manifest.get("format"))
    tables = check_tables(p, manifest)
    lex, lex_json = read_lexicon(p, manifest)
    listed = {Path(f).name for f in tables.values()}
    ignored = tuple(sorted(f.name for f in p.glob("*.parquet") if f.name not in listed))
    return CountsRun(name, p, manifest, lex, lex_json, tables, ignored)


def check_format(mf: Path, fmt) -> None:
    if fmt == FORMAT:
        return
    if fmt is None or fmt in OLDER_FORMATS:
        raise WarehouseError(
            f"{mf}: counts format {fmt or 'tracebias-counts/1 (no format key)'} is older than "
            f"{FORMAT} (columns window -> window_label, both -> female_and_male); recount with "
            "this version of `tracebias count`")
    raise WarehouseError(f"{mf}: counts format {fmt!r} is not one this version reads ({FORMAT})")


def check_tables(root: Path, manifest: dict) -> dict[str, Path]:
    """The manifest's tables, each checked against its file: size, Parquet rows, columns."""
    mf = root / "manifest.json"
    listed = manifest.get("tables")
    if not isinstance(listed, dict):
        raise WarehouseError(f"{mf}: no 'tables' object listing the run's tables")
    out: dict[str, Path] = {}
    for name, entry in listed.items():
        if name not in BY_NAME:
            raise WarehouseError(f"{mf}: lists table {name!r}, not a table of {FORMAT} "
                                 f"(tables: {', '.join(BY_NAME)})")
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise WarehouseError(f"{mf}: table {name!r} needs {{\"file\", \"rows\", \"bytes\"}}")
        fname = entry["file"]
        if "/" in fname or "\\" in fname or fname in ("", ".", ".."):
            raise WarehouseError(f"{mf}: table {name!r} has file {fname!r}; expected a file name "
                                 "inside the run directory")
        f = root / fname
        if not f.is_file():
            raise WarehouseError(f"{f}: missing (listed in manifest.json)")
        size = f.stat().st_size
        if entry.get("bytes") is not None and size != entry["bytes"]:
            raise WarehouseError(f"{f}: {size:,} bytes, manifest.json says {entry['bytes']:,}; "
                                 "the directory changed after the count (recount it)")
        try:
            meta = pq.read_metadata(f)
            schema = pq.read_schema(f)
        except Exception as e:  # noqa: BLE001 - any pyarrow failure is a bad file
            raise WarehouseError(f"{f}: not a readable Parquet file "
                                 f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") \
                from None
        if entry.get("rows") is not None and meta.num_rows != entry["rows"]:
            raise WarehouseError(f"{f}: {meta.num_rows:,} rows, manifest.json says "
                                 f"{entry['rows']:,}; the directory changed after the count "
                                 "(recount it)")
        check_schema(f, schema, BY_NAME[name])
        out[name] = f
    return out


def check_schema(f: Path, schema, spec: TableSpec) -> None:
    have = {n: schema.field(n).type for n in schema.names}
    bad = [fl.name for fl in spec.schema if fl.name not in have or have[fl.name] != fl.type]
    if bad:
        expected = ", ".join(f"{fl.name} {fl.type}" for fl in spec.schema)
        raise WarehouseError(f"{f}: columns {', '.join(bad)} are missing or of another type "
                             f"(expected {expected})")


def read_lexicon(root: Path, manifest: dict) -> tuple[Lexicon, dict]:
    f = root / "lexicon.json"
    if not f.is_file():
        raise WarehouseError(f"{f}: missing (a {FORMAT} run keeps the lexicon it counted with)")
    try:
        d = json.loads(f.read_text(encoding="utf-8"))
        lex = lexicon_from_dict(d, str(f))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise WarehouseError(f"{f}: not valid JSON ({e})") from None
    except LexiconError as e:
        raise WarehouseError(str(e)) from None
    want = (manifest.get("lexicon") or {}).get("sha256") if isinstance(
        manifest.get("lexicon"), dict) else None
    if want and lex.sha256() != want:
        raise WarehouseError(f"{f}: its sha256 {lex.sha256()[:12]}... differs from the manifest's "
                             f"lexicon sha256 {want[:12]}...")
    return lex, d


def lexicon_rows(run: str, lex: Lexicon) -> dict[str, list[tuple]]:
    """Rows of the lexicon tables (engine.warehouse.schema.LEXICON_TABLES) for one run."""
    axes, groups, terms, targets, ref = [], [], [], [], []
    for i, a in enumerate(lex.axes):
        axes.append((run, a.name, i, len(a.groups), a.description or None))
        for j, g in enumerate(a.groups):
            groups.append((run, a.name, g.name, j, len(g.forms)))
            for form, case in zip(g.forms, g.cases):
                terms.append((run, a.name, g.name, form, case))
    for k, t in enumerate(lex.targets):
        targets.append((run, t.name, k, t.set, t.sector, t.pct_female, t.stats_source,
                        len(t.forms)))
        for axis, dist in sorted(t.reference.items()):
            for g, share in dist.items():
                ref.append((run, t.name, axis, g, float(share)))
    return {"lexicon_axes": axes, "lexicon_groups": groups, "lexicon_terms": terms,
            "lexicon_targets": targets, "target_reference": ref}
