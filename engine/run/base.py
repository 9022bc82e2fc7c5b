"""The executor base: everything about a run except how shards are mapped over workers.

``Executor.run`` lists the inputs (failing before any work on a bad path), takes the output
directory's lock, finds the shards already done with one listing of ``partials/``, asks the
concrete executor to ``map_shards`` the rest through ``process_shard`` (which writes each
shard's partial and hands its tables to the run's ``RunningTotals`` in memory), and
``finalize``s: reads the partials of shards earlier runs counted (in parallel), reduces
everything table by table, removes final tables the
configuration does not produce, and writes the manifest last. A partial that cannot be read is
named, deleted and its shard recounted. ``LocalExecutor`` (engine.run.local) maps with a thread
pool and knows nothing else. (The Spark job, engine.spark.job, reads and reduces with Spark
itself, and shares ``build_manifest``.)
"""
from __future__ import annotations

import hashlib
import os
import platform
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc

from engine.corpus.shards import ShardRef, expand_inputs
from engine.count import tables as TB
from engine.count.config import CountConfig
from engine.count.counting import count_shard, engine_versions, reduce_tables
from engine.run.output import (LEXICON_FILE, MANIFEST, OutputDir, OutputError,
                               lexicon_file_bytes)

REDUCE_CHUNK = 64  # partials read and reduced together before merging into the running total
_NOT_DONE = ("cannot open", "read error")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def shard_stamp(shard: ShardRef) -> str:
    """The shard's identity for done-markers: size, modification time and version (when the
    listing provides them)."""
    stamp = getattr(shard, "stamp", None)
    if stamp:
        return stamp
    blob = f"{shard.url}\0{shard.size}\0{getattr(shard, 'mtime', None)}\0" \
           f"{getattr(shard, 'version', None)}"
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def partial_name(shard: ShardRef, config: CountConfig) -> str:
    return OutputDir.partial_name(shard.key, config.fingerprint(), shard_stamp(shard))


@dataclass(frozen=True)
class ShardResult:
    key: str
    url: str
    status: str  # "counted" | "skipped" (already done) | "unreadable" (not done: retried next run)
    documents: int = 0
    rejects: int = 0
    seconds: float = 0.0
    error: tuple | None = None  # (line, reason) of an unreadable shard


@dataclass
class RunSummary:
    out: str
    shards: list[ShardResult] = field(default_factory=list)
    totals: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    skipped_inputs: list = field(default_factory=list)

    @property
    def counted(self) -> list[ShardResult]:
        return [s for s in self.shards if s.status == "counted"]


class RunningTotals:
    """The tables of the shards this process counts, folded into running totals as shards
    finish: the reduction then reads from disk only the partials of shards that earlier runs
    counted. Thread-safe; holds at most REDUCE_CHUNK shards' tables besides the totals."""

    def __init__(self, config: CountConfig):
        self.config = config
        produced = TB.produced(config.lexicon.has_binary_gender, config.bootstrap,
                               config.contexts)
        self.running: dict[str, list[pa.Table]] = {t.name: [] for t in produced}
        self.markers: dict[str, dict] = {}
        self._pending = 0
        self._reduced: set[str] = set()  # tables whose one part is a reduction's output
        self._lock = threading.Lock()

    def add(self, url: str, marker: dict, tables: dict[str, pa.Table]) -> None:
        with self._lock:
            self.markers[url] = marker
            for name, parts in self.running.items():
                if name in tables:
                    parts.append(tables[name])
                    self._reduced.discard(name)
            self._pending += 1
            if self._pending >= REDUCE_CHUNK:
                self._fold()

    def fold(self) -> None:
        """Reduce the tables added since the last fold into the totals."""
        with self._lock:
            self._fold()

    def _fold(self) -> None:
        for name, parts in self.running.items():
            if len(parts) > 1:
                self.running[name] = [reduce_tables(name, parts, self.config.contexts)]
                self._reduced.add(name)
        self._pending = 0

    def copy(self) -> "RunningTotals":
        """An independent copy (the tables themselves are immutable): a retried reduction
        starts again from the same totals."""
        other = RunningTotals(self.config)
        with self._lock:
            other.running = {n: list(p) for n, p in self.running.items()}
            other.markers = dict(self.markers)
            other._pending = self._pending
            other._reduced = set(self._reduced)
        return other

    def final(self) -> dict[str, pa.Table]:
        """Every table reduced (sorted; engine.count.counting.reduce_tables); a table the last
        fold reduced already is taken as it is (reducing it again only re-sorted it)."""
        with self._lock:
            return {name: parts[0] if name in self._reduced
                    else reduce_tables(name, parts, self.config.contexts)
                    for name, parts in self.running.items()}


def process_shard(shard: ShardRef, out_url: str, config: CountConfig, on_bytes=None,
                  totals: RunningTotals | None = None,
                  stale: list[str] | None = None) -> ShardResult:
    """Count one shard into its partial file (idempotent: a retry rewrites the same file).
    With ``totals`` its tables are also handed to the running reduction in memory; ``stale``:
    the partial names of this shard's key listed at the start of the run (else one listing)."""
    out = OutputDir(out_url)
    t0 = time.perf_counter()
    counter = count_shard(shard, config, on_bytes=on_bytes)
    fatal = [r for r in counter.rejects if r.line == 0 and r.reason.startswith(_NOT_DONE)]
    if fatal:  # never "done": the next run tries again
        return ShardResult(shard.key, shard.url, "unreadable", 0, len(counter.rejects),
                           time.perf_counter() - t0, (fatal[0].line, fatal[0].reason))
    tables = counter.tables(sort=False)
    documents, n_rejects, filtered = counter.documents, len(counter.rejects), counter.filtered_out
    del counter  # the accumulators are no longer needed: free them before writing
    name = partial_name(shard, config)
    marker = {"url": shard.url, "rel": shard.rel, "size": shard.size,
              "mtime": getattr(shard, "mtime", None), "version": getattr(shard, "version", None),
              "fingerprint": config.fingerprint(), "documents": documents,
              "rejects": n_rejects, "filtered_out": filtered,
              "finished": now(), "host": platform.node(), "pid": os.getpid(),
              "seconds": round(time.perf_counter() - t0, 3)}
    out.write_partial(name, tables, marker)
    out.remove_partials_of(shard.key, keep=name, names=stale)
    if totals is not None:
        totals.add(shard.url, marker, tables)
    return ShardResult(shard.key, shard.url, "counted", documents, n_rejects,
                       time.perf_counter() - t0)


class Executor:
    """Runs a count; subclasses implement ``map_shards`` (and may override ``describe``)."""

    kind = "base"
    totals: RunningTotals | None = None  # tables of the shards this run counted in-process
    stale: dict[str, list[str]] = {}  # shard key -> its partials listed at the start of the run

    def map_shards(self, shards: list[ShardRef], out_url: str, config: CountConfig,
                   total_bytes: int) -> list[ShardResult]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"kind": self.kind}

    def prepare(self, config: CountConfig) -> None:
        """Called once before any shard is mapped (e.g. compile the kernels)."""

    def reduce_partials(self, out: OutputDir, shards: list[ShardRef], config: CountConfig):
        """Read and reduce the partials of ``shards``: ({table: Table}, {url: marker},
        [(shard, reason) unreadable]). The default starts from the running totals of the
        shards counted in this process and reads the others' partials in parallel threads,
        chunk by chunk, keeping one running total per table; executors may do it elsewhere."""
        return reduce_partials(out, shards, config, self.totals)

    def run(self, inputs: list[str], out_url: str, config: CountConfig, force: bool = False,
            log=None) -> RunSummary:
        log = log or (lambda m: None)
        started = now()
        listing = _list_inputs(inputs)  # raises InputError before any work
        shards, skipped_inputs = listing
        for path, reason in skipped_inputs:
            log(f"skipped {path}: {reason}")
        for f in config.filters:  # attribute files exist for every shard, with the key
            f.check(shards)
        out = OutputDir(out_url)
        with out.lock():
            out.remove(MANIFEST)  # the directory no longer reads as a finished run
            listed = out.list_partials()
            present = set() if force else listed
            self.stale = {}
            for name in listed:
                self.stale.setdefault(OutputDir.partial_key(name), []).append(name)
            self.totals = RunningTotals(config)
            todo = [s for s in shards if partial_name(s, config) not in present]
            done = [s for s in shards if s not in todo]
            log(f"{len(shards)} shards: {len(todo)} to count, {len(done)} already done")
            self.prepare(config)
            results = self.map_shards(todo, out_url, config, sum(s.size for s in todo)) \
                if todo else []
            by_url = {r.url: r for r in results}
            for s in done:
                by_url[s.url] = ShardResult(s.key, s.url, "skipped")
            for attempt in range(3):
                try:
                    summary = finalize(out, shards, config, inputs, by_url, started,
                                       self.describe(), self.reduce_partials)
                    break
                except _BadPartials as bad:
                    if attempt == 2:
                        raise OutputError(str(bad)) from None
                    for s, reason in bad.shards:
                        log(f"partial of {s.rel} is unreadable ({reason}); recounting it")
                        out.remove_partials_of(s.key)
                    again = self.map_shards([s for s, _ in bad.shards], out_url, config,
                                            sum(s.size for s, _ in bad.shards))
                    by_url.update({r.url: r for r in again})
        summary.skipped_inputs = skipped_inputs
        return summary


def _list_inputs(inputs):
    try:
        from engine.corpus.shards import list_inputs
    except ImportError:
        return expand_inputs(inputs), []
    listing = list_inputs(inputs)
    return list(listing.shards), list(listing.skipped)


class _BadPartials(Exception):
    def __init__(self, shards):
        self.shards = shards
        super().__init__("unreadable partial files: " + ", ".join(
            f"{s.rel} ({r})" for s, r in shards))


def _read_partials(out: OutputDir, shards: list[ShardRef], config: CountConfig):
    """Read the partials of ``shards`` in parallel: [(shard, marker, tables)] and the bad ones."""
    def read(s):
        try:
            return s, *out.read_partial(partial_name(s, config)), None
        except Exception as e:  # noqa: BLE001 - any unreadable file: recount the shard
            return s, None, None, f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"

    with ThreadPoolExecutor(max_workers=min(16, max(1, len(shards)))) as pool:
        got = list(pool.map(read, shards))
    return [(s, m, t) for s, m, t, e in got if e is None], [(s, e) for s, _, _, e in got if e]


def reduce_partials(out: OutputDir, shards: list[ShardRef], config: CountConfig,
                    totals: RunningTotals | None = None):
    """The default reduction (see Executor.reduce_partials): the run's totals, and the
    partials read from disk folded into them as they come."""
    acc = (totals or RunningTotals(config)).copy()
    acc.fold()  # then each chunk read is folded as its last partial is added: one chunk in memory
    on_disk = [s for s in shards if s.url not in acc.markers]
    bad = []
    for i in range(0, len(on_disk), REDUCE_CHUNK):
        good, broken = _read_partials(out, on_disk[i:i + REDUCE_CHUNK], config)
        bad += broken
        for s, marker, tables in good:
            acc.add(s.url, marker, tables)
    markers = {s.url: acc.markers[s.url] for s in shards if s.url in acc.markers}
    return acc.final(), markers, bad


def finalize(out: OutputDir, shards: list[ShardRef], config: CountConfig, inputs: list[str],
             results: dict[str, ShardResult], started: str, runner: dict,
             reducer=reduce_partials) -> RunSummary:
    """Reduce the partials of ``shards`` into the final tables; write the manifest last."""
    counted = [s for s in shards if results.get(s.url) is None
               or results[s.url].status != "unreadable"]
    unreadable = [results[s.url] for s in shards if results.get(s.url) is not None
                  and results[s.url].status == "unreadable"]
    final, markers, bad = reducer(out, counted, config)
    bad_shards = [b for b, _ in bad]
    missing = [(s, "no partial file") for s in counted if s.url not in markers
               and s not in bad_shards]
    if bad or missing:
        raise _BadPartials(bad + missing)
    if unreadable:  # their rejects are part of this run's result, though they are not done
        extra = pa.table({"shard": [r.url for r in unreadable],
                          "line": [r.error[0] for r in unreadable],
                          "reason": [r.error[1] for r in unreadable],
                          "source": [""] * len(unreadable),
                          "sample": [b""] * len(unreadable)}, schema=TB.REJECTS.schema)
        final["rejects"] = reduce_tables("rejects", [final["rejects"], extra])

    # stale final tables of another configuration go; then the tables, the lexicon, the manifest
    for t in TB.TABLES:
        if t.name not in final:
            out.remove(t.file)
    table_info = {}
    for name, table in final.items():
        size = out.write_table(table, TB.spec(name).file)
        table_info[name] = {"file": TB.spec(name).file, "rows": table.num_rows, "bytes": size}
    out.write_bytes(lexicon_file_bytes(config.lexicon), LEXICON_FILE)

    totals = {
        "shards": len(shards),
        "unreadable_shards": len(unreadable),
        **table_totals(final["shards"], final["target_units"], config),
        "input_bytes": sum(s.size for s in shards),
        "rejects": final["rejects"].num_rows,
        "filtered_out": sum(m.get("filtered_out", 0) for m in markers.values()),
    }
    shard_rows = []
    for s in shards:
        r = results.get(s.url)
        m = markers.get(s.url, {})
        shard_rows.append({"url": s.url, "rel": s.rel, "key": s.key, "size": s.size,
                           "mtime": getattr(s, "mtime", None),
                           "status": r.status if r else "skipped",
                           "documents": m.get("documents", 0), "rejects": m.get("rejects", 0)})
    results_list = [ShardResult(s.key, s.url, (results.get(s.url) or ShardResult("", "", "skipped")).status,
                                markers.get(s.url, {}).get("documents", 0),
                                markers.get(s.url, {}).get("rejects", 0),
                                (results.get(s.url) or ShardResult("", "", "")).seconds)
                    for s in shards]
    manifest = build_manifest(config, inputs, shard_rows, totals, table_info, started, runner)
    out.write_json(manifest, MANIFEST)
    return RunSummary(out.url, results_list, totals, manifest)


def table_totals(shards, target_units, config: CountConfig) -> dict:
    """The manifest's documents, bytes, words and units per window, from the final ``shards``
    and ``target_units`` tables (Arrow; any integer types)."""
    tu = target_units.filter(pc.equal(target_units["axis"], config.lexicon.axes[0].name))
    return {"documents": int(pc.sum(shards["documents"]).as_py() or 0),
            "bytes": int(pc.sum(shards["bytes"]).as_py() or 0),
            "words": int(pc.sum(shards["words"]).as_py() or 0),
            "units": {w.label: int(pc.sum(tu.filter(pc.equal(tu["window_label"], w.label))
                                          ["units"]).as_py() or 0) for w in config.windows}}


def build_manifest(config: CountConfig, inputs, shard_rows, totals, table_info, started,
                   runner) -> dict:
    """The manifest of a finished run (docs/data-format.md), for every executor: the local one
    here and the Spark job (engine.spark.job)."""
    lex = config.lexicon
    return {
        "format": TB.FORMAT,
        "started": started,
        "finished": now(),
        "inputs": list(inputs),
        "shards": shard_rows,
        "lexicon": {"name": lex.name, "version": lex.version, "sha256": lex.sha256(),
                    "file": LEXICON_FILE, "axes": {a.name: list(a.group_names) for a in lex.axes},
                    "targets": len(lex.targets), "target_sets": list(lex.target_sets),
                    "gender_terms": len(lex.gender_terms)},
        "windows": [w.label for w in config.windows],
        "bootstrap": {"replicates": config.bootstrap, "method": "document-level Poisson(1), "
                      "weights from FNV-1a(id) + splitmix64 (engine/count/bootstrap.py)"}
        if config.bootstrap else None,
        "contexts": {"per_key": config.contexts,
                     "pair_window": config.context_window.label if config.context_window else None}
        if config.contexts else None,
        "filters": [f.spec() for f in config.filters],
        "abbreviations": sorted(config.compiled.abbreviations),
        "fingerprint": config.fingerprint(),
        "config": config.to_dict(lexicon=False),
        "tokenizer": {"words": "tokenizers Lowercase + Whitespace (engine/lexicon/unicode.py)",
                      "model_tokens": ({"path": config.tokenizer,
                                        "sha256": config.token_matcher.sha256,
                                        "form_variants": config.token_matcher.variants}
                                       if config.tokenizer else None)},
        "versions": {**engine_versions(), "python": sys.version.split()[0]},
        "runner": runner,
        "totals": totals,
        "tables": table_info,
    }


def format_summary(summary: RunSummary) -> str:
    t = summary.totals
    counted = len(summary.counted)
    skipped = sum(1 for s in summary.shards if s.status == "skipped")
    unreadable = t.get("unreadable_shards", 0)
    lines = [
        f"shards: {t['shards']} ({counted} counted, {skipped} already done"
        + (f", {unreadable} unreadable: retried by the next run" if unreadable else "") + ")",
        f"documents: {t['documents']:,}   text: {t['bytes'] / 1e6:,.1f} MB (UTF-8)   "
        f"input: {t.get('input_bytes', 0) / 1e6:,.1f} MB on disk   words: {t['words']:,}",
        ("units: " + ", ".join(f"{w} {n:,}" for w, n in t["units"].items())
         + "   (a unit is one target mention's window: one (sentence, target) pair for "
           "sentence/paragraph/document, one mention for ±k words)")
        if summary.manifest.get("lexicon", {}).get("targets", 1) else
        "units: none (the lexicon has no targets: representation only)",
        f"rejects: {t['rejects']:,}" + (f"  (see {summary.out}/rejects.parquet)"
                                        if t["rejects"] else ""),
        *([f"filtered out by attributes: {t['filtered_out']:,} documents"]
          if t.get("filtered_out") else []),
        f"results: {summary.out}",
    ]
    return "\n".join(lines)
