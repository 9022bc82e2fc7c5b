-- K-group data side: every axis, every group (formulas and sources: docs/metrics.md).
-- Reads the count views group_cooccurrence, target_units, representation_counts,
-- group_documents, axis_documents, group_bootstrap, shards and the lexicon tables.

-- share of each group among the single-group units of a target, per run, source ('*' = all),
-- window, axis; every group of the axis has a row (0 when the group never occurs)
CREATE OR REPLACE VIEW group_share AS
WITH tu AS (
    SELECT run, source, window_label, window_kind, window_k, axis, target,
           sum(units)::BIGINT AS units, sum(units_none)::BIGINT AS units_none,
           sum(units_multi)::BIGINT AS units_multi
    FROM target_units GROUP BY ALL
), tu_all AS (
    SELECT * FROM tu
    UNION ALL
    SELECT run, '*', window_label, window_kind, window_k, axis, target, sum(units)::BIGINT,
           sum(units_none)::BIGINT, sum(units_multi)::BIGINT
    FROM tu GROUP BY ALL
), gc AS (
    SELECT run, source, window_label, axis, target, group_name,
           sum(units_with)::BIGINT AS units_with, sum(units_only)::BIGINT AS units_only,
           sum(mentions)::BIGINT AS mentions
    FROM group_cooccurrence GROUP BY ALL
), gc_all AS (
    SELECT * FROM gc
    UNION ALL
    SELECT run, '*', window_label, axis, target, group_name, sum(units_with)::BIGINT,
           sum(units_only)::BIGINT, sum(mentions)::BIGINT
    FROM gc GROUP BY ALL
), cells AS (
    SELECT t.run, t.source, t.window_label, t.window_kind, t.window_k, t.axis, t.target,
           g.group_name, g.group_order, t.units, t.units_none, t.units_multi,
           coalesce(c.units_with, 0) AS units_with, coalesce(c.units_only, 0) AS units_only,
           coalesce(c.mentions, 0) AS mentions,
           sum(coalesce(c.units_only, 0)) OVER (PARTITION BY t.run, t.source, t.window_label,
                                                 t.axis, t.target)::BIGINT AS n
    FROM tu_all t
    JOIN lexicon_groups g ON g.run = t.run AND g.axis = t.axis
    LEFT JOIN gc_all c ON c.run = t.run AND c.source = t.source
         AND c.window_label = t.window_label AND c.axis = t.axis AND c.target = t.target
         AND c.group_name = g.group_name
)
SELECT run, source, window_label, window_kind, window_k, axis, target, group_name, group_order,
       units, units_none, units_multi, units_with, units_only, mentions, n,
       CASE WHEN n > 0 THEN units_only::DOUBLE / n END AS p,
       wilson_low(units_only, n, setting('z')::DOUBLE) AS p_low,
       wilson_high(units_only, n, setting('z')::DOUBLE) AS p_high,
       n < setting('min_support')::BIGINT AS low_support
FROM cells;

-- the data the model side is compared with (data_run, data_window, all sources)
CREATE OR REPLACE VIEW group_default AS
SELECT * FROM group_share
WHERE run = setting('data_run') AND window_label = setting('data_window') AND source = '*';

-- a target's reference distribution over every group of an axis (groups the lexicon's
-- reference leaves out have share 0), for the targets that have one
CREATE OR REPLACE VIEW target_reference_full AS
SELECT g.run, t.target, g.axis, g.group_name, g.group_order, coalesce(r.share, 0.0) AS share
FROM (SELECT DISTINCT run, target, axis FROM target_reference) t
JOIN lexicon_groups g ON g.run = t.run AND g.axis = t.axis
LEFT JOIN target_reference r ON r.run = t.run AND r.target = t.target AND r.axis = t.axis
     AND r.group_name = g.group_name;

-- single-group, multi-group and no-group units of the data side, per run, source, window, axis
CREATE OR REPLACE VIEW data_class_rates AS
WITH t AS (
    SELECT DISTINCT run, source, window_label, window_kind, window_k, axis, target, units,
           units_none, units_multi
    FROM group_share
), s AS (
    SELECT run, source, window_label, window_kind, window_k, axis, count(*) AS targets,
           sum(units)::BIGINT AS units, sum(units_none)::BIGINT AS units_none,
           sum(units_multi)::BIGINT AS units_multi
    FROM t GROUP BY ALL
)
SELECT *, units - units_none - units_multi AS units_single,
       units_none::DOUBLE / nullif(units, 0) AS rate_none,
       units_multi::DOUBLE / nullif(units, 0) AS rate_multi
FROM s;

-- ---- representation (the layout of the Llama 2 demographic-representation table) ---------
-- documents per run and source ('*' = all sources), from shards
CREATE OR REPLACE VIEW corpus_documents AS
WITH s AS (SELECT run, source, sum(documents)::BIGINT AS documents FROM shards GROUP BY ALL)
SELECT run, source, documents FROM s
UNION ALL
SELECT run, '*', sum(documents)::BIGINT FROM s GROUP BY run;

CREATE OR REPLACE VIEW axis_representation_by_source AS
WITH a AS (
    SELECT run, source, axis, sum(documents)::BIGINT AS documents,
           sum(mentions)::BIGINT AS mentions
    FROM axis_documents GROUP BY ALL
), a_all AS (
    SELECT * FROM a
    UNION ALL
    SELECT run, '*', axis, sum(documents)::BIGINT, sum(mentions)::BIGINT FROM a GROUP BY ALL
)
SELECT a.run, a.source, a.axis, a.documents, a.mentions,
       100.0 * a.documents / nullif(c.documents, 0) AS pct_documents,
       c.documents AS corpus_documents
FROM a_all a LEFT JOIN corpus_documents c ON c.run = a.run AND c.source = a.source;

CREATE OR REPLACE VIEW group_representation_by_source AS
WITH g AS (
    SELECT run, source, axis, group_name, sum(documents)::BIGINT AS documents,
           sum(mentions)::BIGINT AS mentions
    FROM group_documents GROUP BY ALL
), g_all AS (
    SELECT * FROM g
    UNION ALL
    SELECT run, '*', axis, group_name, sum(documents)::BIGINT, sum(mentions)::BIGINT
    FROM g GROUP BY ALL
)
SELECT g.run, g.source, g.axis, g.group_name, g.documents, g.mentions,
       100.0 * g.documents / nullif(c.documents, 0) AS pct_documents,
       100.0 * g.documents / nullif(a.documents, 0) AS pct_axis_documents
FROM g_all g
LEFT JOIN corpus_documents c ON c.run = g.run AND c.source = g.source
LEFT JOIN axis_representation_by_source a ON a.run = g.run AND a.source = g.source
     AND a.axis = g.axis;

CREATE OR REPLACE VIEW representation_by_source AS
WITH r AS (
    SELECT run, source, axis, group_name, term, sum(documents)::BIGINT AS documents,
           sum(mentions)::BIGINT AS mentions
    FROM representation_counts GROUP BY ALL
), r_all AS (
    SELECT * FROM r
    UNION ALL
    SELECT run, '*', axis, group_name, term, sum(documents)::BIGINT, sum(mentions)::BIGINT
    FROM r GROUP BY ALL
)
SELECT r.run, r.source, r.axis, r.group_name, r.term, r.documents, r.mentions,
       100.0 * r.documents / nullif(c.documents, 0) AS pct_documents,
       100.0 * r.documents / nullif(a.documents, 0) AS pct_axis_documents
FROM r_all r
LEFT JOIN corpus_documents c ON c.run = r.run AND c.source = r.source
LEFT JOIN axis_representation_by_source a ON a.run = r.run AND a.source = r.source
     AND a.axis = r.axis;

-- the run each axis is read from: data_run when it counted the axis, else the first run (by
-- name) that did; so every axis in the warehouse has one table, and runs never double up
CREATE OR REPLACE VIEW axis_run AS
SELECT axis, run FROM (
    SELECT DISTINCT run, axis FROM axis_representation_by_source
) QUALIFY row_number() OVER (PARTITION BY axis
                             ORDER BY (run = setting('data_run')) DESC, run) = 1;

-- all sources, one row per term, read as the Llama 2 table's rows (axes from axis_run)
CREATE OR REPLACE VIEW representation AS
SELECT r.axis, r.group_name, r.term, r.documents, r.mentions, r.pct_documents,
       r.pct_axis_documents, r.run
FROM representation_by_source r JOIN axis_run a USING (run, axis) WHERE r.source = '*';

CREATE OR REPLACE VIEW group_representation AS
SELECT r.axis, r.group_name, r.documents, r.mentions, r.pct_documents, r.pct_axis_documents,
       r.run
FROM group_representation_by_source r JOIN axis_run a USING (run, axis) WHERE r.source = '*';

CREATE OR REPLACE VIEW axis_representation AS
SELECT r.axis, r.documents, r.mentions, r.pct_documents, r.corpus_documents, r.run
FROM axis_representation_by_source r JOIN axis_run a USING (run, axis) WHERE r.source = '*';

-- ---- set association: a corpus-level WEAT analogue ------------------------------------------
-- pairs of target sets of a run's lexicon, in the order the sets first appear
CREATE OR REPLACE VIEW target_set_pairs AS
WITH sets AS (
    SELECT run, target_set, min(target_order) AS set_order, count(*) AS targets
    FROM lexicon_targets WHERE target_set IS NOT NULL GROUP BY ALL
)
SELECT a.run, a.target_set AS set_a, b.target_set AS set_b
FROM sets a JOIN sets b ON a.run = b.run AND a.set_order < b.set_order;

-- group replicate counts (from group_bootstrap) per source and all sources, with the target set
CREATE OR REPLACE VIEW group_bootstrap_sets AS
WITH b AS (
    SELECT gb.run, gb.source, gb.window_label, gb.axis, gb.target, gb.group_name, gb.replicate,
           gb.units_with, gb.units_only, t.target_set
    FROM group_bootstrap gb
    JOIN lexicon_targets t ON t.run = gb.run AND t.target = gb.target
    WHERE t.target_set IS NOT NULL
)
SELECT * FROM b
UNION ALL
SELECT run, '*', window_label, axis, target, group_name, replicate, sum(units_with)::BIGINT,
       sum(units_only)::BIGINT, target_set
FROM b GROUP BY ALL;

CREATE OR REPLACE VIEW set_association AS
WITH gs AS (
    SELECT s.*, t.target_set
    FROM group_share s JOIN lexicon_targets t ON t.run = s.run AND t.target = s.target
    WHERE t.target_set IS NOT NULL
), cells AS (
    SELECT gs.run, gs.source, gs.window_label, gs.window_kind, gs.window_k, gs.axis,
           gs.group_name, gs.group_order, p.set_a, p.set_b,
           coalesce(sum(units_only) FILTER (WHERE target_set = p.set_a), 0)::BIGINT AS units_a,
           coalesce(sum(units_only) FILTER (WHERE target_set = p.set_b), 0)::BIGINT AS units_b,
           coalesce(sum(n - units_only) FILTER (WHERE target_set = p.set_a), 0)::BIGINT AS rest_a,
           coalesce(sum(n - units_only) FILTER (WHERE target_set = p.set_b), 0)::BIGINT AS rest_b,
           -- per-target association with the group vs the rest of the axis (targets with support)
           count(*) FILTER (WHERE target_set = p.set_a AND NOT low_support AND n > 0) AS targets_a,
           count(*) FILTER (WHERE target_set = p.set_b AND NOT low_support AND n > 0) AS targets_b,
           avg(ln((units_only + 0.5) / (n - units_only + 0.5)))
               FILTER (WHERE target_set = p.set_a AND NOT low_support AND n > 0) AS mean_s_a,
           avg(ln((units_only + 0.5) / (n - units_only + 0.5)))
               FILTER (WHERE target_set = p.set_b AND NOT low_support AND n > 0) AS mean_s_b,
           stddev_samp(ln((units_only + 0.5) / (n - units_only + 0.5)))
               FILTER (WHERE NOT low_support AND n > 0) AS sd_s
    FROM gs JOIN target_set_pairs p ON p.run = gs.run AND gs.target_set IN (p.set_a, p.set_b)
    GROUP BY ALL
), b_group AS (
    SELECT run, source, window_label, axis, group_name, target_set, replicate,
           sum(units_only) AS u
    FROM group_bootstrap_sets GROUP BY ALL
), b_total AS (
    SELECT run, source, window_label, axis, target_set, replicate, sum(units_only) AS u
    FROM group_bootstrap_sets GROUP BY ALL
), b_lor AS (
    SELECT c.run, c.source, c.window_label, c.axis, c.group_name, c.set_a, c.set_b, r.replicate,
           ln((coalesce(ga.u, 0) + 0.5) * (coalesce(tb.u, 0) - coalesce(gb.u, 0) + 0.5)
              / ((coalesce(gb.u, 0) + 0.5) * (coalesce(ta.u, 0) - coalesce(ga.u, 0) + 0.5)))
               AS lor_b
    FROM cells c JOIN run_replicates r ON r.run = c.run
    LEFT JOIN b_group ga ON ga.run = c.run AND ga.source = c.source
         AND ga.window_label = c.window_label AND ga.axis = c.axis
         AND ga.group_name = c.group_name AND ga.target_set = c.set_a AND ga.replicate = r.replicate
    LEFT JOIN b_group gb ON gb.run = c.run AND gb.source = c.source
         AND gb.window_label = c.window_label AND gb.axis = c.axis
         AND gb.group_name = c.group_name AND gb.target_set = c.set_b AND gb.replicate = r.replicate
    LEFT JOIN b_total ta ON ta.run = c.run AND ta.source = c.source
         AND ta.window_label = c.window_label AND ta.axis = c.axis AND ta.target_set = c.set_a
         AND ta.replicate = r.replicate
    LEFT JOIN b_total tb ON tb.run = c.run AND tb.source = c.source
         AND tb.window_label = c.window_label AND tb.axis = c.axis AND tb.target_set = c.set_b
         AND tb.replicate = r.replicate
), b_ci AS (
    SELECT run, source, window_label, axis, group_name, set_a, set_b, count(*) AS replicates,
           list_sort(list(lor_b)) AS l
    FROM b_lor GROUP BY ALL
), est AS (
    SELECT *,
           ln((units_a + 0.5) * (rest_b + 0.5) / ((units_b + 0.5) * (rest_a + 0.5)))
               AS log_odds_ratio,
           sqrt(1 / (units_a + 0.5) + 1 / (units_b + 0.5) + 1 / (rest_a + 0.5)
                + 1 / (rest_b + 0.5)) AS se
    FROM cells
)
SELECT e.run, e.source, e.window_label, e.window_kind, e.window_k, e.axis, e.group_name,
       e.set_a, e.set_b, e.units_a, e.units_b, e.rest_a, e.rest_b, e.log_odds_ratio,
       e.log_odds_ratio - setting('z')::DOUBLE * e.se AS lor_low,
       e.log_odds_ratio + setting('z')::DOUBLE * e.se AS lor_high,
       list_quantile(b.l, ci_tail()) AS lor_boot_low,
       list_quantile(b.l, 1 - ci_tail()) AS lor_boot_high,
       coalesce(b.replicates, 0) AS replicates,
       e.targets_a, e.targets_b,
       CASE WHEN e.targets_a > 0 AND e.targets_b > 0 AND e.sd_s > 0
            THEN (e.mean_s_a - e.mean_s_b) / e.sd_s END AS effect_size,
       (e.units_a + e.rest_a) < setting('min_support')::BIGINT
         OR (e.units_b + e.rest_b) < setting('min_support')::BIGINT AS low_support
FROM est e
LEFT JOIN b_ci b ON b.run = e.run AND b.source = e.source AND b.window_label = e.window_label
     AND b.axis = e.axis AND b.group_name = e.group_name AND b.set_a = e.set_a
     AND b.set_b = e.set_b
-- only the pairs whose both sets co-occur with the axis
WHERE e.units_a + e.rest_a > 0 AND e.units_b + e.rest_b > 0;

-- ---- identity sentiment (the analysis of the C4 documentation paper) ---------------------
CREATE OR REPLACE VIEW identity_sentiment AS
WITH gs AS (
    SELECT s.*, t.target_set
    FROM group_share s JOIN lexicon_targets t ON t.run = s.run AND t.target = s.target
    WHERE t.target_set IN (setting('positive_set'), setting('negative_set'))
), c AS (
    SELECT run, source, window_label, window_kind, window_k, axis, group_name, group_order,
           coalesce(sum(units_with) FILTER (WHERE target_set = setting('positive_set')), 0)::BIGINT
               AS positive_units,
           coalesce(sum(units_with) FILTER (WHERE target_set = setting('negative_set')), 0)::BIGINT
               AS negative_units,
           count(*) FILTER (WHERE target_set = setting('positive_set') AND units_with > 0)
               AS positive_targets,
           count(*) FILTER (WHERE target_set = setting('negative_set') AND units_with > 0)
               AS negative_targets
    FROM gs GROUP BY ALL
), bs AS (
    SELECT run, source, window_label, axis, group_name, replicate,
           sum(units_with) FILTER (WHERE target_set = setting('positive_set')) AS pos,
           sum(units_with) FILTER (WHERE target_set = setting('negative_set')) AS neg
    FROM group_bootstrap_sets
    WHERE target_set IN (setting('positive_set'), setting('negative_set'))
    GROUP BY ALL
), b AS (
    SELECT c.run, c.source, c.window_label, c.axis, c.group_name, count(*) AS replicates,
           list_sort(list((coalesce(bs.pos, 0) - coalesce(bs.neg, 0))::DOUBLE
                          / (coalesce(bs.pos, 0) + coalesce(bs.neg, 0)))
                     FILTER (WHERE coalesce(bs.pos, 0) + coalesce(bs.neg, 0) > 0)) AS l
    FROM c JOIN run_replicates r ON r.run = c.run
    LEFT JOIN bs ON bs.run = c.run AND bs.source = c.source AND bs.window_label = c.window_label
         AND bs.axis = c.axis AND bs.group_name = c.group_name AND bs.replicate = r.replicate
    GROUP BY ALL
)
SELECT c.run, c.source, c.window_label, c.window_kind, c.window_k, c.axis, c.group_name,
       c.group_order, c.positive_units, c.negative_units,
       c.positive_units + c.negative_units AS n,
       CASE WHEN c.positive_units + c.negative_units > 0 THEN
           (c.positive_units - c.negative_units)::DOUBLE / (c.positive_units + c.negative_units)
       END AS sentiment,
       2 * wilson_low(c.positive_units, c.positive_units + c.negative_units,
                      setting('z')::DOUBLE) - 1 AS sentiment_low,
       2 * wilson_high(c.positive_units, c.positive_units + c.negative_units,
                       setting('z')::DOUBLE) - 1 AS sentiment_high,
       list_quantile(b.l, ci_tail()) AS sentiment_boot_low,
       list_quantile(b.l, 1 - ci_tail()) AS sentiment_boot_high,
       coalesce(b.replicates, 0) AS replicates,
       c.positive_targets, c.negative_targets,
       (c.positive_units + c.negative_units) < setting('min_support')::BIGINT AS low_support
FROM c
LEFT JOIN b ON b.run = c.run AND b.source = c.source AND b.window_label = c.window_label
     AND b.axis = c.axis AND b.group_name = c.group_name;

-- ---- stereotypical association of the data alone (the study's STA, no model needed) -------
-- per target: TVD between the data's group shares and the target's reference distribution
CREATE OR REPLACE VIEW target_tvd AS
SELECT s.run, s.source, s.window_label, s.window_kind, s.window_k, s.axis, s.target,
       any_value(s.n) AS n, bool_or(s.low_support) AS low_support,
       0.5 * sum(abs(s.p - r.share)) AS tvd
FROM group_share s
JOIN target_reference_full r ON r.run = s.run AND r.target = s.target AND r.axis = s.axis
     AND r.group_name = s.group_name
WHERE s.p IS NOT NULL
GROUP BY ALL;

-- STA = mean TVD over the targets with support, with the resampled interval of data_sta_stats
CREATE OR REPLACE VIEW data_sta AS
WITH t AS (
    SELECT run, window_label, window_kind, window_k, axis, count(*) AS n_targets,
           avg(tvd) AS sta
    FROM target_tvd WHERE source = '*' AND NOT low_support GROUP BY ALL
), lows AS (
    SELECT run, window_label, axis, count(*) FILTER (WHERE low_support) AS n_low_support
    FROM target_tvd WHERE source = '*' GROUP BY ALL
)
SELECT t.run, t.window_label, t.window_kind, t.window_k, t.axis, t.n_targets,
       l.n_low_support, t.sta, s.sta_low, s.sta_high, s.resamples, s.resampling
FROM t
LEFT JOIN lows l ON l.run = t.run AND l.window_label = t.window_label AND l.axis = t.axis
LEFT JOIN data_sta_stats s ON s.run = t.run AND s.window_label = t.window_label
     AND s.axis = t.axis;
