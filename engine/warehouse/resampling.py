"""The statistics tables that need resampling, recomputed by ``Warehouse.refresh()``:

    amplification_stats        per model, stage, template, decoding (binary gender)
    group_amplification_stats  per model, stage, template, decoding, axis (K groups)
    data_sta_stats             per run, window, axis (the data's STA, no model)
    bias_transfer              per model, stage and comparison (data / probes / generations /
                               WinoBias scores)

Every interval resamples the targets that pass support (bootstrap draws of engine.warehouse.
stats), and, when the data run has document-level replicates (``--bootstrap B``), uses in draw b
the data side of replicate (b mod B) as well ("targets + documents"). Every p-value is a
permutation test of the pairing of the two sides. All of it is deterministic: targets are
sorted by name and the draws depend only on the ``seed`` setting.
"""
from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from engine.warehouse import stats as st
from engine.warehouse.schema import STATS_TABLES, stats_columns

WINOBIAS_METRICS = ("winobias_stereo_pref", "winobias_llr")


class _Params:
    def __init__(self, con):
        s = dict(con.execute("SELECT key, value FROM settings").fetchall())
        self.resamples = int(s.get("resamples", 1000))
        self.permutations = int(s.get("permutations", 1000))
        self.seed = int(s.get("seed", 0))
        self.data_run = s.get("data_run")
        self.data_window = s.get("data_window")
        self.tail = float(con.execute("SELECT ci_tail()").fetchall()[0][0])


def _frame(con, query: str, params=None) -> pl.DataFrame:
    return (con.sql(query, params=params) if params else con.sql(query)).pl()


def _arrow_type(sql_type: str) -> pa.DataType:
    return {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "BIGINT": pa.int64()}[sql_type]


def _write(con, table: str, rows: list[dict]) -> None:
    cols = [c.strip().split(" ") for c in STATS_TABLES[table].split(",")]
    schema = pa.schema([(name, _arrow_type(typ)) for name, typ in cols])
    data = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
    con.execute(f"DELETE FROM {table}")
    con.register("_stats_src", data)
    try:
        con.execute(f"INSERT INTO {table} SELECT {', '.join(stats_columns(table))} FROM _stats_src")
    finally:
        con.unregister("_stats_src")


def _finite(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _resampling_label(replicates: int) -> str:
    return "targets" if replicates == 0 else f"targets + documents ({replicates} replicates)"


def _correlations(out: dict, x_point, y_point, draws: dict, mask, prm: _Params,
                  names=("pearson", "spearman", "slope")) -> None:
    """Point value, permutation p and bootstrap interval of each correlation into ``out``."""
    for name in names:
        out[name] = st.point(st.CORRELATIONS[name], x_point, y_point)
        out[f"{name}_p"] = st.permutation_p(st.PERMUTATION_STAT[name], x_point, y_point,
                                            prm.permutations, prm.seed)
        if draws is None:
            out[f"{name}_low"] = out[f"{name}_high"] = None
            continue
        vals = st.CORRELATIONS[name](draws["x"], draws["y"], mask)
        out[f"{name}_low"], out[f"{name}_high"] = st.percentile_interval(vals, prm.tail)


def _mean_interval(out: dict, name: str, point_values: np.ndarray, draw_values, mask,
                   prm: _Params) -> None:
    v = np.asarray(point_values, dtype=np.float64)
    ok = np.isfinite(v)
    out[name] = float(v[ok].mean()) if ok.any() else None
    if draw_values is None:
        out[f"{name}_low"] = out[f"{name}_high"] = None
        return
    m = mask * np.isfinite(draw_values)
    out[f"{name}_low"], out[f"{name}_high"] = st.percentile_interval(
        st.wmean(np.where(np.isfinite(draw_values), draw_values, 0.0), m), prm.tail)


# ---- replicate matrices of the data side ----------------------------------------------------
def _gender_replicates(con, prm: _Params, occupations: list[str]) -> np.ndarray | None:
    """float[R, n]: the female share of each occupation in each document replicate (NaN when
    the replicate has no single-gender unit), or None without replicates."""
    if not occupations:
        return None
    df = _frame(con, """
        SELECT r.replicate, b.occupation, sum(b.female_only) AS f, sum(b.male_only) AS m
        FROM bootstrap b JOIN run_replicates r ON r.run = b.run AND r.replicate = b.replicate
        WHERE b.run = ? AND b.window_label = ? GROUP BY ALL""",
                     [prm.data_run, prm.data_window])
    reps = con.execute("SELECT count(*) FROM run_replicates WHERE run = ?",
                       [prm.data_run]).fetchall()[0][0]
    if reps == 0 or df.height == 0:
        return None
    idx = {o: i for i, o in enumerate(occupations)}
    out = np.full((reps, len(occupations)), np.nan)
    for r, o, f, m in df.iter_rows():
        if o in idx and f + m > 0 and r < reps:
            out[r, idx[o]] = f / (f + m)
    return out


def _group_replicates(con, prm: _Params, axis: str, targets: list[str],
                      groups: list[str]) -> np.ndarray | None:
    """float[R, n, K] group shares per document replicate (NaN rows where a target has no
    single-group unit in the replicate), or None."""
    reps = con.execute("SELECT count(*) FROM run_replicates WHERE run = ?",
                       [prm.data_run]).fetchall()[0][0]
    if reps == 0 or not targets:
        return None
    df = _frame(con, """
        SELECT replicate, target, group_name, sum(units_only) AS u FROM group_bootstrap
        WHERE run = ? AND window_label = ? AND axis = ? GROUP BY ALL""",
                     [prm.data_run, prm.data_window, axis])
    if df.height == 0:
        return None
    ti = {t: i for i, t in enumerate(targets)}
    gi = {g: i for i, g in enumerate(groups)}
    u = np.zeros((reps, len(targets), len(groups)))
    for r, t, g, n in df.iter_rows():
        if t in ti and g in gi and r < reps:
            u[r, ti[t], gi[g]] = n
    tot = u.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, u / tot, np.nan)


# ---- amplification_stats ---------------------------------------------------------------------
def amplification_stats(con, prm: _Params) -> list[dict]:
    df = _frame(con, """
        SELECT model, stage, template, decoding, occupation, p_data, p_model, p_world
        FROM amplification
        WHERE NOT low_support AND p_data IS NOT NULL AND p_model IS NOT NULL""")
    if df.height == 0:
        return []
    all_occ = sorted(df["occupation"].unique().to_list())
    rep_all = _gender_replicates(con, prm, all_occ)
    col = {o: i for i, o in enumerate(all_occ)}
    rows = []
    for key, g in df.sort("occupation").group_by(["model", "stage", "template", "decoding"],
                                                  maintain_order=True):
        occ = g["occupation"].to_list()
        x = g["p_data"].to_numpy().astype(np.float64)
        y = g["p_model"].to_numpy().astype(np.float64)
        w = g["p_world"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        n = len(occ)
        rep = rep_all[:, [col[o] for o in occ]] if rep_all is not None else None
        out = dict(zip(("model", "stage", "template", "decoding"), key), n_occupations=n,
                   resamples=prm.resamples, permutations=prm.permutations,
                   resampling=_resampling_label(0 if rep is None else rep.shape[0]))
        draws = mask = None
        if prm.resamples > 0 and n >= 2:
            idx = st.bootstrap_indices(prm.seed, prm.resamples, n)
            draws = st.draw_arrays(idx, {"x": rep if rep is not None else x, "y": y, "w": w})
            mask = (np.isfinite(draws["x"]) & np.isfinite(draws["y"])).astype(np.float64)
            draws["x"] = np.where(mask > 0, draws["x"], 0.5)
        _correlations(out, x, y, draws, mask, prm)
        dx = draws["x"] if draws else None
        dy = draws["y"] if draws else None
        _mean_interval(out, "mean_amplification", y - x, None if draws is None else dy - dx,
                       mask, prm)
        _mean_interval(out, "bias_amplification_zhao", np.sign(x - 0.5) * (y - x),
                       None if draws is None else np.sign(dx - 0.5) * (dy - dx), mask, prm)
        _mean_interval(out, "mean_tvd_data_world", np.abs(x - w),
                       None if draws is None else np.abs(dx - draws["w"]), mask, prm)
        _mean_interval(out, "mean_tvd_model_world", np.abs(y - w),
                       None if draws is None else np.abs(dy - draws["w"]), mask, prm)
        rows.append(out)
    return rows


# ---- group_amplification_stats ---------------------------------------------------------------
def _group_target_values(pd, pm, ref, p_a):
    """Per-target values (arrays over the leading axes) from group-share matrices [..., n, K]."""
    k = pd.shape[-1]
    with np.errstate(invalid="ignore"):
        return {
            "mean_abs_amplification": np.mean(np.abs(pm - pd), axis=-1),
            "bias_amplification_zhao": np.sum(np.where(pd > 1.0 / k, pm - pd, 0.0), axis=-1)
            + np.where(np.isnan(pd).any(axis=-1), np.nan, 0.0),
            "mean_tvd_data_reference": 0.5 * np.sum(np.abs(pd - ref), axis=-1),
            "mean_tvd_model_reference": 0.5 * np.sum(np.abs(pm - ref), axis=-1)
            + np.where(np.isnan(pd).any(axis=-1), np.nan, 0.0),
            "bias_amp_t_to_a": np.mean(np.where(pd > p_a, pm - pd, pd - pm), axis=-1)
            + np.where(np.isnan(pd).any(axis=-1), np.nan, 0.0),
        }


def group_amplification_stats(con, prm: _Params) -> list[dict]:
    df = _frame(con, """
        SELECT a.model, a.stage, a.template, a.decoding, a.axis, a.target, a.group_name,
               a.group_order, a.p_data, a.p_model, a.p_reference, pl.p AS p_a
        FROM group_amplification a
        JOIN group_pooled pl ON pl.axis = a.axis AND pl.group_name = a.group_name
        WHERE NOT a.low_support AND a.p_data IS NOT NULL AND a.p_model IS NOT NULL
        ORDER BY a.model, a.stage, a.template, a.decoding, a.axis, a.target, a.group_order""")
    if df.height == 0:
        return []
    rows = []
    rep_cache: dict[str, tuple] = {}
    for key, g in df.group_by(["model", "stage", "template", "decoding", "axis"],
                              maintain_order=True):
        axis = key[4]
        groups = (g.select("group_name", "group_order").unique().sort("group_order")
                  ["group_name"].to_list())
        targets = sorted(g["target"].unique().to_list())
        ti = {t: i for i, t in enumerate(targets)}
        gi = {x: i for i, x in enumerate(groups)}
        n, k = len(targets), len(groups)
        pd = np.full((n, k), np.nan)
        pm = np.full((n, k), np.nan)
        ref = np.full((n, k), np.nan)
        p_a = np.full(k, np.nan)
        for t, gn, a, b, r, pa_ in g.select("target", "group_name", "p_data", "p_model",
                                            "p_reference", "p_a").iter_rows():
            pd[ti[t], gi[gn]], pm[ti[t], gi[gn]] = a, b
            ref[ti[t], gi[gn]] = np.nan if r is None else r
            p_a[gi[gn]] = np.nan if pa_ is None else pa_
        complete = ~np.isnan(pd).any(axis=1) & ~np.isnan(pm).any(axis=1)
        keep = [i for i in range(n) if complete[i]]
        targets = [targets[i] for i in keep]
        pd, pm, ref = pd[keep], pm[keep], ref[keep]
        n = len(targets)
        if axis not in rep_cache:
            all_t = sorted(df.filter(pl.col("axis") == axis)["target"].unique().to_list())
            rep_cache[axis] = (all_t, _group_replicates(con, prm, axis, all_t, groups))
        all_t, rep_all = rep_cache[axis]
        rep = None if rep_all is None else rep_all[:, [all_t.index(t) for t in targets], :]
        point = _group_target_values(pd, pm, ref, p_a)
        out = dict(zip(("model", "stage", "template", "decoding", "axis"), key), n_targets=n,
                   resamples=prm.resamples,
                   resampling=_resampling_label(0 if rep is None else rep.shape[0]))
        draws_vals = None
        mask = None
        if prm.resamples > 0 and n >= 2:
            idx = st.bootstrap_indices(prm.seed, prm.resamples, n)
            if rep is None:
                per_t = point
                draws_vals = {name: v[idx] for name, v in per_t.items()}
            else:
                per_rep = _group_target_values(rep, pm[None], ref[None], p_a)  # [R, n]
                draws_vals = {name: st.draw_arrays(idx, {"v": v})["v"]
                              for name, v in per_rep.items()}
            mask = np.ones(idx.shape)
        for name, v in point.items():
            _mean_interval(out, name, v, None if draws_vals is None else draws_vals[name],
                           mask, prm)
        rows.append(out)
    return rows


# ---- data_sta_stats --------------------------------------------------------------------------
def data_sta_stats(con, prm: _Params) -> list[dict]:
    df = _frame(con, """
        SELECT run, window_label, axis, target, tvd FROM target_tvd
        WHERE source = '*' AND NOT low_support ORDER BY run, window_label, axis, target""")
    if df.height == 0:
        return []
    reps = _frame(con, """
        WITH b AS (
            SELECT gb.run, gb.window_label, gb.axis, gb.target, gb.group_name, gb.replicate,
                   sum(gb.units_only) AS u
            FROM group_bootstrap gb GROUP BY ALL
        ), t AS (
            SELECT run, window_label, axis, target, replicate, sum(u) AS n FROM b GROUP BY ALL
        )
        SELECT t.run, t.window_label, t.axis, t.target, t.replicate,
               0.5 * sum(abs(coalesce(b.u, 0)::DOUBLE / t.n - r.share)) AS tvd
        FROM t
        JOIN target_reference_full r ON r.run = t.run AND r.target = t.target AND r.axis = t.axis
        LEFT JOIN b ON b.run = t.run AND b.window_label = t.window_label AND b.axis = t.axis
             AND b.target = t.target AND b.replicate = t.replicate AND b.group_name = r.group_name
        WHERE t.n > 0
        GROUP BY ALL""")
    nrep = dict(con.execute("SELECT run, count(*) FROM run_replicates GROUP BY run").fetchall())
    rows = []
    for key, g in df.group_by(["run", "window_label", "axis"], maintain_order=True):
        targets = g["target"].to_list()
        v = g["tvd"].to_numpy().astype(np.float64)
        n = len(targets)
        r_count = nrep.get(key[0], 0)
        rep = None
        if r_count and reps.height:
            sub = reps.filter((pl.col("run") == key[0]) & (pl.col("window_label") == key[1])
                              & (pl.col("axis") == key[2]))
            if sub.height:
                ti = {t: i for i, t in enumerate(targets)}
                rep = np.full((r_count, n), np.nan)
                for t, r, tv in sub.select("target", "replicate", "tvd").iter_rows():
                    if t in ti and r < r_count:
                        rep[r, ti[t]] = tv
        out = dict(zip(("run", "window_label", "axis"), key), n_targets=n,
                   resamples=prm.resamples,
                   resampling=_resampling_label(0 if rep is None else rep.shape[0]))
        draws = mask = None
        if prm.resamples > 0 and n >= 2:
            idx = st.bootstrap_indices(prm.seed, prm.resamples, n)
            draws = st.draw_arrays(idx, {"v": rep if rep is not None else v})["v"]
            mask = np.ones(idx.shape)
        _mean_interval(out, "sta", v, draws, mask, prm)
        rows.append(out)
    return rows


# ---- bias_transfer ---------------------------------------------------------------------------
def _pairs(left: dict, right: dict, left_all: set, right_all: set):
    both = sorted(set(left) & set(right))
    excluded = len((left_all & right_all) - set(both))
    return both, excluded


def bias_transfer(con, prm: _Params) -> list[dict]:
    data = con.execute("SELECT occupation, p, low_support FROM data_default").fetchall()
    data_ok = {o: p for o, p, low in data if not low and p is not None}
    data_all = {o for o, _, _ in data}
    world = dict(con.execute("SELECT occupation, pct_female FROM world_stats").fetchall())
    ms = con.execute("""
        SELECT model, stage, kind, decoding, occupation, p, low_support FROM model_share
        WHERE template = '*' ORDER BY model, stage, kind, decoding, occupation""").fetchall()
    series: dict[tuple, dict] = {}  # (model, stage, kind, decoding) -> (ok, all)
    for model, stage, kind, dec, occ, p, low in ms:
        ok, alls = series.setdefault((model, stage, kind, dec), ({}, set()))
        alls.add(occ)
        if not low and p is not None:
            ok[occ] = p
    scores = con.execute(f"""
        SELECT model, stage, metric, occupation, avg(value) AS v FROM model_scores
        WHERE metric IN {WINOBIAS_METRICS} AND value IS NOT NULL GROUP BY ALL
        ORDER BY ALL""").fetchall()
    score_series: dict[tuple, dict] = {}
    for model, stage, metric, occ, v in scores:
        score_series.setdefault((model, stage, metric), {})[occ] = v
    models = sorted({k[:2] for k in series} | {k[:2] for k in score_series})
    all_data_occ = sorted(data_all)
    rep_all = _gender_replicates(con, prm, all_data_occ)
    dcol = {o: i for i, o in enumerate(all_data_occ)}
    rows = []

    def emit(model, stage, comparison, xs, ys, occ, excluded, x_vals, y_vals, x_rep=None):
        out = {"model": model, "stage": stage, "comparison": comparison, "x_series": xs,
               "y_series": ys, "n_occupations": len(occ), "n_excluded": excluded,
               "resamples": prm.resamples, "permutations": prm.permutations,
               "resampling": _resampling_label(0 if x_rep is None else x_rep.shape[0])}
        x = np.asarray(x_vals, dtype=np.float64)
        y = np.asarray(y_vals, dtype=np.float64)
        draws = mask = None
        if prm.resamples > 0 and len(occ) >= 2:
            idx = st.bootstrap_indices(prm.seed, prm.resamples, len(occ))
            draws = st.draw_arrays(idx, {"x": x_rep if x_rep is not None else x, "y": y})
            mask = (np.isfinite(draws["x"]) & np.isfinite(draws["y"])).astype(np.float64)
            draws["x"] = np.where(mask > 0, draws["x"], 0.5)
        _correlations(out, x, y, draws, mask, prm, names=("pearson", "spearman"))
        rows.append(out)

    def data_rep(occ, transform=None):
        if rep_all is None:
            return None
        r = rep_all[:, [dcol[o] for o in occ]]
        return transform(r) if transform else r

    for model, stage in models:
        probes = {k[3]: v for k, v in series.items() if k[:3] == (model, stage, "probes")}
        gens = {k[3]: v for k, v in series.items() if k[:3] == (model, stage, "generations")}
        for pdec, (p_ok, p_all) in sorted(probes.items()):
            occ, exc = _pairs(data_ok, p_ok, data_all, p_all)
            emit(model, stage, "data_vs_probe", "data", f"probe:{pdec}", occ, exc,
                 [data_ok[o] for o in occ], [p_ok[o] for o in occ], data_rep(occ))
            for gdec, (g_ok, g_all) in sorted(gens.items()):
                occ, exc = _pairs(p_ok, g_ok, p_all, g_all)
                emit(model, stage, "probe_vs_generation", f"probe:{pdec}", f"generation:{gdec}",
                     occ, exc, [p_ok[o] for o in occ], [g_ok[o] for o in occ])
        for metric in WINOBIAS_METRICS:
            sc = score_series.get((model, stage, metric))
            if not sc:
                continue
            # the data's share of the gender the labour statistics make stereotypical
            stereo = {o: world.get(o) for o in sc}
            ok = {o: (p if stereo[o] > 50 else 1 - p) for o, p in data_ok.items()
                  if o in stereo and stereo[o] is not None and stereo[o] != 50}
            occ, exc = _pairs(ok, sc, data_all, set(sc))
            signs = np.array([1.0 if stereo[o] > 50 else -1.0 for o in occ])
            rep = data_rep(occ, lambda r, sg=signs: np.where(sg > 0, r, 1 - r))
            emit(model, stage, "winobias_vs_data", "data:stereotypical_share", metric, occ, exc,
                 [ok[o] for o in occ], [sc[o] for o in occ], rep)
    return rows


def refresh_stats(con) -> None:
    prm = _Params(con)
    _write(con, "amplification_stats", amplification_stats(con, prm))
    _write(con, "group_amplification_stats", group_amplification_stats(con, prm))
    _write(con, "data_sta_stats", data_sta_stats(con, prm))
    _write(con, "bias_transfer", bias_transfer(con, prm))
