"""Every output table: its name, columns, key and how partial tables reduce. The single source.

A count writes, per run directory (docs/data-format.md has the column meanings):

    K-group tables (every lexicon)
      group_cooccurrence   (source, window, axis, target, group_name) -> units_with, units_only, mentions
      target_units         (source, window, axis, target) -> units, units_none, units_multi
      representation       (source, axis, group_name, term) -> documents, mentions
      group_documents      (source, axis, group_name) -> documents, mentions
      axis_documents       (source, axis) -> documents, mentions
      group_bootstrap      with --bootstrap B: (source, window, axis, target, group_name, replicate)
                           -> units_with, units_only
    binary-gender tables (a lexicon with the axis gender = {female, male}; every v1 lexicon)
      cooccurrence         (source, window, occupation) -> units, male_only, female_only,
                           female_and_male, male_terms, female_terms
      term_cooccurrence    (source, window, occupation, gender, term) -> term_count, units_with_term
      bootstrap            with --bootstrap B: (source, window, occupation, replicate) -> units,
                           female_only, male_only
    audit and bookkeeping
      contexts             sampled keyword-in-context rows per target, group and target x group
      shards               (shard, source) -> documents, bytes, words, rejects
      rejects              every rejected line: shard, line, reason, source, sample

"window" is three columns: ``window_label`` (``sentence``, ``words:10``, ...), ``window_kind`` and
``window_k``. No column is named with an SQL reserved word (tests check every table against
DuckDB's keyword list). Partial tables (per shard, per Spark partition) reduce by summing the
value columns over the key columns (``sum`` tables), by concatenation (``concat``), or by
keeping the rows of smallest ``priority`` per key (``bottom_k``, the contexts reservoir); every
final table is sorted by its key, so results are byte-identical whatever the partitioning.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

FORMAT = "tracebias-counts/2"  # bumped from /1: window -> window_label, both -> female_and_male

WINDOW_KEYS = ("window_kind", "window_k", "window_label")  # sort: sentence.., words:5 < words:10
_WINDOW_FIELDS = [
    pa.field("window_label", pa.string(), nullable=False),
    pa.field("window_kind", pa.string(), nullable=False),
    pa.field("window_k", pa.int32()),
]


def _s(name: str) -> pa.Field:
    return pa.field(name, pa.string(), nullable=False)


def _i(name: str) -> pa.Field:
    return pa.field(name, pa.int64(), nullable=False)


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    key: tuple[str, ...]  # sort order; for "sum" tables also the group-by columns
    reduce: str  # "sum" | "concat" | "bottom_k"
    kind: str  # "kgroup" | "gender" | "bootstrap" | "gender_bootstrap" | "audit" | "bookkeeping"
    doc: str

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(n for n in self.schema.names if n not in self.key)

    @property
    def file(self) -> str:
        return f"{self.name}.parquet"

    def empty(self) -> pa.Table:
        return self.schema.empty_table()


GROUP_COOCCURRENCE = TableSpec(
    "group_cooccurrence",
    pa.schema([_s("source"), *_WINDOW_FIELDS, _s("axis"), _s("target"), _s("group_name"),
               _i("units_with"), _i("units_only"), _i("mentions")]),
    ("source", *WINDOW_KEYS, "axis", "target", "group_name"), "sum", "kgroup",
    "units where a group of an axis is present in a target's window, alone, and its term mentions")
TARGET_UNITS = TableSpec(
    "target_units",
    pa.schema([_s("source"), *_WINDOW_FIELDS, _s("axis"), _s("target"),
               _i("units"), _i("units_none"), _i("units_multi")]),
    ("source", *WINDOW_KEYS, "axis", "target"), "sum", "kgroup",
    "units per target and axis: all, with no group of the axis, with two or more groups")
REPRESENTATION = TableSpec(
    "representation",
    pa.schema([_s("source"), _s("axis"), _s("group_name"), _s("term"),
               _i("documents"), _i("mentions")]),
    ("source", "axis", "group_name", "term"), "sum", "kgroup",
    "documents mentioning each group term at least once, and its mentions in the whole corpus")
GROUP_DOCUMENTS = TableSpec(
    "group_documents",
    pa.schema([_s("source"), _s("axis"), _s("group_name"), _i("documents"), _i("mentions")]),
    ("source", "axis", "group_name"), "sum", "kgroup",
    "documents mentioning any term of a group, and the group's mentions")
AXIS_DOCUMENTS = TableSpec(
    "axis_documents",
    pa.schema([_s("source"), _s("axis"), _i("documents"), _i("mentions")]),
    ("source", "axis"), "sum", "kgroup",
    "documents mentioning any term of an axis, and the axis's mentions")
GROUP_BOOTSTRAP = TableSpec(
    "group_bootstrap",
    pa.schema([_s("source"), *_WINDOW_FIELDS, _s("axis"), _s("target"), _s("group_name"),
               pa.field("replicate", pa.int32(), nullable=False),
               _i("units_with"), _i("units_only")]),
    ("source", *WINDOW_KEYS, "axis", "target", "group_name", "replicate"), "sum", "bootstrap",
    "group_cooccurrence's units_with and units_only in each document-level Poisson replicate")

COOCCURRENCE = TableSpec(
    "cooccurrence",
    pa.schema([_s("source"), *_WINDOW_FIELDS, _s("occupation"),
               _i("units"), _i("male_only"), _i("female_only"), _i("female_and_male"),
               _i("male_terms"), _i("female_terms")]),
    ("source", *WINDOW_KEYS, "occupation"), "sum", "gender",
    "binary-gender view of the units: male-only, female-only, both, and the term mentions")
TERM_COOCCURRENCE = TableSpec(
    "term_cooccurrence",
    pa.schema([_s("source"), *_WINDOW_FIELDS, _s("occupation"), _s("gender"), _s("term"),
               _i("term_count"), _i("units_with_term")]),
    ("source", *WINDOW_KEYS, "occupation", "gender", "term"), "sum", "gender",
    "which gender terms occur in the occupations' windows")
BOOTSTRAP = TableSpec(
    "bootstrap",
    pa.schema([_s("source"), *_WINDOW_FIELDS, _s("occupation"),
               pa.field("replicate", pa.int32(), nullable=False),
               _i("units"), _i("female_only"), _i("male_only")]),
    ("source", *WINDOW_KEYS, "occupation", "replicate"), "sum", "gender_bootstrap",
    "cooccurrence's units, female_only, male_only in each document-level Poisson replicate")

CONTEXTS = TableSpec(
    "contexts",
    pa.schema([_s("key_kind"), _s("target"), _s("axis"), _s("group_name"),
               pa.field("priority", pa.uint64(), nullable=False),
               _s("doc_id"), _s("source"), _s("shard"),
               _i("row"), _i("char_start"), _i("char_end"),
               _s("left_context"), _s("matched"), _s("right_context")]),
    ("key_kind", "target", "axis", "group_name", "priority"), "bottom_k", "audit",
    "a deterministic sample of mentions in context (keyword in context) per target, group and "
    "target x group pair, for auditing homonyms without a second pass")
SHARDS = TableSpec(
    "shards",
    pa.schema([_s("shard"), _s("source"), _i("documents"), _i("bytes"), _i("words"),
               _i("rejects")]),
    ("shard", "source"), "concat", "bookkeeping",
    "per shard and source: documents, UTF-8 bytes of text, words, rejected lines")
REJECTS = TableSpec(
    "rejects",
    pa.schema([_s("shard"), _i("line"), _s("reason"), _s("source"),
               pa.field("sample", pa.binary(), nullable=False)]),
    ("shard", "line", "reason"), "concat", "bookkeeping",
    "every rejected input line (or whole shard) with its reason and the first 512 raw bytes")

TABLES: tuple[TableSpec, ...] = (
    GROUP_COOCCURRENCE, TARGET_UNITS, REPRESENTATION, GROUP_DOCUMENTS, AXIS_DOCUMENTS,
    GROUP_BOOTSTRAP, COOCCURRENCE, TERM_COOCCURRENCE, BOOTSTRAP, CONTEXTS, SHARDS, REJECTS)
BY_NAME: dict[str, TableSpec] = {t.name: t for t in TABLES}


def spec(name: str) -> TableSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no output table {name!r}; tables: {', '.join(BY_NAME)}") from None


def produced(has_gender_axis: bool, bootstrap: int, contexts: int) -> tuple[TableSpec, ...]:
    """The tables a count with this configuration writes, in TABLES order."""
    out = []
    for t in TABLES:
        if t.kind == "gender" and not has_gender_axis:
            continue
        if t.kind == "bootstrap" and not bootstrap:
            continue
        if t.kind == "gender_bootstrap" and not (bootstrap and has_gender_axis):
            continue
        if t.kind == "audit" and not contexts:
            continue
        out.append(t)
    return tuple(out)


def sort_table(table: pa.Table, keys) -> pa.Table:
    if table.num_rows == 0:
        return table
    return table.sort_by([(k, "ascending") for k in keys])
