"""Window specifications: which context around an occupation mention is inspected.

* ``sentence``  — the sentence holding the mention; unit = one (sentence, occupation) pair
* ``paragraph`` — the line (text between newlines); unit = one (paragraph, occupation) pair
* ``document``  — the whole document; unit = one (document, occupation) pair
* ``words:k``   — k words before the mention's first word and k after its last, within the
  document; unit = one occurrence of the occupation. Only word tokens count as positions.
* ``tokens:k``  — the same in a model's own tokens (``--tokenizer tokenizer.json``): every
  model token is a position; lexicon forms are matched as token sequences (engine.count.model_tokens).

Formulas and edge cases: docs/metrics.md and docs/tokenization.md.
"""
from __future__ import annotations

from dataclasses import dataclass

CONTEXT_KINDS = ("sentence", "paragraph", "document")


@dataclass(frozen=True, order=True)
class Window:
    kind: str  # "sentence" | "paragraph" | "document" | "words"
    k: int | None = None

    def __post_init__(self) -> None:
        if self.kind in CONTEXT_KINDS:
            if self.k is not None:
                raise ValueError(f"window {self.kind!r} takes no size")
        elif self.kind in ("words", "tokens"):
            if self.k is None or self.k < 1:
                raise ValueError(f"a {self.kind} window needs a size k >= 1")
        else:
            raise ValueError(f"unknown window kind {self.kind!r}")

    @property
    def code(self) -> int:
        """The kernels' window kind (engine.count.kernels.WK_*): words and tokens are positional."""
        return {"sentence": 0, "paragraph": 1, "document": 2}.get(self.kind, 3)

    @property
    def positional(self) -> bool:
        return self.kind in ("words", "tokens")

    @property
    def label(self) -> str:
        return self.kind if self.k is None else f"{self.kind}:{self.k}"

    def __str__(self) -> str:
        return self.label


DEFAULT_WINDOWS: tuple[Window, ...] = (
    Window("sentence"),
    Window("paragraph"),
    Window("document"),
    Window("words", 5),
    Window("words", 10),
    Window("words", 20),
)


def parse_window(spec: str | int) -> Window:
    """Parse ``sentence``, ``paragraph``, ``document``, ``10``, ``words:10`` or ``±10``."""
    s = str(spec).strip().lower()
    if s in CONTEXT_KINDS:
        return Window(s)
    if s.startswith("tokens:"):
        try:
            return Window("tokens", int(s[len("tokens:"):]))
        except ValueError:
            raise ValueError(f"bad window {spec!r}: use tokens:K with an integer K") from None
    for prefix in ("words:", "word:", "±", "+-", "w"):
        if s.startswith(prefix):
            s = s[len(prefix) :]
            break
    try:
        k = int(s)
    except ValueError:
        raise ValueError(
            f"bad window {spec!r}: use sentence, paragraph, document, or a word radius like 10"
        ) from None
    return Window("words", k)


def normalize_windows(windows) -> tuple[Window, ...]:
    """Deduplicate and order windows canonically (contexts first, then words by k)."""
    ws = {parse_window(w) if not isinstance(w, Window) else w for w in windows}
    if not ws:
        raise ValueError("at least one window is required")
    order = {k: i for i, k in enumerate(CONTEXT_KINDS + ("words", "tokens"))}
    return tuple(sorted(ws, key=lambda w: (order[w.kind], w.k or 0)))
