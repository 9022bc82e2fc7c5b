"""The default-corpus generator: deterministic, valid Dolma lines, planted truth recoverable."""
from __future__ import annotations

import gzip
import json
import re
from collections import Counter

import pyarrow.parquet as pq
import pytest
import zstandard

from engine.count.config import CountConfig
from engine.lexicon import load_lexicon
from engine.run.local import run_local
from engine.corpus.synth import (ADJS, BAD_LINE_REASONS, BOTH, DEFAULT_PLANTS, FEMALE, FEMALE_TERMS,
                                 FILLER, GENDERED, MALE, MALE_TERMS, NOUNS, RELIGION_FILLER,
                                 RELIGION_SENTENCES, RELIGIONS, SURNAMES, VERBS, Plant, SynthConfig,
                                 default_plants, default_religion_rates, generate_corpus)
from engine.lexicon import resolve_lexicon

SMALL = SynthConfig(shards=2, docs_per_shard=300)
DOLMA_FIELDS = {"id", "text", "source", "added", "created", "metadata"}
# common occupation words filler must never use, beyond the lexicons' own forms
COMMON_OCCUPATIONS = {"nurse", "driver", "cook", "writer", "editor", "principal", "conductor",
                      "comic", "developer", "designer", "builder", "ranger", "judge", "guard",
                      "clerk", "manager", "cleaner", "artist", "model", "worker", "officer",
                      "chief", "captain", "vet", "medic", "assistant", "miller", "porter"}


def read_lines(path) -> list[str]:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    elif path.name.endswith(".zst"):
        raw = zstandard.ZstdDecompressor().stream_reader(raw).read()
    return raw.decode("utf-8").splitlines()


def documents(corpus) -> list[dict]:
    bad = {(b["shard"], b["line"]) for b in corpus.bad_lines}
    return [json.loads(line) for path in corpus.shards
            for i, line in enumerate(read_lines(path), 1) if (path.name, i) not in bad]


def lexicon_words() -> tuple[set[str], set[str], set[str]]:
    """(gender words, single-word occupation forms, all occupation forms), lowercased, of both
    built-in lexicons."""
    gender, occ = set(), set()
    for name in ("default", "tracing-bias"):
        lex = load_lexicon(name)
        gender |= {f.lower().rstrip(".") for _, f in lex.gender_terms}
        occ |= {f.lower() for t in lex.targets for f in t.forms}
    return gender, {o for o in occ if " " not in o}, occ


# ---- an independent reading of the text: regex sentences, plain word matching -------------
def split_sentences(text: str):
    """Sentences end at `. ` / `! ` / `? ` or a newline, except a `.` after Mr, Mrs or Dr."""
    for para in text.split("\n"):
        buf = ""
        for piece in re.split(r"(?<=[.!?]) ", para):
            buf = f"{buf} {piece}" if buf else piece
            if not re.search(r"\b(Mr|Mrs|Dr)\.$", buf):
                yield buf
                buf = ""
        assert not buf, para


def occupation_mentions(words: list[str], occ_forms: set[str]) -> list[str]:
    """Greedy longest match of (up to 3-word) occupation forms."""
    found, i = [], 0
    while i < len(words):
        for n in (3, 2, 1):
            if " ".join(words[i:i + n]) in occ_forms:
                found.append(" ".join(words[i:i + n]))
                i += n
                break
        else:
            i += 1
    return found


def test_same_seed_same_bytes(tmp_path):
    a = generate_corpus(tmp_path / "a", SMALL)
    b = generate_corpus(tmp_path / "b", SMALL)
    c = generate_corpus(tmp_path / "c", SynthConfig(seed=1, shards=2, docs_per_shard=300))
    assert [p.read_bytes() for p in a.shards] == [p.read_bytes() for p in b.shards]
    assert (a.root / "PLANTED.json").read_bytes() == (b.root / "PLANTED.json").read_bytes()
    assert all(x.read_bytes() != y.read_bytes() for x, y in zip(a.shards, c.shards))


def test_shard_k_does_not_depend_on_the_number_of_shards(tmp_path):
    a = generate_corpus(tmp_path / "a", SynthConfig(shards=1, docs_per_shard=50,
                                                    inject_bad_lines=False))
    b = generate_corpus(tmp_path / "b", SynthConfig(shards=3, docs_per_shard=50,
                                                    inject_bad_lines=False))
    assert a.shards[0].read_bytes() == b.shards[0].read_bytes()


def test_lines_are_dolma_documents_except_planted_bad_ones(tmp_path):
    corpus = generate_corpus(tmp_path, SMALL)
    assert [p.relative_to(tmp_path).as_posix() for p in corpus.shards] == [
        "documents/part-0000.json.gz", "documents/part-0001.json.gz"]
    assert [b["reason"] for b in corpus.bad_lines] == list(BAD_LINE_REASONS)
    last = read_lines(corpus.shards[-1])
    assert len(last) == 300 + 3
    for b in corpus.bad_lines:
        assert b["shard"] == corpus.shards[-1].name and b["file"] == "documents/" + b["shard"]
        line = last[b["line"] - 1]
        for neighbour in (last[b["line"] - 2], last[b["line"]]):  # valid documents around it
            assert json.loads(neighbour)["id"].startswith("synth-")
        if b["reason"] == "not JSON":
            with pytest.raises(json.JSONDecodeError):
                json.loads(line)
        elif b["reason"] == "missing text":
            assert "text" not in json.loads(line)
        else:
            assert not isinstance(json.loads(line)["text"], str)
    docs = documents(corpus)
    assert len(docs) == corpus.documents == 600
    assert len({d["id"] for d in docs}) == 600
    for d in docs:
        assert set(d) == DOLMA_FIELDS
        assert isinstance(d["text"], str) and d["text"] and isinstance(d["metadata"], dict)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT00:00:00Z", d["created"])
    assert Counter(d["source"] for d in docs) == {"web": 200, "books": 200, "news": 200}
    assert sum(len(d["text"].encode()) for d in docs) == corpus.text_bytes


def test_no_bad_lines_when_disabled(tmp_path):
    corpus = generate_corpus(tmp_path, SynthConfig(shards=2, docs_per_shard=40,
                                                   inject_bad_lines=False))
    assert corpus.bad_lines == []
    assert sum(len(read_lines(p)) for p in corpus.shards) == 80
    assert all(set(json.loads(x)) == DOLMA_FIELDS for p in corpus.shards for x in read_lines(p))


def test_vocabulary_is_clean():
    gender, occ_words, occ_forms = lexicon_words()
    # the gender slots use exactly the study's terms, all of them
    assert {w for ws in FEMALE.values() for w in ws} == set(FEMALE_TERMS)
    assert {w for ws in MALE.values() for w in ws} == set(MALE_TERMS)
    study = {(g, f) for g, f in load_lexicon("tracing-bias").gender_terms}
    assert study == {("female", f) for f in FEMALE_TERMS} | {("male", f) for f in MALE_TERMS}
    # filler words and the fixed words of every template are no gender term and no occupation
    fixed = set()
    for t in FILLER + GENDERED + BOTH + RELIGION_SENTENCES + RELIGION_FILLER:
        fixed |= set(re.findall(r"[a-z]+", re.sub(r"\{\w+\}", " ", t).lower()))
    filler = {w.lower() for w in NOUNS + ADJS + VERBS} | fixed
    forbidden = gender | occ_words | COMMON_OCCUPATIONS
    assert not filler & forbidden, filler & forbidden
    assert not {s.lower() for s in SURNAMES} & forbidden
    # every planted occupation is a form of the default lexicon, and all but `secretary` (not
    # in the study's 219 occupations, see docs/lexicons.md) of the tracing-bias one too
    hb = load_lexicon("holistic-bias")
    # (filler may hold other HolisticBias descriptors, e.g. "old": only religion is planted)
    hb_forms = {f.lower() for g in hb.axis("religion").groups for f in g.forms}
    assert not (filler | {s.lower() for s in SURNAMES}) & hb_forms, (filler & hb_forms)
    # the religion descriptors are exactly the forms of those groups of holistic-bias
    assert {g: hb.axis("religion").group(g).forms for g in RELIGIONS} == {
        g: (d,) for g, d in RELIGIONS.items()}
    planted = {p.occupation for p in DEFAULT_PLANTS}
    assert planted <= {f for t in load_lexicon("default").targets for f in t.forms}
    assert planted - {f for t in load_lexicon("tracing-bias").targets for f in t.forms} == {
        "secretary"}


def test_default_plants():
    plants = default_plants()
    # 14 occupations x 3 sources, one plant each (DEFAULT_PLANTS is this same tuple)
    assert len(plants) == 42 and len({(p.source, p.occupation) for p in plants}) == 42
    assert len({p.occupation for p in plants}) == 14 and {p.source for p in plants} == {
        "web", "books", "news"}
    rate = {(p.source, p.occupation): p.p_female for p in plants}
    assert rate[("web", "nurse")] == 0.9 and rate[("news", "construction worker")] == 0.05
    assert rate[("books", "teacher")] == 0.7 and rate[("web", "teacher")] == 0.5
    assert rate[("news", "doctor")] == 0.3 and rate[("books", "doctor")] == 0.5


def test_planted_rates_recovered_by_an_independent_reading(tmp_path):
    corpus = generate_corpus(tmp_path, SynthConfig(shards=2, docs_per_shard=1500))
    planted = json.loads((tmp_path / "PLANTED.json").read_text())
    gender, _, occ_forms = lexicon_words()
    female = {t.lower().rstrip(".") for t in FEMALE_TERMS}
    male = {t.lower().rstrip(".") for t in MALE_TERMS}
    counts: Counter = Counter()
    kinds: Counter = Counter()
    for d in documents(corpus):
        for s in split_sentences(d["text"]):
            assert s[-1] in ".!?" and s[0].isupper(), s
            words = re.findall(r"[a-z]+", s.lower())
            occs = occupation_mentions(words, occ_forms)
            f = sum(w in female for w in words)
            m = sum(w in male for w in words)
            assert not {w for w in words if w in gender} - female - male, s
            rel = [w for w in s.split() if w.rstrip(".?!") in RELIGIONS.values()]
            if not occs:
                assert f == m == 0, s  # filler: no gender term either
                kinds["filler"] += 1
                continue
            assert len(occs) == 1, s  # exactly one occupation mention
            if rel:
                assert f == m == 0 and len(rel) == 1, s  # a religion sentence
                kinds["religion"] += 1
                continue
            assert f + m > 0, s
            if f and m:
                assert f == m == 1, s  # both: exactly one term of each
            kind = "both" if f and m else "female_only" if f else "male_only"
            counts[(d["source"], occs[0], kind)] += 1
            kinds[kind] += 1
    total = sum(kinds.values())
    occupation_sentences = total - kinds["filler"]
    assert abs(kinds["filler"] / total - 0.55) < 0.02
    assert abs(kinds["religion"] / occupation_sentences - 0.12) < 0.01
    assert abs(kinds["both"] / (occupation_sentences - kinds["religion"]) - 0.08) < 0.01
    chi2 = 0.0
    for row in planted["sentences"]:
        key = (row["source"], row["occupation"])
        # the independent reading finds exactly the sentences the generator says it planted
        assert [counts[key + (k,)] for k in ("female_only", "male_only", "both")] == [
            row["female_only"], row["male_only"], row["both"]], row
        n = row["female_only"] + row["male_only"]
        p = row["expected_female_share"]
        assert row["p_female"] == p and n > 250
        share = row["female_only"] / n
        assert share == pytest.approx(row["observed_female_share"], abs=1e-4)
        assert abs(share - p) < 4 * (p * (1 - p) / n) ** 0.5 + 0.01, row
        chi2 += (share - p) ** 2 / (p * (1 - p) / n)
    assert chi2 < 80  # 42 cells: the 0.999 quantile of chi2(42) is 76.1
    share = {(r["source"], r["occupation"]): r["observed_female_share"]
             for r in planted["sentences"]}
    assert share[("books", "teacher")] - share[("web", "teacher")] > 0.1
    assert share[("books", "doctor")] - share[("news", "doctor")] > 0.1
    assert min(share[(s, "nurse")] for s in ("web", "books", "news")) > 0.85


def test_planted_json(tmp_path):
    corpus = generate_corpus(tmp_path, SMALL)
    planted = json.loads((tmp_path / "PLANTED.json").read_text())
    assert corpus.planted_path == tmp_path / "PLANTED.json"
    assert planted["seed"] == SMALL.seed and planted["documents"] == 600
    assert planted["shards"] == ["documents/part-0000.json.gz", "documents/part-0001.json.gz"]
    assert planted["bad_lines"] == corpus.bad_lines
    assert planted["gender_terms"] == {"female": list(FEMALE_TERMS), "male": list(MALE_TERMS)}
    assert [Plant(**p) for p in planted["plants"]] == list(DEFAULT_PLANTS)
    assert len(planted["sentences"]) == 42
    for row in planted["sentences"]:
        assert corpus.planted_sentences[f"{row['source']}\t{row['occupation']}"] == [
            row["female_only"], row["male_only"], row["both"]]


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_compressions(tmp_path, compression):
    cfg = SynthConfig(shards=2, docs_per_shard=20, compression=compression)
    corpus = generate_corpus(tmp_path / compression, cfg)
    suffix = {"gzip": ".json.gz", "zstd": ".json.zst", "none": ".jsonl"}[compression]
    assert all(p.name.endswith(suffix) for p in corpus.shards)
    docs = documents(corpus)
    assert len(docs) == 40 and len(read_lines(corpus.shards[-1])) == 23
    # the text does not depend on the compression
    ref = generate_corpus(tmp_path / "ref", SynthConfig(shards=2, docs_per_shard=20))
    assert docs == documents(ref)


def test_regenerating_removes_stale_shards(tmp_path):
    generate_corpus(tmp_path, SynthConfig(shards=3, docs_per_shard=5))
    corpus = generate_corpus(tmp_path, SynthConfig(shards=2, docs_per_shard=5,
                                                   compression="zstd"))
    assert sorted((tmp_path / "documents").iterdir()) == corpus.shards


@pytest.mark.parametrize("kwargs", [
    {"compression": "bz2"},
    {"shards": 0},
    {"plants": (Plant("web", "nurse", 1.5),), "sources": ("web",)},
    {"plants": (Plant("wiki", "nurse", 0.5),)},
    {"sources": ("web", "books", "news", "code")},  # a source without plants
    {"plants": (Plant("web", "nurse", 0.5), Plant("web", "nurse", 0.6)), "sources": ("web",)},
])
def test_invalid_configs(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate_corpus(tmp_path, SynthConfig(**kwargs))


def test_engine_recovers_planted_counts_exactly(tmp_path):
    corpus = generate_corpus(tmp_path / "c", SynthConfig(shards=2, docs_per_shard=1500))
    run_local([str(corpus.root / "documents")], str(tmp_path / "out"),
              CountConfig(load_lexicon("default"), ("sentence",)), progress=False)
    planted = json.loads((corpus.root / "PLANTED.json").read_text())
    rows = {(r["source"], r["occupation"]): r
            for r in pq.read_table(tmp_path / "out" / "cooccurrence.parquet").to_pylist()}
    for s in planted["sentences"]:
        r = rows[(s["source"], s["occupation"])]
        # exact: every planted gendered sentence is one unit of the right class
        assert (r["female_only"], r["male_only"], r["female_and_male"]) == (
            s["female_only"], s["male_only"], s["both"]), s
    rejects = pq.read_table(tmp_path / "out" / "rejects.parquet").to_pylist()
    assert sorted((r["line"], r["reason"].split(" (")[0].split(":")[0]) for r in rejects) == sorted(
        (b["line"], b["reason"]) for b in corpus.bad_lines)


def test_engine_recovers_planted_religion_groups_exactly(tmp_path):
    """K = 5 groups: the religion axis of holistic-bias crossed with the default occupations."""
    corpus = generate_corpus(tmp_path / "c", SynthConfig(shards=2, docs_per_shard=1500))
    lexicon = resolve_lexicon("holistic-bias", targets="default", axes=["religion"])
    run_local([str(corpus.root / "documents")], str(tmp_path / "out"),
              CountConfig(lexicon, ("sentence", "document")), progress=False)
    planted = json.loads((corpus.root / "PLANTED.json").read_text())["religion"]
    assert planted["rates"] == default_religion_rates()
    gc = pq.read_table(tmp_path / "out" / "group_cooccurrence.parquet").to_pylist()
    got = {(r["source"], r["target"], r["group_name"]): r for r in gc
           if r["window_label"] == "sentence"}
    assert len(planted["sentences"]) > 100
    for s in planted["sentences"]:
        r = got.pop((s["source"], s["occupation"], s["group"]))
        # every religion sentence is one unit of its occupation where that group is alone
        assert (r["units_only"], r["units_with"], r["mentions"]) == (s["units_only"],) * 3, s
    assert not got  # nothing else co-occurs in a sentence
    docs: dict = {}
    for r in pq.read_table(tmp_path / "out" / "group_documents.parquet").to_pylist():
        d, m = docs.get(r["group_name"], (0, 0))  # summed over the three sources
        docs[r["group_name"]] = (d + r["documents"], m + r["mentions"])
    assert docs == {g: (planted["documents"][g], planted["mentions"][g]) for g in RELIGIONS}
    # the planted distributions are recovered: nurse leans christian, engineer hindu, doctor
    # jewish (shares of units_only over the groups, all sources)
    share: dict = {}
    for s in planted["sentences"]:
        share.setdefault(s["occupation"], {}).setdefault(s["group"], 0)
        share[s["occupation"]][s["group"]] += s["units_only"]
    for occ, top in (("nurse", "christian"), ("engineer", "hindu"), ("doctor", "jewish")):
        assert max(share[occ], key=share[occ].get) == top
