"""Numba kernels: UTF-8 bytes -> words -> lexicon mentions -> units of every window, in one pass.

Everything here works on integer arrays (Arrow buffers viewed as NumPy); no Python object is
touched per word. Layers, each a small function the next one calls:

    _scan_doc        bytes -> the document's lexicon-vocabulary words (``known`` rows)
    _match           known words -> group mentions ``gm`` and target mentions ``om``
                     (leftmost-longest over a trie of paths, case rules checked)
    doc_mentions     the two above: what counting, tagging and classification share
    window_ranges    the one definition of a window: for every target mention, the range of
                     group mentions in its window and whether it starts a new unit
    _collect/_add_unit   a unit -> the groups present per axis -> the accumulators
    count_batch      all of it for a batch of documents (engine.count.counting calls it)

Accumulators are open-addressing hash maps ``(keys int64[cap, 2], vals int64[cap, nv],
used int64[1])`` keyed by (source id, packed key); their size follows the number of distinct
output rows, not the number of sources x targets x groups. ``map_slot`` grows a map when it is
half full and returns it, so every function that adds to a map returns the maps it was given.
Packed keys: window index << 56 | target << 24 | x, with x a group column, an axis or a gender
term (see engine.count.counting for the value layouts).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from engine.corpus.unaligned import HIGH, LOW7, bytes_equal, load8, spread

# ---- layouts and codes ---------------------------------------------------------------------
# character classes (engine.lexicon.unicode)
_PUNCT, _WORD, _SPACE = 0, 1, 2
# window kinds (engine.count.windows.Window.code)
WK_SENTENCE, WK_PARAGRAPH, WK_DOCUMENT, WK_POSITIONAL = 0, 1, 2, 3
# case rules (engine.lexicon.matcher) and the case bits of a matched span
CASE_ANY, CASE_LOWER, CASE_CAPITALISED, CASE_TITLE = 0, 1, 2, 3
# bits: the first code point changes under lowercasing; any does; a later one does
CASE_BIT_INITIAL, CASE_BIT_UPPER, CASE_BIT_REST = 1, 2, 4
# ASCII bytes the sentence rules look at
_DOT, _BANG, _QUESTION, _HYPHEN_BYTE, _SPACE_BYTE, _NEWLINE = 46, 33, 63, 45, 32, 10

# columns of the per-document scratch tables
# known words:      [token index, vocabulary id, word position, sentence, paragraph, byte start, byte end]
K_TOK, K_VID, K_WPOS, K_SENT, K_PARA, K_BS, K_BE = range(7)
KNOWN_COLS = 7
# group mentions:   [path, case bits, first position, last position, sentence, paragraph, byte start, byte end]
G_PATH, G_BITS, G_FIRST, G_LAST, G_SENT, G_PARA, G_BS, G_BE = range(8)
GM_COLS = 8
# target mentions:  [target, first position, last position, sentence, paragraph, byte start, byte end]
O_TARGET, O_FIRST, O_LAST, O_SENT, O_PARA, O_BS, O_BE = range(7)
OM_COLS = 7

# accumulator value layouts (B = bootstrap replicates)
UNIT_UNITS = 0  # + B replicate unit counts from column 1
AXIS_ANY, AXIS_MULTI = 0, 1
GROUP_WITH, GROUP_ONLY, GROUP_MENTIONS = 0, 1, 2  # + B replicate `with` from 3, B `only` from 3+B
TERM_COUNT, TERM_UNITS = 0, 1
REPR_DOCUMENTS, REPR_MENTIONS = 0, 1
REPR_LABEL, REPR_COLUMN, REPR_AXIS = 0, 1, 2  # kind << 56 in the representation map's key
CTX_TARGET, CTX_GROUP, CTX_PAIR = 0, 1, 2  # kinds of contexts reservoir keys (first key word)
SHIFT_WINDOW, SHIFT_TARGET = 56, 24
MAX_WINDOWS, MAX_TARGETS, MAX_X = 1 << 7, 1 << 32, 1 << 24
_I63 = np.int64(0x7FFFFFFFFFFFFFFF)

CharArrays = namedtuple("CharArrays", ["cls", "lower", "expansions", "ascii_class"])
WindowArrays = namedtuple("WindowArrays", ["kind", "k", "index"])
Scratch = namedtuple("Scratch", [
    "cnt_col", "seen_col", "touched_col", "seen_axis", "n_present", "touched_axis",
    "cnt_gterm", "seen_gterm", "touched_gterm", "seen_label", "seen_target", "stamp",
    "lo", "hi", "first", "cnt_label", "touched_label"])

# word hash over the lowercased UTF-8 bytes, 8 bytes at a time: the bytes split into
# little-endian chunks of 8 (the last one partial, possibly empty, zero-padded), each chunk c
# folded in as h = (h ^ c) * _HP; mixed once per word to pick a slot. ASCII words are found and
# hashed a chunk at a time (SWAR: one 8-byte load classifies 8 bytes); other words byte by byte.
# Matches engine.lexicon.matcher.word_hash / slot_of.
_H0 = np.uint64(0x9E3779B97F4A7C15)
_HP = np.uint64(0x9FB21C651E98DF25)
_U0, _U2 = np.uint64(0), np.uint64(2)
_B20, _B5F = spread(0x20), spread(0x5F)
# byte-wise x >= lo is bit 7 of x + (128 - lo); x > hi is bit 7 of x + (127 - hi) (x < 128)
_LO_A, _HI_Z, _LO_0, _HI_9, _LO_UA, _HI_UZ = (
    spread(b) for b in (128 - 97, 127 - 122, 128 - 48, 127 - 57, 128 - 65, 127 - 90))
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_S29 = np.uint64(29)
_SM1 = np.uint64(0x9E3779B97F4A7C15)
_SM2 = np.uint64(0xBF58476D1CE4E5B9)
_SM3 = np.uint64(0x94D049BB133111EB)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


def char_arrays(tables) -> CharArrays:
    """The kernels' view of engine.lexicon.unicode.CharTables (plus the ASCII fast-path table)."""
    ascii_class = _ascii_class(tables.cls, tables.lower)
    # the scan's 8-bytes-at-a-time path hard-codes the ASCII word characters and their
    # lowercasing: it must agree with the tables byte for byte
    for b in range(128):
        word, low = _ascii_words8(np.uint64(b))
        want = ascii_class[b] if ascii_class[b] > 0 else -1
        if (word != 0) != (want > 0) or (want > 0 and int(low) != want):
            raise AssertionError(f"Unicode tables and the ASCII word scan disagree on byte {b}")
    return CharArrays(tables.cls, tables.lower, tables.expansions, ascii_class)


def scratch(n_cols: int, n_axes: int, n_gterms: int, n_labels: int, n_targets: int) -> Scratch:
    z = lambda n: np.zeros(max(int(n), 1), dtype=np.int64)  # noqa: E731
    return Scratch(z(n_cols), z(n_cols), z(n_cols), z(n_axes), z(n_axes), z(n_axes),
                   z(n_gterms), z(n_gterms), z(n_gterms), z(n_labels), z(n_targets), z(1),
                   z(256), z(256), z(256), z(n_labels), z(n_labels))


# ---- small helpers ---------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _grow(a, need):
    if need <= a.shape[0]:
        return a
    n = a.shape[0] * 2
    while n < need:
        n *= 2
    b = np.empty((n, a.shape[1]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(cache=True, nogil=True)
def _grow1(a, need):
    if need <= a.shape[0]:
        return a
    n = a.shape[0] * 2
    while n < need:
        n *= 2
    return np.zeros(n, dtype=a.dtype)


@njit(cache=True, nogil=True, inline="always")
def _slot(h, mask):
    return np.int64(((h ^ (h >> _S29)) * _MIX) >> _S29) & mask


@njit(cache=True, nogil=True, inline="always")
def _occupied(bits, slot):
    """Does the vocabulary table hold a word at ``slot`` (MatchTables.ht_bits)?"""
    return (bits[slot >> 6] >> np.uint64(slot & 63)) & np.uint64(1) != np.uint64(0)


@njit(cache=True, nogil=True, inline="always")
def _hbyte(h, acc, nb, b):
    """Hash state (h, acc, nb) after one more byte: acc holds the nb < 8 bytes of the open chunk."""
    acc |= np.uint64(b) << np.uint64(8 * nb)
    nb += 1
    if nb == 8:
        return (h ^ acc) * _HP, _U0, 0
    return h, acc, nb


@njit(cache=True, nogil=True, inline="always")
def _hash_cp(h, acc, nb, c):
    """Hash state after the UTF-8 bytes of code point c."""
    if c < 0x80:
        return _hbyte(h, acc, nb, c)
    if c < 0x800:
        h, acc, nb = _hbyte(h, acc, nb, 0xC0 | (c >> 6))
    elif c < 0x10000:
        h, acc, nb = _hbyte(h, acc, nb, 0xE0 | (c >> 12))
        h, acc, nb = _hbyte(h, acc, nb, 0x80 | ((c >> 6) & 0x3F))
    else:
        h, acc, nb = _hbyte(h, acc, nb, 0xF0 | (c >> 18))
        h, acc, nb = _hbyte(h, acc, nb, 0x80 | ((c >> 12) & 0x3F))
        h, acc, nb = _hbyte(h, acc, nb, 0x80 | ((c >> 6) & 0x3F))
    return _hbyte(h, acc, nb, 0x80 | (c & 0x3F))


@njit(cache=True, nogil=True, inline="always")
def _load8_upto(data, j, end):
    """data[j:j + 8] as a little-endian uint64, bytes at or past ``end`` read as 0."""
    if j + 8 <= end:
        return load8(data, j)
    x = _U0
    for r in range(end - j):
        x |= np.uint64(data[j + r]) << np.uint64(8 * r)
    return x


@njit(cache=True, nogil=True, inline="always")
def _ascii_words8(x):
    """(word, lowered) for 8 bytes: word has bit 7 of every byte that is an ASCII word
    character ([0-9A-Za-z_]; char_arrays checks this against the Unicode tables), lowered is
    x with A-Z lowercased. Byte-wise range tests on the low 7 bits (no carry between bytes)."""
    x7 = x & LOW7
    y = x7 | _B20
    letter = (y + _LO_A) & ~(y + _HI_Z)
    digit = (x7 + _LO_0) & ~(x7 + _HI_9)
    upper = (x7 + _LO_UA) & ~(x7 + _HI_UZ) & HIGH
    return (letter | digit | bytes_equal(x7, _B5F)) & ~x & HIGH, x | (upper >> _U2)


@njit(cache=True, nogil=True, inline="always")
def _ascii_word_at(data, ws, end):
    """Scan the ASCII word characters from ws, 8 bytes at a time: (we, h, acc, nb), we the
    first byte past them (or end) and (h, acc, nb) the hash state of data[ws:we] lowercased."""
    h = _H0
    j = ws
    while True:
        word, low = _ascii_words8(_load8_upto(data, j, end))
        stop = ~word & HIGH
        if stop == _U0:
            h = (h ^ low) * _HP
            j += 8
            continue
        nb = np.int64(trailing_zeros(stop)) >> 3
        return j + nb, h, low & ((np.uint64(1) << np.uint64(8 * nb)) - np.uint64(1)), nb


@njit(cache=True, nogil=True)
def _decode(data, i):
    """(code point, byte length) of the UTF-8 sequence at data[i]."""
    b0 = np.int64(data[i])
    if b0 < 0x80:
        return b0, 1
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (np.int64(data[i + 1]) & 0x3F), 2
    if b0 < 0xF0:
        return (((b0 & 0x0F) << 12) | ((np.int64(data[i + 1]) & 0x3F) << 6)
                | (np.int64(data[i + 2]) & 0x3F)), 3
    return (((b0 & 0x07) << 18) | ((np.int64(data[i + 1]) & 0x3F) << 12)
            | ((np.int64(data[i + 2]) & 0x3F) << 6) | (np.int64(data[i + 3]) & 0x3F)), 4


@njit(cache=True, nogil=True)
def _utf8_encode(c, out):
    """Write code point c as UTF-8 into out[0:4]; return the byte count."""
    if c < 0x80:
        out[0] = c
        return 1
    if c < 0x800:
        out[0] = 0xC0 | (c >> 6)
        out[1] = 0x80 | (c & 0x3F)
        return 2
    if c < 0x10000:
        out[0] = 0xE0 | (c >> 12)
        out[1] = 0x80 | ((c >> 6) & 0x3F)
        out[2] = 0x80 | (c & 0x3F)
        return 3
    out[0] = 0xF0 | (c >> 18)
    out[1] = 0x80 | ((c >> 12) & 0x3F)
    out[2] = 0x80 | ((c >> 6) & 0x3F)
    out[3] = 0x80 | (c & 0x3F)
    return 4


@njit(cache=True, nogil=True)
def _same_word_general(data, ws, we, lower, expansions, vocab_bytes, a, b, enc):
    """_same_word for words with non-ASCII characters: decode, lowercase, encode, compare."""
    pos = a
    i = ws
    while i < we:
        cp, n = _decode(data, i)
        i += n
        lc = lower[cp]
        for q in range(3):
            if lc >= 0:
                if q > 0:
                    break
                c = np.int64(lc)
            else:
                c = np.int64(expansions[-lc - 1, q])
                if c < 0:
                    break
            nb = _utf8_encode(c, enc)
            if pos + nb > b:
                return False
            for r in range(nb):
                if vocab_bytes[pos + r] != enc[r]:
                    return False
            pos += nb
    return pos == b


@njit(cache=True, nogil=True, inline="always")
def _same_word(data, ws, we, lower, expansions, vocab_bytes, a, b, enc):
    """Exact check: does data[ws:we], lowercased and UTF-8 encoded, equal vocab_bytes[a:b]?
    ASCII words are compared here byte by byte; others go to _same_word_general (kept out of
    line: its code in this function made every call several times slower)."""
    n = we - ws
    for r in range(n):
        x = np.int64(data[ws + r])
        if x >= 0x80:
            return _same_word_general(data, ws, we, lower, expansions, vocab_bytes, a, b, enc)
        if r >= b - a or np.int64(lower[x]) != np.int64(vocab_bytes[a + r]):
            return False
    return n == b - a


@njit(cache=True, nogil=True, inline="always")
def _lookup_ascii(h, acc, data, ws, we, ascii_class, ht_hash, ht_id, vocab_bytes, vocab_off):
    """_lookup for a word of ASCII word characters only (the scan's fast path). A word under 8
    bytes is all in ``acc`` (its lowercased bytes, from _ascii_word_at): one 8-byte compare
    against the vocabulary word (``vocab_bytes`` has 8 bytes of padding at its end); longer
    words are compared byte by byte through ascii_class (the lowercased bytes)."""
    mask = ht_id.shape[0] - 1
    slot = _slot(h, mask)
    n = we - ws
    while True:
        vid = ht_id[slot]
        if vid < 0:
            return -1
        if ht_hash[slot] == h:
            a = vocab_off[vid]
            if vocab_off[vid + 1] - a == n:
                if n < 8:
                    keep = (np.uint64(1) << np.uint64(8 * n)) - np.uint64(1)
                    if load8(vocab_bytes, a) & keep == acc:
                        return vid
                else:
                    same = True
                    for r in range(n):
                        if ascii_class[data[ws + r]] != np.int64(vocab_bytes[a + r]):
                            same = False
                            break
                    if same:
                        return vid
        slot = (slot + 1) & mask


@njit(cache=True, nogil=True, inline="always")
def _lookup(h, data, ws, we, lower, expansions, ht_hash, ht_id, vocab_bytes, vocab_off, enc):
    """Vocabulary id of the word data[ws:we] (hash h of its lowercased bytes), or -1."""
    mask = ht_id.shape[0] - 1
    slot = _slot(h, mask)
    while True:
        vid = ht_id[slot]
        if vid < 0:
            return -1
        if ht_hash[slot] == h:
            if _same_word(data, ws, we, lower, expansions, vocab_bytes, vocab_off[vid],
                          vocab_off[vid + 1], enc):
                return vid
        slot = (slot + 1) & mask


@njit(cache=True, nogil=True)
def _ascii_class(cls, lower):
    """int64[256]: lowercased byte for ASCII word characters, -1 for ASCII punctuation, else 0."""
    out = np.zeros(256, dtype=np.int64)
    for b in range(128):
        if cls[lower[b]] == _WORD:
            out[b] = lower[b]
        elif cls[lower[b]] == _PUNCT:
            out[b] = -1
    return out


@njit(cache=True, nogil=True, inline="always")
def _record(known, n_known, tok, vid, wpos, sent, para, bstart, bend):
    """Append a vocabulary word to ``known`` (rows past its end are counted, not written)."""
    if n_known < known.shape[0]:
        known[n_known, K_TOK] = tok
        known[n_known, K_VID] = vid
        known[n_known, K_WPOS] = wpos
        known[n_known, K_SENT] = sent
        known[n_known, K_PARA] = para
        known[n_known, K_BS] = bstart
        known[n_known, K_BE] = bend
    return n_known + 1


# ---- bootstrap weights and hashes ------------------------------------------------------------
@njit(cache=True, nogil=True)
def _splitmix64(x):
    z = x + _SM1
    z = (z ^ (z >> np.uint64(30))) * _SM2
    z = (z ^ (z >> np.uint64(27))) * _SM3
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def fnv1a(data, start, end):
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(data[i])) * _FNV_PRIME
    return h


@njit(cache=True, nogil=True)
def poisson_weights(id_data, start, end, poisson_cdf, out):
    """Bootstrap weights of one document: out[b] ~ Poisson(1), drawn from a hash of the
    document id bytes id_data[start:end] and the replicate b (engine.count.bootstrap documents it)."""
    h = fnv1a(id_data, start, end)
    for b in range(out.shape[0]):
        x = _splitmix64(h ^ (np.uint64(b + 1) * _SM1))
        u = np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)
        k = 0
        while k < poisson_cdf.shape[0] and u >= poisson_cdf[k]:
            k += 1
        out[b] = k


@njit(cache=True, nogil=True)
def context_priority(doc_key, offset, kind, key):
    """Priority of a mention in the contexts reservoir: 63 bits of a hash of (document key,
    byte offset in the document, reservoir key); the smallest priorities are kept."""
    x = _splitmix64(doc_key ^ (np.uint64(offset) * _SM1))
    x = _splitmix64(x ^ (np.uint64(kind) * _SM2) ^ np.uint64(key))
    return np.int64(x >> np.uint64(1))


# ---- hash maps ---------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def new_map(cap, nv):
    """An empty map with ``cap`` (a power of two) slots and ``nv`` int64 values per key."""
    return (np.full((cap, 2), -1, dtype=np.int64), np.zeros((cap, max(nv, 1)), dtype=np.int64),
            np.zeros(1, dtype=np.int64))


@njit(cache=True, nogil=True, inline="always")
def _mhash(a, b):
    return _splitmix64(np.uint64(a) * _SM3 ^ np.uint64(b))


@njit(cache=True, nogil=True)
def _map_grow(m):
    keys, vals, used = m
    cap = keys.shape[0] * 2
    mask = cap - 1
    nk = np.full((cap, 2), -1, dtype=np.int64)
    nv = np.zeros((cap, vals.shape[1]), dtype=np.int64)
    for i in range(keys.shape[0]):
        if keys[i, 0] >= 0:
            j = np.int64(_mhash(keys[i, 0], keys[i, 1]) & np.uint64(mask))
            while nk[j, 0] >= 0:
                j = (j + 1) & mask
            nk[j, 0] = keys[i, 0]
            nk[j, 1] = keys[i, 1]
            nv[j] = vals[i]
    return (nk, nv, used)


@njit(cache=True, nogil=True)
def _find_or_insert(keys, used, a, b):
    """Slot of key (a, b), inserted when new; -1 when the map must grow first (half full).
    Takes and returns no tuple of arrays: this runs per unit and per term, and every array
    handed back out of a function costs reference counting."""
    mask = keys.shape[0] - 1
    j = np.int64(_mhash(a, b) & np.uint64(mask))
    while True:
        k0 = keys[j, 0]
        if k0 == a and keys[j, 1] == b:
            return j
        if k0 < 0:
            if 2 * (used[0] + 1) > keys.shape[0]:
                return -1
            keys[j, 0] = a
            keys[j, 1] = b
            used[0] += 1
            return j
        j = (j + 1) & mask


@njit(cache=True, nogil=True)
def map_slot(m, a, b):
    """(map, slot) of key (a, b), inserted with zero values when new; a >= 0."""
    j = _find_or_insert(m[0], m[2], a, b)
    if j < 0:
        m = _map_grow(m)
        j = _find_or_insert(m[0], m[2], a, b)
    return m, j


# ---- tokenize ----------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _scan_doc(data, start, end, cls, lower, expansions, ascii_class, ht_hash, ht_id, ht_bits,
              vocab_bytes, vocab_off, is_abbrev, hyphen_vid, root_child, known, enc, subs):
    """Tokenize one document; write its lexicon-vocabulary words into ``known``.

    ``C.ascii_class[b]`` is the lowercased byte when byte b is an ASCII word character, -1 when
    it is ASCII punctuation, and 0 otherwise (whitespace, non-ASCII bytes). When the lexicon has
    hyphenated forms (``T.hyphen_vid >= 0``) a punctuation token that is exactly "-" is recorded
    too, with the hyphen pseudo-word's vocabulary id. A vocabulary word that starts no form
    (``root_child[vid] < 0``: an inner word such as "of" in "state of the art") and the
    hyphen are recorded only right after another recorded token: elsewhere they cannot be
    part of a match, and common inner words would otherwise fill ``known``.

    Two paths share the state: a word that starts with an ASCII word character takes the fast
    path, which finds and hashes ASCII words 8 bytes at a time and stays on them while they are
    separated by one space, or by one ASCII punctuation character with or without a space after
    it ("word word", "word, word", "word. Word", "word's", "word-word"); everything else
    (non-ASCII characters, lowercasing that expands, other separators) goes code point by code
    point through the general path.

    Returns (number of known words, number of words). When the first number exceeds
    ``known.shape[0]`` the caller retries with a larger buffer (rows past the end are not
    written); keeping the buffer fixed here keeps this loop free of allocations.
    """
    mask = ht_id.shape[0] - 1
    n_known = 0
    state = 0  # 0 between tokens, 1 in a word, 2 in punctuation
    h = _H0  # hash state of the current word: (h, acc, nb), see _hbyte
    acc = _U0
    nb = 0
    ws = start  # byte offset where the current word starts
    ci = start  # byte offset of the current code point
    p_term = False
    p_n = 0
    p_dot_first = False
    p_hyphen_first = False
    ps = start  # byte offset where the current punctuation token starts
    prev_abbrev = False
    last_rec = -2  # token index of the last recorded token
    tok = 0
    wpos = 0
    sent = 0
    para = 0
    i = start
    pend_i = 0
    pend_n = 0
    while True:
        # next lowercased code point; a virtual space after the end closes the last token
        if pend_i < pend_n:
            c = subs[pend_i]
            pend_i += 1
        elif i < end:
            ci = i
            b0 = data[i]
            if b0 < 0x80:
                c = np.int64(lower[b0])
                i += 1
            else:
                cp, n = _decode(data, i)
                i += n
                lc = lower[cp]
                if lc >= 0:
                    c = np.int64(lc)
                else:  # lowercasing expands to several code points (e.g. U+0130)
                    pend_n = 0
                    for q in range(3):
                        e = expansions[-lc - 1, q]
                        if e >= 0:
                            subs[pend_n] = e
                            pend_n += 1
                    c = subs[0]
                    pend_i = 1
        elif i == end:
            ci = end
            c = np.int64(_SPACE_BYTE)
            i += 1
        else:
            break
        k = cls[c]
        if state == 1:
            if k == _WORD:  # one more character of a word the general path is on
                h, acc, nb = _hash_cp(h, acc, nb, c)
                continue
            # the word data[ws:ci] ends here
            hw = (h ^ acc) * _HP
            vid = -1
            if _occupied(ht_bits, _slot(hw, mask)):  # first probe inline: most words stop here
                vid = _lookup(hw, data, ws, ci, lower, expansions, ht_hash, ht_id, vocab_bytes,
                              vocab_off, enc)
            prev_abbrev = False
            if vid >= 0:
                if root_child[vid] >= 0 or last_rec == tok - 1:
                    n_known = _record(known, n_known, tok, vid, wpos, sent, para, ws, ci)
                    last_rec = tok
                prev_abbrev = is_abbrev[vid] != 0
            wpos += 1
            tok += 1
            state = 0
        elif state == 2:
            if k == _PUNCT:
                p_n += 1
                if c == _DOT or c == _BANG or c == _QUESTION:
                    p_term = True
                continue
            # the punctuation token ends here: ., ! or ? ends the sentence, except a lone "."
            # right after an abbreviation word
            if p_term and not (p_n == 1 and p_dot_first and prev_abbrev):
                sent += 1
            elif p_n == 1 and p_hyphen_first and hyphen_vid >= 0 and last_rec == tok - 1:
                n_known = _record(known, n_known, tok, hyphen_vid, wpos, sent, para, ps, ps + 1)
                last_rec = tok
            prev_abbrev = False
            tok += 1
            state = 0
        # between tokens: start a word or punctuation, or skip whitespace
        if k == _WORD:
            state = 1
            ws = ci
            if pend_i < pend_n or data[ci] >= 0x80:  # not an ASCII byte: the general path
                h, acc, nb = _hash_cp(_H0, _U0, 0, c)
                continue
            # fast path, from the word start ws (an ASCII word character)
            while True:
                i, h, acc, nb = _ascii_word_at(data, ws, end)
                if i + 1 >= end:
                    break
                p = data[i]
                if p == _SPACE_BYTE:
                    nxt = i + 1
                    punct = 0
                elif ascii_class[p] == -1:
                    nxt = i + 1 if data[i + 1] != _SPACE_BYTE else i + 2
                    punct = np.int64(p)
                else:
                    break  # the general path handles whatever ends this word
                if nxt >= end or ascii_class[data[nxt]] <= 0:
                    break
                # the word data[ws:i] ends here and another ASCII word starts at nxt (the same
                # steps as the general path's word end, written out: as a shared inline function
                # returning the updated state this loop ran 3x slower, 2026-11-26)
                hw = (h ^ acc) * _HP
                vid = -1
                if _occupied(ht_bits, _slot(hw, mask)):
                    vid = _lookup_ascii(hw, acc, data, ws, i, ascii_class, ht_hash, ht_id,
                                        vocab_bytes, vocab_off)
                prev_abbrev = False
                if vid >= 0:
                    if root_child[vid] >= 0 or last_rec == tok - 1:
                        n_known = _record(known, n_known, tok, vid, wpos, sent, para, ws, i)
                        last_rec = tok
                    prev_abbrev = is_abbrev[vid] != 0
                wpos += 1
                tok += 1
                if punct != 0:  # a one-character punctuation token
                    if (punct == _DOT and not prev_abbrev) or punct == _BANG \
                            or punct == _QUESTION:
                        sent += 1
                    elif punct == _HYPHEN_BYTE and hyphen_vid >= 0 and last_rec == tok - 1:
                        n_known = _record(known, n_known, tok, hyphen_vid, wpos, sent, para,
                                          i, i + 1)
                        last_rec = tok
                    prev_abbrev = False
                    tok += 1
                ws = nxt
            # still in the word data[ws:i] (hash state h, acc, nb): the general path goes on
            # from byte i
        elif k == _PUNCT:
            state = 2
            p_term = c == _DOT or c == _BANG or c == _QUESTION
            p_n = 1
            p_dot_first = c == _DOT
            p_hyphen_first = c == _HYPHEN_BYTE
            ps = ci
        elif c == _NEWLINE:  # newline: ends the sentence and the paragraph
            sent += 1
            para += 1
            prev_abbrev = False
    return n_known, wpos


# ---- match -------------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def _child(node_start, edge_key, edge_child, node, key):
    """Child of a trie node along ``key`` (CSR rows sorted by key), or -1."""
    lo = node_start[node]
    hi = node_start[node + 1]
    end = hi
    while lo < hi:
        mid = (lo + hi) >> 1
        if edge_key[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    if lo < end and edge_key[lo] == key:
        return edge_child[lo]
    return -1


@njit(cache=True, nogil=True)
def span_case_bits(data, bs, be, lower):
    """Case bits of data[bs:be]: CASE_BIT_INITIAL when its first code point changes under
    lowercasing, CASE_BIT_UPPER when any does, CASE_BIT_REST when a later one does."""
    bits = 0
    i = bs
    first = True
    while i < be:
        cp, n = _decode(data, i)
        i += n
        if lower[cp] != cp:
            bits |= CASE_BIT_UPPER
            bits |= CASE_BIT_INITIAL if first else CASE_BIT_REST
        first = False
    return bits


@njit(cache=True, nogil=True, inline="always")
def case_ok(rule, bits):
    if rule == CASE_LOWER:
        return (bits & CASE_BIT_UPPER) == 0
    if rule == CASE_CAPITALISED:
        return (bits & CASE_BIT_INITIAL) != 0
    if rule == CASE_TITLE:
        return (bits & CASE_BIT_INITIAL) != 0 and (bits & CASE_BIT_REST) == 0
    return True


@njit(cache=True, nogil=True)
def path_accepts(p, bits, path_target, path_case, path_ent_start, ent_case):
    """Does path p match text with these case bits?"""
    if path_target[p] >= 0:
        return case_ok(path_case[p], bits)
    for e in range(path_ent_start[p], path_ent_start[p + 1]):
        if case_ok(ent_case[e], bits):
            return True
    return False


@njit(cache=True, nogil=True)
def _needs_case(p, path_target, path_case, path_ent_start, ent_case):
    if path_target[p] >= 0:
        return path_case[p] != CASE_ANY
    for e in range(path_ent_start[p], path_ent_start[p + 1]):
        if ent_case[e] != CASE_ANY:
            return True
    return False


@njit(cache=True, nogil=True)
def _match(known, n_known, data, C, T, gm, om):
    """Leftmost-longest, non-overlapping match of lexicon paths over the known words.

    A path matches consecutive tokens (token indices differ by one) of one line, and only when
    the matched text passes its case rule (for a group path: the rule of at least one entry).
    Returns (gm, n_gm, om, n_om), possibly reallocated.
    """
    n_gm = 0
    n_om = 0
    j = 0
    node_start = T.node_start
    edge_vid = T.edge_vid
    edge_child = T.edge_child
    node_path = T.node_path
    root_child = T.root_child
    path_target = T.path_target
    path_case = T.path_case
    path_ent_start = T.path_ent_start
    ent_case = T.ent_case
    lower = C.lower
    while j < n_known:
        node = 0
        best = -1
        best_end = -1
        best_bits = 0
        t = j
        while t < n_known:
            if t > j and (known[t, K_TOK] != known[t - 1, K_TOK] + 1
                          or known[t, K_PARA] != known[t - 1, K_PARA]):
                break
            if t == j:
                node = root_child[known[t, K_VID]]
            else:
                node = _child(node_start, edge_vid, edge_child, node, known[t, K_VID])
            if node < 0:
                break
            p = node_path[node]
            if p >= 0:
                bits = 0
                if _needs_case(p, path_target, path_case, path_ent_start, ent_case):
                    bits = span_case_bits(data, known[j, K_BS], known[t, K_BE], lower)
                if path_accepts(p, bits, path_target, path_case, path_ent_start, ent_case):
                    best = p
                    best_end = t
                    best_bits = bits
            t += 1
        if best < 0:
            j += 1
            continue
        target = path_target[best]
        if target >= 0:
            if n_om >= om.shape[0]:
                om = _grow(om, n_om + 1)
            om[n_om, O_TARGET] = target
            om[n_om, O_FIRST] = known[j, K_WPOS]
            om[n_om, O_LAST] = known[best_end, K_WPOS]
            om[n_om, O_SENT] = known[j, K_SENT]
            om[n_om, O_PARA] = known[j, K_PARA]
            om[n_om, O_BS] = known[j, K_BS]
            om[n_om, O_BE] = known[best_end, K_BE]
            n_om += 1
        else:
            if n_gm >= gm.shape[0]:
                gm = _grow(gm, n_gm + 1)
            gm[n_gm, G_PATH] = best
            gm[n_gm, G_BITS] = best_bits
            gm[n_gm, G_FIRST] = known[j, K_WPOS]
            gm[n_gm, G_LAST] = known[best_end, K_WPOS]
            gm[n_gm, G_SENT] = known[j, K_SENT]
            gm[n_gm, G_PARA] = known[j, K_PARA]
            gm[n_gm, G_BS] = known[j, K_BS]
            gm[n_gm, G_BE] = known[best_end, K_BE]
            n_gm += 1
        j = best_end + 1
    return gm, n_gm, om, n_om


@njit(cache=True, nogil=True)
def doc_mentions(data, start, end, C, T, known, gm, om, enc, subs):
    """Scan and match one document: (known, n_words, gm, n_gm, om, n_om), buffers regrown.

    The one place that turns text into mentions: counting, tagging and classification call it."""
    while True:
        n_known, n_words = _scan_doc(data, start, end, C.cls, C.lower, C.expansions,
                                     C.ascii_class, T.ht_hash, T.ht_id, T.ht_bits,
                                     T.vocab_bytes,
                                     T.vocab_off, T.is_abbrev, T.hyphen_vid, T.root_child, known,
                                     enc, subs)
        if n_known <= known.shape[0]:
            break
        known = np.empty((2 * n_known, KNOWN_COLS), dtype=np.int64)
    gm, n_gm, om, n_om = _match(known, n_known, data, C, T, gm, om)
    return known, n_words, gm, n_gm, om, n_om


# ---- windows -----------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def window_ranges(kind, k, om, n_om, gm, n_gm, S):
    """The window of every target mention q: group mentions gm[S.lo[q]:S.hi[q]] are in it, and
    S.first[q] = 1 when q starts a unit (see _ranges)."""
    _ranges(kind, k, om, n_om, gm, n_gm, S.lo, S.hi, S.first, S.seen_target, S.stamp)


@njit(cache=True, nogil=True)
def _ranges(kind, k, om, n_om, gm, n_gm, lo, hi, first, seen_target, stamp):
    """The one definition of a window: for target mention q, group mentions gm[lo[q]:hi[q]] are
    in its window; first[q] = 1 when q starts a unit.

    Context windows (sentence, paragraph, document): all group mentions of the mention's
    context; a unit is one (context, target) pair, so only the first mention of a target in a
    context starts one. Positional windows (k words or tokens): group mentions with a position
    within k of the mention's first-to-last positions; every mention is a unit. Mentions are in
    document order and never overlap, so each window is a contiguous range of ``gm``.

    (Performance note for every kernel here: arrays are unpacked from tuples once, outside the
    loops; reading a tuple's array inside a loop costs reference counting on every access.)
    """
    if kind == WK_POSITIONAL:
        p = 0
        for q in range(n_om):
            ws = om[q, O_FIRST]
            we = om[q, O_LAST]
            while p < n_gm and gm[p, G_LAST] < ws - k:
                p += 1
            h = p
            while h < n_gm and gm[h, G_FIRST] <= we + k:
                h += 1
            lo[q] = p
            hi[q] = h
            first[q] = 1
        return
    ocol = O_SENT if kind == WK_SENTENCE else O_PARA
    gcol = G_SENT if kind == WK_SENTENCE else G_PARA
    g = 0
    g2 = 0
    prev = -1
    ctx = 0
    for q in range(n_om):
        key = 0 if kind == WK_DOCUMENT else om[q, ocol]
        if q == 0 or key != prev:
            stamp[0] += 1
            ctx = stamp[0]
            prev = key
            if kind == WK_DOCUMENT:
                g = 0
                g2 = n_gm
            else:
                while g < n_gm and gm[g, gcol] < key:
                    g += 1
                g2 = g
                while g2 < n_gm and gm[g2, gcol] == key:
                    g2 += 1
        lo[q] = g
        hi[q] = g2
        t = om[q, O_TARGET]
        if seen_target[t] != ctx:
            seen_target[t] = ctx
            first[q] = 1
        else:
            first[q] = 0


@njit(cache=True, nogil=True, inline="always")
def _collect(lo, hi, gm, ent_start, ent_case, ent_col, ent_label, col_axis, label_gterm,
             seen_col, cnt_col, touched_col, seen_axis, n_present, touched_axis, seen_gterm,
             cnt_gterm, touched_gterm, stamp):
    """The groups present in gm[lo:hi] (entries passing their case rule): fills touched_col
    (with cnt_col mentions each), touched_axis (with n_present groups each) and touched_gterm
    (with cnt_gterm). Returns (n_cols, n_axes, n_gterms) touched."""
    stamp[0] += 1
    st = stamp[0]
    n_tc = 0
    n_ta = 0
    n_tg = 0
    for q in range(lo, hi):
        p = gm[q, G_PATH]
        bits = gm[q, G_BITS]
        for e in range(ent_start[p], ent_start[p + 1]):
            if not case_ok(ent_case[e], bits):
                continue
            c = ent_col[e]
            if seen_col[c] != st:
                seen_col[c] = st
                cnt_col[c] = 0
                touched_col[n_tc] = c
                n_tc += 1
                a = col_axis[c]
                if seen_axis[a] != st:
                    seen_axis[a] = st
                    n_present[a] = 0
                    touched_axis[n_ta] = a
                    n_ta += 1
                n_present[a] += 1
            cnt_col[c] += 1
            g = label_gterm[ent_label[e]]
            if g >= 0:
                if seen_gterm[g] != st:
                    seen_gterm[g] = st
                    cnt_gterm[g] = 0
                    touched_gterm[n_tg] = g
                    n_tg += 1
                cnt_gterm[g] += 1
    return n_tc, n_ta, n_tg


@njit(cache=True, nogil=True)
def collect_groups(lo, hi, gm, T, S):
    """_collect with the tables and scratch as tuples (for code outside the hot loops)."""
    return _collect(lo, hi, gm, T.path_ent_start, T.ent_case, T.ent_col, T.ent_label,
                    T.col_axis, T.label_gterm, S.seen_col, S.cnt_col, S.touched_col,
                    S.seen_axis, S.n_present, S.touched_axis, S.seen_gterm, S.cnt_gterm,
                    S.touched_gterm, S.stamp)


@njit(cache=True, nogil=True)
def _doc_distinct(om, n_om, gm, n_gm, T, S):
    """(targets, group columns, axes, gender terms) distinct among one document's mentions:
    the bounds of how many new accumulator keys the document can add."""
    seen_target = S.seen_target
    S.stamp[0] += 1
    st = S.stamp[0]
    n_t = 0
    for q in range(n_om):
        t = om[q, O_TARGET]
        if seen_target[t] != st:
            seen_target[t] = st
            n_t += 1
    n_c, n_a, n_g = collect_groups(0, n_gm, gm, T, S)
    return n_t, n_c, n_a, n_g


@njit(cache=True, nogil=True)
def _room(m, need):
    """m grown until ``need`` more keys fit without passing half full."""
    while 2 * (m[2][0] + need) > m[0].shape[0]:
        m = _map_grow(m)
    return m


# contexts reservoir values per key: [filled, largest priority kept, K priorities, K batch
# numbers, K document indices, K byte starts, K byte ends]
CTX_FILLED, CTX_MAX, CTX_PRIO = 0, 1, 2


@njit(cache=True, nogil=True, inline="always")
def _offer(ck, cv, cu, kind, key, prio, batch_no, d, bs, be, K):
    """Offer a mention to the bottom-K reservoir of (kind, key) (room already made); returns the
    reservoir's gate: the largest priority it keeps when full, else int64 max."""
    j = _find_or_insert(ck, cu, kind, key)
    n = cv[j, CTX_FILLED]
    if n >= K and prio >= cv[j, CTX_MAX]:
        return cv[j, CTX_MAX]  # the common case once a reservoir is full: one comparison
    if n < K:
        r = n
        cv[j, CTX_FILLED] = n + 1
    else:
        r = 0
        for x in range(1, K):
            if cv[j, CTX_PRIO + x] > cv[j, CTX_PRIO + r]:
                r = x
    cv[j, CTX_PRIO + r] = prio
    cv[j, CTX_PRIO + K + r] = batch_no
    cv[j, CTX_PRIO + 2 * K + r] = d
    cv[j, CTX_PRIO + 3 * K + r] = bs
    cv[j, CTX_PRIO + 4 * K + r] = be
    if cv[j, CTX_FILLED] == K:
        mx = cv[j, CTX_PRIO]
        for x in range(1, K):
            if cv[j, CTX_PRIO + x] > mx:
                mx = cv[j, CTX_PRIO + x]
        cv[j, CTX_MAX] = mx
        return mx
    return _I63


@njit(cache=True, nogil=True)
def count_units(maps, s, om, n_om, gm, n_gm, T, W, S, wts, positional_only, dist, m_ctx, gate,
                doc_key, d, start, K, ctx_w, batch_no):
    """Every unit of every window of W for one document's mentions (word or token positions):
    per unit (source s, window, target t) the groups present per axis go to the accumulators
    (value layouts: UNIT_*, AXIS_*, GROUP_*, TERM_*). S.lo/hi/first must hold n_om entries
    (ensure_scratch); ``dist`` is the document's _doc_distinct.

    With ``ctx_w >= 0`` each unit of window W[ctx_w] is also offered, once per group column in
    it, to the target x group contexts reservoirs (m_ctx, K per key, document key ``doc_key``),
    here where its groups are collected anyway. ``gate`` holds, past the target and column
    gates, one gate per (target, column) pair when the counter allocated them (see
    _offer_contexts). Returns (maps, m_ctx)."""
    m_unit, m_axis, m_group, m_term = maps
    ent_start = T.path_ent_start
    ent_case = T.ent_case
    ent_col = T.ent_col
    ent_label = T.ent_label
    col_axis = T.col_axis
    label_gterm = T.label_gterm
    seen_col = S.seen_col
    cnt_col = S.cnt_col
    touched_col = S.touched_col
    seen_axis = S.seen_axis
    n_present = S.n_present
    touched_axis = S.touched_axis
    seen_gterm = S.seen_gterm
    cnt_gterm = S.cnt_gterm
    touched_gterm = S.touched_gterm
    stamp = S.stamp
    lo = S.lo
    hi = S.hi
    first = S.first
    seen_target = S.seen_target
    w_kind = W.kind
    w_k = W.k
    w_index = W.index
    nb = wts.shape[0]
    # make room once per document for every key its units can add: per window, one unit key
    # per distinct target, times the distinct axes, columns and gender terms of the document
    n_win = w_kind.shape[0]
    n_t, n_c, n_a, n_g = dist
    m_unit = _room(m_unit, n_win * n_t)
    m_axis = _room(m_axis, n_win * n_t * n_a)
    m_group = _room(m_group, n_win * n_t * n_c)
    m_term = _room(m_term, n_win * n_t * n_g)
    uk, uv, uu = m_unit
    ak, av, au = m_axis
    gk, gv, gu = m_group
    tk, tv, tu = m_term
    if ctx_w >= 0:
        m_ctx = _room(m_ctx, n_t * n_c)
    ck, cv, cu = m_ctx
    n_targets = T.n_targets
    pair_gate = n_targets + T.n_cols  # first pair gate, when gate has them
    gated = gate.shape[0] > pair_gate
    for wi in range(n_win):
        kind = w_kind[wi]
        if positional_only and kind != WK_POSITIONAL:
            continue
        _ranges(kind, w_k[wi], om, n_om, gm, n_gm, lo, hi, first, seen_target, stamp)
        w = w_index[wi]
        for q in range(n_om):
            if first[q] == 0:
                continue
            t = om[q, O_TARGET]
            base = (np.int64(w) << SHIFT_WINDOW) | (np.int64(t) << SHIFT_TARGET)
            j = _find_or_insert(uk, uu, s, base)
            uv[j, UNIT_UNITS] += 1
            for b in range(nb):
                uv[j, 1 + b] += wts[b]
            if lo[q] == hi[q]:
                continue
            n_tc, n_ta, n_tg = _collect(lo[q], hi[q], gm, ent_start, ent_case, ent_col,
                                        ent_label, col_axis, label_gterm, seen_col, cnt_col,
                                        touched_col, seen_axis, n_present, touched_axis,
                                        seen_gterm, cnt_gterm, touched_gterm, stamp)
            for i in range(n_ta):
                a = touched_axis[i]
                j = _find_or_insert(ak, au, s, base | a)
                av[j, AXIS_ANY] += 1
                if n_present[a] >= 2:
                    av[j, AXIS_MULTI] += 1
            for i in range(n_tc):
                c = touched_col[i]
                only = n_present[col_axis[c]] == 1
                j = _find_or_insert(gk, gu, s, base | c)
                gv[j, GROUP_WITH] += 1
                if only:
                    gv[j, GROUP_ONLY] += 1
                gv[j, GROUP_MENTIONS] += cnt_col[c]
                for b in range(nb):
                    gv[j, 3 + b] += wts[b]
                    if only:
                        gv[j, 3 + nb + b] += wts[b]
            for i in range(n_tg):
                g = touched_gterm[i]
                j = _find_or_insert(tk, tu, s, base | g)
                tv[j, TERM_COUNT] += cnt_gterm[g]
                tv[j, TERM_UNITS] += 1
            if wi == ctx_w:
                off = om[q, O_BS] - start
                for i in range(n_tc):
                    c = touched_col[i]
                    key = (np.int64(t) << SHIFT_TARGET) | c
                    prio = context_priority(doc_key, off, CTX_PAIR, key)
                    x = pair_gate + t * T.n_cols + c
                    if gated and prio >= gate[x]:
                        continue
                    top = _offer(ck, cv, cu, CTX_PAIR, key, prio, batch_no, d, om[q, O_BS],
                                 om[q, O_BE], K)
                    if gated:
                        gate[x] = top
    return ((uk, uv, uu), (ak, av, au), (gk, gv, gu), (tk, tv, tu)), (ck, cv, cu)


@njit(cache=True, nogil=True)
def ensure_scratch(S, n):
    """S with lo/hi/first of at least n entries (a new tuple when they had to grow)."""
    if S.lo.shape[0] >= n:
        return S
    m = max(n, 2 * S.lo.shape[0])
    return Scratch(S.cnt_col, S.seen_col, S.touched_col, S.seen_axis, S.n_present,
                   S.touched_axis, S.cnt_gterm, S.seen_gterm, S.touched_gterm, S.seen_label,
                   S.seen_target, S.stamp, np.zeros(m, dtype=np.int64),
                   np.zeros(m, dtype=np.int64), np.zeros(m, dtype=np.int64), S.cnt_label,
                   S.touched_label)


@njit(cache=True, nogil=True)
def _add_representation(m_repr, s, gm, n_gm, T, S, dist):
    """Documents and mentions of every label, group column and axis in one document: the
    document's groups as one window (collected in S by _doc_distinct, ``dist``), its labels
    counted here, then one map update per distinct label, column and axis."""
    _, n_tc, n_ta, _ = dist
    seen_label = S.seen_label
    cnt_label = S.cnt_label
    touched_label = S.touched_label
    cnt_col = S.cnt_col
    touched_col = S.touched_col
    touched_axis = S.touched_axis
    ent_start = T.path_ent_start
    ent_case = T.ent_case
    ent_label = T.ent_label
    col_axis = T.col_axis
    S.stamp[0] += 1
    st = S.stamp[0]
    n_tl = 0
    for q in range(n_gm):
        p = gm[q, G_PATH]
        bits = gm[q, G_BITS]
        for e in range(ent_start[p], ent_start[p + 1]):
            if case_ok(ent_case[e], bits):
                lab = ent_label[e]
                if seen_label[lab] != st:
                    seen_label[lab] = st
                    cnt_label[lab] = 0
                    touched_label[n_tl] = lab
                    n_tl += 1
                cnt_label[lab] += 1
    m_repr = _room(m_repr, n_tl + n_tc + n_ta)
    rk, rv, ru = m_repr
    for i in range(n_tl):
        lab = touched_label[i]
        j = _find_or_insert(rk, ru, s, (np.int64(REPR_LABEL) << SHIFT_WINDOW) | lab)
        rv[j, REPR_DOCUMENTS] += 1
        rv[j, REPR_MENTIONS] += cnt_label[lab]
    for i in range(n_tc):
        c = touched_col[i]
        j = _find_or_insert(rk, ru, s, (np.int64(REPR_COLUMN) << SHIFT_WINDOW) | c)
        rv[j, REPR_DOCUMENTS] += 1
        rv[j, REPR_MENTIONS] += cnt_col[c]
    for i in range(n_ta):
        a = touched_axis[i]
        mentions = 0  # an axis's mentions: the mentions of its groups (one group per mention)
        for x in range(n_tc):
            if col_axis[touched_col[x]] == a:
                mentions += cnt_col[touched_col[x]]
        j = _find_or_insert(rk, ru, s, (np.int64(REPR_AXIS) << SHIFT_WINDOW) | a)
        rv[j, REPR_DOCUMENTS] += 1
        rv[j, REPR_MENTIONS] += mentions
    return (rk, rv, ru)


@njit(cache=True, nogil=True)
def _offer_contexts(m_ctx, gate, doc_key, d, start, om, n_om, gm, n_gm, T, dist, K, batch_no):
    """Offer every target mention and group mention of one document to the contexts reservoirs
    (target x group units are offered by count_units). ``gate[t]`` (targets) and
    ``gate[n_targets + c]`` (group columns), then ``gate[n_targets + n_cols + t * n_cols + c]``
    (pairs, when allocated) hold the largest priority their full reservoir keeps (int64 max
    while not full), so most offers are turned away by one comparison, without a map lookup."""
    ent_start = T.path_ent_start
    ent_case = T.ent_case
    ent_col = T.ent_col
    n_t, n_c, _, _ = dist
    m_ctx = _room(m_ctx, n_t + n_c)
    ck, cv, cu = m_ctx
    n_targets = T.n_targets
    for q in range(n_om):
        t = om[q, O_TARGET]
        prio = context_priority(doc_key, om[q, O_BS] - start, CTX_TARGET, t)
        if prio < gate[t]:
            gate[t] = _offer(ck, cv, cu, CTX_TARGET, t, prio, batch_no, d, om[q, O_BS],
                             om[q, O_BE], K)
    for q in range(n_gm):
        p = gm[q, G_PATH]
        bits = gm[q, G_BITS]
        for e in range(ent_start[p], ent_start[p + 1]):
            if case_ok(ent_case[e], bits):
                c = ent_col[e]
                prio = context_priority(doc_key, gm[q, G_BS] - start, CTX_GROUP, c)
                if prio < gate[n_targets + c]:
                    gate[n_targets + c] = _offer(ck, cv, cu, CTX_GROUP, c, prio, batch_no, d,
                                                 gm[q, G_BS], gm[q, G_BE], K)
    return (ck, cv, cu)


@njit(cache=True, nogil=True)
def count_batch(data, offsets, doc_src, id_data, id_offsets, C, T, W, maps, m_repr, m_ctx,
                ctx_gate, doc_stats, poisson_cdf, n_boot, K, ctx_w, batch_no, S):
    """Count every word-position window of W for the documents data[offsets[d]:offsets[d+1]].

    doc_src[d] is the source index of document d; id_data/id_offsets the document ids (Arrow
    string buffers), which seed the bootstrap weights (n_boot replicates) and the contexts
    priorities (K per reservoir key, 0 = off; pairs sampled in window ctx_w). Returns the
    (possibly regrown) maps, representation map, contexts map and scratch.
    """
    n_docs = offsets.shape[0] - 1
    known = np.empty((4096, KNOWN_COLS), dtype=np.int64)
    gm = np.empty((256, GM_COLS), dtype=np.int64)
    om = np.empty((256, OM_COLS), dtype=np.int64)
    enc = np.empty(4, dtype=np.uint8)
    subs = np.empty(3, dtype=np.int64)
    wts = np.zeros(n_boot, dtype=np.int64)
    for d in range(n_docs):
        start = offsets[d]
        end = offsets[d + 1]
        s = doc_src[d]
        known, n_words, gm, n_gm, om, n_om = doc_mentions(data, start, end, C, T, known, gm, om,
                                                          enc, subs)
        doc_stats[s, 0] += 1
        doc_stats[s, 1] += end - start
        doc_stats[s, 2] += n_words
        if n_om == 0 and n_gm == 0:
            continue
        # the document's distinct targets and groups, once: the map room of every step below,
        # and its groups stay collected in S for _add_representation
        dist = _doc_distinct(om, n_om, gm, n_gm, T, S)
        if n_gm > 0:
            m_repr = _add_representation(m_repr, s, gm, n_gm, T, S, dist)
        if n_om == 0 and K == 0:
            continue
        S = ensure_scratch(S, n_om)
        doc_key = _U0
        if K > 0:
            if id_offsets[d + 1] > id_offsets[d]:
                doc_key = fnv1a(id_data, id_offsets[d], id_offsets[d + 1])
            else:
                doc_key = fnv1a(data, start, end) ^ _SM2
            m_ctx = _offer_contexts(m_ctx, ctx_gate, doc_key, d, start, om, n_om, gm, n_gm, T,
                                    dist, K, batch_no)
        if n_om == 0:
            continue
        if n_boot > 0:
            poisson_weights(id_data, id_offsets[d], id_offsets[d + 1], poisson_cdf, wts)
        maps, m_ctx = count_units(maps, s, om, n_om, gm, n_gm, T, W, S, wts, False, dist, m_ctx,
                                  ctx_gate, doc_key, d, start, K, ctx_w if K > 0 else -1,
                                  batch_no)
    return maps, m_repr, m_ctx, S


@njit(cache=True, nogil=True)
def group_counts_batch(data, offsets, C, T, out):
    """out[d, c] += mentions of group column c in text d (entries passing their case rule)."""
    ent_start = T.path_ent_start
    ent_case = T.ent_case
    ent_col = T.ent_col
    known = np.empty((1024, KNOWN_COLS), dtype=np.int64)
    gm = np.empty((64, GM_COLS), dtype=np.int64)
    om = np.empty((64, OM_COLS), dtype=np.int64)
    enc = np.empty(4, dtype=np.uint8)
    subs = np.empty(3, dtype=np.int64)
    for d in range(offsets.shape[0] - 1):
        known, _, gm, n_gm, om, n_om = doc_mentions(data, offsets[d], offsets[d + 1], C, T, known,
                                                    gm, om, enc, subs)
        for q in range(n_gm):
            p = gm[q, G_PATH]
            for e in range(ent_start[p], ent_start[p + 1]):
                if case_ok(ent_case[e], gm[q, G_BITS]):
                    out[d, ent_col[e]] += 1


@njit(cache=True, nogil=True)
def map_lookup(m, a, b):
    """Slots of the keys (a[i], b[i]) in map m, -1 where absent (no insertion)."""
    keys = m[0]
    mask = keys.shape[0] - 1
    out = np.full(a.shape[0], -1, dtype=np.int64)
    for i in range(a.shape[0]):
        j = np.int64(_mhash(a[i], b[i]) & np.uint64(mask))
        while True:
            k0 = keys[j, 0]
            if k0 < 0:
                break
            if k0 == a[i] and keys[j, 1] == b[i]:
                out[i] = j
                break
            j = (j + 1) & mask
    return out


@njit(cache=True, nogil=True)
def scratch_kernel(T):
    """A Scratch sized for the match tables T (inside numba)."""
    nc = max(T.n_cols, 1)
    na = max(T.n_axes, 1)
    ng = max(T.n_gterms, 1)
    return Scratch(np.zeros(nc, np.int64), np.zeros(nc, np.int64), np.zeros(nc, np.int64),
                   np.zeros(na, np.int64), np.zeros(na, np.int64), np.zeros(na, np.int64),
                   np.zeros(ng, np.int64), np.zeros(ng, np.int64), np.zeros(ng, np.int64),
                   np.zeros(max(T.n_labels, 1), np.int64), np.zeros(max(T.n_targets, 1), np.int64),
                   np.zeros(1, np.int64), np.zeros(256, np.int64), np.zeros(256, np.int64),
                   np.zeros(256, np.int64), np.zeros(max(T.n_labels, 1), np.int64),
                   np.zeros(max(T.n_labels, 1), np.int64))
