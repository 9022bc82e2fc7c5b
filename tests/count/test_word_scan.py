"""The scan's word hash, both ways it is computed, against the one definition the lexicon's
hash table is built with (engine.lexicon.matcher.word_hash): 8 bytes at a time for ASCII words
(engine.count.kernels._ascii_word_at, one unaligned load per 8 bytes, bytes past the document's
end masked off) and byte by byte for everything else (_hash_cp)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import engine.count.kernels as K
from engine.lexicon.matcher import word_hash

ASCII_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
M64 = (1 << 64) - 1


def final(h, acc):
    return ((int(h) ^ int(acc)) * int(K._HP)) & M64


@njit
def _general_hash(cps):
    h, acc, nb = K._H0, K._U0, 0
    for c in cps:
        h, acc, nb = K._hash_cp(h, acc, nb, c)
    return (h ^ acc) * K._HP


@settings(max_examples=400, deadline=None)
@given(prefix=st.binary(max_size=12), word=st.text(ASCII_WORD, min_size=1, max_size=40),
       stop=st.binary(max_size=3), beyond=st.text(ASCII_WORD, max_size=12),
       cut=st.integers(0, 12))
def test_ascii_words_8_bytes_at_a_time(prefix, word, stop, beyond, cut):
    """The fast path stops at the first byte that is not an ASCII word character or at the
    document's end, even when the buffer goes on with word characters (the next document)."""
    body = word.encode() + stop
    end_in_body = len(body) - min(cut, len(body) - 1)  # the document may end inside the word
    data = np.frombuffer(prefix + body + beyond.encode(), dtype=np.uint8)
    ws, end = len(prefix), len(prefix) + end_in_body
    we, h, acc, nb = K._ascii_word_at(data, ws, end)
    expect = ws
    while expect < end and chr(data[expect]) in ASCII_WORD:
        expect += 1
    assert we == expect
    assert nb == (we - ws) % 8
    assert final(h, acc) == word_hash(bytes(data[ws:we]).lower())


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_general_hash_equals_the_lexicon_hash(text):
    cps = np.array([ord(ch) for ch in text], dtype=np.int64)
    assert int(_general_hash(cps)) == word_hash(text.encode("utf-8"))


def test_lengths_at_the_chunk_edges():
    for n in range(0, 26):
        word = ("Ab9_" * 7)[:n]
        assert int(_general_hash(np.array([ord(c) for c in word.lower()], np.int64))) \
            == word_hash(word.lower().encode())
        if n:
            data = np.frombuffer(word.encode() + b" x", dtype=np.uint8)
            we, h, acc, _ = K._ascii_word_at(data, 0, len(data))
            assert we == n and final(h, acc) == word_hash(word.lower().encode())


def test_equal_hashes_are_confirmed_byte_for_byte():
    """A 64-bit hash match is not a word match: the bytes decide (a hash table whose only entry
    is "nurse", or "engineers", filed under the hash of the word looked up)."""
    from engine.count.counting import kernel_chars

    ascii_class = kernel_chars().ascii_class
    for vocab, word in [("nurse", "nurse"), ("nurse", "nursf"), ("nurse", "Nurse"),
                        ("engineers", "engineers"), ("engineers", "engineerz")]:
        data = np.frombuffer(word.encode() + b" tail", dtype=np.uint8)
        we, h, acc, _ = K._ascii_word_at(data, 0, len(data))
        hw = np.uint64(final(h, acc))
        ht_id = np.full(16, -1, np.int32)
        ht_hash = np.zeros(16, np.uint64)
        slot = K._slot(hw, 15)
        ht_id[slot], ht_hash[slot] = 0, hw
        vocab_bytes = np.frombuffer(vocab.encode() + bytes(8), dtype=np.uint8)
        vocab_off = np.array([0, len(vocab)], np.int64)
        got = K._lookup_ascii(hw, acc, data, 0, we, ascii_class, ht_hash, ht_id, vocab_bytes,
                              vocab_off)
        assert got == (0 if word.lower() == vocab else -1), (vocab, word)
