"""WinoBias likelihood scores: does the model prefer the pro-stereotypical sentence?

WinoBias (Zhao et al. 2018, uclanlp/corefBias, MIT) ships each sentence twice: in
``pro_stereotyped_type{1,2}.txt.{dev,test}`` the pronoun agrees with the occupation's stereotype,
in ``anti_stereotyped_...`` it does not. Line ``N`` of a pro file and line ``N`` of the matching
anti file are one pair; the referent occupation is the first bracketed mention
(``[The developer] argued with the designer because [he] ...``).

For a pair the model's log-likelihood difference is

    d = ln P(pro sentence) - ln P(anti sentence),   ln P(s) = sum_k ln P(s_k | <s>, s_1..s_{k-1})

with ``<s>`` the tokenizer's BOS token (its EOS when it has no BOS; GPT-2 style models use that
as the document separator). Per occupation t (the referent), over its n_t pairs:

    winobias_stereo_pref(t) = (1/n_t) sum 1[d > 0] + 0.5 * 1[d = 0]
    winobias_llr(t)         = (1/n_t) sum d

Pairs whose referents differ are always left out; pairs whose sentences differ in more than the
gendered pronouns are left out unless ``all_pairs``; both are reported with file and line.
"""
from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine.lexicon import Lexicon, form_words
from engine.models.hf import (ModelError, check_model_dir, fmt_seconds, load_model,
                              model_fingerprint, require_torch, resolve_device, token_logprobs,
                              warm_up)
from engine.models.parts import IncompatibleOutput, PartStore

TYPES = (1, 2)
SPLITS = ("dev", "test")
PRONOUNS = frozenset({"he", "she", "him", "her", "his", "hers", "himself", "herself"})
METRICS = ("winobias_stereo_pref", "winobias_llr")
SCORE_COLUMNS = ("model", "stage", "occupation", "metric", "value", "n_pairs")
PAIR_COLUMNS = ("used", "reason", "file", "line", "type", "split", "number", "occupation", "pro",
                "anti", "loglik_pro", "loglik_anti", "diff", "extra_differences")
FLUSH_SECONDS = 5.0  # scored sentences reach OUT.partial/ at least this often
_LINE = re.compile(r"^(\d+)\s+(.*\S)\s*$")
_MENTION = re.compile(r"\[([^\]]*)\]")
_ARTICLE = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)


def file_name(kind: str, type_: int, split: str) -> str:
    return f"{kind}_stereotyped_type{type_}.txt.{split}"


def default_data_dir() -> Path | None:
    """$TRACEBIAS_SHARED/winobias, else ../shared/data/winobias next to this checkout."""
    env = os.environ.get("TRACEBIAS_SHARED")
    cands = [Path(env) / "winobias"] if env else []
    cands.append(Path(__file__).resolve().parents[2].parent / "shared" / "data" / "winobias")
    return next((c for c in cands if c.is_dir()), None)


@dataclass(frozen=True)
class WinoPair:
    type: int
    split: str
    number: int  # the N that starts both lines
    line: int  # line number in the pro file (1-based)
    occupation: str
    mention: str  # the referent as written, without its article
    pro: str
    anti: str
    extra_differences: bool  # the sentences differ in more than gendered pronouns

    @property
    def key(self) -> str:
        return f"type{self.type}.{self.split}:{self.number}"


def clean_sentence(text: str) -> str:
    return " ".join(text.replace("[", "").replace("]", "").split())


def _words(text: str) -> list[str]:
    return [w.strip(".,;:!?'\"").lower() for w in clean_sentence(text).split()]


def _differ_beyond_pronouns(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if len(wa) != len(wb):
        return True
    return any(x != y and not (x in PRONOUNS and y in PRONOUNS) for x, y in zip(wa, wb))


def _read(path: Path, problems: list) -> dict[int, tuple[int, str, list[str]]]:
    out: dict[int, tuple[int, str, list[str]]] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        m = _LINE.match(raw)
        if not m:
            problems.append((path.name, lineno, "not 'N sentence'"))
            continue
        n, text = int(m.group(1)), m.group(2)
        mentions = [" ".join(x.split()) for x in _MENTION.findall(text)]
        if len(mentions) < 2:
            problems.append((path.name, lineno, "fewer than two bracketed mentions"))
            continue
        if n in out:
            problems.append((path.name, lineno, f"number {n} appears twice"))
            continue
        out[n] = (lineno, text, mentions)
    return out


def occupation_name(mention: str, lexicon: Lexicon | None) -> str:
    """The referent mention without its article, as the lexicon's target name when one matches."""
    bare = _ARTICLE.sub("", mention.strip())
    if lexicon is not None:
        words = tuple(w.lower() for w in bare.split())
        for t in lexicon.targets:
            if any(form_words(f)[0] == words for f in t.forms):
                return t.name
    return bare


def load_pairs(data_dir: str | Path, lexicon: Lexicon | None = None, types=TYPES, splits=SPLITS,
               all_pairs: bool = False) -> tuple[list[WinoPair], list[tuple[str, int, str]]]:
    """(pairs, problems): problems are (file, line, reason) of every line or pair left out."""
    d = Path(data_dir)
    need = [file_name(k, t, s) for t in types for s in splits for k in ("pro", "anti")]
    missing = [f for f in need if not (d / f).is_file()]
    if missing:
        raise ModelError(f"{d} lacks the WinoBias file {missing[0]} (expected the files "
                         "{pro,anti}_stereotyped_type{1,2}.txt.{dev,test} of uclanlp/corefBias "
                         "WinoBias/wino/data)")
    pairs: list[WinoPair] = []
    problems: list[tuple[str, int, str]] = []
    for t in types:
        for s in splits:
            pro_f, anti_f = file_name("pro", t, s), file_name("anti", t, s)
            pro, anti = _read(d / pro_f, problems), _read(d / anti_f, problems)
            for n in sorted(set(pro) | set(anti)):
                if n not in anti:
                    problems.append((pro_f, pro[n][0], f"no line {n} in {anti_f}"))
                    continue
                if n not in pro:
                    problems.append((anti_f, anti[n][0], f"no line {n} in {pro_f}"))
                    continue
                (lp, tp, mp), (_, ta, ma) = pro[n], anti[n]
                ref_p, ref_a = _ARTICLE.sub("", mp[0]).lower(), _ARTICLE.sub("", ma[0]).lower()
                if ref_p != ref_a:
                    problems.append((pro_f, lp, f"referent {mp[0]!r} differs from {ma[0]!r} "
                                                f"in {anti_f}"))
                    continue
                extra = _differ_beyond_pronouns(tp, ta)
                if extra and not all_pairs:
                    problems.append((pro_f, lp, f"differs from {anti_f} line {n} in more than "
                                                "the pronouns (kept with --all-pairs)"))
                    continue
                pairs.append(WinoPair(t, s, n, lp, occupation_name(mp[0], lexicon),
                                      _ARTICLE.sub("", mp[0]), clean_sentence(tp),
                                      clean_sentence(ta), extra))
    return pairs, problems


# ---- scoring ------------------------------------------------------------------------------------
def start_token(tok) -> int | None:
    for name in ("bos_token_id", "eos_token_id"):
        v = getattr(tok, name, None)
        if v is not None:
            return int(v)
    return None


def sentence_rows(tok, sentence: str) -> tuple[list[int], list[tuple[int, int]]]:
    """(row of ids, (position, token) pairs to score) for ln P(sentence) after the start token."""
    ids = list(tok(sentence, add_special_tokens=False)["input_ids"])
    start = start_token(tok)
    if start is not None:
        return [start] + ids, [(k, t) for k, t in enumerate(ids)]
    return ids, [(k - 1, ids[k]) for k in range(1, len(ids))]


def sentence_logliks(model, tok, sentences: list[str], batch_size: int = 16, side: str = "left",
                     device: str = "cpu", pad_id: int | None = None, on_batch=None) -> np.ndarray:
    """ln P(s) of each sentence (chained log-probabilities), batched."""
    if pad_id is None:
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    out = np.zeros(len(sentences))
    for b in range(0, len(sentences), batch_size):
        chunk = sentences[b:b + batch_size]
        rows, wanted = zip(*(sentence_rows(tok, s) for s in chunk))
        flat = token_logprobs(model, list(rows), list(wanted), pad_id, side, device)
        pos = 0
        for i, w in enumerate(wanted):
            out[b + i] = flat[pos:pos + len(w)].sum()
            pos += len(w)
        if on_batch:
            on_batch(b, len(chunk), out[b:b + len(chunk)])
    return out


def occupation_scores(pairs: list[WinoPair], diff: np.ndarray) -> list[dict]:
    """Per occupation (sorted): n_pairs, winobias_stereo_pref, winobias_llr."""
    by: dict[str, list[float]] = {}
    for p, d in zip(pairs, diff):
        by.setdefault(p.occupation, []).append(float(d))
    rows = []
    for occ in sorted(by):
        d = np.array(by[occ])
        pref = float(((d > 0) + 0.5 * (d == 0)).mean())
        rows.append({"occupation": occ, "n_pairs": len(d), "winobias_stereo_pref": pref,
                     "winobias_llr": float(d.mean())})
    return rows


@dataclass(frozen=True)
class WinoConfig:
    model_path: str
    model_name: str | None = None
    stage: str = "base"
    batch_size: int = 16
    device: str = "auto"
    dtype: str = "float32"
    padding_side: str = "left"

    @property
    def label(self) -> str:
        return self.model_name or Path(self.model_path).name


SENT_SCHEMA = pa.schema([("sentence", pa.string()), ("loglik", pa.float64())])


def run_winobias(cfg: WinoConfig, data_dir: str | Path, out_path: str | Path,
                 lexicon: Lexicon | None = None, pairs_out: str | Path | None = None,
                 all_pairs: bool = False, types=TYPES, splits=SPLITS,
                 progress: bool = True, force: bool = False) -> dict:
    """Score every pair, write per-occupation scores (model_scores rows) to ``out_path``."""
    require_torch()
    out = Path(out_path)
    if out.suffix not in (".csv", ".parquet"):
        raise ModelError(f"--out {out}: write the scores as .csv or .parquet")
    if pairs_out is not None and Path(pairs_out).suffix not in (".csv", ".parquet"):
        raise ModelError(f"--pairs {pairs_out}: write the pairs as .csv or .parquet")
    if cfg.batch_size < 1:
        raise ModelError("--batch-size must be at least 1")
    check_model_dir(cfg.model_path)
    device = resolve_device(cfg.device)
    pairs, problems = load_pairs(data_dir, lexicon, types, splits, all_pairs)
    if not pairs:
        raise ModelError(f"no usable WinoBias pairs in {data_dir}")
    if out.exists() and not force:
        return {"skipped": True, "out": str(out)}
    say = (lambda m: print(m, file=sys.stderr)) if progress else (lambda m: None)
    sentences = list(dict.fromkeys(s for p in pairs for s in (p.pro, p.anti)))
    meta = {"task": "winobias", "model": cfg.label,
            "model_path": str(Path(cfg.model_path).resolve()),
            "model_files": model_fingerprint(cfg.model_path), "dtype": cfg.dtype}
    store = PartStore(out, meta, ("task", "model_path", "model_files", "dtype"))
    try:
        cached = {}
        for t in store.parts():
            cached.update(zip(t.column("sentence").to_pylist(), t.column("loglik").to_pylist()))
    except IncompatibleOutput as e:
        raise ModelError(str(e)) from None
    todo = [s for s in sentences if s not in cached]
    say(f"winobias: {len(pairs):,} pairs ({len(problems)} left out) over "
        f"{len({p.occupation for p in pairs})} occupations: {len(todo):,} of {len(sentences):,} "
        f"sentences to score ({len(sentences) - len(todo):,} cached), batches of "
        f"{cfg.batch_size}, {device}")
    if todo:
        tok, model = load_model(cfg.model_path, device, cfg.dtype)
        warm_up(model, start_token(tok) or 0, device)
        pa.Table.from_pydict({"sentence": [], "loglik": []}, SENT_SCHEMA)  # Arrow's set-up
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(todo), unit="sentence", desc="scoring", file=sys.stderr)
        t0 = time.perf_counter()
        state = {"first": True, "last": time.perf_counter(), "pending": []}

        def on_batch(start, n, lls):
            chunk = todo[start:start + n]
            state["pending"].append(pa.Table.from_pydict(
                {"sentence": chunk, "loglik": [float(x) for x in lls]}, SENT_SCHEMA))
            cached.update(zip(chunk, (float(x) for x in lls)))
            if bar:
                bar.update(n)
            if state["first"]:
                state["first"] = False
                took = time.perf_counter() - t0
                left = len(todo) - n
                (bar.write if bar else say)(
                    f"winobias: first batch (the longest sentences) took {took:.2f} s; at most "
                    f"about {fmt_seconds(took * left / n)} for the remaining {left:,} sentences")
            if time.perf_counter() - state["last"] >= FLUSH_SECONDS:
                store.write_part(pa.concat_tables(state["pending"]))
                state["pending"], state["last"] = [], time.perf_counter()

        # longest first: memory peaks at once; the order is fixed, so results are reproducible
        order = sorted(range(len(todo)), key=lambda i: (-len(todo[i]), i))
        todo[:] = [todo[i] for i in order]
        try:
            sentence_logliks(model, tok, todo, cfg.batch_size, cfg.padding_side, device,
                             on_batch=on_batch)
        finally:  # finished batches survive an interruption
            if state["pending"]:
                store.write_part(pa.concat_tables(state["pending"]))
        if bar:
            bar.close()
    diff = np.array([cached[p.pro] - cached[p.anti] for p in pairs])
    occ = occupation_scores(pairs, diff)
    rows = [{"model": cfg.label, "stage": cfg.stage, "occupation": r["occupation"], "metric": m,
             "value": r[m], "n_pairs": r["n_pairs"]} for r in occ for m in METRICS]
    _write(rows, out, SCORE_COLUMNS)
    if pairs_out is not None:  # every pair scored, then every line or pair left out, with why
        rows = [{"used": True, "reason": None, "file": file_name("pro", p.type, p.split),
                 "line": p.line, "type": p.type, "split": p.split, "number": p.number,
                 "occupation": p.occupation, "pro": p.pro, "anti": p.anti,
                 "loglik_pro": cached[p.pro], "loglik_anti": cached[p.anti], "diff": float(d),
                 "extra_differences": p.extra_differences} for p, d in zip(pairs, diff)]
        rows += [{"used": False, "reason": reason, "file": f, "line": line}
                 for f, line, reason in problems]
        _write(rows, Path(pairs_out), PAIR_COLUMNS)
    if store.dir.is_dir():
        import shutil

        shutil.rmtree(store.dir)
    return {"skipped": False, "out": str(out), "pairs": len(pairs), "problems": problems,
            "occupations": len(occ), "stereo_pref": float(((diff > 0) + 0.5 * (diff == 0)).mean()),
            "llr": float(diff.mean())}


def _write(rows: list[dict], path: Path, columns: tuple[str, ...]) -> None:
    import polars as pl

    df = pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], infer_schema_length=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".csv":
        df.write_csv(tmp)
    else:
        df.write_parquet(tmp)
    os.replace(tmp, path)
