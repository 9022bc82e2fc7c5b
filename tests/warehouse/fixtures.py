"""A tiny tracebias-counts/2 run written by hand (every table from engine/count/tables.py's
schemas), small enough that every warehouse view can be worked out by hand.

Lexicon ``fx``: axes gender {female: she, her; male: he, him} and religion {christian,
muslim, jewish}; targets: the occupations nurse, engineer, teacher, pilot (labour statistics,
gender reference), the target sets career {office, salary} / family {home, children} and
positive {wonderful, lovely} / negative {terrible}.

Sentence window, binary gender (sources a + b):

    occupation  female/male/both units    p_data   world %
    nurse       80/20/5   (a 70/20/5 + b 10/0/0)  0.8      90
    engineer    10/40/0   (a 5/35 + b 5/5)        0.2      10
    teacher     16/14/0   (a)                    0.5333   70
    pilot       1/4/0     (a, below support 20)  0.2       5

Religion (single-group units, sentence): nurse christian 30 (a) + 3 (b), muslim 10, 2 multi;
engineer 5/5/10; teacher christian 8, jewish 2. Sets (gender, source a): office f10 m30,
salary f5 m15, home f40 m10, children f30 m20. Sentiment (religion, units_with = units_only):
wonderful 20/5/4, lovely 10/5/0, terrible 10/10/4 (christian/muslim/jewish).
Generations per occupation (model m1, stage base, template T1): see GENS.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from engine.count import tables as T
from engine.lexicon import lexicon_from_dict

LEXICON = {
    "format": "tracebias-lexicon/2", "name": "fx", "version": "1.0",
    "description": "warehouse test fixture",
    "axes": [
        {"name": "gender", "groups": [{"name": "female", "forms": ["she", "her"]},
                                      {"name": "male", "forms": ["he", "him"]}]},
        {"name": "religion", "groups": [{"name": "christian", "forms": ["Christian"]},
                                        {"name": "muslim", "forms": ["Muslim"]},
                                        {"name": "jewish", "forms": ["Jewish"]}]},
    ],
    "targets": [
        {"name": "nurse", "sector": "Health", "pct_female": 90.0,
         "reference": {"gender": {"female": 0.9, "male": 0.1},
                       "religion": {"christian": 0.5, "muslim": 0.3, "jewish": 0.2}}},
        {"name": "engineer", "sector": "Engineering", "pct_female": 10.0,
         "reference": {"gender": {"female": 0.1, "male": 0.9},
                       "religion": {"christian": 0.6, "muslim": 0.2, "jewish": 0.2}}},
        {"name": "teacher", "sector": "Education", "pct_female": 70.0,
         "reference": {"gender": {"female": 0.7, "male": 0.3}, "religion": {"christian": 1.0}}},
        {"name": "pilot", "sector": "Transport", "pct_female": 5.0,
         "reference": {"gender": {"female": 0.05, "male": 0.95}}},
        {"name": "office", "set": "career"}, {"name": "salary", "set": "career"},
        {"name": "home", "set": "family"}, {"name": "children", "set": "family"},
        {"name": "wonderful", "set": "positive"}, {"name": "lovely", "set": "positive"},
        {"name": "terrible", "set": "negative"},
    ],
}
WORLD = {"nurse": (90.0, "Health"), "engineer": (10.0, "Engineering"),
         "teacher": (70.0, "Education"), "pilot": (5.0, "Transport")}

DATA = {  # (source, occupation): (female_only, male_only, female_and_male, units)
    ("a", "nurse"): (70, 20, 5, 100), ("b", "nurse"): (10, 0, 0, 12),
    ("a", "engineer"): (5, 35, 0, 45), ("b", "engineer"): (5, 5, 0, 11),
    ("a", "teacher"): (16, 14, 0, 33), ("a", "pilot"): (1, 4, 0, 6),
}
SETS = {"office": (10, 30), "salary": (5, 15), "home": (40, 10), "children": (30, 20)}
RELIGION = {  # (source, target): ({group: units_only}, multi)
    ("a", "nurse"): ({"christian": 30, "muslim": 10}, 2), ("b", "nurse"): ({"christian": 3}, 0),
    ("a", "engineer"): ({"christian": 5, "muslim": 5, "jewish": 10}, 0),
    ("a", "teacher"): ({"christian": 8, "jewish": 2}, 0),
}
SENTIMENT = {"wonderful": {"christian": 20, "muslim": 5, "jewish": 4},
             "lovely": {"christian": 10, "muslim": 5},
             "terrible": {"christian": 10, "muslim": 10, "jewish": 4}}
# units of the sentiment targets (every unit has exactly one religion group)
REPRESENTATION = [  # (source, axis, group, term, documents, mentions)
    ("a", "gender", "female", "she", 50, 80), ("b", "gender", "female", "she", 10, 12),
    ("a", "gender", "female", "her", 30, 40), ("a", "gender", "male", "he", 60, 100),
    ("a", "gender", "male", "him", 20, 25), ("a", "religion", "christian", "Christian", 10, 15),
    ("a", "religion", "muslim", "Muslim", 5, 6), ("a", "religion", "jewish", "Jewish", 2, 2),
]
GROUP_DOCS = [("a", "gender", "female", 60, 120), ("b", "gender", "female", 10, 12),
              ("a", "gender", "male", 65, 125), ("a", "religion", "christian", 10, 15),
              ("a", "religion", "muslim", 5, 6), ("a", "religion", "jewish", 2, 2)]
AXIS_DOCS = [("a", "gender", 90, 245), ("b", "gender", 10, 12), ("a", "religion", 15, 23)]
SHARDS = [("s1.jsonl", "a", 150, 10_000, 2_000, 0), ("s2.jsonl", "b", 50, 3_000, 600, 1)]

# replicates (with --bootstrap 2): the gender counts of replicate r = the point counts scaled
REPLICATE_SCALE = (0.5, 1.5)

GENS = {  # occupation: [(text, count)]; gender f/m/none as the old fixture, plus religion
    "nurse": [("She is a Christian.", 4), ("She is a Muslim.", 2), ("She is kind.", 3),
              ("He is kind.", 1)],
    "engineer": [("She is kind.", 1), ("He is a Christian and a Muslim.", 2), ("He is kind.", 6),
                 ("They are kind.", 1)],
    "teacher": [("She is Jewish.", 1), ("She is kind.", 5), ("He is kind.", 4)],
    "pilot": [("He is kind.", 10)],
}

WIN = {"window_label": "sentence", "window_kind": "sentence", "window_k": None}


def lexicon():
    return lexicon_from_dict(LEXICON, "fixture")


def _table(spec, rows):
    return pa.Table.from_pylist(rows, schema=spec.schema)


def count_tables(bootstrap: bool = False) -> dict[str, pa.Table]:
    gc, tu, cooc, boot, gboot = [], [], [], [], []
    for (s, o), (f, m, b, u) in DATA.items():
        cooc.append({"source": s, **WIN, "occupation": o, "units": u, "male_only": m,
                     "female_only": f, "female_and_male": b, "male_terms": m + b,
                     "female_terms": f + b})
        for g, only in (("female", f), ("male", m)):
            if only + b:
                gc.append({"source": s, **WIN, "axis": "gender", "target": o, "group_name": g,
                           "units_with": only + b, "units_only": only, "mentions": only + b})
        tu.append({"source": s, **WIN, "axis": "gender", "target": o, "units": u,
                   "units_none": u - f - m - b, "units_multi": b})
        if bootstrap:
            for r, k in enumerate(REPLICATE_SCALE):
                fb, mb = round(f * k), round(m * k)
                boot.append({"source": s, **WIN, "occupation": o, "replicate": r,
                             "units": round(u * k), "female_only": fb, "male_only": mb})
    for o, (f, m) in SETS.items():
        for g, only in (("female", f), ("male", m)):
            gc.append({"source": "a", **WIN, "axis": "gender", "target": o, "group_name": g,
                       "units_with": only, "units_only": only, "mentions": only})
        tu.append({"source": "a", **WIN, "axis": "gender", "target": o, "units": f + m + 5,
                   "units_none": 5, "units_multi": 0})
    for (s, o), (groups, multi) in RELIGION.items():
        units = DATA[(s, o)][3]
        for g, only in groups.items():
            gc.append({"source": s, **WIN, "axis": "religion", "target": o, "group_name": g,
                       "units_with": only + multi, "units_only": only, "mentions": only + multi})
        tu.append({"source": s, **WIN, "axis": "religion", "target": o, "units": units,
                   "units_none": units - sum(groups.values()) - multi, "units_multi": multi})
    tu.append({"source": "a", **WIN, "axis": "religion", "target": "pilot", "units": 6,
               "units_none": 6, "units_multi": 0})
    for t, groups in SENTIMENT.items():
        for g, n in groups.items():
            gc.append({"source": "a", **WIN, "axis": "religion", "target": t, "group_name": g,
                       "units_with": n, "units_only": n, "mentions": n})
        tu.append({"source": "a", **WIN, "axis": "religion", "target": t,
                   "units": sum(groups.values()), "units_none": 0, "units_multi": 0})
    if bootstrap:
        for row in gc:
            for r, k in enumerate(REPLICATE_SCALE):
                # replicate 0 halves every count, replicate 1 scales female/christian by 1.5
                kk = k if row["group_name"] in ("female", "christian") else 1.0
                kk = 0.5 if r == 0 else kk
                gboot.append({k2: row[k2] for k2 in ("source", "window_label", "window_kind",
                                                      "window_k", "axis", "target", "group_name")}
                             | {"replicate": r, "units_with": round(row["units_with"] * kk),
                                "units_only": round(row["units_only"] * kk)})
    terms = [{"source": "a", **WIN, "occupation": "nurse", "gender": g, "term": t,
              "term_count": c, "units_with_term": c}
             for g, t, c in (("female", "she", 60), ("female", "her", 30), ("male", "he", 25))]
    out = {
        "group_cooccurrence": _table(T.GROUP_COOCCURRENCE, gc),
        "target_units": _table(T.TARGET_UNITS, tu),
        "representation": _table(T.REPRESENTATION, [
            dict(zip(("source", "axis", "group_name", "term", "documents", "mentions"), r))
            for r in REPRESENTATION]),
        "group_documents": _table(T.GROUP_DOCUMENTS, [
            dict(zip(("source", "axis", "group_name", "documents", "mentions"), r))
            for r in GROUP_DOCS]),
        "axis_documents": _table(T.AXIS_DOCUMENTS, [
            dict(zip(("source", "axis", "documents", "mentions"), r)) for r in AXIS_DOCS]),
        "cooccurrence": _table(T.COOCCURRENCE, cooc),
        "term_cooccurrence": _table(T.TERM_COOCCURRENCE, terms),
        "shards": _table(T.SHARDS, [dict(zip(("shard", "source", "documents", "bytes", "words",
                                              "rejects"), r)) for r in SHARDS]),
        "rejects": _table(T.REJECTS, [{"shard": "s2.jsonl", "line": 7, "reason": "not JSON",
                                       "source": "b", "sample": b"{oops"}]),
    }
    if bootstrap:
        out["group_bootstrap"] = _table(T.GROUP_BOOTSTRAP, gboot)
        out["bootstrap"] = _table(T.BOOTSTRAP, boot)
    return {k: T.sort_table(v, T.spec(k).key) for k, v in out.items()}


def write_run(d: Path, bootstrap: bool = False, windows=("sentence", "words:10"),
              manifest_extra: dict | None = None, tables: dict | None = None) -> Path:
    d.mkdir(parents=True)
    tabs = tables if tables is not None else count_tables(bootstrap)
    listed = {}
    for name, table in tabs.items():
        f = d / f"{name}.parquet"
        pq.write_table(table, f)
        listed[name] = {"file": f.name, "rows": table.num_rows, "bytes": f.stat().st_size}
    lex = lexicon()
    (d / "lexicon.json").write_text(json.dumps(lex.to_json(), indent=1))
    manifest = {"format": T.FORMAT, "tables": listed, "windows": list(windows),
                "lexicon": {"name": lex.name, "version": lex.version, "sha256": lex.sha256()},
                "bootstrap": {"replicates": len(REPLICATE_SCALE)} if bootstrap else None,
                "totals": {"documents": 200}, "started": "s", "finished": "f"}
    manifest.update(manifest_extra or {})
    (d / "manifest.json").write_text(json.dumps(manifest))
    return d


def write_generations(path: Path, model: str = "m1", stage: str = "base",
                      template: str | None = "T1", extra: list | None = None) -> Path:
    with open(path, "w") as fh:
        for occ, texts in GENS.items():
            for text, n in texts:
                for _ in range(n):
                    rec = {"model": model, "stage": stage, "occupation": occ,
                           "prompt": f"The {occ} is", "text": text}
                    if template is not None:
                        rec["template"] = template
                    fh.write(json.dumps(rec) + "\n")
        fh.writelines(line + "\n" for line in extra or [])
    return path


def set_world(w) -> None:
    """Replace the shipped labour statistics of the fixture occupations by WORLD."""
    for occ, (pct, sector) in WORLD.items():
        w.con.execute("DELETE FROM world_stats WHERE occupation = ?", [occ])
        w.con.execute("INSERT INTO world_stats VALUES (?, ?, ?, 'test', '')", [occ, pct, sector])
    w.refresh()
