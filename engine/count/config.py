"""What a count means: one configuration object, serialised one way, and its command-line flags.

``CountOptions`` declares every option of a count once (dataclass fields with their help text);
``add_count_arguments`` turns them into argparse flags for ``tracebias count``,
``tracebias spark-count`` and the spark-submit job alike, and ``CountOptions.to_config`` resolves
them (lexicon files, windows, filters) into a ``CountConfig``, failing before any work with one
clear message. ``CountConfig.to_dict``/``from_dict`` is the only serialisation: the fingerprint
that identifies interchangeable partial results, the hand-off to Spark executors and the
manifest all use it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property

from engine.corpus.shards import DEFAULT_BATCH_BYTES
from engine.count.windows import DEFAULT_WINDOWS, Window, normalize_windows
from engine.lexicon.cache import cached
from engine.lexicon import Lexicon, lexicon_from_dict, resolve_lexicon
from engine.lexicon.matcher import DEFAULT_ABBREVIATIONS, CompiledLexicon, compile_lexicon

# Bump when the meaning of a count changes; part of the fingerprint.
SEMANTICS_VERSION = 2
DEFAULT_CONTEXTS = 5
MAX_BOOTSTRAP = 1000


class ConfigError(ValueError):
    """A count option that cannot work (reported before any work starts)."""


@dataclass(frozen=True)
class CountConfig:
    lexicon: Lexicon
    windows: tuple[Window, ...] = DEFAULT_WINDOWS
    abbreviations: tuple[str, ...] = DEFAULT_ABBREVIATIONS
    batch_bytes: int = DEFAULT_BATCH_BYTES
    bootstrap: int = 0  # replicates B of the document-level Poisson bootstrap (0 = off)
    filters: tuple = ()  # engine.count.tagging.AttributeFilter: count only documents passing all
    tokenizer: str | None = None  # tokenizer.json for tokens:k windows (engine.count.model_tokens)
    contexts: int = DEFAULT_CONTEXTS  # sampled contexts kept per target, group and pair (0 = off)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "windows", normalize_windows(self.windows))
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if not 0 <= self.bootstrap <= MAX_BOOTSTRAP:
            raise ConfigError(f"--bootstrap must be between 0 and {MAX_BOOTSTRAP} "
                              f"(got {self.bootstrap})")
        if self.contexts < 0 or self.contexts > 100:
            raise ConfigError(f"--contexts must be between 0 and 100 (got {self.contexts})")
        if self.batch_bytes < 1024:
            raise ConfigError("--batch-mb must be at least 0.001 (1 KB)")
        has_tokens = any(w.kind == "tokens" for w in self.windows)
        if has_tokens and not self.tokenizer:
            raise ConfigError("tokens:k windows need --tokenizer PATH/tokenizer.json")
        if self.tokenizer and not has_tokens:
            raise ConfigError("--tokenizer is used by tokens:k windows; add e.g. --window tokens:10")
        if len(self.windows) >= 128 or len(self.lexicon.targets) >= 1 << 32:
            raise ConfigError("too many windows or targets")

    # ---- derived, cached -------------------------------------------------------------------
    @cached_property
    def compiled(self) -> CompiledLexicon:
        """The lexicon's match tables (from the disk cache for a large lexicon used before:
        engine.lexicon.cache)."""
        key = json.dumps([self.lexicon.canonical_json, list(self.abbreviations)],
                         ensure_ascii=False).encode("utf-8")
        return cached("compiled", key, lambda: compile_lexicon(self.lexicon, self.abbreviations))

    @cached_property
    def token_matcher(self):
        from engine.count.model_tokens import compile_token_matcher

        return compile_token_matcher(self.lexicon, self.compiled, self.tokenizer)

    @property
    def word_windows(self) -> tuple[Window, ...]:
        return tuple(w for w in self.windows if w.kind != "tokens")

    @property
    def context_window(self) -> Window | None:
        """The window whose target x group units the contexts reservoir samples: the first
        word window in canonical order (the narrowest context)."""
        ww = self.word_windows
        return ww[0] if ww else None

    # ---- the one serialisation -------------------------------------------------------------
    def to_dict(self, lexicon: bool = True) -> dict:
        """The configuration as JSON data; ``lexicon=False`` leaves the lexicon out (what a
        manifest and the fingerprint take, the lexicon being recorded by its digest)."""
        return {
            "semantics": SEMANTICS_VERSION,
            **({"lexicon": self.lexicon.to_json()} if lexicon else {}),
            "windows": [w.label for w in self.windows],
            "abbreviations": sorted(self.abbreviations),
            "batch_bytes": self.batch_bytes,
            "bootstrap": self.bootstrap,
            "filters": [f.spec() for f in self.filters],
            "tokenizer": self.tokenizer,
            "contexts": self.contexts,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "CountConfig":
        from engine.count.tagging import AttributeFilter

        if d.get("semantics") != SEMANTICS_VERSION:
            raise ConfigError(f"configuration of semantics version {d.get('semantics')!r}, this "
                              f"engine counts version {SEMANTICS_VERSION}")
        return cls(lexicon_from_dict(d["lexicon"], "<config>"), tuple(d["windows"]),
                   tuple(d["abbreviations"]), int(d["batch_bytes"]), int(d["bootstrap"]),
                   tuple(AttributeFilter.parse(f) for f in d["filters"]), d["tokenizer"],
                   int(d["contexts"]))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, s: str) -> "CountConfig":
        return cls.from_dict(json.loads(s))

    def fingerprint(self) -> str:
        """Identifies what a count means: same fingerprint, interchangeable partial results.
        The batch size is left out (it never changes a count); the tokenizer file enters by
        content, filters by their specification."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        return fingerprint_of(self.to_dict(lexicon=False), self)


def fingerprint_of(d: dict, config: CountConfig) -> str:
    """The fingerprint of configuration ``d`` (``to_dict(lexicon=False)``), with the lexicon's
    digest and the tokenizer file's content hash as ``config`` sees them."""
    d = {**d, "lexicon": config.lexicon.sha256(),
         "tokenizer": config.token_matcher.sha256 if config.tokenizer else None}
    del d["batch_bytes"]
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


# ---- the option declaration ------------------------------------------------------------------
def _opt(default, help: str, **kw):
    if isinstance(default, list):
        return field(default_factory=list, metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class CountOptions:
    """Every option of a count, declared once; see add_count_arguments."""

    lexicon: str = _opt("default", "built-in lexicon name or a lexicon JSON file "
                        "(default: default; `tracebias lexicon list` shows the built-ins)",
                        metavar="NAME|FILE")
    targets: str | None = _opt(None, "take the targets from this lexicon instead, crossing "
                               "--lexicon's axes with them (e.g. --lexicon holistic-bias "
                               "--targets tracing-bias)", metavar="NAME|FILE")
    axis: list = _opt([], "count only this axis of the lexicon (repeatable; default: all)",
                      metavar="AXIS")
    window: list = _opt([], "sentence, paragraph, document, a word radius k (e.g. 10) or "
                        "tokens:k with --tokenizer (repeatable; default: sentence paragraph "
                        "document 5 10 20, all counted in one pass)", metavar="W")
    bootstrap: int = _opt(0, "document-level Poisson bootstrap replicates for confidence "
                          "intervals, e.g. 100 (default 0 = off)", metavar="B")
    contexts: int = _opt(DEFAULT_CONTEXTS, "sampled mentions in context kept per target, group "
                         "and target x group pair, for `tracebias contexts` (default "
                         f"{DEFAULT_CONTEXTS}; 0 = off)", metavar="K")
    filter: list = _opt([], "count only documents whose Dolma attribute passes, e.g. "
                        "attributes/toxicity:toxicity<0.5 (repeatable; ops < <= > >= == !=)",
                        metavar="ATTR_DIR:KEY<VALUE")
    tokenizer: str | None = _opt(None, "a Hugging Face tokenizer.json for model-token windows "
                                 "(--window tokens:10)", metavar="TOKENIZER_JSON")
    batch_mb: float = _opt(16.0, "decompressed MB of text per batch (default 16; bounds memory, "
                           "never changes a count)", metavar="MB")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "CountOptions":
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})

    def to_argv(self) -> list[str]:
        """The flags that reproduce these options (for spark-submit command lines)."""
        out: list[str] = []
        for f in fields(self):
            v = getattr(self, f.name)
            flag = "--" + f.name.replace("_", "-")
            if isinstance(v, list):
                for x in v:
                    out += [flag, str(x)]
            elif v is not None and v != f.default:
                out += [flag, str(v)]
        return out

    def to_config(self, check_files: bool = True) -> CountConfig:
        """Resolve into a CountConfig; raises ConfigError/LexiconError with one clear line."""
        from engine.count.tagging import AttributeFilter

        lexicon = resolve_lexicon(self.lexicon, self.targets, self.axis or None)
        filters = tuple(AttributeFilter.parse(f) for f in self.filter)
        if check_files:
            for f in filters:
                f.check()
        if self.batch_mb <= 0:
            raise ConfigError(f"--batch-mb must be positive (got {self.batch_mb})")
        return CountConfig(lexicon, tuple(self.window) if self.window else DEFAULT_WINDOWS,
                           batch_bytes=int(self.batch_mb * (1 << 20)), bootstrap=self.bootstrap,
                           filters=filters, tokenizer=self.tokenizer, contexts=self.contexts)


def add_count_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every CountOptions field as a flag (lists are repeatable flags)."""
    for f in fields(CountOptions):
        meta = dict(f.metadata)
        flag = "--" + f.name.replace("_", "-")
        if f.default_factory is not MISSING:  # a list: repeatable
            parser.add_argument(flag, action="append", default=None, dest=f.name, **meta)
            parser.set_defaults(**{f.name: []})
        else:
            typ = {"int": int, "float": float}.get(type(f.default).__name__, str)
            parser.add_argument(flag, type=typ, default=f.default, dest=f.name, **meta)
