"""Windows in a model's own tokens (``--tokenizer tokenizer.json``, windows ``tokens:k``).

The text is encoded with the Hugging Face `tokenizers` file (no special tokens); every model
token is a position. Each lexicon form is encoded with the same tokenizer in several surface
variants — as written, lowercased and capitalised (a hyphenated form also with spaces), each
with and without a leading space — and matched as a token sequence, leftmost-longest and
non-overlapping. A variant whose case the form's case rule rejects (``Miss`` is
``capitalised``: the variant "miss" is dropped) is not encoded. The ±k windows then count exactly
like ``words:k`` (engine.count.kernels.window_ranges and the same accumulators), so the output
has the same tables with ``window_label = 'tokens:k'``. Caveat of token-level matching: a longer
word that begins with a form's tokens (e.g. "nurse" + "ry") also matches.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from engine.count import kernels as K
from engine.lexicon import Lexicon, form_words
from engine.lexicon.matcher import CompiledLexicon, case_bits, case_passes


@dataclass(frozen=True)
class TokenMatcher:
    path: str
    sha256: str
    edge_start: np.ndarray  # int64[n_nodes + 1]: CSR rows of the trie
    edge_tok: np.ndarray  # int64[n_edges]: token id, sorted within a node
    edge_child: np.ndarray  # int64[n_edges]
    node_path: np.ndarray  # int64[n_nodes]: lexicon path ending here, or -1
    node_bits: np.ndarray  # int64[n_nodes]: case bits of the variant that ends here
    variants: int

    def encode(self, texts: list[str]):
        """(ids, offsets, encodings) of a batch of texts."""
        encs = _tokenizer(self.path).encode_batch(texts, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        offsets = np.zeros(len(encs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter((i for e in encs for i in e.ids), dtype=np.int64, count=int(offsets[-1]))
        return ids, offsets, encs

    def encode_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ids, offsets, _ = self.encode(texts)
        return ids, offsets


_TOKENIZERS: dict = {}


def _tokenizer(path: str):
    from tokenizers import Tokenizer

    if path not in _TOKENIZERS:
        _TOKENIZERS[path] = Tokenizer.from_file(path)
    return _TOKENIZERS[path]


def surface_forms(lexicon: Lexicon) -> list[tuple[str, str]]:
    """(form as written, case rule) of every group form (axes in order) and target form."""
    out = [(f, c) for a in lexicon.axes for g in a.groups for f, c in zip(g.forms, g.cases)]
    out += [(f, c) for t in lexicon.targets for f, c in zip(t.forms, t.cases)]
    return out


def variants(form: str) -> list[str]:
    """The surface variants of a form encoded for token matching (without the leading space)."""
    f = form.strip()
    f = f[:-1] if f.endswith(".") else f
    bases = {f}
    if "-" in f:
        bases.add(" ".join(p for p in f.replace("-", " ").split()))
    out = set()
    for b in bases:
        out |= {b, b.lower(), b[:1].upper() + b[1:]}
    return sorted(out)


def compile_token_matcher(lexicon: Lexicon, compiled: CompiledLexicon,
                          tokenizer_path: str | Path) -> TokenMatcher:
    path = str(tokenizer_path)
    if not Path(path).is_file():
        raise ValueError(f"tokenizer file not found: {path}")
    tok = _tokenizer(path)
    T = compiled.tables
    path_of = {p: i for i, p in enumerate(compiled.path_words)}
    children: list[dict[int, int]] = [{}]
    node_path = [-1]
    node_bits = [0]
    n_variants = 0
    for form, _rule in surface_forms(lexicon):
        pid = path_of[form_words(form)[0]]
        for v in variants(form):
            bits = case_bits(v)
            if T.path_target[pid] >= 0:
                if not case_passes(int(T.path_case[pid]), bits):
                    continue
            elif not any(case_passes(int(T.ent_case[e]), bits)
                         for e in range(T.path_ent_start[pid], T.path_ent_start[pid + 1])):
                continue
            for text in (v, " " + v):
                ids = tok.encode(text, add_special_tokens=False).ids
                if not ids:
                    continue
                node = 0
                for t in ids:
                    if t not in children[node]:
                        children[node][t] = len(children)
                        children.append({})
                        node_path.append(-1)
                        node_bits.append(0)
                    node = children[node][t]
                if node_path[node] < 0:  # first form wins a shared token sequence
                    node_path[node] = pid
                    node_bits[node] = bits
                    n_variants += 1
    edge_start = np.zeros(len(children) + 1, dtype=np.int64)
    toks, kids = [], []
    for i, ch in enumerate(children):
        for t in sorted(ch):
            toks.append(t)
            kids.append(ch[t])
        edge_start[i + 1] = len(toks)
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return TokenMatcher(path, sha, edge_start, np.array(toks, dtype=np.int64),
                        np.array(kids, dtype=np.int64), np.array(node_path, dtype=np.int64),
                        np.array(node_bits, dtype=np.int64), n_variants)


@njit(cache=True, nogil=True)
def token_mentions(ids, a, b, edge_start, edge_tok, edge_child, node_path, node_bits, T, gm, om):
    """Leftmost-longest matches of token sequences in ids[a:b]: (gm, n_gm, om, n_om) with token
    positions (relative to a) as first/last position; sentence/paragraph/bytes are 0."""
    n_gm = 0
    n_om = 0
    j = a
    path_target = T.path_target
    while j < b:
        node = 0
        best = -1
        best_end = -1
        best_bits = 0
        t = j
        while t < b:
            node = K._child(edge_start, edge_tok, edge_child, node, ids[t])
            if node < 0:
                break
            if node_path[node] >= 0:
                best = node_path[node]
                best_end = t
                best_bits = node_bits[node]
            t += 1
        if best < 0:
            j += 1
            continue
        if path_target[best] >= 0:
            if n_om >= om.shape[0]:
                om = K._grow(om, n_om + 1)
            om[n_om, :] = 0
            om[n_om, K.O_TARGET] = path_target[best]
            om[n_om, K.O_FIRST] = j - a
            om[n_om, K.O_LAST] = best_end - a
            n_om += 1
        else:
            if n_gm >= gm.shape[0]:
                gm = K._grow(gm, n_gm + 1)
            gm[n_gm, :] = 0
            gm[n_gm, K.G_PATH] = best
            gm[n_gm, K.G_BITS] = best_bits
            gm[n_gm, K.G_FIRST] = j - a
            gm[n_gm, K.G_LAST] = best_end - a
            n_gm += 1
        j = best_end + 1
    return gm, n_gm, om, n_om


@njit(cache=True, nogil=True)
def count_token_batch(ids, offsets, doc_src, edge_start, edge_tok, edge_child, node_path,
                      node_bits, T, W, maps, S, id_data, id_offsets, poisson_cdf, n_boot, m_ctx,
                      ctx_gate):
    """±k model-token windows (W) for every document ids[offsets[d]:offsets[d+1]]."""
    gm = np.zeros((256, K.GM_COLS), dtype=np.int64)
    om = np.zeros((256, K.OM_COLS), dtype=np.int64)
    wts = np.zeros(n_boot, dtype=np.int64)
    for d in range(offsets.shape[0] - 1):
        gm, n_gm, om, n_om = token_mentions(ids, offsets[d], offsets[d + 1], edge_start, edge_tok,
                                            edge_child, node_path, node_bits, T, gm, om)
        if n_om == 0:
            continue
        S = K.ensure_scratch(S, n_om)
        if n_boot > 0:
            K.poisson_weights(id_data, id_offsets[d], id_offsets[d + 1], poisson_cdf, wts)
        dist = K._doc_distinct(om, n_om, gm, n_gm, T, S)
        maps, m_ctx = K.count_units(maps, doc_src[d], om, n_om, gm, n_gm, T, W, S, wts, True,
                                    dist, m_ctx, ctx_gate, K._U0, d, 0, 0, -1, 0)
    return maps, S


def count_token_windows(counter, text, doc_src, id_data, id_offsets):
    """The token-window pass of engine.count.counting.ShardCounter.add_texts."""
    from engine.count.bootstrap import POISSON_CDF

    tm = counter.config.token_matcher
    ids, offsets = tm.encode_batch(text.to_pylist())
    return count_token_batch(ids, offsets, doc_src, tm.edge_start, tm.edge_tok, tm.edge_child,
                             tm.node_path, tm.node_bits, counter.config.compiled.tables,
                             counter.TW, counter.maps, counter.S, id_data, id_offsets,
                             POISSON_CDF, counter.config.bootstrap, counter.m_ctx,
                             counter.ctx_gate)
