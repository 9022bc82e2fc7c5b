"""`tracebias dev tiny-model`: a random model whose tokenizer knows the lexicons' terms."""
from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from engine.lexicon import load_lexicon  # noqa: E402
from engine.lexicon.unicode import pretokenize  # noqa: E402
from engine.models.hf import load_model  # noqa: E402
from engine.models.probe import build_continuations  # noqa: E402
from engine.models.tiny import build_tiny_model, tiny_vocabulary  # noqa: E402


def test_vocabulary_holds_every_term_and_occupation_word():
    vocab = set(tiny_vocabulary())
    for name in ("tracing-bias", "default"):
        lex = load_lexicon(name)
        forms = [f for a in lex.axes for g in a.groups for f in g.forms]
        forms += [f for t in lex.targets for f in t.forms]
        missing = {w for f in forms for w, _ in pretokenize(f)} - vocab
        assert not missing, (name, sorted(missing)[:5])
    assert tiny_vocabulary() == tiny_vocabulary()  # same ids every time


def test_every_gender_term_is_one_known_token(tmp_path):
    tok, _ = load_model(build_tiny_model(tmp_path / "m"))
    axis = load_lexicon("tracing-bias").gender_axis
    c = build_continuations(tok, axis, True)
    assert not c.dropped and c.multi_token == 0  # "Mrs." is probed as "Mrs"; none is [UNK]
    assert len(c.seqs) == sum(len(g.forms) for g in axis.groups)


def test_cli_builds_warns_and_refuses_to_overwrite(tmp_path):
    cli = [sys.executable, "-m", "engine.cli", "dev", "tiny-model"]
    words = tmp_path / "words.txt"
    words.write_text("zanzibar quokka")
    r = subprocess.run(cli + [str(tmp_path / "m"), "--vocab-from", str(words), "--seed", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "randomly initialised" in r.stderr and "noise" in r.stderr
    assert (tmp_path / "m" / "config.json").is_file()
    tok, model = load_model(tmp_path / "m")
    assert tok.unk_token_id not in tok("zanzibar quokka")["input_ids"]
    r = subprocess.run(cli + [str(tmp_path / "m")], capture_output=True, text=True)
    assert r.returncode == 2 and "not empty" in r.stderr
    r = subprocess.run(cli + [str(tmp_path / "m"), "--force", "--width", "3"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--width" in r.stderr
