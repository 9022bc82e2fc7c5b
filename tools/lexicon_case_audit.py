"""Evidence for per-form case rules: how each lexicon form is capitalised in a corpus.

For every form of a lexicon (group terms and targets), every occurrence in the shards is
classified by how it is written in the text:

    lower      every letter lowercase                  ("the teller said")
    start      capitalised at the start of a sentence   ("Tellers were ...")
    title      capitalised mid-sentence, next word capitalised  ("Captain Cook", "Judge Brown")
    proper     capitalised mid-sentence otherwise       ("Edward Teller", "Penn & Teller")

``proper`` is the homonym signal: a capitalised occupation word in mid-sentence that is not
followed by a name is mostly a surname, an organisation or a title of a work. ``--samples``
prints a deterministic, evenly spaced sample of the ``proper`` contexts of the forms shown,
which is how the ``lower`` rules of the ``default`` lexicon were chosen (docs/lexicons.md).

Run:  .venv/bin/python tools/lexicon_case_audit.py ../shared/data/wikipedia-en/documents \
          --lexicon tracing-bias --min-n 20 --min-proper 0.4 --samples 12

Tokenization here is a plain-Python approximation of the engine's (``\\w+|[^\\w\\s]+`` on each
line, lowercased with str.lower); it is an audit aid, not a counter.
"""
from __future__ import annotations

import argparse
import collections
import gzip
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.lexicon import form_words, load_lexicon  # noqa: E402

TOKEN = re.compile(r"\w+|[^\w\s]+")
SENTENCE_END = re.compile(r"[.!?:;]")
OPENERS = {'"', "'", "(", "[", "“", "‘", "«"}


def audit(shard_paths, forms: dict[tuple[str, ...], str]):
    """(counts per form, proper-noun contexts per form) over the shards."""
    first: dict[str, list[tuple[str, ...]]] = collections.defaultdict(list)
    for w in forms:
        first[w[0]].append(w)
    for k in first:
        first[k].sort(key=len, reverse=True)
    counts: dict[tuple[str, ...], collections.Counter] = collections.defaultdict(
        collections.Counter)
    contexts: dict[tuple[str, ...], list[str]] = collections.defaultdict(list)
    for path in shard_paths:
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                doc = json.loads(line)
                for text_line in str(doc.get("text", "")).split("\n"):
                    _line(text_line, doc.get("id"), first, counts, contexts)
    return counts, contexts


def _line(text, doc_id, first, counts, contexts) -> None:
    toks = TOKEN.findall(text)
    low = [t.lower() for t in toks]
    i = 0
    while i < len(toks):
        hit = next((w for w in first.get(low[i], ()) if tuple(low[i:i + len(w)]) == w), None)
        if hit is None:
            i += 1
            continue
        n = len(hit)
        written = toks[i]
        c = counts[hit]
        c["n"] += 1
        if written == written.lower():
            c["lower"] += 1
        else:
            prev = toks[i - 1] if i > 0 else ""
            start = (i == 0 or SENTENCE_END.search(prev) is not None
                     or (prev in OPENERS and (i == 1 or SENTENCE_END.search(toks[i - 2]))))
            nxt = toks[i + n] if i + n < len(toks) else ""
            if start:
                c["start"] += 1
            elif nxt[:1].isupper():
                c["title"] += 1
            else:
                c["proper"] += 1
                contexts[hit].append(f"[{doc_id}] " + " ".join(toks[max(0, i - 5):i + n + 4]))
        i += n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shards", help="a folder of Dolma-style JSON Lines shards (.json.gz or .jsonl)")
    ap.add_argument("--lexicon", default="tracing-bias",
                    help="built-in name or lexicon file whose forms are audited")
    ap.add_argument("--min-n", type=int, default=20,
                    help="show forms with at least this many occurrences (default 20)")
    ap.add_argument("--min-proper", type=float, default=0.4,
                    help="show forms whose share of 'proper' occurrences is at least this")
    ap.add_argument("--samples", type=int, default=0,
                    help="print this many evenly spaced 'proper' contexts per form shown")
    ap.add_argument("--targets-only", action="store_true",
                    help="audit the targets only (not the group terms)")
    args = ap.parse_args(argv)
    lex = load_lexicon(args.lexicon)
    forms: dict[tuple[str, ...], str] = {}
    if not args.targets_only:
        for a in lex.axes:
            for g in a.groups:
                for f in g.forms:
                    forms.setdefault(form_words(f)[0], f"{a.name}/{g.name}")
    for t in lex.targets:
        for f in t.forms:
            forms.setdefault(form_words(f)[0], f"target {t.name}")
    paths = sorted(p for p in Path(args.shards).rglob("*")
                   if p.name.endswith((".json.gz", ".jsonl", ".json", ".jsonl.gz")))
    counts, contexts = audit(paths, forms)
    rows = [(w, c) for w, c in counts.items()
            if c["n"] >= args.min_n and c["proper"] / c["n"] >= args.min_proper]
    rows.sort(key=lambda r: (-r[1]["proper"] / r[1]["n"], " ".join(r[0])))
    print(f"{'form':<22}{'owner':<28}{'n':>7}{'lower':>7}{'start':>7}{'title':>7}"
          f"{'proper':>8}{'share':>7}")
    for w, c in rows:
        print(f"{' '.join(w):<22}{forms[w]:<28}{c['n']:>7}{c['lower']:>7}{c['start']:>7}"
              f"{c['title']:>7}{c['proper']:>8}{c['proper'] / c['n']:>7.2f}")
    if args.samples:
        for w, _ in rows:
            ctx = contexts[w]
            step = max(1, len(ctx) // args.samples)
            print(f"\n== {' '.join(w)} ({len(ctx)} proper-noun contexts)")
            for s in ctx[::step][:args.samples]:
                print("   ", s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
