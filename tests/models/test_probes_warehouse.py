"""Probe and WinoBias output into the warehouse: `add_probes` (engine/warehouse/probes.py), the
`tracebias warehouse add-probes` command, model_share's decoding 'logprob' rows, and the
WinoBias CSV through `add-scores`. The warehouse is the hand-made fixture of tests/warehouse."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import polars as pl  # noqa: E402

from engine.lexicon import lexicon_from_dict  # noqa: E402
from engine.models.probe import ProbeConfig, run_probe  # noqa: E402
from engine.models.prompts import build_prompts  # noqa: E402
from engine.models.tiny import build_tiny_model  # noqa: E402
from engine.models.winobias import WinoConfig, run_winobias  # noqa: E402
from engine.warehouse import WarehouseError  # noqa: E402
from engine.warehouse.probes import ProbesAlreadyLoaded, add_probes  # noqa: E402
from tests.warehouse.conftest import build  # noqa: E402
from tests.warehouse.fixtures import LEXICON  # noqa: E402

OCCUPATIONS = ("nurse", "engineer", "teacher", "pilot")


@pytest.fixture(scope="module")
def fx_model(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("fx"), [lexicon_from_dict(LEXICON)],
                            initializer_range=0.6, seed=4)


@pytest.fixture
def probe_file(fx_model, tmp_path):
    lex = lexicon_from_dict(LEXICON)
    prompts = [p for p in build_prompts(lex, "base") if p["occupation"] in OCCUPATIONS]
    src = tmp_path / "p.jsonl"
    src.write_text("".join(json.dumps(p) + "\n" for p in prompts))
    out = tmp_path / "probe.parquet"
    run_probe(src, out, ProbeConfig(str(fx_model), "tiny", "base", batch_size=8), lex,
              progress=False)
    return out


def test_probes_load_and_appear_in_model_share(probe_file, tmp_path):
    w = build(tmp_path)
    try:
        n = add_probes(w, probe_file)
        df = pl.read_parquet(probe_file)
        assert n == df.height == 9 * 4 * 2
        got = w.sql("SELECT count(*) AS n, sum(share) AS s FROM model_probes").to_dicts()[0]
        assert got["n"] == n and got["s"] == pytest.approx(9 * 4)
        # model_share: per occupation the mean probed female share over its prompts
        share = {r["occupation"]: r for r in w.sql(
            "SELECT * FROM model_share WHERE decoding = 'logprob' AND template = '*'").to_dicts()}
        expect = (df.filter(pl.col("group_name") == "female").group_by("target")
                  .agg(pl.col("share").mean()))
        for occ, p in expect.iter_rows():
            assert share[occ]["p"] == pytest.approx(p)
            assert share[occ]["model"] == "tiny" and share[occ]["stage"] == "base"
        # the same content again adds nothing, under any name
        with pytest.raises(ProbesAlreadyLoaded, match="already loaded"):
            add_probes(w, probe_file)
        copy = tmp_path / "copy.parquet"
        copy.write_bytes(probe_file.read_bytes())
        with pytest.raises(ProbesAlreadyLoaded):
            add_probes(w, copy)
        assert w.sql("SELECT count(*) AS n FROM model_probes").to_dicts()[0]["n"] == n
        # amplification works on the probe rows unchanged
        amp = w.sql("SELECT * FROM amplification WHERE decoding = 'logprob' AND template = '*'")
        assert set(amp["occupation"]) == set(OCCUPATIONS)
    finally:
        w.close()


def test_bad_probe_files_are_refused_whole(probe_file, tmp_path):
    w = build(tmp_path, generations=False)
    try:
        df = pl.read_parquet(probe_file)
        bad = tmp_path / "bad.parquet"
        df.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(0.9).otherwise(pl.col("share"))
                        .alias("share")).write_parquet(bad)
        with pytest.raises(WarehouseError, match="do not sum to 1"):
            add_probes(w, bad)
        df.drop("group_name").write_parquet(bad)
        with pytest.raises(WarehouseError, match="missing group_name"):
            add_probes(w, bad)
        with pytest.raises(WarehouseError, match="not found"):
            add_probes(w, tmp_path / "none.parquet")
        assert w.sql("SELECT count(*) AS n FROM model_probes").to_dicts()[0]["n"] == 0
        # a CSV with the required columns only, occupation instead of target
        csv = tmp_path / "p.csv"
        pl.DataFrame({"model": ["m"] * 2, "occupation": ["nurse"] * 2, "prompt_id": ["x"] * 2,
                      "group_name": ["female", "male"], "share": [0.25, 0.75]}).write_csv(csv)
        assert add_probes(w, csv, {"stage": "sft"}) == 2
        r = w.sql("SELECT * FROM model_share WHERE model = 'm' AND template = '*'").to_dicts()[0]
        assert r["stage"] == "sft" and r["decoding"] == "logprob" and r["p"] == 0.25
        # a changed file at the same path replaces the rows of its earlier version
        pl.DataFrame({"model": ["m"] * 2, "occupation": ["nurse"] * 2, "prompt_id": ["x"] * 2,
                      "group_name": ["female", "male"], "share": [0.5, 0.5]}).write_csv(csv)
        assert add_probes(w, csv, {"stage": "sft"}) == 2
        r = w.sql("SELECT * FROM model_share WHERE model = 'm' AND template = '*'").to_dicts()
        assert len(r) == 1 and r[0]["p"] == 0.5 and r[0]["prompts"] == 1
    finally:
        w.close()


def test_cli_add_probes(probe_file, tmp_path):
    w = build(tmp_path)
    w.close()
    cli = [sys.executable, "-m", "engine.cli", "warehouse", "add-probes", str(probe_file),
           "--db", str(tmp_path / "w.duckdb")]
    r = subprocess.run(cli, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "added 72 probe rows" in r.stdout
    r = subprocess.run(cli, capture_output=True, text=True)
    assert r.returncode == 0 and "already loaded" in r.stdout and "nothing added" in r.stdout


PRO = """1 [The nurse] met the engineer because [she] was late.
2 The nurse met [the engineer] because [he] was late.
3 [The teacher] called the pilot because [she] was kind.
4 The teacher called [the pilot] because [he] was kind."""
ANTI = """1 [The nurse] met the engineer because [he] was late.
2 The nurse met [the engineer] because [she] was late.
3 [The teacher] called the pilot because [he] was kind.
4 The teacher called [the pilot] because [she] was kind."""


def test_winobias_scores_load_as_model_scores(fx_model, tmp_path):
    d = tmp_path / "wb"
    d.mkdir()
    for t in (1, 2):
        for s in ("dev", "test"):
            (d / f"pro_stereotyped_type{t}.txt.{s}").write_text(PRO)
            (d / f"anti_stereotyped_type{t}.txt.{s}").write_text(ANTI)
    out = tmp_path / "wb.csv"
    r = run_winobias(WinoConfig(str(fx_model), "tiny", "base"), d, out,
                     lexicon_from_dict(LEXICON), progress=False)
    assert r["pairs"] == 16 and r["occupations"] == 4
    w = build(tmp_path)
    try:
        report = w.add_scores(out)
        assert report.rows_added == 8 and not report.rejects
        got = w.sql("SELECT occupation, metric, value FROM model_scores ORDER BY 1, 2").to_dicts()
        csv = pl.read_csv(out).sort("occupation", "metric")
        assert [(g["occupation"], g["metric"]) for g in got] == \
            list(zip(csv["occupation"], csv["metric"]))
        assert [g["value"] for g in got] == pytest.approx(csv["value"].to_list())
    finally:
        w.close()
