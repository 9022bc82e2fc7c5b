"""Warehouse settings: every key, its default, its meaning and its validation.

Settings live in the `settings` table (key, value as text) so every view reads them with the
``setting(key)`` macro. They are validated here when set (``warehouse build --set`` and
``warehouse set``), so a view never meets ``z = 'abc'``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


class SettingError(ValueError):
    pass


def _int(lo: int, hi: int | None = None) -> Callable[[str], str]:
    def check(v: str) -> str:
        try:
            n = int(v.strip())
        except ValueError:
            raise SettingError("not a whole number") from None
        if n < lo or (hi is not None and n > hi):
            raise SettingError(f"must be between {lo} and {hi}" if hi is not None
                               else f"must be {lo} or more")
        return str(n)
    return check


def _z(v: str) -> str:
    try:
        z = float(v.strip())
    except ValueError:
        raise SettingError("not a number") from None
    if not math.isfinite(z) or z <= 0:
        raise SettingError("must be a positive number (1.96 gives 95% intervals)")
    if z > 10:
        raise SettingError("must be at most 10")
    return repr(z) if z != int(z) else f"{z:g}"


def _name(v: str) -> str:
    v = v.strip()
    if not v:
        raise SettingError("must not be empty")
    return v


@dataclass(frozen=True)
class Setting:
    key: str
    default: str | None  # None: derived at build (data_run, data_window)
    help: str
    check: Callable[[str], str]


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("data_run", None, "the run the model side is compared with (default: the first "
            "--counts)", _name),
    Setting("data_window", None, "the window of data_run the model side is compared with "
            "(default: sentence, else the run's first window)", _name),
    Setting("min_support", "20", "data side: fewest units (f + m, or sum of single-group units) "
            "for a target to enter summaries", _int(0)),
    Setting("min_model_support", "10", "model side: fewest classified generations (f + m) for a "
            "target to enter summaries", _int(0)),
    Setting("min_probe_support", "1", "probes: fewest prompts per target (and template) for a "
            "probed share to enter summaries", _int(1)),
    Setting("z", "1.96", "normal quantile of every interval (Wilson, Wald, percentile level "
            "= 2*Phi(z) - 1)", _z),
    Setting("resamples", "1000", "bootstrap draws over targets (and document replicates) for "
            "the intervals of summaries; 0 = none", _int(0, 100_000)),
    Setting("permutations", "1000", "permutations for the p-values of correlations (exact "
            "when n! is not larger); 0 = none", _int(0, 100_000)),
    Setting("seed", "0", "seed of the deterministic bootstrap draws and permutations", _int(0)),
    Setting("positive_set", "positive", "target set counted as positive by identity_sentiment",
            _name),
    Setting("negative_set", "negative", "target set counted as negative by identity_sentiment",
            _name),
)}


def describe() -> str:
    """One line per key: what `warehouse set` prints and its --help lists."""
    width = max(map(len, SETTINGS))
    return "\n".join(f"  {k:<{width}}  {s.help}" + (f" [default {s.default}]" if s.default else "")
                     for k, s in SETTINGS.items())


def normalise(key: str, value) -> str:
    """The stored text of one setting, or SettingError with one clear line."""
    if key not in SETTINGS:
        raise SettingError(f"unknown setting {key!r}; settings: {', '.join(SETTINGS)}")
    try:
        return SETTINGS[key].check(str(value))
    except SettingError as e:
        raise SettingError(f"{key}={value}: {e}") from None


def percentile_tail(z: float) -> float:
    """The lower tail of the interval level 2*Phi(z) - 1 (z = 1.96 -> 0.025)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))
