"""Build the shipped lexicon files and labour statistics from ../shared/data.

Writes (deterministically):
    engine/data/lexicons/tracing-bias.json   the study's exact lists
    engine/data/lexicons/default.json        + plural/inflected forms, WinoBias and Winogender
    engine/data/labour_stats.tsv             US % women per occupation, with its source

Run:  .venv/bin/python tools/build_lexicons.py [--shared ../shared/data]
The project never reads ../shared at run time; these files are what ships.
"""
from __future__ import annotations

import argparse
import ast
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "engine" / "data"

TB_ATTRIB = ("Word lists and US labour statistics from marionthaler/tracing_bias @ 973c8c3a "
             "(\"How Far Can Bias Go? Tracing Bias from Pre-Training Data to Alignment\", LREC 2026).")
WB_ATTRIB = "WinoBias occupations and % women (US BLS) from uclanlp/corefBias @ 0bce984d (MIT)."
WG_ATTRIB = "Winogender occupations and % women (US BLS 2015) from rudinger/winogender-schemas @ 1c7f8b48 (MIT)."

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


def target(occ: str, forms: list[str], src: dict) -> dict:
    pct, sector, source, _ = world_stat(occ, src)
    t = {"name": occ, "forms": forms}
    if sector:
        t["sector"] = sector
    if pct is not None:
        t["pct_female"] = pct
        t["stats_source"] = source
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    src = load_shared(Path(ap.parse_args().shared))
    tb = {
        "format": "tracebias-lexicon/1", "name": "tracing-bias", "version": "1.0",
        "description": ("Exactly the gender terms (17 female, 16 male) and 219 occupations "
                        "(singular forms) of the Dolma/OLMo tracing-bias study."),
        "attribution": TB_ATTRIB,
        "genders": {"female": src["female"], "male": src["male"]},
        "targets": [target(o, [o], src) for o in src["occupations"]],
    }
    extra = [o for o in list(src["winobias"]) + list(src["winogender"]) if o not in src["occupations"]]
    all_occ = src["occupations"] + list(dict.fromkeys(extra))
    default = {
        "format": "tracebias-lexicon/1", "name": "default", "version": "1.0",
        "description": ("The tracing-bias lists plus plural and inflected forms, and the WinoBias "
                        "and Winogender occupations, with US labour statistics."),
        "attribution": " ".join([TB_ATTRIB, WB_ATTRIB, WG_ATTRIB]),
        "genders": {"female": src["female"] + EXTRA_FEMALE, "male": src["male"] + EXTRA_MALE},
        "targets": [target(o, list(dict.fromkeys([o, plural(o)])), src) for o in all_occ],
    }
    (OUT / "lexicons").mkdir(parents=True, exist_ok=True)
    for lex in (tb, default):
        path = OUT / "lexicons" / f"{lex['name']}.json"
        path.write_text(json.dumps(lex, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path}: {len(lex['genders']['female'])} female, "
              f"{len(lex['genders']['male'])} male terms, {len(lex['targets'])} targets")
    rows = []
    for occ in sorted(set(all_occ) | set(src["stats"])):
        pct, sector, source, year = world_stat(occ, src)
        if pct is not None:
            rows.append([occ, f"{pct:g}", sector or "", source, year])
    with open(OUT / "labour_stats.tsv", "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["occupation", "pct_female", "sector", "source", "year"])
        w.writerows(rows)
    print(f"wrote {OUT / 'labour_stats.tsv'}: {len(rows)} occupations")
    write_prompt_templates(Path(ap.parse_args().shared))



def build_prompt_templates(shared: Path) -> dict:
    """The study's prompt templates with a uniform {occupation} slot and {a} for the article."""
    import re

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


def write_prompt_templates(shared: Path) -> None:
    data = {"attribution": TB_ATTRIB, **build_prompt_templates(shared)}
    path = OUT / "prompt_templates.json"
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {path}: {len(data['base'])} base, {len(data['instruct'])} instruct templates")


if __name__ == "__main__":
    main()
