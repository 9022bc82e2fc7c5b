"""Windows in a model's own tokens (``--tokenizer tokenizer.json``, windows ``tokens:k``).

The text is encoded with the Hugging Face `tokenizers` file (no special tokens); every model
token is a position. Each lexicon form is encoded with the same tokenizer in several surface
variants — as written, lowercased and capitalised, each with and without a leading space —
and matched as a token sequence, leftmost-longest and non-overlapping. The ±k windows then
count exactly like ``words:k`` (engine.count.kernels._count_word_windows), so the output has the
same schema with ``window = 'tokens:k'``. Caveat of token-level matching: a longer word that
begins with a form's tokens (e.g. "nurse" + "ry") also matches.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from engine.count.kernels import _count_word_windows, poisson_weights
from engine.lexicon import Lexicon
from engine.lexicon.matcher import CompiledLexicon


@dataclass(frozen=True)
class TokenMatcher:
    path: str
    sha256: str
    edge_start: np.ndarray  # int64[n_nodes + 1]: CSR rows of the trie
    edge_tok: np.ndarray  # int64[n_edges]: token id, sorted within a node
    edge_child: np.ndarray  # int64[n_edges]
    node_term: np.ndarray  # int64[n_nodes]: term id ending here, or -1
    variants: int

    def encode_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encs = _tokenizer(self.path).encode_batch(texts, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        offsets = np.zeros(len(encs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        ids = np.fromiter((i for e in encs for i in e.ids), dtype=np.int64, count=int(offsets[-1]))
        return ids, offsets


_TOKENIZERS: dict = {}


def _tokenizer(path: str):
    from tokenizers import Tokenizer

    if path not in _TOKENIZERS:
        _TOKENIZERS[path] = Tokenizer.from_file(path)
    return _TOKENIZERS[path]


def surface_forms(lexicon: Lexicon) -> list[str]:
    """Forms in the term order of engine.lexicon.matcher.compile_lexicon (gender terms, then targets)."""
    forms = [f for _, f in lexicon.gender_terms]
    forms += [f for t in lexicon.targets for f in t.forms]
    return [f.strip()[:-1] if f.strip().endswith(".") else f.strip() for f in forms]


def compile_token_matcher(lexicon: Lexicon, compiled: CompiledLexicon,
                          tokenizer_path: str | Path) -> TokenMatcher:
    path = str(tokenizer_path)
    if not Path(path).is_file():
        raise ValueError(f"tokenizer file not found: {path}")
    tok = _tokenizer(path)
    children: list[dict[int, int]] = [{}]
    node_term = [-1]
    n_variants = 0
    for term_id, form in enumerate(surface_forms(lexicon)):
        cases = {form, form.lower(), form[:1].upper() + form[1:]}
        for v in sorted(cases):
            for text in (v, " " + v):
                ids = tok.encode(text, add_special_tokens=False).ids
                if not ids:
                    continue
                node = 0
                for t in ids:
                    if t not in children[node]:
                        children[node][t] = len(children)
                        children.append({})
                        node_term.append(-1)
                    node = children[node][t]
                if node_term[node] < 0:  # first form wins a shared token sequence
                    node_term[node] = term_id
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
                        np.array(kids, dtype=np.int64), np.array(node_term, dtype=np.int64),
                        n_variants)


@njit(cache=True, nogil=True)
def _child(edge_start, edge_tok, edge_child, node, tok):
    lo = edge_start[node]
    hi = edge_start[node + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if edge_tok[mid] < tok:
            lo = mid + 1
        else:
            hi = mid
    if lo < edge_start[node + 1] and edge_tok[lo] == tok:
        return edge_child[lo]
    return -1


@njit(cache=True, nogil=True)
def count_token_windows(ids, offsets, doc_src, edge_start, edge_tok, edge_child, node_term,
                        term_kind, term_target, term_gterm, ks, k_win, cooc, terms,
                        id_data, id_offsets, poisson_cdf, rep):
    """±k model-token windows for every document ids[offsets[d]:offsets[d+1]]."""
    gm = np.zeros((256, 6), dtype=np.int64)
    om = np.zeros((256, 7), dtype=np.int64)
    g_idx = np.empty(256, dtype=np.int64)
    seen_g = np.zeros(max(terms.shape[3], 1), dtype=np.int64)
    stamp = np.zeros(1, dtype=np.int64)
    wts = np.zeros(rep.shape[3], dtype=np.int64)
    for d in range(offsets.shape[0] - 1):
        a = offsets[d]
        b = offsets[d + 1]
        n_gm = 0
        n_om = 0
        j = a
        while j < b:
            node = 0
            best = -1
            best_end = -1
            t = j
            while t < b:
                node = _child(edge_start, edge_tok, edge_child, node, ids[t])
                if node < 0:
                    break
                if node_term[node] >= 0:
                    best = node_term[node]
                    best_end = t
                t += 1
            if best < 0:
                j += 1
                continue
            if term_kind[best] == 2:
                if n_om == om.shape[0]:
                    bigger = np.zeros((2 * n_om, 7), dtype=np.int64)
                    bigger[:n_om] = om
                    om = bigger
                om[n_om, 0] = term_target[best]
                om[n_om, 1] = j - a
                om[n_om, 2] = best_end - a
                n_om += 1
            else:
                if n_gm == gm.shape[0]:
                    bigger = np.zeros((2 * n_gm, 6), dtype=np.int64)
                    bigger[:n_gm] = gm
                    gm = bigger
                gm[n_gm, 0] = term_gterm[best]
                gm[n_gm, 1] = term_kind[best]
                gm[n_gm, 2] = j - a
                gm[n_gm, 3] = best_end - a
                n_gm += 1
            j = best_end + 1
        if n_om == 0:
            continue
        if g_idx.shape[0] < n_gm:
            g_idx = np.empty(2 * n_gm, dtype=np.int64)
        if wts.shape[0] > 0:
            poisson_weights(id_data, id_offsets[d], id_offsets[d + 1], poisson_cdf, wts)
        _count_word_windows(om, n_om, gm, n_gm, ks, k_win, doc_src[d], cooc, terms, seen_g,
                            g_idx, stamp, rep, wts)
