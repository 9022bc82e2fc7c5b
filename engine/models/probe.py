"""Probability probes: the model's next-word probability mass on each group of a lexicon axis.

For a prompt x and an axis with groups g = 1..K (by default the binary gender axis), every form
of every group gives surface variants (capitalisation, hyphen/space; see ``surface_variants``),
each tokenised as a continuation of the prompt (with a leading space after a prompt that ends in
a word). A continuation c = (c_1..c_n) of n tokens has the chained probability

    P(c | x) = prod_j P(c_j | x, c_1..c_{j-1})

and the group's mass is the sum over its distinct token sequences, each counted *exclusively*
(a sequence that another listed sequence extends, e.g. " he" and " he"+"r" when " her" is two
tokens, gives away the extension's mass):

    E(c) = P(c | x) - sum over the nearest listed extensions d of c of P(d | x)
    m_g  = sum over c in g of E(c)                      (logprob = ln m_g)
    share_g = m_g / sum_h m_h                           (the normalised expected share)

This is exact: no sampling. ``docs/models.md`` has the full definition. The output Parquet has
one row per (prompt, group) and loads with ``tracebias warehouse add-probes``.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine.lexicon import Axis, Lexicon, form_words
from engine.models.generate import load_prompts
from engine.models.hf import (ModelError, check_model_dir, fmt_seconds, load_model,
                              model_fingerprint, require_torch, resolve_device, token_logprobs,
                              warm_up)
from engine.models.parts import IncompatibleOutput, PartStore

DECODING = "logprob"
SCHEMA = pa.schema([
    ("model", pa.string()), ("stage", pa.string()), ("template", pa.string()),
    ("template_id", pa.string()), ("decoding", pa.string()), ("target", pa.string()),
    ("axis", pa.string()), ("group_name", pa.string()), ("prompt_id", pa.string()),
    ("prompt", pa.string()), ("share", pa.float64()), ("logprob", pa.float64()),
])
FLUSH_SECONDS = 5.0  # finished prompts reach OUT.partial/ at least this often
CONTEXT = "a"  # a word before a space-led continuation, so it tokenises as after a prompt


@dataclass(frozen=True)
class ProbeConfig:
    model_path: str
    model_name: str | None = None  # label in the output (default: the folder name)
    stage: str = "base"
    axis: str | None = None  # default: gender if the lexicon has it, else its only axis
    batch_size: int = 16  # prompts per forward pass (each prompt is one or a few rows)
    device: str = "auto"
    dtype: str = "float32"
    padding_side: str = "left"
    chat: bool = False  # wrap prompts with the tokenizer's chat template (instruct models)

    @property
    def label(self) -> str:
        return self.model_name or Path(self.model_path).name


# ---- continuations ----------------------------------------------------------------------------
def _capitalise(s: str) -> str:
    for i, ch in enumerate(s):
        if ch.isalpha():
            return s[:i] + ch.upper() + s[i + 1:]
    return s


def surface_variants(form: str, case: str = "any") -> list[str]:
    """The strings that count as ``form`` right after the prompt (without the leading space).

    A final "." is dropped (the lexicon's period is optional, and the mass of "Mrs" already
    includes "Mrs."); a hyphenated form also counts with spaces. Case rule ``any``: the form as
    written, all lowercase, and with a capital first letter; ``lower``: all lowercase only;
    ``capitalised``: capital first letter only (as written when it already has one); ``title``:
    a capital first letter and the rest lowercase (``Ms.`` -> "Ms", never "MS").
    """
    text = form.strip()
    if text.endswith(".") and len(text) > 1:
        text = text[:-1]
    words, hyphen = form_words(form)
    bases = [text]
    if hyphen:
        bases.append(text.replace("-", " "))
    out: list[str] = []
    for b in bases:
        if case == "lower":
            cands = [b.lower()]
        elif case == "capitalised":
            cands = [_capitalise(b)]
        elif case == "title":
            cands = [_capitalise(b.lower())]
        else:
            cands = [b, b.lower(), _capitalise(b.lower()), _capitalise(b)]
        for c in cands:
            if c not in out:
                out.append(c)
    return out


def encode_continuation(tok, text: str, after_word: bool) -> list[int]:
    """Token ids of ``text`` as it continues a prompt.

    After a word (``after_word``, text starting with a space) the ids are read off the tokenisation
    of ``CONTEXT + text`` minus that of ``CONTEXT``, so tokenizers that mark word starts (byte-level
    BPE "Ġ", SentencePiece "▁") give the same ids as inside a sentence.
    """
    if after_word:
        ctx = tok(CONTEXT, add_special_tokens=False)["input_ids"]
        full = tok(CONTEXT + text, add_special_tokens=False)["input_ids"]
        if full[: len(ctx)] == ctx and len(full) > len(ctx):
            return list(full[len(ctx):])
    return list(tok(text, add_special_tokens=False)["input_ids"])


@dataclass
class Continuations:
    """The distinct token sequences of an axis's groups, for one kind of prompt ending."""

    after_word: bool
    seqs: list[tuple[int, ...]]  # distinct sequences
    owner: list[int]  # group index of each sequence
    texts: list[list[str]]  # the surface strings that gave each sequence
    nearest: list[list[int]]  # indices of the nearest listed extensions of each sequence
    rows: list[tuple[int, ...]]  # suffixes appended to the prompt: one forward row each
    row_of: list[int]  # the row whose logits score each sequence
    dropped: list[tuple[str, str, str]] = field(default_factory=list)  # (group, text, reason)

    @property
    def multi_token(self) -> int:
        return sum(len(s) > 1 for s in self.seqs)

    def wanted(self, prompt_len: int) -> tuple[list[list[tuple[int, int]]], np.ndarray]:
        """Per row, (position, token) pairs; and the sequence index of each pair, in order."""
        wanted: list[list[tuple[int, int]]] = [[] for _ in self.rows]
        order: list[list[int]] = [[] for _ in self.rows]
        for si, s in enumerate(self.seqs):
            r = self.row_of[si]
            for j, t in enumerate(s):
                wanted[r].append((prompt_len - 1 + j, t))
                order[r].append(si)
        return wanted, np.array([si for o in order for si in o], dtype=np.int64)


def build_continuations(tok, axis: Axis, after_word: bool) -> Continuations:
    unk = getattr(tok, "unk_token_id", None)
    by_seq: dict[tuple[int, ...], int] = {}
    seqs: list[tuple[int, ...]] = []
    owner: list[int] = []
    texts: list[list[str]] = []
    dropped: list[tuple[str, str, str]] = []
    clash: set[tuple[int, ...]] = set()
    for gi, g in enumerate(axis.groups):
        for form, case in zip(g.forms, g.cases):
            for v in surface_variants(form, case):
                text = (" " + v) if after_word else v
                ids = tuple(encode_continuation(tok, text, after_word))
                if not ids:
                    dropped.append((g.name, text, "no tokens"))
                    continue
                if unk is not None and unk in ids:
                    dropped.append((g.name, text, "unknown to the tokenizer"))
                    continue
                if ids in by_seq:
                    k = by_seq[ids]
                    if owner[k] != gi:
                        clash.add(ids)
                        dropped.append((g.name, text, f"same tokens as a form of "
                                                      f"{axis.groups[owner[k]].name}"))
                    elif text not in texts[k]:
                        texts[k].append(text)
                    continue
                by_seq[ids] = len(seqs)
                seqs.append(ids)
                owner.append(gi)
                texts.append([text])
    keep = [i for i, s in enumerate(seqs) if s not in clash]
    seqs, owner, texts = [seqs[i] for i in keep], [owner[i] for i in keep], [texts[i] for i in keep]
    # nearest listed extensions: d extends s, and no listed u lies strictly between them
    nearest = []
    for s in seqs:
        ext = [j for j, d in enumerate(seqs) if len(d) > len(s) and d[: len(s)] == s]
        nearest.append([j for j in ext if not any(
            len(seqs[u]) < len(seqs[j]) and seqs[j][: len(seqs[u])] == seqs[u] for u in ext)])
    # forward rows: the maximal prefixes s[:-1]; each sequence is scored by a row it prefixes
    prefixes = sorted({s[:-1] for s in seqs}, key=lambda p: (-len(p), p))
    rows: list[tuple[int, ...]] = []
    for p in prefixes:
        if not any(r[: len(p)] == p for r in rows):
            rows.append(p)
    rows.sort(key=lambda r: (len(r), r))
    row_of = [next(i for i, r in enumerate(rows) if r[: len(s) - 1] == s[:-1]) for s in seqs]
    return Continuations(after_word, seqs, owner, texts, nearest, rows, row_of, dropped)


def group_logmass(lp: np.ndarray, cont: Continuations, n_groups: int) -> np.ndarray:
    """(prompts, groups) ln m_g from (prompts, sequences) chained log-probabilities."""
    excl = lp.copy()
    for si, near in enumerate(cont.nearest):
        if near:
            inner = np.exp(lp[:, near] - lp[:, [si]]).sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                excl[:, si] = lp[:, si] + np.log1p(-np.minimum(inner, 1.0))
    out = np.full((lp.shape[0], n_groups), -np.inf)
    owner = np.array(cont.owner)
    for g in range(n_groups):
        cols = excl[:, owner == g]
        if cols.shape[1]:
            top = cols.max(axis=1, keepdims=True)
            safe = np.where(np.isfinite(top), top, 0.0)
            out[:, g] = (safe + np.log(np.exp(cols - safe).sum(axis=1, keepdims=True)))[:, 0]
    return out


def shares_from_logmass(logmass: np.ndarray) -> np.ndarray:
    top = logmass.max(axis=1, keepdims=True)
    w = np.exp(logmass - top)
    return w / w.sum(axis=1, keepdims=True)


# ---- the run ------------------------------------------------------------------------------------
def choose_axis(lexicon: Lexicon, name: str | None) -> Axis:
    if name:
        try:
            return lexicon.axis(name)
        except KeyError:
            raise ModelError(f"lexicon {lexicon.name!r} has no axis {name!r}; axes: "
                             f"{', '.join(a.name for a in lexicon.axes)}") from None
    if lexicon.gender_axis is not None:
        return lexicon.gender_axis
    if len(lexicon.axes) == 1:
        return lexicon.axes[0]
    raise ModelError(f"lexicon {lexicon.name!r} has axes {', '.join(a.name for a in lexicon.axes)}: "
                     "choose one with --axis")


def prompt_text(tok, prompt: str, chat: bool) -> tuple[str, bool]:
    """(text fed to the model, whether the continuation follows a word with a space)."""
    if chat:
        if not getattr(tok, "chat_template", None):
            raise ModelError("--chat: this tokenizer has no chat template")
        return tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                       add_generation_prompt=True), False
    text = prompt.rstrip()
    return text, bool(text)


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        try:
            from tqdm import tqdm

            tqdm.write(msg, file=sys.stderr)
        except ImportError:  # pragma: no cover
            print(msg, file=sys.stderr)


def run_probe(prompts_path: str | Path, out_path: str | Path, cfg: ProbeConfig,
              lexicon: Lexicon, progress: bool = True) -> int:
    """Probe the prompts not yet in ``out_path``; return how many prompts were probed."""
    out = Path(out_path)
    if out.suffix != ".parquet":
        raise ModelError(f"--out {out}: the probe writes Parquet; name the file *.parquet")
    if cfg.batch_size < 1:
        raise ModelError("--batch-size must be at least 1")
    if cfg.padding_side not in ("left", "right"):
        raise ModelError("--padding-side must be left or right")
    check_model_dir(cfg.model_path)
    axis = choose_axis(lexicon, cfg.axis)
    try:
        prompts = load_prompts(prompts_path)
    except FileNotFoundError:
        raise ModelError(f"prompts file {prompts_path} does not exist") from None
    except (ValueError, KeyError) as e:
        raise ModelError(str(e).splitlines()[0]) from None
    require_torch()
    device = resolve_device(cfg.device)
    ids = [p["prompt_id"] for p in prompts]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise ModelError(f"{prompts_path}: prompt_id {dup!r} appears more than once")
    meta = {"task": "probe", "model": cfg.label, "model_path": str(Path(cfg.model_path).resolve()),
            "model_files": model_fingerprint(cfg.model_path),
            "stage": cfg.stage, "lexicon": lexicon.name, "lexicon_sha256": lexicon.sha256(),
            "axis": axis.name, "chat": cfg.chat, "dtype": cfg.dtype}
    store = PartStore(out, meta, ("task", "model", "model_path", "model_files", "stage",
                                  "lexicon_sha256", "axis", "chat", "dtype"))
    try:
        prev = store.previous()
        parts = store.parts()
    except IncompatibleOutput as e:
        raise ModelError(str(e)) from None
    done = set()
    for t in ([prev] if prev is not None else []) + parts:
        done.update(t.column("prompt_id").to_pylist())
    todo_n = sum(pid not in done for pid in ids)

    tok, model = load_model(cfg.model_path, device, cfg.dtype)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    texts = [prompt_text(tok, p["prompt"], cfg.chat) for p in prompts]
    conts: dict[bool, Continuations] = {}
    for aw in sorted({aw for _, aw in texts}):
        c = build_continuations(tok, axis, aw)
        missing = [g.name for gi, g in enumerate(axis.groups) if gi not in c.owner]
        if missing:
            raise ModelError(f"the model's tokenizer cannot represent any form of group "
                             f"{missing[0]!r} of axis {axis.name!r} (every form is unknown or "
                             "shared with another group)")
        conts[aw] = c
    meta["continuations"] = {("after_word" if aw else "bare"): {
        axis.groups[g].name: [c.texts[i] for i in range(len(c.seqs)) if c.owner[i] == g]
        for g in range(len(axis.groups))} for aw, c in conts.items()}
    store.meta = meta
    c0 = next(iter(conts.values()))
    rows_per_prompt = max(len(c.rows) for c in conts.values())
    n_batches = math.ceil(len(prompts) / cfg.batch_size)
    _log(f"probe: {todo_n:,} of {len(prompts):,} prompts to do ({len(prompts) - todo_n:,} already "
         f"in {out}) x {len(axis.groups)} groups of axis {axis.name!r} ({lexicon.name}): "
         f"{sum(len(g.forms) for g in axis.groups)} forms -> {len(c0.seqs)} token sequences "
         f"({c0.multi_token} multi-token) -> {rows_per_prompt} forward row(s) per prompt, "
         f"batches of {cfg.batch_size} prompts, {device}", not progress)
    if any(c.dropped for c in conts.values()):
        d = c0.dropped or next(c.dropped for c in conts.values() if c.dropped)
        _log(f"probe: {len(d)} surface variants left out, e.g. {d[0][1]!r} of {d[0][0]} "
             f"({d[0][2]}); the rest are listed in the output's metadata", not progress)
        meta["dropped"] = [list(x) for c in conts.values() for x in c.dropped]
    if todo_n == 0:
        if parts:
            _finish(store, prev, parts, ids)
        return 0

    warm_up(model, pad_id, device)
    pa.Table.from_pydict({k: [] for k in SCHEMA.names}, SCHEMA)  # Arrow's one-time set-up
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=todo_n, unit="prompt", desc="probing", file=sys.stderr)
    written = 0
    t0, last_flush, first = time.perf_counter(), time.perf_counter(), True
    pending: list[pa.Table] = []
    groups = axis.group_names
    try:
        for b in range(n_batches):
            batch = list(range(b * cfg.batch_size, min(len(prompts), (b + 1) * cfg.batch_size)))
            if all(ids[i] in done for i in batch):
                continue  # batches are fixed over the whole prompt list: a resumed run is identical
            rows, wanted, spans = [], [], []
            for i in batch:
                text, aw = texts[i]
                c = conts[aw]
                pids = list(tok(text)["input_ids"] if not cfg.chat
                            else tok(text, add_special_tokens=False)["input_ids"])
                if not pids:
                    raise ModelError(f"prompt {ids[i]!r} has no tokens")
                w, order = c.wanted(len(pids))
                start = sum(len(x) for x in wanted)
                rows.extend(pids + list(r) for r in c.rows)
                wanted.extend(w)
                spans.append((start, order, c))
            flat = token_logprobs(model, rows, wanted, pad_id, cfg.padding_side, device)
            recs = {k: [] for k in SCHEMA.names}
            pos = 0
            for i, (start, order, c) in zip(batch, spans):
                n = len(order)
                lp = np.bincount(order, weights=flat[pos:pos + n], minlength=len(c.seqs))[None, :]
                pos += n
                if ids[i] in done:
                    continue
                logmass = group_logmass(lp, c, len(groups))
                share = shares_from_logmass(logmass)
                p = prompts[i]
                for g, gname in enumerate(groups):
                    recs["model"].append(cfg.label)
                    recs["stage"].append(cfg.stage)
                    recs["template"].append(p.get("template"))
                    recs["template_id"].append(p.get("template_id"))
                    recs["decoding"].append(DECODING)
                    recs["target"].append(p["occupation"])
                    recs["axis"].append(axis.name)
                    recs["group_name"].append(gname)
                    recs["prompt_id"].append(ids[i])
                    recs["prompt"].append(p["prompt"])
                    recs["share"].append(float(share[0, g]))
                    recs["logprob"].append(float(logmass[0, g]))
                done.add(ids[i])
                written += 1
            pending.append(pa.Table.from_pydict(recs, SCHEMA))
            n_new = len(pending[-1]) // len(groups)
            if bar:
                bar.update(n_new)
            if first:
                first = False
                took = time.perf_counter() - t0
                left = todo_n - written
                eta = fmt_seconds(took * left / max(n_new, 1))
                _log(f"probe: first batch took {took:.2f} s; about {eta} for the remaining "
                     f"{left:,} prompts", not progress)
            if time.perf_counter() - last_flush >= FLUSH_SECONDS:
                store.write_part(pa.concat_tables(pending))
                pending, last_flush = [], time.perf_counter()
    finally:  # finished batches survive an interruption (Ctrl-C, a crash, a kill -INT)
        if pending:
            store.write_part(pa.concat_tables(pending))
    if bar:
        bar.close()
    _finish(store, prev, store.parts(), ids)
    return written


def _finish(store: PartStore, prev, parts: list[pa.Table], ids: list[str]) -> None:
    """Previous OUT + parts -> OUT, ordered by the prompt file (other prompts after, as found)."""
    tables = ([prev.cast(SCHEMA)] if prev is not None else []) + [t.cast(SCHEMA) for t in parts]
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    rank = {pid: i for i, pid in enumerate(ids)}
    pids = table.column("prompt_id").to_pylist()
    seen: dict[tuple, int] = {}
    for i, (pid, g) in enumerate(zip(pids, table.column("group_name").to_pylist())):
        seen.setdefault((pid, g), i)  # a prompt is never written twice, but be safe
    keep = sorted(seen.values(), key=lambda i: (rank.get(pids[i], len(rank)), i))
    store.finish(table.take(pa.array(keep, pa.int64())))




def probe_table(path: str | Path) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(path)


def continuations_summary(path: str | Path) -> dict:
    """The continuations (per group) a probe file was made with, from its metadata."""
    import pyarrow.parquet as pq

    md = pq.ParquetFile(path).schema_arrow.metadata or {}
    return json.loads(md.get(b"tracebias", b"{}")).get("continuations", {})
