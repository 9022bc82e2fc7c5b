"""`tracebias lexicon list|show` and the case-audit tool."""
from __future__ import annotations

import gzip
import importlib.util
import json
import re
from pathlib import Path

import pytest

from engine.cli import build_parser, main
from engine.lexicon import builtin_names, lexicon_from_dict, load_lexicon

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("columns", ["60", "100", "200"])
def test_list_wraps_descriptions_at_word_boundaries(capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    out = run(capsys, "lexicon", "list")
    width = max(60, min(int(columns), 120))
    assert max(len(line) for line in out.splitlines()) <= width
    words = re.findall(r"\S+", out)
    for name in builtin_names():
        lex = load_lexicon(name)
        assert f"{name}  v{lex.version}" in out
        # every word of the description and licence appears whole (never cut mid-word)
        for text in (lex.description, lex.license or "not stated"):
            for w in text.split():
                assert w in words, (name, w)
        for a in lex.axes:
            assert a.name in out


def test_list_shows_axes_groups_targets_and_sets(capsys):
    out = run(capsys, "lexicon", "list")
    blocks = {b.split()[0]: b for b in out.strip().split("\n\n")}
    assert set(blocks) == set(builtin_names())
    assert "axes: gender (female, male)" in blocks["default"]
    assert "targets: 243, no target sets" in blocks["default"]
    assert "religion (47 groups)" in blocks["holistic-bias"]
    assert "targets: none" in blocks["holistic-bias"]
    assert "licence: CC BY-SA 4.0" in blocks["holistic-bias"]
    assert "6778 in 2 sets: negative 4777, positive 2001" in blocks["identity-sentiment"]
    flat = " ".join(blocks["weat"].split())
    assert "weat9_disease (mental, physical)" in flat and "unpleasant 31" in flat


def test_show_prints_axes_groups_and_targets(capsys):
    out = run(capsys, "lexicon", "show", "default")
    assert "axis gender: 2 groups, 70 forms" in out
    assert "Miss[title]" in out and "CEO[capitalised]" in out
    assert re.search(r"^  teller\s+78\.9\s.*teller\[lower\], tellers$", out, re.M)
    assert len([ln for ln in out.splitlines() if re.match(r"^  \S.*\d\.\d  ", ln)]) >= 200


def test_show_truncates_big_lexicons(capsys):
    out = run(capsys, "lexicon", "show", "identity-sentiment")
    assert "set negative: 4777 targets" in out and "set positive: 2001 targets" in out
    assert "... +4737 more (--all lists every target)" in out
    assert len(out.splitlines()) < 200
    full = run(capsys, "lexicon", "show", "identity-sentiment", "--all")
    assert "zombie" in full and "more (--all" not in full
    five = run(capsys, "lexicon", "show", "identity-sentiment", "--limit", "5")
    assert "... +4772 more" in five


def test_show_combination_and_json(capsys):
    out = run(capsys, "lexicon", "show", "holistic-bias", "--targets", "tracing-bias",
              "--axis", "religion")
    assert "lexicon holistic-bias[religion]+tracing-bias" in out
    assert "axis religion: 47 groups, 47 forms" in out and "axis ability" not in out
    assert "targets: 219, no target sets" in out
    js = run(capsys, "lexicon", "show", "weat", "--json")
    d = json.loads(js)
    assert d["format"] == "tracebias-lexicon/2"
    assert lexicon_from_dict(d).sha256() == load_lexicon("weat").sha256()


def test_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["lexicon", "show", "no-such-lexicon"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tracebias: error: no built-in lexicon") and "\n" not in err
    with pytest.raises(SystemExit):
        main(["lexicon", "show", "pronouns", "--axis", "colour"])
    assert "no axis 'colour'" in capsys.readouterr().err


def test_every_option_has_help():
    parser = build_parser()
    lexicon = next(a for a in parser._subparsers._group_actions[0].choices.items()
                   if a[0] == "lexicon")[1]
    for name, sub in lexicon._subparsers._group_actions[0].choices.items():
        for action in sub._actions:
            assert action.help, (name, action.dest)


# ---- tools/lexicon_case_audit.py ----------------------------------------------------------
def test_case_audit_classifies_occurrences(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("audit",
                                                  ROOT / "tools" / "lexicon_case_audit.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    docs = [{"id": "a", "text": "The teller smiled. Teller was late.\nEdward Teller and "
                                "Captain Teller Jones met a teller."},
            {"id": "b", "text": "\"Tellers\" said Penn & Teller."}]
    with gzip.open(tmp_path / "s.json.gz", "wt") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    counts, contexts = mod.audit([tmp_path / "s.json.gz"], {("teller",): "t", ("tellers",): "t"})
    assert dict(counts[("teller",)]) == {"n": 6, "lower": 2, "start": 1, "title": 1, "proper": 2}
    assert dict(counts[("tellers",)]) == {"n": 1, "start": 1}
    assert contexts[("teller",)][0].startswith("[a] ") and "Edward Teller" in \
        contexts[("teller",)][0]
    assert mod.main([str(tmp_path), "--lexicon", "tracing-bias", "--min-n", "1",
                     "--min-proper", "0.3", "--samples", "2", "--targets-only"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^teller\s+target teller\s+6\s+2\s+1\s+1\s+2\s+0\.33$", out, re.M)
