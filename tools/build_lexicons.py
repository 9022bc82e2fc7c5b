"""Build the shipped lexicons, labour statistics and prompt templates from ../shared/data.

Writes (deterministically: the same inputs give the same bytes) into engine/data, or --out:
    lexicons/tracing-bias.json        the study's exact lists (tracebias-lexicon/1, case any)
    lexicons/default.json             v2: + plurals, WinoBias, Winogender; per-form case rules
    lexicons/holistic-bias.json       HolisticBias v1.1 descriptors by axis + its gender nouns
    lexicons/pronouns.json            the pronoun groups of Llama 2's demographic table
    lexicons/weat.json                WEAT word sets: categories as axes, attributes as targets
    lexicons/identity-sentiment.json  race/religion/nationality x Hu & Liu opinion words
    labour_stats.tsv                  US % women per occupation, with its source
    prompt_templates.json             the study's prompt templates

Every data decision (a form dropped, a word given to one set, a case rule) is made here, in
code, printed when the script runs and documented in docs/lexicons.md; every source is in
engine/data/ATTRIBUTION.md.

Run:  .venv/bin/python tools/build_lexicons.py [--shared ../shared/data] [--out engine/data]
The project never reads ../shared at run time; these files are what ships.
"""
from __future__ import annotations

import argparse
import ast
import csv
import json
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.lexicon import LexiconError, form_words, lexicon_from_dict  # noqa: E402
from engine.lexicon.unicode import pretokenize  # noqa: E402

OUT = ROOT / "engine" / "data"

TB_ATTRIB = ("Word lists and US labour statistics from marionthaler/tracing_bias @ 973c8c3a "
             "(\"How Far Can Bias Go? Tracing Bias from Pre-Training Data to Alignment\", LREC 2026).")
WB_ATTRIB = "WinoBias occupations and % women (US BLS) from uclanlp/corefBias @ 0bce984d (MIT)."
WG_ATTRIB = "Winogender occupations and % women (US BLS 2015) from rudinger/winogender-schemas @ 1c7f8b48 (MIT)."
HB_ATTRIB = ("HolisticBias v1.1 descriptors and nouns (facebookresearch/ResponsibleNLP @ 0ec714e, "
             "holistic_bias/dataset/v1.1/), Smith et al. 2022, \"I'm sorry to hear that\": Finding "
             "New Biases in Language Models with a Holistic Descriptor Dataset, licensed CC BY-SA 4.0; "
             "adapted by tools/build_lexicons.py (forms the tokenizer cannot take and one form that "
             "is also an occupation removed; see docs/lexicons.md).")
HB_LICENSE = "CC BY-SA 4.0"
OPINION_ATTRIB = ("Opinion lexicon of Minqing Hu and Bing Liu, \"Mining and Summarizing Customer "
                  "Reviews\", KDD 2004 (positive-words.txt, negative-words.txt as shipped in the "
                  "wefe 1.0.1 wheel).")
WEAT_ATTRIB = ("WEAT word sets of Caliskan, Bryson & Narayanan 2017 (Science 356:183), from the "
               "wefe 1.0.1 wheel (MIT), wefe/datasets/data/WEAT.json; the sets come from Greenwald "
               "et al. 1998, Bertrand & Mullainathan 2004, Nosek et al. 2002a/b and Monteith & "
               "Pettit 2011.")
PRONOUN_ATTRIB = ("Pronoun groups of the demographic-representation analysis of Touvron et al. "
                  "2023, \"Llama 2: Open Foundation and Fine-Tuned Chat Models\", section 4.1.")

EXTRA_FEMALE = ["women", "girls", "mothers", "daughters", "sisters", "wives", "aunts", "nieces",
                "granddaughters", "grandmothers", "females", "Ms.", "lady", "ladies", "mom", "moms",
                "mum", "mums", "girlfriend", "girlfriends"]
EXTRA_MALE = ["men", "boys", "fathers", "sons", "brothers", "husbands", "uncles", "nephews",
              "grandsons", "grandfathers", "males", "gentleman", "gentlemen", "dad", "dads",
              "boyfriend", "boyfriends"]

PLURAL_OVERRIDES = {
    "chief": "chiefs", "chef": "chefs", "sheriff": "sheriffs", "staff": "staff",
    "salesperson": "salespeople", "spokesperson": "spokespeople", "person": "people",
    "maestro": "maestros", "attorney": "attorneys", "CEO": "CEOs", "comic": "comics",
}

TITLE_FORMS = ("Miss", "Mrs.", "Mr.", "Ms.")

# Occupation forms of `default` that match only when written all lowercase. Evidence: on the
# Wikipedia shards, `tools/lexicon_case_audit.py ../shared/data/wikipedia-en/documents
# --lexicon default --targets-only --min-n 20 --min-proper 0.3 --samples 15` lists the forms
# whose capitalised mid-sentence uses not followed by a name make up >= 30% of all matches;
# these are the ones whose sampled uses are mostly surnames, organisations, teams or works
# (table and reasons in docs/lexicons.md). Forms whose capitalised uses are mostly real
# holders of the job (Captain Cook, Doctor Watson, Sheriff of Nottingham, Chief Constable,
# Royal College of Surgeons, CEO) were reviewed and left alone.
DEFAULT_LOWER = (
    "baker", "barber", "brewer", "brewers", "carpenter", "comics", "cook", "counsellors",
    "examiner", "fisher", "guard", "guards", "planner", "ranger", "rangers", "secretaries",
    "secretary", "supervisors", "teller",
)

# ---- HolisticBias -------------------------------------------------------------------------
HB_AXES_FOR_SENTIMENT = ("race_ethnicity", "religion", "nationality")

# ---- pronouns (Llama 2, section 4.1, Table 9a) --------------------------------------------
PRONOUN_GENDER = [
    ("she", ["she", "her", "hers", "herself"]),
    ("he", ["he", "him", "his", "himself"]),
    ("they", ["they", "them", "their", "theirs", "themselves", "themself"]),
]
PRONOUN_PERSON = [
    ("first", ["I", "me", "my", "mine", "myself", "we", {"form": "us", "case": "lower"}, "our",
               "ours", "ourselves"]),
    ("second", ["you", "your", "yours", "yourself", "yourselves"]),
    ("third", [f for _, fs in PRONOUN_GENDER for f in fs]),
]

# ---- WEAT ---------------------------------------------------------------------------------
# axis -> (description, [(group, WEAT.json set)]): the WEAT "target" concepts that are people
# or categories. WEAT 7 and 8 pair math/science vs arts (their targets) with male vs female
# terms (their attributes); here the terms are the axis and math/science/arts the targets.
WEAT_AXES = [
    ("weat1_flowers_insects", "WEAT 1: flowers vs insects (x pleasant / unpleasant)",
     [("flowers", "flowers"), ("insects", "insects")]),
    ("weat2_instruments_weapons", "WEAT 2: instruments vs weapons (x pleasant / unpleasant)",
     [("instruments", "instruments"), ("weapons", "weapons")]),
    ("weat3_race_names", ("WEAT 3: European- vs African-American names of Greenwald et al. "
                          "1998 (x pleasant / unpleasant)"),
     [("european_american", "european_american_names_5"),
      ("african_american", "african_american_names_5")]),
    ("weat4_race_names", ("WEAT 4 and 5: European- vs African-American names of Bertrand & "
                          "Mullainathan 2004 (x pleasant / unpleasant)"),
     [("european_american", "european_american_names_7"),
      ("african_american", "african_american_names_7")]),
    ("weat6_gender_names", "WEAT 6: female vs male names (x career / family)",
     [("female", "female_names"), ("male", "male_names")]),
    ("weat7_gender_terms", "WEAT 7: female vs male terms (x math / arts)",
     [("female", "female_terms"), ("male", "male_terms")]),
    ("weat8_gender_terms", "WEAT 8: female vs male terms (x science / arts)",
     [("female", "female_terms_2"), ("male", "male_terms_2")]),
    ("weat9_disease", "WEAT 9: mental vs physical disease (x temporary / permanent)",
     [("mental", "mental_disease"), ("physical", "physical_disease")]),
    ("weat10_age_names", "WEAT 10: young vs old people's names (x pleasant / unpleasant)",
     [("young", "young_people_names"), ("old", "old_people_names")]),
]
# target set -> the WEAT.json attribute sets it unites (a target belongs to one set)
WEAT_SETS = [
    ("pleasant", ["pleasant_5", "pleasant_9"]),
    ("unpleasant", ["unpleasant_5a", "unpleasant_5b", "unpleasant_9"]),
    ("career", ["career"]),
    ("family", ["family"]),
    ("math", ["math"]),
    ("arts", ["arts", "arts_2"]),
    ("science", ["science"]),
    ("temporary", ["temporary"]),
    ("permanent", ["permanent"]),
]
# words in two target sets -> the set they keep (the build fails if another word is shared)
WEAT_SHARED = {"family": "family"}  # also in pleasant_5; family (8 words) needs it more
# target words that are also group terms: the axis keeps them (the build checks this list)
WEAT_TERM_AND_TARGET = {"cancer": "weat9_disease/physical", "bomb": "weat2_instruments_weapons/weapons"}

# ---- opinion lexicon ----------------------------------------------------------------------
# words listed as both positive and negative -> the set they keep (their dictionary sense)
OPINION_BOTH = {"envious": "negative", "enviously": "negative", "enviousness": "negative"}


class Log:
    """Collects what each build kept and dropped; printed, and asserted on by the tests."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, msg: str) -> None:
        self.lines.append(msg)
        print(msg)


def plural(word: str) -> str:
    if word in PLURAL_OVERRIDES:
        return PLURAL_OVERRIDES[word]
    head, _, last = word.rpartition(" ")
    if last in PLURAL_OVERRIDES:
        p = PLURAL_OVERRIDES[last]
    elif last.endswith("man") and last not in ("human",):
        p = last[:-3] + "men"
    elif last.endswith(("s", "sh", "ch", "x", "z")):
        p = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        p = last[:-1] + "ies"
    else:
        p = last + "s"
    return f"{head} {p}" if head else p


def py_list(path: Path) -> list[str]:
    return list(ast.literal_eval(path.read_text().split("=", 1)[1].strip()))


def loose_json(path: Path):
    """JSON with trailing commas (HolisticBias's descriptors.json is not strict JSON)."""
    return json.loads(re.sub(r",(\s*[\]}])", r"\1", path.read_text(encoding="utf-8")))


def snake(text: str) -> str:
    """A group name from a descriptor: 'Seventh-Day Adventist' -> 'seventh_day_adventist'."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_.lower()).strip("_")


def words_of(form) -> tuple[str, ...] | None:
    """The matcher's words of a form (a string or {"form", "case"}), or None if unusable."""
    text = form["form"] if isinstance(form, dict) else form
    try:
        return form_words(text)[0]
    except LexiconError:
        return None


def load_shared(shared: Path) -> dict:
    tb = shared / "tracing-bias"
    female = py_list(tb / "gender_identifying_terms_female.txt")
    male = py_list(tb / "gender_identifying_terms_male.txt")
    occupations = list(dict.fromkeys(py_list(tb / "occupational_terms.txt")))
    sectors = {}
    for line in (tb / "sector_mapping.txt").read_text().splitlines():
        if " = " in line:
            occ, sector = line.split(" = ", 1)
            sectors[occ.strip().replace(" ", "")] = sector.strip()
    stats = {}
    with open(tb / "occupations_us_pct_women.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            stats[r["Occupation"].strip()] = (float(r["Percentage_Women"]), r["Sector"].strip())
    wb = {}
    with open(shared / "lexicons" / "winobias_occupations_pct_female.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            wb[r["occupation"].strip()] = float(r["pct_female"])
    wg = {}
    with open(shared / "lexicons" / "occupations-stats.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            wg[r["occupation"].strip()] = (float(r["bls_pct_female"]), r["bls_year"].strip())
    return {"female": female, "male": male, "occupations": occupations, "sectors": sectors,
            "stats": stats, "winobias": wb, "winogender": wg}


def world_stat(occ: str, src: dict):
    """(pct_female, sector, source, year) with precedence study > WinoBias > Winogender."""
    sector = src["sectors"].get(occ.replace(" ", "")) or src["stats"].get(occ, (None, None))[1]
    if occ in src["stats"]:
        return src["stats"][occ][0], sector, "tracing-bias (US BLS)", ""
    if occ in src["winobias"]:
        return src["winobias"][occ], sector, "WinoBias (US BLS)", "2017"
    if occ in src["winogender"]:
        pct, year = src["winogender"][occ]
        return pct, sector, "Winogender (US BLS)", year
    return None, sector, None, ""


def target(occ: str, forms: list, src: dict) -> dict:
    pct, sector, source, _ = world_stat(occ, src)
    t = {"name": occ, "forms": forms}
    if sector:
        t["sector"] = sector
    if pct is not None:
        t["pct_female"] = pct
        t["stats_source"] = source
    return t


# ---- the occupation lexicons --------------------------------------------------------------
def build_tracing_bias(src: dict) -> dict:
    return {
        "format": "tracebias-lexicon/1", "name": "tracing-bias", "version": "1.0",
        "description": ("Exactly the gender terms (17 female, 16 male) and 219 occupations "
                        "(singular forms) of the Dolma/OLMo tracing-bias study."),
        "attribution": TB_ATTRIB,
        "genders": {"female": src["female"], "male": src["male"]},
        "targets": [target(o, [o], src) for o in src["occupations"]],
    }


def default_occupations(src: dict) -> list[str]:
    extra = [o for o in list(src["winobias"]) + list(src["winogender"])
             if o not in src["occupations"]]
    return src["occupations"] + list(dict.fromkeys(extra))


def build_default(src: dict, log: Log) -> dict:
    lower = set(DEFAULT_LOWER)
    seen = set()

    def cased(form: str):
        if form in lower:
            seen.add(form)
            return {"form": form, "case": "lower"}
        return form

    def titled(form: str):
        # honorifics match only written as titles: "Ms." but not "MS" (multiple sclerosis,
        # Microsoft, manuscripts), "Miss" but not "MISS"
        return {"form": form, "case": "title"} if form in TITLE_FORMS else form

    targets = [target(o, [cased(f) for f in dict.fromkeys([o, plural(o)])], src)
               for o in default_occupations(src)]
    missing = lower - seen
    if missing:
        raise SystemExit(f"DEFAULT_LOWER names forms default does not have: {sorted(missing)}")
    female = [titled(f) for f in src["female"] + EXTRA_FEMALE]
    male = [titled(f) for f in src["male"] + EXTRA_MALE]
    capitalised = [f for f in female + male + [f for t in targets for f in t["forms"]]
                   if isinstance(f, str) and f[:1].isupper()]
    log(f"default: {len(female)} female, {len(male)} male terms, {len(targets)} targets; "
        f"case as-written makes {len(capitalised)} forms capitalised-only ({', '.join(capitalised)}); "
        f"{len(lower)} occupation forms lowercase-only ({', '.join(sorted(lower))})")
    return {
        "format": "tracebias-lexicon/2", "name": "default", "version": "2.0",
        "description": (
            "The tracing-bias lists plus plural and inflected forms, and the WinoBias and "
            "Winogender occupations, with US labour statistics. Case rules: the honorifics "
            "Miss, Mrs., Mr. and Ms. match only written as titles (not MS, MISS); CEO matches "
            "only capitalised; occupation words "
            "that are mostly surnames, teams or titles when capitalised (teller, baker, cook, "
            "secretary, guard, ...) match only in lowercase."),
        "attribution": " ".join([TB_ATTRIB, WB_ATTRIB, WG_ATTRIB]),
        "license": "MIT (WinoBias and Winogender lists); the tracing-bias lists state no "
                   "licence (word lists and published labour statistics)",
        "case": "as-written",
        "axes": [{"name": "gender", "groups": [{"name": "female", "forms": female},
                                               {"name": "male", "forms": male}]}],
        "targets": targets,
    }


# ---- HolisticBias -------------------------------------------------------------------------
def hb_descriptor(entry) -> str:
    return entry if isinstance(entry, str) else entry["descriptor"]


def build_holistic_bias(shared: Path, occupation_forms: dict, log: Log) -> dict:
    """``occupation_forms``: words -> occupation of the built-in target lists (a descriptor
    that is also an occupation would make ``--targets tracing-bias`` fail, so it is dropped)."""
    hb = shared / "holistic-bias"
    desc = loose_json(hb / "descriptors.json")
    nouns = json.loads((hb / "nouns.json").read_text(encoding="utf-8"))
    n_source = sum(len(v) for a, b in desc.items() if a != "nonce" for v in b.values())
    axes = []
    kept = 0
    for axis, buckets in desc.items():
        if axis == "nonce":
            log(f"holistic-bias: axis 'nonce' left out ({sum(map(len, buckets.values()))} "
                "made-up control words)")
            continue
        per_descriptor = len(buckets) == 1
        groups: list[dict] = []
        seen: dict[tuple[str, ...], str] = {}
        for bucket, entries in buckets.items():
            forms = []
            for e in entries:
                d = hb_descriptor(e)
                where = f"{axis}/{bucket}"
                w = words_of(d)
                if w is None:
                    plain = tuple(t for t, is_word in pretokenize(d) if is_word)
                    if plain in seen:
                        log(f"holistic-bias: dropped {d!r} ({where}): its punctuation cannot be "
                            f"in a form, and its words are the form {seen[plain]!r} of the same "
                            f"axis, which already matches {d!r} in text")
                    else:
                        log(f"holistic-bias: dropped {d!r} ({where}): the tokenizer splits it at "
                            "punctuation other than a hyphen, so no form can match it")
                    continue
                if w in occupation_forms:
                    log(f"holistic-bias: dropped {d!r} ({where}): it is also the occupation "
                        f"{occupation_forms[w]!r} of tracing-bias and default, and a form cannot "
                        "be both a group term and a target; without it every axis crosses with "
                        "the occupations (count it as a target instead)")
                    continue
                if w in seen:
                    log(f"holistic-bias: dropped {d!r} ({where}): same words as {seen[w]!r}")
                    continue
                seen[w] = d
                forms.append(d)
            if per_descriptor:
                for d in forms:
                    groups.append({"name": snake(d), "forms": [d]})
            elif forms:
                groups.append({"name": bucket, "forms": forms})
        kept += sum(len(g["forms"]) for g in groups)
        if len(groups) > 64:
            raise SystemExit(f"holistic-bias axis {axis!r} has {len(groups)} groups (max 64)")
        how = ("each descriptor its own group (the axis has one bucket)" if per_descriptor
               else "its buckets as groups")
        axes.append({"name": axis, "description": f"HolisticBias v1.1 axis {axis!r}: {how}",
                     "groups": groups})
    gender_groups = [{"name": g, "forms": [f for pair in pairs for f in pair]}
                     for g, pairs in nouns.items()]
    axes.append({"name": "gender", "description": "HolisticBias v1.1 nouns (nouns.json), "
                 "singular and plural", "groups": gender_groups})
    n_nouns = sum(len(g["forms"]) for g in gender_groups)
    log(f"holistic-bias: kept {kept} of {n_source} descriptors (all axes but nonce) and "
        f"{n_nouns} gender nouns; {len(axes)} axes, "
        f"{sum(len(a['groups']) for a in axes)} groups")
    return {
        "format": "tracebias-lexicon/2", "name": "holistic-bias", "version": "1.0",
        "description": (
            "HolisticBias v1.1 demographic descriptors (Smith et al. 2022) in 12 axes (all but "
            "nonce): buckets as groups, and one group per descriptor in religion and "
            "political_ideologies; every descriptor is a form, so descriptor-level counts exist. "
            "Plus a gender axis (female, male, neutral) from its nouns. No targets: counts "
            "representation (documents and mentions per term), or cross with --targets."),
        "attribution": HB_ATTRIB,
        "license": HB_LICENSE,
        "axes": axes,
        "targets": [],
    }


# ---- pronouns -----------------------------------------------------------------------------
def build_pronouns(log: Log) -> dict:
    lex = {
        "format": "tracebias-lexicon/2", "name": "pronouns", "version": "1.0",
        "description": (
            "English personal pronouns grouped as in Llama 2's demographic-representation table: "
            "by gender (she, he, they) and by grammatical person (first, second, third; third = "
            "the she, he and they pronouns, without it). 'I' matches only capitalised (not "
            "'i.e.'), 'us' only lowercase (not 'US')."),
        "attribution": PRONOUN_ATTRIB,
        "license": "none needed (a list of English pronouns)",
        "case": "as-written",
        "axes": [
            {"name": "pronoun_gender", "description": "Llama 2 Table 9a: She, He and Unknown "
             "(they) pronouns", "groups": [{"name": g, "forms": f} for g, f in PRONOUN_GENDER]},
            {"name": "grammatical_person", "description": "Llama 2 Table 9a: 1st-, 2nd- and "
             "3rd-person pronouns",
             "groups": [{"name": g, "forms": f} for g, f in PRONOUN_PERSON]},
        ],
        "targets": [],
    }
    log("pronouns: " + "; ".join(f"{a['name']}: " + ", ".join(
        f"{g['name']} {len(g['forms'])}" for g in a["groups"]) for a in lex["axes"]))
    return lex


# ---- WEAT ---------------------------------------------------------------------------------
def build_weat(shared: Path, log: Log) -> dict:
    sets = json.loads((shared / "weat" / "WEAT.json").read_text(encoding="utf-8"))
    used = {s for _, _, gs in WEAT_AXES for _, s in gs} | {s for _, ss in WEAT_SETS for s in ss}
    unused = sorted(set(sets) - used)
    if unused:
        raise SystemExit(f"WEAT.json sets not placed in an axis or a target set: {unused}")
    axes = [{"name": a, "description": desc,
             "groups": [{"name": g, "description": f"WEAT.json {s!r}", "forms": sets[s]}
                        for g, s in groups]}
            for a, desc, groups in WEAT_AXES]
    terms = {words_of(w): f"{a['name']}/{g['name']}" for a in axes for g in a["groups"]
             for w in g["forms"]}
    owner: dict[str, str] = {}  # word -> target set
    order: list[str] = []
    shared_found: dict[str, set[str]] = {}
    for set_name, members in WEAT_SETS:
        for m in members:
            for w in sets[m]:
                if w in owner and owner[w] != set_name:
                    shared_found.setdefault(w, {owner[w]}).add(set_name)
                    continue
                if w not in owner:
                    owner[w] = set_name
                    order.append(w)
    if set(shared_found) != set(WEAT_SHARED):
        raise SystemExit(f"WEAT words in two target sets changed: {shared_found} "
                         f"(resolved: {WEAT_SHARED})")
    for w, keep in WEAT_SHARED.items():
        log(f"weat: {w!r} is in the attribute sets {sorted(shared_found[w])}; it stays a "
            f"target of set {keep!r} only")
        owner[w] = keep
    both = {w: terms[words_of(w)] for w in order if words_of(w) in terms}
    if both != WEAT_TERM_AND_TARGET:
        raise SystemExit(f"WEAT words both group terms and targets changed: {both}")
    for w, g in both.items():
        log(f"weat: {w!r} is a group term ({g}) and an attribute word ({owner[w]}); it stays a "
            "group term, not a target")
    targets = [{"name": w, "set": owner[w]} for w in order if w not in both]
    # order targets by set as in WEAT_SETS, then by first appearance
    rank = {s: i for i, (s, _) in enumerate(WEAT_SETS)}
    targets.sort(key=lambda t: rank[t["set"]])
    per_set = {s: sum(t["set"] == s for t in targets) for s, _ in WEAT_SETS}
    log("weat: " + "; ".join(f"{a['name']}: " + ", ".join(
        f"{g['name']} {len(g['forms'])}" for g in a["groups"]) for a in axes))
    log("weat: targets per set: " + ", ".join(f"{s} {n}" for s, n in per_set.items()))
    return {
        "format": "tracebias-lexicon/2", "name": "weat", "version": "1.0",
        "description": (
            "The WEAT word sets (Caliskan et al. 2017) for a corpus-level WEAT analogue: the "
            "people and category sets as axes (flowers/insects, instruments/weapons, European- "
            "vs African-American names, female vs male names and terms, mental vs physical "
            "disease, young vs old names) and the attribute sets as targets in sets pleasant, "
            "unpleasant, career, family, math, arts, science, temporary, permanent. Names and "
            "other capitalised words match only capitalised."),
        "attribution": WEAT_ATTRIB,
        "license": "MIT (wefe); word lists from the cited studies",
        "case": "as-written",
        "axes": axes,
        "targets": targets,
    }


# ---- identity x sentiment -----------------------------------------------------------------
def read_opinion_words(path: Path) -> list[str]:
    """One word a line after a ';' comment header; CRLF; Latin-1 (e.g. naïve)."""
    text = path.read_bytes().decode("latin-1")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(";")]


def build_identity_sentiment(hb: dict, shared: Path, log: Log) -> dict:
    axes = [a for a in hb["axes"] if a["name"] in HB_AXES_FOR_SENTIMENT]
    terms = {words_of(f): f"{a['name']}/{g['name']}" for a in axes for g in a["groups"]
             for f in g["forms"]}
    op = shared / "opinion-lexicon"
    lists = {"positive": read_opinion_words(op / "positive-words.txt"),
             "negative": read_opinion_words(op / "negative-words.txt")}
    in_both = sorted(set(lists["positive"]) & set(lists["negative"]))
    if set(in_both) != set(OPINION_BOTH):
        raise SystemExit(f"opinion words in both lists changed: {in_both}")
    targets = []
    seen: dict[tuple[str, ...], str] = {}
    for s, words in lists.items():
        unusable, group_terms = [], []
        for w in words:
            if w in OPINION_BOTH and OPINION_BOTH[w] != s:
                continue
            ws = words_of(w)
            if ws is None:
                unusable.append(w)
                continue
            if ws in terms:
                group_terms.append(f"{w} ({terms[ws]})")
                continue
            if ws in seen:
                raise SystemExit(f"opinion words {seen[ws]!r} and {w!r} match the same text")
            seen[ws] = w
            targets.append({"name": w, "set": s})
        log(f"identity-sentiment: {s}: {len(words)} words, kept "
            f"{sum(t['set'] == s for t in targets)}; dropped {len(unusable)} the tokenizer "
            f"cannot take as forms ({', '.join(unusable)}) and {len(group_terms)} that are "
            f"group terms ({', '.join(group_terms) or '-'})")
    log(f"identity-sentiment: {', '.join(in_both)} are in both lists; kept as "
        f"{', '.join(sorted(set(OPINION_BOTH.values())))} (their dictionary sense)")
    return {
        "format": "tracebias-lexicon/2", "name": "identity-sentiment", "version": "1.0",
        "description": (
            "The race_ethnicity, religion and nationality axes of holistic-bias crossed with the "
            "Hu & Liu opinion lexicon as targets in sets positive and negative: the sentiment of "
            "the contexts of identity mentions (as in the C4 documentation paper)."),
        "attribution": f"{HB_ATTRIB} {OPINION_ATTRIB}",
        "license": f"{HB_LICENSE} (HolisticBias descriptors); opinion lexicon: no licence stated, "
                   "cite Hu & Liu 2004",
        "axes": axes,
        "targets": targets,
    }


# ---- writing ------------------------------------------------------------------------------
def _j(v) -> str:
    return json.dumps(v, ensure_ascii=False)


def dump_v2(lex: dict) -> str:
    """A v2 lexicon as JSON with one group and one target per line (stable, diff-friendly)."""
    lines = ["{"]
    head = [k for k in lex if k not in ("axes", "targets")]
    for k in head:
        lines.append(f" {_j(k)}: {_j(lex[k])},")
    lines.append(' "axes": [')
    for i, a in enumerate(lex["axes"]):
        meta = ", ".join(f"{_j(k)}: {_j(v)}" for k, v in a.items() if k != "groups")
        lines.append(f"  {{{meta}, \"groups\": [")
        for j, g in enumerate(a["groups"]):
            lines.append(f"   {_j(g)}{',' if j < len(a['groups']) - 1 else ''}")
        lines.append(f"  ]}}{',' if i < len(lex['axes']) - 1 else ''}")
    lines.append(" ],")
    if lex["targets"]:
        lines.append(' "targets": [')
        for i, t in enumerate(lex["targets"]):
            lines.append(f"  {_j(t)}{',' if i < len(lex['targets']) - 1 else ''}")
        lines.append(" ]")
    else:
        lines.append(' "targets": []')
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_lexicon(out: Path, lex: dict) -> None:
    text = dump_v2(lex) if lex["format"].endswith("/2") else \
        json.dumps(lex, indent=1, ensure_ascii=False) + "\n"
    loaded = lexicon_from_dict(json.loads(text), lex["name"])  # never ship an invalid file
    path = out / "lexicons" / f"{lex['name']}.json"
    path.write_text(text, encoding="utf-8")
    sets = loaded.target_sets
    print(f"wrote {path}: {len(loaded.axes)} axes, "
          f"{sum(len(a.groups) for a in loaded.axes)} groups, "
          f"{sum(len(g.forms) for a in loaded.axes for g in a.groups)} group forms, "
          f"{len(loaded.targets)} targets" + (f" in sets {', '.join(sets)}" if sets else ""))


def build_all(shared: Path, out: Path) -> Log:
    log = Log()
    src = load_shared(shared)
    tb = build_tracing_bias(src)
    default = build_default(src, log)
    occ_forms = {}
    for lex in (tb, default):
        for t in lex["targets"]:
            for f in t["forms"]:
                occ_forms.setdefault(words_of(f), t["name"])
    hb = build_holistic_bias(shared, occ_forms, log)
    (out / "lexicons").mkdir(parents=True, exist_ok=True)
    for lex in (tb, default, hb, build_pronouns(log), build_weat(shared, log),
                build_identity_sentiment(hb, shared, log)):
        write_lexicon(out, lex)
    write_labour_stats(src, out)
    write_prompt_templates(shared, out)
    return log


def write_labour_stats(src: dict, out: Path) -> None:
    rows = []
    for occ in sorted(set(default_occupations(src)) | set(src["stats"])):
        pct, sector, source, year = world_stat(occ, src)
        if pct is not None:
            rows.append([occ, f"{pct:g}", sector or "", source, year])
    with open(out / "labour_stats.tsv", "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["occupation", "pct_female", "sector", "source", "year"])
        w.writerows(rows)
    print(f"wrote {out / 'labour_stats.tsv'}: {len(rows)} occupations")


def build_prompt_templates(shared: Path) -> dict:
    """The study's prompt templates with a uniform {occupation} slot and {a} for the article."""
    out = {}
    base, group = [], None
    for line in (shared / "tracing-bias" / "prompts_overview.txt").read_text().splitlines():
        line = line.strip()
        m = re.match(r"^(\d+)\.\s+(.*)$", line)
        if m:
            t = m.group(2).replace("a/n [OCCUPATION]", "{a} {occupation}")
            base.append({"id": f"base-{int(m.group(1)):02d}", "group": group,
                         "template": t.replace("[OCCUPATION]", "{occupation}")})
        elif line:
            group = line
    out["base"] = base
    inst, group = [], None
    for line in (shared / "tracing-bias" / "prompts_overview_instruct.txt").read_text().splitlines():
        line = line.strip()
        if line.endswith(":"):
            group = line[:-1]
        elif line:
            t = re.sub(r"\ba \{job\}", "{a} {occupation}", line).replace("{job}", "{occupation}")
            inst.append({"id": f"instruct-{len(inst) + 1:02d}", "group": group, "template": t})
    out["instruct"] = inst
    return out


def write_prompt_templates(shared: Path, out: Path) -> None:
    data = {"attribution": TB_ATTRIB, **build_prompt_templates(shared)}
    path = out / "prompt_templates.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}: {len(data['base'])} base, {len(data['instruct'])} instruct templates")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Build the shipped lexicons and tables from the "
                                 "shared source data (deterministic).")
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"),
                    help="the shared data folder (default: ../shared/data)")
    ap.add_argument("--out", default=str(OUT),
                    help="where to write (default: engine/data, i.e. the shipped files)")
    args = ap.parse_args(argv)
    build_all(Path(args.shared), Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
