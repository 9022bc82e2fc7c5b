"""The seeded generator of the embedded default corpus, with planted associations.

`make run` counts a corpus the project makes itself (no corpus text ships). ``generate_corpus``
writes Dolma-style shards (``documents/part-NNNN.json.gz``: one JSON object a line with ``id``,
``text``, ``source``, ``added``, ``created``, ``metadata``) and ``PLANTED.json``, the truth.

Text design, so that the engine's counts are known in advance:

* a document is 2-5 paragraphs (joined by ``"\\n"``) of 2-6 sentences (joined by ``" "``), each
  ending in ``.``, ``!`` or ``?``;
* a sentence is neutral **filler** with probability ``filler_rate``: words of a fixed vocabulary
  (``NOUNS``, ``ADJS``, ``VERBS``, ``FILLER``) that holds no gender term and no occupation;
* otherwise it is about one **plant** ``(source, occupation, p_female)``, drawn uniformly from
  the plants of the document's source, and holds exactly one mention of that occupation. With
  probability ``both_rate`` it is a **both** sentence (exactly one female and one male term,
  ``BOTH``); otherwise it uses only female terms with probability ``p_female`` and only male
  terms otherwise (``GENDERED``, one or two terms of one gender).

So for each (source, occupation) the sentence-level female share among female-only and
male-only sentences has expectation ``p_female``, and the both share has expectation
``both_rate`` whatever ``p_female`` is. ``PLANTED.json`` records the exact numbers generated.
Gender terms are those of the tracing-bias study (``FEMALE_TERMS``, ``MALE_TERMS``); the only
``.`` that does not end a sentence follows an abbreviation (``Mr.``, ``Mrs.``, ``Dr.``), which
the engine's sentence rule (docs/tokenization.md) also does not treat as an end.

Determinism: shard ``k`` is drawn from ``random.Random(f"{seed}:{k}")`` and gzip is written
with ``mtime=0``, so the same configuration gives byte-identical files on every machine.
"""
from __future__ import annotations

import gzip
import json
import os
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Plant:
    """One planted association."""

    source: str  # Dolma `source` value, e.g. "web"
    occupation: str  # a form the lexicons match, e.g. "nurse", "construction worker"
    p_female: float  # P(a gendered sentence about this occupation uses female terms)


# occupation: (web, books, news)
_DEFAULT_RATES = {
    "nurse": (0.90, 0.90, 0.90),
    "secretary": (0.85, 0.85, 0.85),
    "dancer": (0.85, 0.85, 0.85),
    "librarian": (0.80, 0.80, 0.80),
    "teacher": (0.50, 0.70, 0.60),
    "baker": (0.60, 0.60, 0.60),
    "doctor": (0.45, 0.50, 0.30),
    "lawyer": (0.40, 0.40, 0.40),
    "police officer": (0.25, 0.25, 0.25),
    "programmer": (0.20, 0.20, 0.20),
    "engineer": (0.10, 0.10, 0.10),
    "pilot": (0.10, 0.15, 0.10),
    "carpenter": (0.05, 0.05, 0.05),
    "construction worker": (0.05, 0.05, 0.05),
}
_DEFAULT_SOURCES = ("web", "books", "news")


def default_plants() -> tuple[Plant, ...]:
    """14 occupations x 3 sources; teacher, doctor and pilot differ by source."""
    return tuple(Plant(s, o, p) for o, rates in _DEFAULT_RATES.items()
                 for s, p in zip(_DEFAULT_SOURCES, rates))


DEFAULT_PLANTS = default_plants()

# ---- vocabulary ---------------------------------------------------------------------------
# the gender terms of the tracing-bias study (engine/data/lexicons/tracing-bias.json)
FEMALE_TERMS = ("she", "her", "hers", "herself", "woman", "girl", "mother", "daughter", "sister",
                "wife", "aunt", "niece", "grandmother", "granddaughter", "Mrs.", "Miss", "female")
MALE_TERMS = ("he", "him", "his", "himself", "man", "boy", "father", "son", "brother", "husband",
              "uncle", "nephew", "grandfather", "grandson", "Mr.", "male")

# the same terms by grammatical slot; every term of the study fills at least one slot
FEMALE = {"subj": ["she"], "obj": ["her"], "poss": ["her"], "pron": ["hers"], "refl": ["herself"],
          "kin": ["mother", "daughter", "sister", "wife", "aunt", "niece", "grandmother",
                  "granddaughter"],
          "person": ["woman", "girl"], "adj": ["female"], "title": ["Mrs.", "Miss"]}
MALE = {"subj": ["he"], "obj": ["him"], "poss": ["his"], "pron": ["his"], "refl": ["himself"],
        "kin": ["father", "son", "brother", "husband", "uncle", "nephew", "grandfather",
                "grandson"],
        "person": ["man", "boy"], "adj": ["male"], "title": ["Mr."]}
# surnames that are no occupation (no Baker, Cook, Fisher, Carpenter, ...)
SURNAMES = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Green",
            "Hughes", "Clarke", "Hall", "Wood", "Edwards", "Lewis", "Roberts", "Morgan", "Price"]

# one occupation {o} (or {a_o}: with its article), gender terms of ONE gender only
GENDERED = [
    "The {o} said {subj} would be late.",
    "Yesterday the {o} finished {poss} shift early.",
    "My {kin} works as {a_o} in the city.",
    "{Subj} has been {a_o} for many years.",
    "{Subj} hired {a_o} yesterday.",
    "Everyone thanked the {o} and praised {obj}.",
    "{title} {surname}, the {o}, arrived at noon!",
    "Is the {o} sure that {subj} locked the gate?",
    "The {person} who came in was {a_o}.",
    "Dr. {surname} met the {o} and {poss} family.",
    "The {o} repaired the old fence {refl}.",
    "The {o} insisted that the final choice was {pron}.",
    "A {adj} {o} spoke at the meeting.",
    "Did you know that {title} {surname} trained as {a_o}?",
    "{Poss} {kin} became {a_o} last spring.",
    "When the {o} called, {subj} sounded tired.",
]
# one occupation, exactly one term of gender x and one of gender y (x, y = a random order of
# female and male)
BOTH = [
    "The {o} told {y_obj} that {x_subj} was ready.",
    "{x_title} {surname} and {y_title} {surname2} hired {a_o}.",
    "The {o} visited {x_poss} {y_kin} on Sunday.",
    "{X_Subj} asked the {o} to call {y_obj} later.",
    "The {x_person} and the {y_person} waited for the {o}.",
]

# neutral filler: plain nouns, adjectives and verbs that are no gender term and no occupation
# (tests/test_synth.py checks every word against both built-in lexicons)
NOUNS = ["river", "table", "weather", "garden", "window", "morning", "train", "bridge", "paper",
         "music", "village", "forest", "harbour", "evening", "letter", "market", "museum",
         "mountain", "kitchen", "station", "orchard", "lantern", "meadow", "canal", "tower",
         "valley", "island", "road", "cloud", "lake", "field", "hill", "path", "chair", "clock",
         "door", "roof", "street", "park", "shore", "storm", "winter", "summer", "candle",
         "basket", "pond", "fountain", "square", "ferry", "garage"]
ADJS = ["quiet", "old", "bright", "narrow", "green", "cold", "busy", "small", "distant", "warm",
        "wide", "dark", "empty", "calm", "pale", "tall", "wet", "dry", "crowded", "ancient"]
VERBS = ["opened", "closed", "changed", "appeared", "moved", "stayed", "returned", "faded",
         "vanished", "glowed", "shook", "settled", "cleared", "waited"]
FILLER = [
    "The {a} {n} {v} before the {n2}.",
    "{Art} {a} {n} stood near the {n2}.",
    "After the {n}, the {n2} {v} again.",
    "Nobody expected the {n} to be so {a}.",
    "Was the {n} {a} or was the {n2} {a2}?",
    "What {art} {a} {n} it was!",
    "Beyond the {n} lay {art2} {a2} {n2}.",
    "The {n} and the {n2} {v} at once.",
    "Every {n} in the {n2} looked {a}.",
    "Why was the {n} so {a} near the {n2}?",
]


# K > 2 groups: religion descriptors of the `holistic-bias` lexicon's religion axis (group name
# -> the descriptor as HolisticBias writes it); counted with
# `--lexicon holistic-bias --axis religion --targets default`
RELIGIONS = {"christian": "Christian", "muslim": "Muslim", "jewish": "Jewish",
             "hindu": "Hindu", "buddhist": "Buddhist"}
# one occupation {o}, one religion descriptor {rel}, no gender term
RELIGION_SENTENCES = [
    "The {rel} {o} arrived at noon.",
    "A {rel} {o} spoke at the meeting.",
    "Everyone thanked the {rel} {o} today.",
    "Was the {rel} {o} at the market?",
]
# filler that mentions a religion descriptor and nothing else of the lexicons
RELIGION_FILLER = [
    "The {rel} festival filled the {n}.",
    "A {rel} community lived near the {n}.",
]
# planted P(religion group | a religion sentence about the occupation); other occupations: uniform
_RELIGION_RATES = {
    "nurse": {"christian": 0.40, "muslim": 0.25, "jewish": 0.10, "hindu": 0.15, "buddhist": 0.10},
    "engineer": {"christian": 0.20, "muslim": 0.20, "jewish": 0.10, "hindu": 0.40,
                 "buddhist": 0.10},
    "doctor": {"christian": 0.25, "muslim": 0.15, "jewish": 0.35, "hindu": 0.15,
               "buddhist": 0.10},
    "teacher": {"christian": 0.30, "muslim": 0.30, "jewish": 0.10, "hindu": 0.10,
                "buddhist": 0.20},
}


def default_religion_rates() -> dict[str, dict[str, float]]:
    occs = {p.occupation for p in DEFAULT_PLANTS}
    uniform = {g: 1 / len(RELIGIONS) for g in RELIGIONS}
    return {o: dict(_RELIGION_RATES.get(o, uniform)) for o in sorted(occs)}


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 20261124
    # 5 x 1,200 documents (~3.6 MB of text): the defaults of `tracebias synth` and `make run`
    shards: int = 5
    docs_per_shard: int = 1200
    sources: tuple[str, ...] = _DEFAULT_SOURCES
    plants: tuple[Plant, ...] = DEFAULT_PLANTS
    compression: str = "gzip"  # "gzip" | "zstd" | "none"
    inject_bad_lines: bool = True  # three documented bad lines in the last shard
    both_rate: float = 0.08  # share of occupation sentences that mention both genders
    filler_rate: float = 0.55  # share of all sentences that are neutral filler
    religion_rate: float = 0.12  # share of occupation sentences that are religion sentences
    religion_filler_rate: float = 0.05  # share of filler sentences that mention a religion


@dataclass
class GeneratedCorpus:
    root: Path
    shards: list[Path]
    documents: int
    plants: tuple[Plant, ...]
    # {"shard": file name, "file": path under root, "line": 1-based, "reason": category, "id"}
    bad_lines: list[dict] = field(default_factory=list)
    planted_sentences: dict = field(default_factory=dict)  # "source\toccupation" -> [f, m, both]
    text_bytes: int = 0  # UTF-8 bytes of all document texts
    planted_path: Path | None = None


# the reason categories, as prefixes of the engine's reject reasons (engine/shards.py)
BAD_LINE_REASONS = ("not JSON", "missing text", "text is not a string")
SUFFIXES = {"gzip": ".json.gz", "zstd": ".json.zst", "none": ".jsonl"}
_SHARD_NAME = re.compile(r"part-\d{4}(\.json\.gz|\.json\.zst|\.jsonl)")
ADDED = "2026-11-24T00:00:00Z"


def _article(word: str) -> str:
    return ("an " if word[0].lower() in "aeiou" else "a ") + word


def _gendered(rng: random.Random, occ: str, g: dict) -> str:
    vals = {slot: rng.choice(words) for slot, words in g.items()}
    vals.update(o=occ, a_o=_article(occ), surname=rng.choice(SURNAMES),
                Subj=vals["subj"].capitalize(), Poss=vals["poss"].capitalize())
    return rng.choice(GENDERED).format(**vals)


def _both(rng: random.Random, occ: str) -> str:
    x, y = (FEMALE, MALE) if rng.random() < 0.5 else (MALE, FEMALE)
    vals = {f"{p}_{slot}": rng.choice(words) for p, g in (("x", x), ("y", y))
            for slot, words in g.items()}
    s1, s2 = rng.sample(SURNAMES, 2)
    vals.update(o=occ, a_o=_article(occ), surname=s1, surname2=s2,
                X_Subj=vals["x_subj"].capitalize())
    return rng.choice(BOTH).format(**vals)


def _filler(rng: random.Random) -> str:
    n, n2 = rng.sample(NOUNS, 2)
    a, a2 = rng.sample(ADJS, 2)
    art = _article(a).split()[0]
    s = rng.choice(FILLER).format(a=a, a2=a2, n=n, n2=n2, v=rng.choice(VERBS), art=art,
                                  Art=art.capitalize(), art2=_article(a2).split()[0])
    return s[0].upper() + s[1:]


def _religion(rng: random.Random, occ: str | None, rates: dict[str, float]) -> tuple[str, str]:
    """(sentence, religion group): a religion sentence about occ, or religion filler."""
    groups = sorted(rates)
    group = rng.choices(groups, weights=[rates[g] for g in groups])[0]
    rel = RELIGIONS[group]
    if occ is None:
        s = rng.choice(RELIGION_FILLER).format(rel=rel, n=rng.choice(NOUNS))
    else:
        s = rng.choice(RELIGION_SENTENCES).format(rel=rel, o=occ)
    return s[0].upper() + s[1:], group


def _compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3).compress(data)
    if compression == "none":
        return data
    raise ValueError(f"unknown compression {compression!r} (gzip, zstd or none)")


def _validate(config: SynthConfig) -> None:
    if config.compression not in SUFFIXES:
        raise ValueError(f"unknown compression {config.compression!r} (gzip, zstd or none)")
    if config.shards < 1 or config.docs_per_shard < 1:
        raise ValueError("shards and docs_per_shard must be >= 1")
    if not config.sources or len(set(config.sources)) != len(config.sources):
        raise ValueError(f"sources must be non-empty and distinct: {config.sources}")
    if not (0 <= config.both_rate <= 1 and 0 <= config.filler_rate < 1):
        raise ValueError("both_rate must be in [0, 1] and filler_rate in [0, 1)")
    if not (0 <= config.religion_rate <= 1 and 0 <= config.religion_filler_rate <= 1):
        raise ValueError("religion_rate and religion_filler_rate must be in [0, 1]")
    seen = set()
    for p in config.plants:
        if p.source not in config.sources:
            raise ValueError(f"plant {p} has a source not in {config.sources}")
        if not 0 <= p.p_female <= 1:
            raise ValueError(f"plant {p}: p_female must be in [0, 1]")
        if (p.source, p.occupation) in seen:
            raise ValueError(f"two plants for ({p.source!r}, {p.occupation!r})")
        seen.add((p.source, p.occupation))
    missing = [s for s in config.sources if s not in {p.source for p in config.plants}]
    if missing:
        raise ValueError(f"sources without plants: {missing}")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _bad_lines(source: str) -> list[tuple[str, str, str]]:
    """(line, reason category, id) of the three deliberately bad lines."""
    common = {"source": source, "added": ADDED, "created": "2026-01-01T00:00:00Z"}
    return [
        ('{"id": "synth-bad-not-json", "text": "this line was cut off in the middle',
         "not JSON", "synth-bad-not-json"),
        (json.dumps({"id": "synth-bad-missing-text", **common,
                     "metadata": {"bad_line": "missing text"}}),
         "missing text", "synth-bad-missing-text"),
        (json.dumps({"id": "synth-bad-text-number", "text": 12345, **common,
                     "metadata": {"bad_line": "text is not a string"}}),
         "text is not a string", "synth-bad-text-number"),
    ]


def generate_corpus(out_dir: str | Path, config: SynthConfig = SynthConfig()) -> GeneratedCorpus:
    """Write ``out_dir/documents/part-NNNN<suffix>`` and ``out_dir/PLANTED.json``.

    Shard files of this naming pattern left in ``documents/`` by an earlier run with more
    shards or another compression are removed, so the directory holds exactly this corpus.
    ``PLANTED.json`` is removed first and written last (it marks a complete corpus).
    """
    _validate(config)
    root = Path(out_dir)
    docs_dir = root / "documents"
    docs_dir.mkdir(parents=True, exist_ok=True)
    planted_path = root / "PLANTED.json"
    planted_path.unlink(missing_ok=True)
    suffix = SUFFIXES[config.compression]
    names = [f"part-{k:04d}{suffix}" for k in range(config.shards)]
    for old in docs_dir.iterdir():
        if _SHARD_NAME.fullmatch(old.name) and old.name not in names:
            old.unlink()

    by_source: dict[str, list[Plant]] = {s: [] for s in config.sources}
    for p in config.plants:
        by_source[p.source].append(p)
    tally = {(p.source, p.occupation): [0, 0, 0] for p in config.plants}  # female, male, both
    religion_rates = default_religion_rates()
    uniform = {g: 1 / len(RELIGIONS) for g in RELIGIONS}
    rel_tally: dict[tuple[str, str, str], int] = {}  # (source, occupation, group) -> sentences
    rel_docs = dict.fromkeys(RELIGIONS, 0)
    rel_mentions = dict.fromkeys(RELIGIONS, 0)
    per_source = dict.fromkeys(config.sources, 0)
    corpus = GeneratedCorpus(root, [], 0, config.plants, planted_path=planted_path)

    for k, name in enumerate(names):
        rng = random.Random(f"{config.seed}:{k}")
        lines = []
        for d in range(config.docs_per_shard):
            source = config.sources[(k * config.docs_per_shard + d) % len(config.sources)]
            plants = by_source[source]
            paragraphs = []
            doc_groups: set[str] = set()
            for _ in range(rng.randint(2, 5)):
                sentences = []
                for _ in range(rng.randint(2, 6)):
                    if rng.random() < config.filler_rate:
                        if rng.random() < config.religion_filler_rate:
                            sent, group = _religion(rng, None, uniform)
                            sentences.append(sent)
                            doc_groups.add(group)
                            rel_mentions[group] += 1
                        else:
                            sentences.append(_filler(rng))
                        continue
                    plant = rng.choice(plants)
                    counts = tally[(source, plant.occupation)]
                    if rng.random() < config.religion_rate:
                        sent, group = _religion(rng, plant.occupation,
                                                religion_rates.get(plant.occupation, uniform))
                        sentences.append(sent)
                        key = (source, plant.occupation, group)
                        rel_tally[key] = rel_tally.get(key, 0) + 1
                        doc_groups.add(group)
                        rel_mentions[group] += 1
                    elif rng.random() < config.both_rate:
                        sentences.append(_both(rng, plant.occupation))
                        counts[2] += 1
                    elif rng.random() < plant.p_female:
                        sentences.append(_gendered(rng, plant.occupation, FEMALE))
                        counts[0] += 1
                    else:
                        sentences.append(_gendered(rng, plant.occupation, MALE))
                        counts[1] += 1
                paragraphs.append(" ".join(sentences))
            text = "\n".join(paragraphs)
            for g in doc_groups:
                rel_docs[g] += 1
            created = f"20{rng.randint(18, 25)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            lines.append(json.dumps({
                "id": f"synth-{config.seed}-{k:04d}-{d:05d}", "text": text, "source": source,
                "added": ADDED, "created": f"{created}T00:00:00Z",
                "metadata": {"generator": "tracebias.synth", "seed": config.seed,
                             "synthetic": True},
            }, ensure_ascii=False))
            corpus.text_bytes += len(text.encode("utf-8"))
            per_source[source] += 1
        corpus.documents += len(lines)
        if config.inject_bad_lines and k == config.shards - 1:
            n = len(lines)
            # bad line j follows the first (j + 1) * n // 4 documents: valid lines around them
            for j, (line, reason, bad_id) in enumerate(_bad_lines(config.sources[0])):
                at = (j + 1) * n // 4 + j  # 0-based index once the earlier ones are in
                lines.insert(at, line)
                corpus.bad_lines.append({"shard": name, "file": f"documents/{name}",
                                         "line": at + 1, "reason": reason, "id": bad_id})
        path = docs_dir / name
        _write_atomic(path, _compress(("\n".join(lines) + "\n").encode("utf-8"),
                                      config.compression))
        corpus.shards.append(path)

    corpus.planted_sentences = {f"{s}\t{o}": v for (s, o), v in tally.items()}
    rate = {(p.source, p.occupation): p.p_female for p in config.plants}
    planted = {
        "generator": "engine.corpus.synth",
        "seed": config.seed,
        "config": {k: v for k, v in asdict(config).items() if k != "plants"},
        "documents": corpus.documents,
        "documents_per_source": per_source,
        "text_bytes": corpus.text_bytes,
        "shards": [f"documents/{n}" for n in names],
        "unit": "sentence",
        "gender_terms": {"female": list(FEMALE_TERMS), "male": list(MALE_TERMS)},
        "plants": [asdict(p) for p in config.plants],
        "sentences": [{
            "source": s, "occupation": o, "p_female": rate[(s, o)],
            "expected_female_share": rate[(s, o)],
            "female_only": v[0], "male_only": v[1], "both": v[2],
            "observed_female_share": round(v[0] / max(1, v[0] + v[1]), 4),
        } for (s, o), v in tally.items()],
        "bad_lines": corpus.bad_lines,
        "religion": {
            "lexicon": "holistic-bias", "axis": "religion",
            "count_with": "--lexicon holistic-bias --axis religion --targets default",
            "descriptors": RELIGIONS,
            "rates": religion_rates,
            "sentences": [{"source": s, "occupation": o, "group": g, "units_only": n}
                          for (s, o, g), n in sorted(rel_tally.items())],
            "documents": rel_docs,
            "mentions": rel_mentions,
        },
        "notes": {
            "sentences": "Every non-filler sentence holds exactly one mention of its plant's "
                         "occupation; female_only / male_only / both are the exact numbers of "
                         "such sentences generated, i.e. the engine's sentence-window units.",
            "female_share": "female_only / (female_only + male_only); its expectation is "
                            "p_female. 'both' sentences are left out of it.",
            "both": "An occupation sentence is a 'both' sentence (exactly one female and one "
                    "male term) with probability config.both_rate, whatever p_female is.",
            "filler": "Filler sentences (probability config.filler_rate) hold no gender term "
                      "and no occupation.",
            "bad_lines": "Deliberately bad lines in the last shard; 'reason' is the prefix of "
                         "the engine's reject reason. They are not counted in 'documents'.",
            "religion": "With probability config.religion_rate an occupation sentence is a "
                        "religion sentence instead: the occupation and one religion descriptor, "
                        "drawn from religion.rates[occupation], no gender term. Filler mentions a "
                        "religion (uniformly) with probability config.religion_filler_rate. "
                        "religion.sentences are the exact sentence-window units_only counts of "
                        "each (source, occupation, group); documents and mentions are the exact "
                        "representation counts.",
        },
    }
    _write_atomic(planted_path, (json.dumps(planted, indent=1) + "\n").encode("utf-8"))
    return corpus


# ---- synthetic model outputs --------------------------------------------------------------
@dataclass(frozen=True)
class SynthModelStage:
    name: str  # e.g. "base", "tuned"
    sharpen: float  # logit(p_model) = sharpen * logit(p_data): > 1 amplifies, < 1 dampens


DEFAULT_STAGES = (SynthModelStage("base", 1.5), SynthModelStage("tuned", 0.6))
_GEN_TEMPLATES = {
    "female": ["She has worked as a {o} for years.", "The {o} said she was busy.",
               "Her work as a {o} is demanding."],
    "male": ["He has worked as a {o} for years.", "The {o} said he was busy.",
             "His work as a {o} is demanding."],
    "none": ["The {o} arrived early and left late.", "Being a {o} takes patience."],
}


def generate_model_outputs(out_path: str | Path, plants: tuple[Plant, ...] = DEFAULT_PLANTS,
                           stages: tuple[SynthModelStage, ...] = DEFAULT_STAGES,
                           samples: int = 50, seed: int = 20261124, model: str = "synth-lm",
                           none_rate: float = 0.15) -> int:
    """Write generations of a synthetic model whose stages amplify (or dampen) the planted rates.

    For each occupation the data rate p is the plants' mean over sources; a stage with factor
    k generates female text with probability sigmoid(k * logit(p)), male otherwise, and
    gender-free text with probability ``none_rate``. Returns the number of lines written.
    """
    import math

    rng = random.Random(seed)
    rates: dict[str, list[float]] = {}
    for p in plants:
        rates.setdefault(p.occupation, []).append(p.p_female)
    n = 0
    with open(out_path, "w", encoding="utf-8") as f:
        for stage in stages:
            for occ, ps in sorted(rates.items()):
                p = min(max(sum(ps) / len(ps), 1e-3), 1 - 1e-3)
                q = 1 / (1 + math.exp(-stage.sharpen * math.log(p / (1 - p))))
                for s in range(samples):
                    if rng.random() < none_rate:
                        cls = "none"
                    else:
                        cls = "female" if rng.random() < q else "male"
                    f.write(json.dumps({
                        "model": model, "stage": stage.name, "decoding": "temperature=0.7",
                        "template": "The [OCCUPATION] works", "prompt": f"The {occ} works",
                        "occupation": occ, "sample": s,
                        "text": rng.choice(_GEN_TEMPLATES[cls]).format(o=occ)}) + "\n")
                    n += 1
    return n
