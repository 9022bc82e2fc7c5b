"""Compile a lexicon into the integer tables the numba kernels match against.

Every surface form is split with the same tokenizer as the text (engine.lexicon.unicode). All
words of all forms (plus the abbreviation words that keep a "." from ending a sentence) form a
small vocabulary; each vocabulary word is found in text through a hash table over its
lowercased UTF-8 bytes, with a byte-for-byte check, so matching is exact.

A **path** is a sequence of vocabulary ids a form matches: its words, and for a form written
with hyphens also its words joined by the pseudo-word ``-`` (the hyphen token). Paths are stored
in a trie (CSR rows of edges sorted by vocabulary id); the kernel matches leftmost-longest,
non-overlapping, over consecutive tokens of one line. A path is either a target path (one
target) or a group path with **entries**: one per (axis, group, form) it stands for, so a form
listed in two axes counts in both. Every entry and target path carries the form's case rule
(``any``, ``lower``, ``capitalised``), checked against the matched text.

Numbering (shared by the kernels, the output tables and the reference path):
  * group **columns** c = 0..C-1: every (axis, group) pair, axes in lexicon order;
  * **labels** l = 0..L-1: every (axis, group, form as written) — the representation table's terms;
  * **gender terms**: labels of the binary gender axis, numbered 0.. in lexicon order (female
    forms then male forms), the term_cooccurrence table's terms.
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from engine.lexicon.lexicon import CASE_RULES, Lexicon, LexiconError, form_words

DEFAULT_ABBREVIATIONS: tuple[str, ...] = ("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs")
HYPHEN = "-"  # the pseudo-word between the words of a hyphenated form

CASE_ANY, CASE_LOWER, CASE_CAPITALISED, CASE_TITLE = (
    CASE_RULES.index(r) for r in ("any", "lower", "capitalised", "title"))
# case bits of a matched span: bit 0 = its first code point changes under lowercasing
# (a capital initial), bit 1 = some code point of it changes (it is not all lowercase),
# bit 2 = a code point after the first changes (it is not written "Title")
CASE_BIT_INITIAL, CASE_BIT_UPPER, CASE_BIT_REST = 1, 2, 4
_M64 = 0xFFFFFFFFFFFFFFFF

# the tables the kernels take, as one named tuple (numba types it field by field)
MatchTables = namedtuple("MatchTables", [
    "ht_hash", "ht_id", "ht_bits", "vocab_bytes", "vocab_off", "is_abbrev", "hyphen_vid",
    "node_start", "edge_vid", "edge_child", "node_path", "root_child",
    "path_target", "path_case", "path_ent_start", "ent_col", "ent_label", "ent_case",
    "col_axis", "label_col", "label_gterm", "n_axes", "n_cols", "n_labels", "n_gterms",
    "n_targets"])


def word_hash(data: bytes) -> int:
    """Hash of a word's lowercased UTF-8 bytes (same as engine.count.kernels): 8-byte
    little-endian chunks, the last one partial (possibly empty) and zero-padded, each folded in
    as h = (h ^ chunk) * P."""
    h = 0x9E3779B97F4A7C15
    full = len(data) - len(data) % 8
    for a in range(0, full + 1, 8):
        h = ((h ^ int.from_bytes(data[a:a + 8], "little")) * 0x9FB21C651E98DF25) & _M64
    return h


def slot_of(h: int, mask: int) -> int:
    """Home slot of hash h in a table of mask + 1 slots (same as engine.count.kernels._slot)."""
    return ((((h ^ (h >> 29)) * 0xBF58476D1CE4E5B9) & _M64) >> 29) & mask


def case_bits(text: str) -> int:
    """The case bits of matched text (plain Python; the kernels compute the same from bytes)."""
    from engine.lexicon.unicode import lowercase

    bits = 0
    for i, ch in enumerate(text):
        if lowercase(ch) != ch:
            bits |= CASE_BIT_UPPER | (CASE_BIT_INITIAL if i == 0 else CASE_BIT_REST)
    return bits


def case_passes(rule: int, bits: int) -> bool:
    if rule == CASE_LOWER:
        return not bits & CASE_BIT_UPPER
    if rule == CASE_CAPITALISED:
        return bool(bits & CASE_BIT_INITIAL)
    if rule == CASE_TITLE:
        return bool(bits & CASE_BIT_INITIAL) and not bits & CASE_BIT_REST
    return True


@dataclass(frozen=True)
class Label:
    axis: str
    group: str
    form: str


@dataclass(frozen=True)
class CompiledLexicon:
    """Integer tables for the kernels plus the names to turn ids back into labels."""

    lexicon_name: str
    lexicon_sha256: str
    target_names: tuple[str, ...]
    axis_names: tuple[str, ...]
    group_columns: tuple[tuple[str, str], ...]  # (axis, group) per column
    labels: tuple[Label, ...]
    gender_terms: tuple[tuple[str, str], ...]  # (gender, surface form) per gender-term id
    gender_axis: int  # axis index of the binary gender axis, or -1
    vocab: tuple[str, ...]
    abbreviations: tuple[str, ...]
    path_words: tuple[tuple[str, ...], ...]  # vocabulary words of each path
    tables: MatchTables

    @property
    def n_targets(self) -> int:
        return len(self.target_names)

    @property
    def n_gender_terms(self) -> int:
        return len(self.gender_terms)

    @property
    def n_columns(self) -> int:
        return len(self.group_columns)

    def columns_of_axis(self, axis: str) -> list[int]:
        return [i for i, (a, _) in enumerate(self.group_columns) if a == axis]

    @property
    def max_word_bytes(self) -> int:
        return int(np.diff(self.tables.vocab_off).max(initial=0))


def _root_child(root: dict[int, int], n_vocab: int) -> np.ndarray:
    """The trie root's children as a dense table by vocabulary id (-1: no form starts there):
    the first step of every match is one load."""
    out = np.full(max(n_vocab, 1), -1, dtype=np.int32)
    for v, child in root.items():
        out[v] = child
    return out


def _case_code(rule: str) -> int:
    return CASE_RULES.index(rule)


def compile_lexicon(lexicon: Lexicon,
                    abbreviations: Iterable[str] = DEFAULT_ABBREVIATIONS) -> CompiledLexicon:
    abbrevs = set(abbreviations)
    group_columns: list[tuple[str, str]] = []
    col_axis: list[int] = []
    labels: list[Label] = []
    label_col: list[int] = []
    gender_terms: list[tuple[str, str]] = []
    label_gterm: list[int] = []
    # path (tuple of words, "-" between hyphenated words) -> entries or target
    group_paths: dict[tuple[str, ...], list[tuple[int, int, int]]] = {}  # -> [(col, label, case)]
    target_paths: dict[tuple[str, ...], tuple[int, int, str]] = {}  # -> (target, case, owner)

    def paths_of(form: str) -> list[tuple[str, ...]]:
        words, hyphen = form_words(form)
        if form.rstrip().endswith("."):
            abbrevs.add(words[-1])
        out = [words]
        if hyphen:
            joined: list[str] = []
            for i, w in enumerate(words):
                if i:
                    joined.append(HYPHEN)
                joined.append(w)
            out.append(tuple(joined))
        return out

    gender_axis = -1
    for ai, axis in enumerate(lexicon.axes):
        if axis.is_binary_gender and gender_axis < 0:
            gender_axis = ai
        for group in axis.groups:
            col = len(group_columns)
            group_columns.append((axis.name, group.name))
            col_axis.append(ai)
            for form, rule in zip(group.forms, group.cases):
                lab = len(labels)
                labels.append(Label(axis.name, group.name, form))
                label_col.append(col)
                if ai == gender_axis:
                    label_gterm.append(len(gender_terms))
                    gender_terms.append((group.name, form))
                else:
                    label_gterm.append(-1)
                for p in paths_of(form):
                    group_paths.setdefault(p, []).append((col, lab, _case_code(rule)))
    for ti, target in enumerate(lexicon.targets):
        for form, rule in zip(target.forms, target.cases):
            for p in paths_of(form):
                if p in group_paths:
                    raise LexiconError(f"lexicon {lexicon.name!r}: {' '.join(p)!r} is both a "
                                       f"target form ({target.name!r}) and a group term")
                if p in target_paths:
                    other = lexicon.targets[target_paths[p][0]].name
                    raise LexiconError(f"lexicon {lexicon.name!r}: {' '.join(p)!r} is listed for "
                                       f"both target {other!r} and target {target.name!r}")
                target_paths[p] = (ti, _case_code(rule), target.name)

    paths = sorted(group_paths) + sorted(target_paths)
    vocab_list = sorted({w for p in paths for w in p} | abbrevs)
    vocab_id = {w: i for i, w in enumerate(vocab_list)}
    encoded = [w.encode("utf-8") for w in vocab_list]
    vocab_off = np.zeros(len(encoded) + 1, dtype=np.int64)
    vocab_off[1:] = np.cumsum([len(e) for e in encoded])
    # 8 bytes of padding: the scan compares a short word with one 8-byte load
    vocab_bytes = np.frombuffer(b"".join(encoded) + bytes(8), dtype=np.uint8).copy()
    # sparse, so most words miss at the first probe: 64 slots per word while the occupancy
    # bitmap below stays within 64 KB (2^19 slots), at least 16 per word beyond that. For the
    # 6,878 words of identity-sentiment, 64 instead of 16 slots per word and the bitmap made the
    # scan 12% faster (2026-11-26); tracing-bias's 268 words were as fast as before.
    n_enc = len(encoded)
    cap = 1 << max(4, min((64 * n_enc).bit_length(), max(19, (16 * n_enc).bit_length())))
    ht_hash = np.zeros(cap, dtype=np.uint64)
    ht_id = np.full(cap, -1, dtype=np.int32)
    for i, e in enumerate(encoded):
        h = word_hash(e)
        slot = slot_of(h, cap - 1)
        while ht_id[slot] >= 0:
            slot = (slot + 1) & (cap - 1)
        ht_hash[slot] = np.uint64(h)
        ht_id[slot] = i
    # one bit per slot, set where ht_id holds a word: the scan's first probe reads this bitmap
    # (cap / 8 bytes: 64 KB for 6,878 words) instead of ht_id (cap * 4 bytes), so the table
    # stays sparse without its size costing cache misses on every word
    used = np.zeros(-(-cap // 64) * 64, dtype=np.uint8)
    used[:cap] = ht_id >= 0
    ht_bits = np.packbits(used, bitorder="little").view(np.uint64).copy()
    is_abbrev = np.array([1 if w in abbrevs else 0 for w in vocab_list], dtype=np.uint8)

    # trie over vocabulary ids, as CSR rows of (vocabulary id, child) sorted by id
    children: list[dict[int, int]] = [{}]
    node_path = [-1]
    for pid, p in enumerate(paths):
        node = 0
        for w in p:
            v = vocab_id[w]
            if v not in children[node]:
                children[node][v] = len(children)
                children.append({})
                node_path.append(-1)
            node = children[node][v]
        node_path[node] = pid
    node_start = np.zeros(len(children) + 1, dtype=np.int64)
    edge_vid, edge_child = [], []
    for i, ch in enumerate(children):
        for v in sorted(ch):
            edge_vid.append(v)
            edge_child.append(ch[v])
        node_start[i + 1] = len(edge_vid)

    n_group_paths = len(group_paths)
    path_target = np.full(len(paths), -1, dtype=np.int32)
    path_case = np.zeros(len(paths), dtype=np.int8)
    path_ent_start = np.zeros(len(paths) + 1, dtype=np.int32)
    ent_col, ent_label, ent_case = [], [], []
    for pid, p in enumerate(paths):
        if pid < n_group_paths:
            for col, lab, case in sorted(group_paths[p]):
                ent_col.append(col)
                ent_label.append(lab)
                ent_case.append(case)
        else:
            path_target[pid], path_case[pid], _ = target_paths[p]
        path_ent_start[pid + 1] = len(ent_col)

    tables = MatchTables(
        ht_hash=ht_hash, ht_id=ht_id, ht_bits=ht_bits, vocab_bytes=vocab_bytes, vocab_off=vocab_off,
        is_abbrev=is_abbrev, hyphen_vid=np.int64(vocab_id.get(HYPHEN, -1)),
        node_start=node_start, edge_vid=np.array(edge_vid, dtype=np.int32),
        edge_child=np.array(edge_child, dtype=np.int32),
        node_path=np.array(node_path, dtype=np.int32),
        root_child=_root_child(children[0], len(vocab_list)),
        path_target=path_target, path_case=path_case, path_ent_start=path_ent_start,
        ent_col=np.array(ent_col, dtype=np.int32), ent_label=np.array(ent_label, dtype=np.int32),
        ent_case=np.array(ent_case, dtype=np.int8), col_axis=np.array(col_axis, dtype=np.int32),
        label_col=np.array(label_col, dtype=np.int32),
        label_gterm=np.array(label_gterm, dtype=np.int32),
        n_axes=np.int64(len(lexicon.axes)), n_cols=np.int64(len(group_columns)),
        n_labels=np.int64(len(labels)), n_gterms=np.int64(len(gender_terms)),
        n_targets=np.int64(len(lexicon.targets)))
    return CompiledLexicon(
        lexicon_name=lexicon.name,
        lexicon_sha256=lexicon.sha256(),
        target_names=tuple(t.name for t in lexicon.targets),
        axis_names=tuple(a.name for a in lexicon.axes),
        group_columns=tuple(group_columns),
        labels=tuple(labels),
        gender_terms=tuple(gender_terms),
        gender_axis=gender_axis,
        vocab=tuple(vocab_list),
        abbreviations=tuple(sorted(abbrevs)),
        path_words=tuple(paths),
        tables=tables,
    )
