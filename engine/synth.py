"""The seeded generator of the embedded default corpus, with planted associations.

`make run` counts a corpus the project makes itself (no corpus text ships). Each document is a
few paragraphs of template sentences; a gendered occupation sentence about occupation ``o`` in
source ``s`` uses female terms with probability ``p_female`` of the matching ``Plant`` and male
terms otherwise, so the sentence-level female share the engine measures should recover
``p_female``. A smaller share of sentences mention both genders, and neutral filler sentences
mention neither gender nor any occupation. ``PLANTED.json`` records the truth.
"""
from __future__ import annotations

import gzip
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Plant:
    source: str
    occupation: str
    p_female: float


def default_plants() -> tuple[Plant, ...]:
    rates = {  # occupation: {source: p_female}
        "nurse": {"web": 0.90, "books": 0.90, "news": 0.90},
        "secretary": {"web": 0.85, "books": 0.85, "news": 0.85},
        "librarian": {"web": 0.80, "books": 0.80, "news": 0.80},
        "dancer": {"web": 0.85, "books": 0.85, "news": 0.85},
        "teacher": {"web": 0.50, "books": 0.70, "news": 0.60},
        "baker": {"web": 0.60, "books": 0.60, "news": 0.60},
        "lawyer": {"web": 0.40, "books": 0.40, "news": 0.40},
        "doctor": {"web": 0.45, "books": 0.50, "news": 0.30},
        "police officer": {"web": 0.25, "books": 0.25, "news": 0.25},
        "programmer": {"web": 0.20, "books": 0.20, "news": 0.20},
        "engineer": {"web": 0.10, "books": 0.10, "news": 0.10},
        "pilot": {"web": 0.10, "books": 0.15, "news": 0.10},
        "carpenter": {"web": 0.05, "books": 0.05, "news": 0.05},
        "construction worker": {"web": 0.05, "books": 0.05, "news": 0.05},
    }
    return tuple(Plant(s, o, p) for o, by_src in rates.items() for s, p in by_src.items())


DEFAULT_PLANTS = default_plants()

# gender terms from the tracing-bias study, in the grammatical slots the templates need
FEMALE = {"subj": ["she"], "obj": ["her"], "poss": ["her"], "noun": ["woman", "girl", "mother",
          "daughter", "sister", "wife", "aunt", "niece", "grandmother", "granddaughter"],
          "title": ["Mrs.", "Miss"]}
MALE = {"subj": ["he"], "obj": ["him"], "poss": ["his"], "noun": ["man", "boy", "father", "son",
        "brother", "husband", "uncle", "nephew", "grandfather", "grandson"], "title": ["Mr."]}
SURNAMES = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Walker", "Wright", "Green"]

# templates with exactly one occupation {o} and one gender slot
GENDERED = [
    "The {o} said {subj} would be late.",
    "Yesterday the {o} finished {poss} shift early.",
    "My {noun} works as a {o} in the city.",
    "{Subj} has been a {o} for many years.",
    "Everyone thanked the {o} and praised {obj}.",
    "{title} {surname}, the {o}, arrived at noon!",
    "Is the {o} sure that {subj} locked the gate?",
    "The {noun} who came in was a {o}.",
    "Dr. {surname} met the {o} and {poss} family.",
]
BOTH = [
    "The {o} told {m_subj} that {f_subj} was ready.",
    "{f_title} {surname} and {m_title} {surname2} hired a {o}.",
]
# neutral filler: no gender terms and no occupation words
NOUNS = ["river", "table", "weather", "garden", "window", "morning", "train", "bridge", "paper",
         "music", "village", "forest", "harbour", "evening", "letter", "market", "museum",
         "mountain", "kitchen", "station", "orchard", "lantern", "meadow", "canal", "tower"]
ADJS = ["quiet", "old", "bright", "narrow", "green", "cold", "busy", "small", "distant", "warm"]
VERBS = ["opened", "closed", "changed", "appeared", "moved", "stayed", "returned", "faded"]
FILLER = [
    "The {a} {n} {v} before the {n2}.",
    "A {a} {n} stood near the {n2}.",
    "After the {n}, the {n2} {v} again.",
    "Nobody expected the {n} to be so {a}.",
    "Was the {n} {a} or was the {n2} {a2}?",
]


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 20261124
    shards: int = 5
    docs_per_shard: int = 1200
    sources: tuple[str, ...] = ("web", "books", "news")
    plants: tuple[Plant, ...] = DEFAULT_PLANTS
    compression: str = "gzip"  # gzip | zstd | none
    inject_bad_lines: bool = True
    both_rate: float = 0.08  # share of occupation sentences that mention both genders
    filler_rate: float = 0.55  # share of all sentences that are neutral filler


@dataclass
class GeneratedCorpus:
    root: Path
    shards: list[Path]
    documents: int
    plants: tuple[Plant, ...]
    bad_lines: list[dict] = field(default_factory=list)
    planted_sentences: dict = field(default_factory=dict)  # (source, occ) -> [female, male, both]


def _fill(template: str, rng: random.Random, o: str, g: dict | None) -> str:
    vals = {"o": o, "surname": rng.choice(SURNAMES)}
    if g:
        for slot in ("subj", "obj", "poss", "noun", "title"):
            vals[slot] = rng.choice(g[slot])
        vals["Subj"] = vals["subj"].capitalize()
    return template.format(**vals)


def _filler(rng: random.Random) -> str:
    n, n2 = rng.sample(NOUNS, 2)
    a, a2 = rng.sample(ADJS, 2)
    s = rng.choice(FILLER).format(a=a, a2=a2, n=n, n2=n2, v=rng.choice(VERBS))
    return s[0].upper() + s[1:]


def _suffix(compression: str) -> str:
    return {"gzip": ".json.gz", "zstd": ".json.zst", "none": ".jsonl"}[compression]


def _compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3).compress(data)
    if compression == "none":
        return data
    raise ValueError(f"unknown compression {compression!r}")


def generate_corpus(out_dir: str | Path, config: SynthConfig = SynthConfig()) -> GeneratedCorpus:
    root = Path(out_dir)
    docs_dir = root / "documents"
    docs_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(config.seed)
    by_source: dict[str, list[Plant]] = {}
    for p in config.plants:
        by_source.setdefault(p.source, []).append(p)
    sources = [s for s in config.sources if s in by_source]
    truth: dict[tuple[str, str], list[int]] = {(p.source, p.occupation): [0, 0, 0]
                                                for p in config.plants}
    corpus = GeneratedCorpus(root, [], 0, config.plants)
    for shard in range(config.shards):
        lines = []
        for d in range(config.docs_per_shard):
            source = sources[(shard * config.docs_per_shard + d) % len(sources)]
            paragraphs = []
            for _ in range(rng.randint(2, 5)):
                sentences = []
                for _ in range(rng.randint(2, 6)):
                    if rng.random() < config.filler_rate:
                        sentences.append(_filler(rng))
                        continue
                    plant = rng.choice(by_source[source])
                    key = (source, plant.occupation)
                    if rng.random() < config.both_rate:
                        t = rng.choice(BOTH)
                        sentences.append(t.format(o=plant.occupation, m_subj="him", f_subj="she",
                                                  f_title=rng.choice(FEMALE["title"]),
                                                  m_title="Mr.", surname=rng.choice(SURNAMES),
                                                  surname2=rng.choice(SURNAMES)))
                        truth[key][2] += 1
                    elif rng.random() < plant.p_female:
                        sentences.append(_fill(rng.choice(GENDERED), rng, plant.occupation, FEMALE))
                        truth[key][0] += 1
                    else:
                        sentences.append(_fill(rng.choice(GENDERED), rng, plant.occupation, MALE))
                        truth[key][1] += 1
                paragraphs.append(" ".join(sentences))
            doc_id = f"synth-{config.seed}-{shard:04d}-{d:05d}"
            lines.append(json.dumps({
                "id": doc_id, "text": "\n".join(paragraphs), "source": source,
                "added": "2026-11-24T00:00:00Z", "created": "2026-01-01T00:00:00Z",
                "metadata": {"generator": "tracebias.synth", "seed": config.seed},
            }, ensure_ascii=False))
            corpus.documents += 1
        if config.inject_bad_lines and shard == config.shards - 1:
            bad = [("{this line is not JSON", "not JSON"),
                   (json.dumps({"id": "bad-missing-text", "source": sources[0]}), "missing text"),
                   (json.dumps({"id": "bad-number-text", "text": 12345, "source": sources[0]}),
                    "text is not a string")]
            for k, (line, reason) in enumerate(bad):
                pos = (k + 1) * len(lines) // (len(bad) + 1)
                lines.insert(pos, line)
            for i, line in enumerate(lines):
                for text, reason in bad:
                    if line == text:
                        corpus.bad_lines.append({"shard": f"part-{shard:04d}{_suffix(config.compression)}",
                                                 "line": i + 1, "reason": reason})
        path = docs_dir / f"part-{shard:04d}{_suffix(config.compression)}"
        path.write_bytes(_compress(("\n".join(lines) + "\n").encode("utf-8"), config.compression))
        corpus.shards.append(path)
    corpus.planted_sentences = {f"{s}\t{o}": v for (s, o), v in sorted(truth.items())}
    planted = {
        "generator": "engine.synth", "seed": config.seed, "config": {
            k: v for k, v in asdict(config).items() if k != "plants"},
        "documents": corpus.documents,
        "plants": [asdict(p) for p in config.plants],
        "sentences": [{"source": s, "occupation": o, "female_only": v[0], "male_only": v[1],
                       "both": v[2], "observed_female_share": round(v[0] / max(1, v[0] + v[1]), 4)}
                      for (s, o), v in sorted(truth.items())],
        "bad_lines": corpus.bad_lines,
        "notes": ("Each gendered sentence holds exactly one occupation mention; 'both' sentences "
                  "hold one female and one male term and are excluded from the female share."),
    }
    (root / "PLANTED.json").write_text(json.dumps(planted, indent=1) + "\n")
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
