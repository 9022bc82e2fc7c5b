"""Numba kernels: UTF-8 bytes -> words -> lexicon mentions -> window counts, in one pass.

Everything here works on integer arrays (Arrow buffers viewed as NumPy); no Python object is
touched per word. ``count_batch`` is the one entry point; the small ``_`` helpers around it are
pure functions the kernel calls.

Accumulator layout (all int64, updated in place):
    cooc[src, window, target, stat]         stat: COOC_STATS below
    terms[src, window, target, gterm, 2]    [occurrences in context, units whose context has it]
    doc_stats[src, 3]                        [documents, utf8 bytes, words]
"""
from __future__ import annotations

import numpy as np
from numba import njit

COOC_STATS = ("units", "male_only", "female_only", "both", "male_terms", "female_terms")
TERM_STATS = ("term_count", "units_with_term")
DOC_STATS = ("documents", "bytes", "words")

_PUNCT, _WORD, _SPACE = 0, 1, 2
_KIND_FEMALE, _KIND_MALE = 0, 1
# word hash: rotate-xor over the lowercased UTF-8 bytes (cheap, no multiply per byte), mixed
# once per word to pick a slot; matches engine.lexicon.matcher.word_hash / slot_of
_H0 = np.uint64(0x9E3779B97F4A7C15)
_R1 = np.uint64(5)
_R2 = np.uint64(59)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_S29 = np.uint64(29)

# column layout of the per-document scratch tables
# known words:       [token index, vocab id, word position, sentence, paragraph, byte start, byte end]
# gender mentions:   [gender-term id, kind, first word, last word, sentence, paragraph]
# target mentions:   [target id, first word, last word, sentence, paragraph, byte start, byte end]
KNOWN_COLS = 7
TARGET_COLS = 7


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


@njit(cache=True, nogil=True, inline="always")
def _hstep(h, b):
    return ((h << _R1) | (h >> _R2)) ^ np.uint64(b)


@njit(cache=True, nogil=True, inline="always")
def _slot(h, mask):
    return np.int64(((h ^ (h >> _S29)) * _MIX) >> _S29) & mask


@njit(cache=True, nogil=True, inline="always")
def _hash_cp(h, c):
    """Hash step over the UTF-8 bytes of code point c (no stores: keeps the scan loop fast)."""
    if c < 0x80:
        return _hstep(h, c)
    if c < 0x800:
        h = _hstep(h, 0xC0 | (c >> 6))
    elif c < 0x10000:
        h = _hstep(h, 0xE0 | (c >> 12))
        h = _hstep(h, 0x80 | ((c >> 6) & 0x3F))
    else:
        h = _hstep(h, 0xF0 | (c >> 18))
        h = _hstep(h, 0x80 | ((c >> 12) & 0x3F))
        h = _hstep(h, 0x80 | ((c >> 6) & 0x3F))
    return _hstep(h, 0x80 | (c & 0x3F))


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
def _same_word(data, ws, we, lower, expansions, vocab_bytes, a, b, enc):
    """Exact check: does data[ws:we], lowercased and UTF-8 encoded, equal vocab_bytes[a:b]?"""
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


@njit(cache=True, nogil=True)
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
def _match(known, n_known, trie_next, trie_term, term_kind, term_target, term_gterm, gm, om):
    """Leftmost-longest, non-overlapping match of lexicon forms over the known words.

    A form matches consecutive tokens (token indices differ by one) on one line.
    Returns (gm, n_gm, om, n_om), possibly reallocated.
    """
    n_gm = 0
    n_om = 0
    j = 0
    while j < n_known:
        node = 0
        best_term = -1
        best_end = -1
        t = j
        while t < n_known:
            if t > j and (known[t, 0] != known[t - 1, 0] + 1 or known[t, 4] != known[t - 1, 4]):
                break
            nxt = trie_next[node, known[t, 1]]
            if nxt < 0:
                break
            node = nxt
            if trie_term[node] >= 0:
                best_term = trie_term[node]
                best_end = t
            t += 1
        if best_term < 0:
            j += 1
            continue
        kind = term_kind[best_term]
        if kind == 2:
            om = _grow(om, n_om + 1)
            om[n_om, 0] = term_target[best_term]
            om[n_om, 1] = known[j, 2]
            om[n_om, 2] = known[best_end, 2]
            om[n_om, 3] = known[j, 3]
            om[n_om, 4] = known[j, 4]
            om[n_om, 5] = known[j, 5]
            om[n_om, 6] = known[best_end, 6]
            n_om += 1
        else:
            gm = _grow(gm, n_gm + 1)
            gm[n_gm, 0] = term_gterm[best_term]
            gm[n_gm, 1] = kind
            gm[n_gm, 2] = known[j, 2]
            gm[n_gm, 3] = known[best_end, 2]
            gm[n_gm, 4] = known[j, 3]
            gm[n_gm, 5] = known[j, 4]
            n_gm += 1
        j = best_end + 1
    return gm, n_gm, om, n_om


@njit(cache=True, nogil=True)
def _add_unit(cooc, terms, s, w, t, gm, g_idx, n_g_idx, m, f, seen_g, stamp, rep, wts):
    """Record one unit (target t, context holding gender mentions gm[g_idx[:n_g_idx]]).

    With bootstrap replicates (rep.shape[3] = B > 0) the unit also counts wts[b] times in
    replicate b: rep[s, w, t, b] = [units, female_only, male_only].
    """
    nb = rep.shape[3]
    if nb > 0:
        col = 1 if (f > 0 and m == 0) else (2 if (m > 0 and f == 0) else 0)
        for b in range(nb):
            wb = wts[b]
            if wb:
                rep[s, w, t, b, 0] += wb
                if col:
                    rep[s, w, t, b, col] += wb
    cooc[s, w, t, 0] += 1
    if m > 0 and f == 0:
        cooc[s, w, t, 1] += 1
    elif f > 0 and m == 0:
        cooc[s, w, t, 2] += 1
    elif f > 0 and m > 0:
        cooc[s, w, t, 3] += 1
    cooc[s, w, t, 4] += m
    cooc[s, w, t, 5] += f
    stamp[0] += 1
    st = stamp[0]
    for q in range(n_g_idx):
        gt = gm[g_idx[q], 0]
        terms[s, w, t, gt, 0] += 1
        if seen_g[gt] != st:
            seen_g[gt] = st
            terms[s, w, t, gt, 1] += 1


@njit(cache=True, nogil=True)
def _count_contexts(om, n_om, o_col, gm, n_gm, g_col, s, w, cooc, terms, seen_t, seen_g, g_idx, stamp,
                    rep, wts):
    """Units of a context window: one per (context, target). o_col/g_col: key column, -1 = document."""
    i = 0
    g = 0
    while i < n_om:
        key = om[i, o_col] if o_col >= 0 else 0
        j = i + 1
        while j < n_om and (o_col < 0 or om[j, o_col] == key):
            j += 1
        if g_col >= 0:
            while g < n_gm and gm[g, g_col] < key:
                g += 1
            g2 = g
            while g2 < n_gm and gm[g2, g_col] == key:
                g2 += 1
        else:
            g = 0
            g2 = n_gm
        m = 0
        f = 0
        n_g = 0
        for q in range(g, g2):
            if gm[q, 1] == _KIND_MALE:
                m += 1
            else:
                f += 1
            g_idx[n_g] = q
            n_g += 1
        stamp[0] += 1
        ctx = stamp[0]
        for q in range(i, j):
            t = om[q, 0]
            if seen_t[t] == ctx:
                continue
            seen_t[t] = ctx
            _add_unit(cooc, terms, s, w, t, gm, g_idx, n_g, m, f, seen_g, stamp, rep, wts)
        i = j


@njit(cache=True, nogil=True)
def _count_word_windows(om, n_om, gm, n_gm, ks, k_win, s, cooc, terms, seen_g, g_idx, stamp, rep,
                        wts):
    """Units of ±k word windows: one per target mention, for every k in ks."""
    if ks.shape[0] == 0:
        return
    kmax = ks.max()
    lo = 0
    for q in range(n_om):
        t = om[q, 0]
        ws = om[q, 1]
        we = om[q, 2]
        while lo < n_gm and gm[lo, 3] < ws - kmax:
            lo += 1
        for ki in range(ks.shape[0]):
            k = ks[ki]
            m = 0
            f = 0
            n_g = 0
            hi = lo
            while hi < n_gm and gm[hi, 2] <= we + k:
                if gm[hi, 3] >= ws - k:
                    if gm[hi, 1] == _KIND_MALE:
                        m += 1
                    else:
                        f += 1
                    g_idx[n_g] = hi
                    n_g += 1
                hi += 1
            _add_unit(cooc, terms, s, k_win[ki], t, gm, g_idx, n_g, m, f, seen_g, stamp, rep, wts)


_SM1 = np.uint64(0x9E3779B97F4A7C15)
_SM2 = np.uint64(0xBF58476D1CE4E5B9)
_SM3 = np.uint64(0x94D049BB133111EB)
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True)
def _splitmix64(x):
    z = x + _SM1
    z = (z ^ (z >> np.uint64(30))) * _SM2
    z = (z ^ (z >> np.uint64(27))) * _SM3
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def poisson_weights(id_data, start, end, poisson_cdf, out):
    """Bootstrap weights of one document: out[b] ~ Poisson(1), drawn from a hash of the
    document id bytes id_data[start:end] and the replicate b (engine.count.bootstrap documents it)."""
    h = _FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(id_data[i])) * _FNV_PRIME
    for b in range(out.shape[0]):
        x = _splitmix64(h ^ (np.uint64(b + 1) * _SM1))
        u = np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)
        k = 0
        while k < poisson_cdf.shape[0] and u >= poisson_cdf[k]:
            k += 1
        out[b] = k


@njit(cache=True, nogil=True)
def _record(known, n_known, tok, vid, wpos, sent, para, bstart, bend):
    """Append a vocabulary word to ``known`` (rows past its end are counted, not written)."""
    if n_known < known.shape[0]:
        known[n_known, 0] = tok
        known[n_known, 1] = vid
        known[n_known, 2] = wpos
        known[n_known, 3] = sent
        known[n_known, 4] = para
        known[n_known, 5] = bstart
        known[n_known, 6] = bend
    return n_known + 1


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


@njit(cache=True, nogil=True)
def _scan_doc(data, start, end, cls, lower, expansions, ht_hash, ht_id, vocab_bytes, vocab_off,
              is_abbrev, known, enc, subs, ascii_class):
    """Tokenize one document; write its lexicon-vocabulary words into ``known``.

    ``ascii_class[b]`` is the lowercased byte when byte b is an ASCII word character, -1 when
    it is ASCII punctuation, and 0 otherwise (whitespace, non-ASCII bytes).

    Returns (number of known words, number of words). When the first number exceeds
    ``known.shape[0]`` the caller retries with a larger buffer (rows past the end are not
    written); keeping the buffer fixed here keeps this loop free of allocations.
    """
    mask = ht_id.shape[0] - 1
    n_known = 0
    state = 0  # 0 between tokens, 1 in a word, 2 in punctuation
    h = _H0
    ws = start  # byte offset where the current word starts
    ci = start  # byte offset of the current code point
    p_term = False
    p_n = 0
    p_dot_first = False
    prev_abbrev = False
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
            c = np.int64(32)
            i += 1
        else:
            break
        k = cls[c]
        if state == 1:
            if k == _WORD:  # hot path: one more character of the current word
                h = _hash_cp(h, c)
                if pend_i < pend_n:
                    continue
                # fast path for the common cases: ASCII words separated by a single space, or
                # by one ASCII punctuation character and a space ("word, word", "word. Word")
                while True:
                    while i < end:  # the rest of an ASCII run of word characters
                        c2 = ascii_class[data[i]]
                        if c2 <= 0:
                            break
                        h = _hstep(h, c2)
                        i += 1
                    if i + 1 >= end:
                        break
                    p = data[i]
                    if p == 32:
                        nxt = i + 1
                        punct = 0
                    elif ascii_class[p] == -1 and i + 2 < end and data[i + 1] == 32:
                        nxt = i + 2
                        punct = np.int64(p)
                    else:
                        break  # the general path handles whatever ends this word
                    c2 = ascii_class[data[nxt]]
                    if c2 <= 0:
                        break
                    # the word data[ws:i] ends here
                    vid = ht_id[_slot(h, mask)]
                    if vid >= 0:
                        vid = _lookup(h, data, ws, i, lower, expansions, ht_hash, ht_id,
                                      vocab_bytes, vocab_off, enc)
                    prev_abbrev = False
                    if vid >= 0:
                        n_known = _record(known, n_known, tok, vid, wpos, sent, para, ws, i)
                        prev_abbrev = is_abbrev[vid] != 0
                    wpos += 1
                    tok += 1
                    if punct != 0:  # a one-character punctuation token
                        if (punct == 46 and not prev_abbrev) or punct == 33 or punct == 63:
                            sent += 1
                        prev_abbrev = False
                        tok += 1
                    ws = nxt
                    h = _hstep(_H0, c2)
                    i = nxt + 1
                continue
            # the word data[ws:ci] ends here
            vid = ht_id[_slot(h, mask)]  # first probe inline: most words stop here
            if vid >= 0:
                vid = _lookup(h, data, ws, ci, lower, expansions, ht_hash, ht_id, vocab_bytes,
                              vocab_off, enc)
            prev_abbrev = False
            if vid >= 0:
                n_known = _record(known, n_known, tok, vid, wpos, sent, para, ws, ci)
                prev_abbrev = is_abbrev[vid] != 0
            wpos += 1
            tok += 1
            state = 0
        elif state == 2:
            if k == _PUNCT:
                p_n += 1
                if c == 46 or c == 33 or c == 63:
                    p_term = True
                continue
            # the punctuation token ends here: ., ! or ? ends the sentence, except a lone "."
            # right after an abbreviation word
            if p_term and not (p_n == 1 and p_dot_first and prev_abbrev):
                sent += 1
            prev_abbrev = False
            tok += 1
            state = 0
        # between tokens: start a word or punctuation, or skip whitespace
        if k == _WORD:
            state = 1
            ws = ci
            h = _hash_cp(_H0, c)
        elif k == _PUNCT:
            state = 2
            p_term = c == 46 or c == 33 or c == 63
            p_n = 1
            p_dot_first = c == 46
        elif c == 10:  # newline: ends the sentence and the paragraph
            sent += 1
            para += 1
            prev_abbrev = False
    return n_known, wpos


@njit(cache=True, nogil=True)
def doc_mentions(data, start, end, cls, lower, expansions, ht_hash, ht_id, vocab_bytes, vocab_off,
                 is_abbrev, trie_next, trie_term, term_kind, term_target, term_gterm, known, gm,
                 om, enc, subs, ascii_class):
    """Scan and match one document: (known, n_words, gm, n_gm, om, n_om), buffers regrown."""
    while True:
        n_known, n_words = _scan_doc(data, start, end, cls, lower, expansions, ht_hash, ht_id,
                                     vocab_bytes, vocab_off, is_abbrev, known, enc, subs,
                                     ascii_class)
        if n_known <= known.shape[0]:
            break
        known = np.empty((2 * n_known, KNOWN_COLS), dtype=np.int64)
    gm, n_gm, om, n_om = _match(known, n_known, trie_next, trie_term, term_kind, term_target,
                                term_gterm, gm, om)
    return known, n_words, gm, n_gm, om, n_om


@njit(cache=True, nogil=True)
def count_batch(
    data, offsets, doc_src,
    cls, lower, expansions,
    ht_hash, ht_id, vocab_bytes, vocab_off, is_abbrev,
    trie_next, trie_term, term_kind, term_target, term_gterm,
    w_sent, w_para, w_doc, ks, k_win,
    cooc, terms, doc_stats,
    id_data, id_offsets, poisson_cdf, rep,
):
    """Count every window for the documents data[offsets[i]:offsets[i+1]] (valid UTF-8).

    doc_src[i] is the source index of document i; w_sent/w_para/w_doc are window indices
    (-1 when not requested); ks/k_win are the word-window radii and their window indices.
    With bootstrap (rep.shape[3] = B > 0), id_data/id_offsets are the document ids (Arrow
    string buffers) that seed each document's replicate weights.
    """
    n_docs = offsets.shape[0] - 1
    known = np.empty((4096, KNOWN_COLS), dtype=np.int64)
    gm = np.empty((256, 6), dtype=np.int64)
    om = np.empty((256, TARGET_COLS), dtype=np.int64)
    g_idx = np.empty(256, dtype=np.int64)
    enc = np.empty(4, dtype=np.uint8)
    subs = np.empty(3, dtype=np.int64)
    seen_t = np.zeros(cooc.shape[2], dtype=np.int64)
    seen_g = np.zeros(max(terms.shape[3], 1), dtype=np.int64)
    stamp = np.zeros(1, dtype=np.int64)
    ascii_class = _ascii_class(cls, lower)
    wts = np.zeros(rep.shape[3], dtype=np.int64)
    for d in range(n_docs):
        start = offsets[d]
        end = offsets[d + 1]
        s = doc_src[d]
        known, n_words, gm, n_gm, om, n_om = doc_mentions(
            data, start, end, cls, lower, expansions, ht_hash, ht_id, vocab_bytes, vocab_off,
            is_abbrev, trie_next, trie_term, term_kind, term_target, term_gterm, known, gm, om,
            enc, subs, ascii_class)
        doc_stats[s, 0] += 1
        doc_stats[s, 1] += end - start
        doc_stats[s, 2] += n_words
        if n_om == 0:
            continue
        if g_idx.shape[0] < n_gm:
            g_idx = np.empty(n_gm * 2, dtype=np.int64)
        if wts.shape[0] > 0:
            poisson_weights(id_data, id_offsets[d], id_offsets[d + 1], poisson_cdf, wts)
        if w_sent >= 0:
            _count_contexts(om, n_om, 3, gm, n_gm, 4, s, w_sent, cooc, terms, seen_t, seen_g, g_idx,
                            stamp, rep, wts)
        if w_para >= 0:
            _count_contexts(om, n_om, 4, gm, n_gm, 5, s, w_para, cooc, terms, seen_t, seen_g, g_idx,
                            stamp, rep, wts)
        if w_doc >= 0:
            _count_contexts(om, n_om, -1, gm, n_gm, -1, s, w_doc, cooc, terms, seen_t, seen_g,
                            g_idx, stamp, rep, wts)
        _count_word_windows(om, n_om, gm, n_gm, ks, k_win, s, cooc, terms, seen_g, g_idx, stamp,
                            rep, wts)
