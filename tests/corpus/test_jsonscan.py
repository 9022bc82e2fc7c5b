"""The numba JSON Lines scanner equals the exact path (json.loads) on every line it accepts,
and declines every line it is not certain about; the reader's result never depends on it."""
from __future__ import annotations

import gzip
import json
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.corpus.jsonscan import BLANK, DOC, FALLBACK, count_newlines, scan_chunk
from engine.corpus.shards import (
    DocBatch,
    Rejected,
    expand_inputs,
    parse_chunk,
    parse_line,
    read_shard,
    reference_parse,
)

SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
         "\t": "\\t"}


# ---- a JSON writer that uses every escape, at random -----------------------------------------

def enc_str(s: str, r: random.Random, rate: float = 0.25) -> str:
    """A JSON string; each character escaped with probability ``rate`` when it need not be."""
    out = ['"']
    for ch in s:
        cp = ord(ch)
        roll = r.random()
        if ch in SHORT and (cp >= 0x20 or roll < 0.7):
            out.append(SHORT[ch] if roll < 0.85 or cp < 0x20 else f"\\u{cp:04x}")
        elif cp < 0x20:
            out.append(f"\\u{cp:04x}" if roll < 0.5 else f"\\u{cp:04X}")
        elif ch == "/" and roll < rate:
            out.append("\\/")
        elif 0xD800 <= cp <= 0xDFFF and roll < 0.2:
            out.append(ch)  # a raw lone surrogate: invalid UTF-8 bytes once encoded
        elif roll < rate or 0xD800 <= cp <= 0xDFFF:
            if cp > 0xFFFF:  # a surrogate pair
                v = cp - 0x10000
                hi, lo = 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF)
                out.append(f"\\u{hi:04x}\\u{lo:04X}" if roll < rate / 2
                           else f"\\u{hi:04X}\\u{lo:04x}")
            else:
                out.append(f"\\u{cp:04x}" if roll < rate / 2 else f"\\u{cp:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def ws(r: random.Random) -> str:
    return r.choice(["", "", "", " ", "  ", "\t", " \r ", "\r"])


def enc(v, r: random.Random, rate: float = 0.25) -> str:
    if isinstance(v, Pairs):
        return "{" + ws(r) + ",".join(
            ws(r) + enc_str(k, r, rate / 8) + ws(r) + ":" + ws(r) + enc(x, r, rate) + ws(r)
            for k, x in v) + "}"
    if isinstance(v, dict):
        return enc(Pairs(v.items()), r, rate)
    if isinstance(v, list):
        return "[" + ws(r) + ",".join(ws(r) + enc(x, r, rate) + ws(r) for x in v) + "]"
    if isinstance(v, str):
        return enc_str(v, r, rate)
    if isinstance(v, Raw):
        return v.token
    if isinstance(v, float) and not math.isfinite(v):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(v, "NaN")
    return json.dumps(v)


class Pairs(list):
    """An object as a list of (key, value): duplicates allowed."""


class Raw:
    def __init__(self, token):
        self.token = token


# ---- strategies ------------------------------------------------------------------------------

clean_chars = st.one_of(
    st.characters(codec="utf-8"),
    st.characters(max_codepoint=0x7F),
    st.sampled_from(list('"\\/\b\f\n\r\t\x00\x1f\x7f') + ["\u2028", "\ufeff", "\U0001F600",
                                                              "\uffff", "\U0010FFFF"]),
)
clean_texts = st.text(clean_chars, max_size=40)
# lone surrogates: json.loads accepts them in strings; a used field must not hold one
texts = st.one_of(clean_texts, st.text(st.one_of(clean_chars, st.characters(categories=["Cs"])),
                                       max_size=8))
numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -0.0, 1e400, 12, -1]),
                    st.sampled_from([Raw("-0"), Raw("1E5"), Raw("1e-3"), Raw("0.50"),
                                     Raw("1" * 80), Raw("-1" + "0" * 70)]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
other_keys = st.sampled_from(["added", "metadata", "x", "Text", "tex", "texts", "ids", "",
                              "sourc", "\u00e9", "te\\x"])


def weighted(*options):
    """One of several strategies, the n-th with weight options[n][0]."""
    total = sum(w for w, _ in options)

    @st.composite
    def pick(draw):
        roll = draw(st.integers(0, total - 1))
        for w, strat in options:
            if roll < w:
                return draw(strat)
            roll -= w

    return pick()


field_values = {
    "text": weighted((85, clean_texts), (5, texts), (3, st.none()), (4, numbers),
                     (3, st.lists(clean_texts, max_size=2))),
    "id": weighted((45, clean_texts), (30, st.integers(-10**20, 10**20)), (5, texts),
                   (10, numbers), (5, st.none()), (5, st.one_of(st.booleans(), values))),
    "source": weighted((60, clean_texts), (10, st.sampled_from(["wikipedia", "common-crawl", ""])),
                       (10, st.none()), (5, texts), (5, numbers)),
}


@st.composite
def documents(draw):
    pairs = Pairs()
    for k in draw(st.permutations(["text", "id", "source"])):
        if draw(st.integers(0, 19)) < 18:
            pairs.append((k, draw(field_values[k])))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.integers(0, 19)) == 0:  # a duplicate of a used key
            k = draw(st.sampled_from(["text", "id", "source"]))
            v = draw(field_values[k])
        else:
            k, v = draw(other_keys), draw(values)
        pairs.insert(draw(st.integers(0, len(pairs))), (k, v))
    return pairs


MUTATIONS = [b'"', b"\\", b"{", b"}", b",", b":", b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80",
             b" ", b"\x0c", b"\x0b", b"\r", b"u", b"\xef\xbb\xbf"]


@st.composite
def lines(draw):
    kind = draw(st.integers(0, 29))
    r = random.Random(draw(st.integers(0, 2**32)))
    if kind == 0:
        return draw(st.sampled_from([b"", b"   ", b"\r", b"\t \x0b\x0c", b"\x0c", b"\x0c{}",
                                     b"[1, 2]", b"null", b"\xef\xbb\xbf" + b'{"text": "bom"}',
                                     b'{"text":"a"}{"text":"b"}', b'{"text":"a"} x',
                                     b'{"text":"a",}', b'{"text":"a" "id":1}', b"{}"]))
    doc = draw(documents())
    line = enc(doc, r, r.choice([0.0, 0.05, 0.3])).encode("utf-8", "surrogatepass")
    line = ws(r).encode() + line + ws(r).encode()
    if kind == 1 and line:  # damage one byte
        i = r.randrange(len(line))
        op = r.randrange(3)
        m = r.choice(MUTATIONS)
        line = (line[:i] + m + line[i + 1:] if op == 0 else line[:i] + m + line[i:] if op == 1
                else line[:i] + line[i + 1:])
    elif kind == 2:
        line = line[: r.randrange(len(line) + 1)]
    elif kind == 3:
        line = line + line  # two objects on one line
    return line.replace(b"\n", b"\\n")


def collect(items):
    docs = {"text": [], "source": [], "id": [], "rows": []}
    rejects = []
    for it in items:
        if isinstance(it, DocBatch):
            it.text.validate(full=True)
            it.source.validate(full=True)
            it.id.validate(full=True)
            assert it.text.null_count == it.source.null_count == it.id.null_count == 0
            docs["text"] += it.text.to_pylist()
            docs["source"] += it.source.to_pylist()
            docs["id"] += it.id.to_pylist()
            docs["rows"] += it.rows.tolist()
        else:
            rejects.append(it)
    return docs, rejects


@settings(max_examples=int(os.environ.get("TRACEBIAS_HYPOTHESIS_EXAMPLES", "600")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines(), min_size=1, max_size=12), st.integers(1, 50))
def test_fast_path_equals_exact_path(chunk_lines, first_line):
    chunk = b"\n".join(chunk_lines) + b"\n"
    fast = collect(parse_chunk(chunk, "s", first_line, [7]))
    ref = collect(reference_parse(chunk, "s", first_line, [7]))
    assert fast == ref


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.integers(0, 2**32))
def test_accepted_lines_decode_exactly_like_json_loads(doc, seed):
    """Every line the scanner accepts: text, id and source are what json.loads gives."""
    r = random.Random(seed)
    line = enc(doc, r, r.choice([0.0, 0.05, 0.3])).encode("utf-8", "surrogatepass")
    line = line.replace(b"\n", b"\\n")
    buf = np.frombuffer(line + b"\n", dtype=np.uint8).copy()
    out = [np.empty(buf.size, np.uint8) for _ in range(3)]
    kind, _, to, _, io, _, so, _, nd = scan_chunk(buf, *out)
    exact = parse_line(line)
    if kind[0] == DOC:
        obj = json.loads(line.decode("utf-8"))
        assert bytes(out[0][:to]).decode("utf-8") == obj["text"]
        assert bytes(out[2][:so]).decode("utf-8") == (obj.get("source") or "")
        want_id = "" if obj.get("id") is None else (obj["id"] if isinstance(obj["id"], str)
                                                    else str(obj["id"]))
        assert bytes(out[1][:io]).decode("utf-8") == want_id
        assert exact == (obj["text"], obj.get("source") or "", want_id)
    else:
        assert kind[0] == FALLBACK and nd == 0


def test_every_escape_and_surrogate_pairs():
    line = (b'{"text": "q\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u0041\\u00e9\\u20AC \\ud83d\\ude00 '
            b'\\uD83D\\uDE00 raw \xc3\xa9 \xf0\x9f\x98\x80 \\u0000", "id": -0, "source": null}')
    (batch,) = list(parse_chunk(line + b"\n", "s", 1))
    assert batch.text.to_pylist() == [
        'q" b\\ s/ \b\f\n\r\t A\u00e9\u20ac \U0001F600 \U0001F600 raw \u00e9 \U0001F600 \x00']
    assert batch.id.to_pylist() == ["0"] and batch.source.to_pylist() == [""]


@pytest.mark.parametrize("line,fast", [
    (b'{"text": "a", "id": 12}', True),
    (b'{"text": "a", "id": -7, "source": "s", "m": {"k": [1, 2.5e3, true, false, null]}}', True),
    (b'{"text": "a", "id": 1.0}', False),  # str(1.0) == "1.0": the exact path decides
    (b'{"text": "a", "id": true}', False),
    (b'{"text": "a", "text": "b"}', False),  # duplicate: json.loads keeps the last
    (b'{"te\\u0078t": "a"}', False),  # an escaped key
    (b'{"text": "a", "m": NaN}', False),
    (b'{"text": "a", "m": ' + b"1" * 100 + b"}", False),
    (b'{"text": "a", "m": ' + b"[" * 100 + b"]" * 100 + b"}", False),
    (b'{"text": "\\ud800"}', False),
    (b'{"text": "a", "m": "\\ud800"}', True),  # a lone surrogate in an unused field is valid
])
def test_what_the_scanner_declines(line, fast):
    buf = np.frombuffer(line + b"\n", dtype=np.uint8).copy()
    out = [np.empty(buf.size, np.uint8) for _ in range(3)]
    kind = scan_chunk(buf, *out)[0]
    assert kind.tolist() == [DOC if fast else FALLBACK]
    chunk = line + b"\n"
    assert collect(parse_chunk(chunk, "s", 1)) == collect(reference_parse(chunk, "s", 1))


def test_blank_lines_are_what_bytes_strip_removes():
    chunk = b"\n \n\t\r\n\x0b\x0c\n\x0c{}\n\x1c\n"
    buf = np.frombuffer(chunk, dtype=np.uint8).copy()
    out = [np.empty(buf.size, np.uint8) for _ in range(3)]
    kind = scan_chunk(buf, *out)[0]
    assert kind.tolist() == [BLANK, BLANK, BLANK, BLANK, FALLBACK, FALLBACK]
    assert [parse_line(x) is None for x in chunk.split(b"\n")[:-1]] == [True] * 4 + [False] * 2


@given(st.binary(max_size=300), st.data())
def test_count_newlines_equals_bytes_count(data, pick):
    n = pick.draw(st.integers(0, len(data)))
    buf = np.frombuffer(data + b"\n\n", dtype=np.uint8)  # bytes past n are never counted
    assert count_newlines(buf, n) == data[:n].count(b"\n")


def test_scan_chunk_needs_whole_lines():
    buf = np.frombuffer(b'{"text": "a"}', dtype=np.uint8).copy()
    with pytest.raises(ValueError, match="whole lines"):
        scan_chunk(buf, buf.copy(), buf.copy(), buf.copy())


def test_exact_path_edge_cases():
    assert parse_line(b'{"text": "a", "id": 1e400}') == ("a", "", "inf")
    assert parse_line(b'{"text": "a", "id": [1, 2]}') == ("a", "", "[1, 2]")
    assert parse_line(b'{"text": "a", "m": ' + b"1" * 5000 + b"}").reason.startswith("not JSON")
    assert parse_line(b'{"text": "a", "m": ' + b"[" * 100000 + b"}").reason.startswith("not JSON")
    assert isinstance(parse_line(b'{"text": "a"}{"text": "b"}'), Rejected)


# ---- the real shards ---------------------------------------------------------------------------

def real_shards(root):
    return expand_inputs([str(root)])


@pytest.mark.integration
def test_real_wikipedia_shards_fast_equals_exact(wiki_dir):
    for shard in real_shards(wiki_dir):
        data = gzip.decompress(Path(shard.url[len("file://"):]).read_bytes())
        buf = np.frombuffer(data, dtype=np.uint8).copy()
        out = [np.empty(buf.size, np.uint8) for _ in range(3)]
        kind = scan_chunk(buf, *out)[0]
        assert (kind == DOC).all()  # every real line takes the fast path
        got = collect(read_shard(shard))
        assert got == collect(reference_parse(data, shard.url, 1))
        assert got[1] == [] and len(got[0]["text"]) == data.count(b"\n")


@pytest.mark.integration
def test_real_dolma_samples_fast_equals_exact(wiki_dir):
    root = wiki_dir.parents[1] / "dolma-samples"
    if not root.is_dir():
        pytest.skip("dolma-samples not found")
    shards = [s for s in real_shards(root) if "/attributes/" not in s.url]
    assert len(shards) >= 5
    for shard in shards:
        data = gzip.decompress(Path(shard.url[len("file://"):]).read_bytes())
        got = collect(read_shard(shard, batch_bytes=4096))
        assert got == collect(reference_parse(data, shard.url, 1))
        assert got[1] == [] and len(got[0]["text"]) > 0
