"""Compile a lexicon into the integer tables the numba kernels match against.

Every surface form is split with the same tokenizer as the text (engine.lexicon.unicode). A form must
be a sequence of words, optionally followed by a single "." (so "Mrs." is the word ``mrs``).
All words of all forms (plus the abbreviation words that keep a "." from ending a sentence)
form a small vocabulary; each vocabulary word is found in text through an FNV-1a hash table
over its lowercased UTF-8 bytes, with a byte-for-byte check against the text, so matching is exact. Forms are
stored in a trie over vocabulary ids; the kernel matches leftmost-longest, non-overlapping,
over consecutive tokens of one line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from engine.lexicon import GENDERS, Lexicon, LexiconError
from engine.lexicon.unicode import pretokenize

DEFAULT_ABBREVIATIONS: tuple[str, ...] = ("mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs")

KIND_FEMALE, KIND_MALE, KIND_TARGET = 0, 1, 2
_M64 = 0xFFFFFFFFFFFFFFFF


def word_hash(data: bytes) -> int:
    """Rotate-xor hash of a word's lowercased UTF-8 bytes (same as engine.count.kernels)."""
    h = 0x9E3779B97F4A7C15
    for b in data:
        h = (((h << 5) | (h >> 59)) & _M64) ^ b
    return h


def slot_of(h: int, mask: int) -> int:
    """Home slot of hash h in a table of mask + 1 slots (same as engine.count.kernels._slot)."""
    return ((((h ^ (h >> 29)) * 0xBF58476D1CE4E5B9) & _M64) >> 29) & mask


def form_words(form: str) -> tuple[str, ...]:
    """Split a lexicon surface form into its lowercased words ("Mrs." -> ("mrs",))."""
    toks = pretokenize(form)
    if toks and not toks[-1][1] and toks[-1][0] == ".":
        toks = toks[:-1]
    if not toks:
        raise LexiconError(f"form {form!r} has no words")
    bad = [t for t, is_word in toks if not is_word]
    if bad:
        raise LexiconError(
            f"form {form!r} contains punctuation {bad!r}: forms must be words separated by spaces "
            "(a single trailing '.' is allowed)"
        )
    return tuple(t for t, _ in toks)


@dataclass(frozen=True)
class CompiledLexicon:
    """Integer tables for the kernels plus the names to turn ids back into labels."""

    lexicon_name: str
    lexicon_sha256: str
    target_names: tuple[str, ...]
    gender_terms: tuple[tuple[str, str], ...]  # (gender, surface form) per gender-term id
    vocab: tuple[str, ...]
    abbreviations: tuple[str, ...]
    # hash table over vocabulary words
    ht_hash: np.ndarray  # uint64[cap]
    ht_id: np.ndarray  # int32[cap], -1 = empty
    vocab_bytes: np.ndarray  # uint8[...]
    vocab_off: np.ndarray  # int64[n_vocab + 1]
    max_word_bytes: int
    is_abbrev: np.ndarray  # uint8[n_vocab]
    # trie over vocabulary ids
    trie_next: np.ndarray  # int32[n_nodes, n_vocab]
    trie_term: np.ndarray  # int32[n_nodes], -1 = no form ends here
    # per form (term) id
    term_kind: np.ndarray  # int8: KIND_FEMALE / KIND_MALE / KIND_TARGET
    term_target: np.ndarray  # int32: target id or -1
    term_gterm: np.ndarray  # int32: gender-term id or -1
    term_words: tuple[tuple[str, ...], ...]

    @property
    def n_targets(self) -> int:
        return len(self.target_names)

    @property
    def n_gender_terms(self) -> int:
        return len(self.gender_terms)


def compile_lexicon(
    lexicon: Lexicon, abbreviations: Iterable[str] = DEFAULT_ABBREVIATIONS
) -> CompiledLexicon:
    owners: dict[tuple[str, ...], str] = {}
    term_words: list[tuple[str, ...]] = []
    kinds: list[int] = []
    targets: list[int] = []
    gterms: list[int] = []

    def add(words: tuple[str, ...], kind: int, target: int, gterm: int, owner: str) -> None:
        if words in owners:
            raise LexiconError(
                f"lexicon {lexicon.name!r}: {' '.join(words)!r} is listed for both {owners[words]} "
                f"and {owner}"
            )
        owners[words] = owner
        term_words.append(words)
        kinds.append(kind)
        targets.append(target)
        gterms.append(gterm)

    gender_terms = tuple(lexicon.gender_terms)
    abbrevs = set(abbreviations)
    for gid, (gender, form) in enumerate(gender_terms):
        words = form_words(form)
        if form.rstrip().endswith("."):
            abbrevs.add(words[-1])
        kind = KIND_FEMALE if gender == GENDERS[0] else KIND_MALE
        add(words, kind, -1, gid, f"gender term {form!r} ({gender})")
    for tid, target in enumerate(lexicon.targets):
        for form in target.forms:
            words = form_words(form)
            if form.rstrip().endswith("."):
                abbrevs.add(words[-1])
            add(words, KIND_TARGET, tid, -1, f"occupation {target.name!r}")

    vocab_list = sorted({w for ws in term_words for w in ws} | abbrevs)
    vocab_id = {w: i for i, w in enumerate(vocab_list)}
    encoded = [w.encode("utf-8") for w in vocab_list]
    vocab_off = np.zeros(len(encoded) + 1, dtype=np.int64)
    vocab_off[1:] = np.cumsum([len(e) for e in encoded])
    vocab_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    cap = 1 << max(4, (16 * len(encoded)).bit_length())  # sparse: most words miss at once
    ht_hash = np.zeros(cap, dtype=np.uint64)
    ht_id = np.full(cap, -1, dtype=np.int32)
    for i, e in enumerate(encoded):
        h = word_hash(e)
        slot = slot_of(h, cap - 1)
        while ht_id[slot] >= 0:
            slot = (slot + 1) & (cap - 1)
        ht_hash[slot] = np.uint64(h)
        ht_id[slot] = i
    is_abbrev = np.array([1 if w in abbrevs else 0 for w in vocab_list], dtype=np.uint8)

    # trie
    n_nodes_max = 1 + sum(len(ws) for ws in term_words)
    trie_next = np.full((n_nodes_max, max(1, len(vocab_list))), -1, dtype=np.int32)
    trie_term = np.full(n_nodes_max, -1, dtype=np.int32)
    n_nodes = 1
    for term_id, ws in enumerate(term_words):
        node = 0
        for w in ws:
            v = vocab_id[w]
            if trie_next[node, v] < 0:
                trie_next[node, v] = n_nodes
                n_nodes += 1
            node = trie_next[node, v]
        trie_term[node] = term_id
    return CompiledLexicon(
        lexicon_name=lexicon.name,
        lexicon_sha256=lexicon.sha256(),
        target_names=tuple(t.name for t in lexicon.targets),
        gender_terms=gender_terms,
        vocab=tuple(vocab_list),
        abbreviations=tuple(sorted(abbrevs)),
        ht_hash=ht_hash,
        ht_id=ht_id,
        vocab_bytes=vocab_bytes,
        vocab_off=vocab_off,
        max_word_bytes=int(max((len(e) for e in encoded), default=0)),
        is_abbrev=is_abbrev,
        trie_next=np.ascontiguousarray(trie_next[:n_nodes]),
        trie_term=trie_term[:n_nodes].copy(),
        term_kind=np.array(kinds, dtype=np.int8),
        term_target=np.array(targets, dtype=np.int32),
        term_gterm=np.array(gterms, dtype=np.int32),
        term_words=tuple(term_words),
    )
