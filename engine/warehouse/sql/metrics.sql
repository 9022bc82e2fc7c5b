-- tracebias metrics: SQL macros and views over the counts, the model outputs and the world
-- statistics. Formulas: docs/metrics.md. Loaded by engine/warehouse.py after the base views
-- (cooccurrence, term_cooccurrence, shards, rejects) and tables (settings, runs, world_stats,
-- model_generations, model_scores) exist. Settings are read from the `settings` table so a
-- user can change them with UPDATE and every view follows.

-- ---- macros --------------------------------------------------------------------------------
CREATE OR REPLACE MACRO setting(k) AS (SELECT value FROM settings WHERE key = k);
CREATE OR REPLACE MACRO female_share(f, m) AS
    CASE WHEN f + m > 0 THEN f::DOUBLE / (f + m) END;
CREATE OR REPLACE MACRO smoothed_log_odds(f, m) AS ln((f + 0.5) / (m + 0.5));
CREATE OR REPLACE MACRO wilson_low(k, n, z) AS
    CASE WHEN n > 0 THEN
        (k::DOUBLE / n + z * z / (2 * n)
         - z * sqrt((k::DOUBLE / n) * (1 - k::DOUBLE / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n) END;
CREATE OR REPLACE MACRO wilson_high(k, n, z) AS
    CASE WHEN n > 0 THEN
        (k::DOUBLE / n + z * z / (2 * n)
         + z * sqrt((k::DOUBLE / n) * (1 - k::DOUBLE / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n) END;
-- total variation distance between two-point distributions (p, 1-p) and (q, 1-q)
CREATE OR REPLACE MACRO tvd2(p, q) AS 0.5 * (abs(p - q) + abs((1 - p) - (1 - q)));

-- ---- data side -----------------------------------------------------------------------------
-- female share per run, source ('*' = all sources), window, occupation
CREATE OR REPLACE VIEW data_share AS
WITH per_source AS (
    SELECT run, source, "window", occupation, sum(units)::BIGINT AS units,
           sum(female_only)::BIGINT AS f, sum(male_only)::BIGINT AS m, sum("both")::BIGINT AS b
    FROM cooccurrence GROUP BY ALL
), all_sources AS (
    SELECT run, '*' AS source, "window", occupation, sum(units)::BIGINT AS units,
           sum(f)::BIGINT AS f, sum(m)::BIGINT AS m, sum(b)::BIGINT AS b
    FROM per_source GROUP BY ALL
), s AS (SELECT * FROM per_source UNION ALL SELECT * FROM all_sources)
SELECT run, source, "window", occupation, units, f AS female_only, m AS male_only, b AS "both",
       f + m AS n, female_share(f, m) AS p, smoothed_log_odds(f, m) AS log_odds,
       wilson_low(f, f + m, setting('z')::DOUBLE) AS p_low,
       wilson_high(f, f + m, setting('z')::DOUBLE) AS p_high,
       (f + m) < setting('min_support')::BIGINT AS low_support
FROM s;

-- the same from term-level counts: every gender-term mention in a context counts
CREATE OR REPLACE VIEW data_term_share AS
WITH per_source AS (
    SELECT run, source, "window", occupation,
           sum(term_count) FILTER (WHERE gender = 'female')::BIGINT AS f,
           sum(term_count) FILTER (WHERE gender = 'male')::BIGINT AS m
    FROM term_cooccurrence GROUP BY ALL
), s AS (
    SELECT run, source, "window", occupation, coalesce(f, 0) AS f, coalesce(m, 0) AS m FROM per_source
    UNION ALL
    SELECT run, '*', "window", occupation, coalesce(sum(f), 0)::BIGINT, coalesce(sum(m), 0)::BIGINT
    FROM per_source GROUP BY ALL
)
SELECT run, source, "window", occupation, f AS female_terms, m AS male_terms, f + m AS n,
       female_share(f, m) AS p, smoothed_log_odds(f, m) AS log_odds,
       wilson_low(f, f + m, setting('z')::DOUBLE) AS p_low,
       wilson_high(f, f + m, setting('z')::DOUBLE) AS p_high,
       (f + m) < setting('min_support')::BIGINT AS low_support
FROM s;

-- which gender terms drive each association
CREATE OR REPLACE VIEW term_share AS
SELECT run, source, "window", occupation, gender, term, term_count, units_with_term,
       term_count::DOUBLE / sum(term_count) OVER (PARTITION BY run, source, "window", occupation)
           AS share_of_gender_mentions
FROM term_cooccurrence;

-- the data the model side is compared with: settings data_run, data_window, all sources
CREATE OR REPLACE VIEW data_default AS
SELECT * FROM data_share
WHERE run = setting('data_run') AND "window" = setting('data_window') AND source = '*';

-- ---- model side ----------------------------------------------------------------------------
-- female share of generations per model, stage, template ('*' = all), decoding, occupation
CREATE OR REPLACE VIEW model_share AS
WITH g AS (
    SELECT model, stage, coalesce(template, '*') AS template, decoding, occupation,
           count(*) AS generations,
           count(*) FILTER (WHERE class = 'female') AS f,
           count(*) FILTER (WHERE class = 'male') AS m,
           count(*) FILTER (WHERE class = 'both') AS b,
           count(*) FILTER (WHERE class = 'none') AS none
    FROM model_generations
    GROUP BY GROUPING SETS ((model, stage, template, decoding, occupation),
                            (model, stage, decoding, occupation))
)
SELECT model, stage, template, decoding, occupation, generations, f AS female_only,
       m AS male_only, b AS "both", none, f + m AS n, female_share(f, m) AS p,
       smoothed_log_odds(f, m) AS log_odds,
       wilson_low(f, f + m, setting('z')::DOUBLE) AS p_low,
       wilson_high(f, f + m, setting('z')::DOUBLE) AS p_high,
       (f + m) < setting('min_model_support')::BIGINT AS low_support
FROM g;

-- ---- world -> data -> model, per occupation --------------------------------------------------
CREATE OR REPLACE VIEW amplification AS
SELECT ms.model, ms.stage, ms.template, ms.decoding, ms.occupation, w.sector,
       w.pct_female / 100.0 AS p_world, d.p AS p_data, ms.p AS p_model,
       ms.p - d.p AS amplification,
       d.n AS n_data, ms.n AS n_model, d.p_low AS p_data_low, d.p_high AS p_data_high,
       ms.p_low AS p_model_low, ms.p_high AS p_model_high,
       tvd2(d.p, w.pct_female / 100.0) AS tvd_data_world,
       tvd2(ms.p, w.pct_female / 100.0) AS tvd_model_world,
       -- Zhao et al. 2017: model minus data share of the gender the data favours (> 1/2)
       CASE WHEN d.p > 0.5 THEN ms.p - d.p WHEN d.p < 0.5 THEN d.p - ms.p ELSE 0 END AS zhao_term,
       d.low_support OR ms.low_support AS low_support
FROM model_share ms
JOIN data_default d USING (occupation)
LEFT JOIN world_stats w USING (occupation);

-- Wang & Russakovsky 2021, direction T -> A (occupation given, model picks the gender):
-- y_at = [P(a,t) > P(a)P(t)] in the data, Delta_at = P_model(a|t) - P_data(a|t),
-- BiasAmp = 1/(|A||T|) sum_{a,t} y_at Delta_at + (1 - y_at)(-Delta_at), over supported t
CREATE OR REPLACE VIEW directional_amplification AS
WITH a AS (SELECT * FROM amplification WHERE NOT low_support),
pooled AS (
    SELECT a.model, a.stage, a.template, a.decoding,
           sum(d.female_only)::DOUBLE / sum(d.female_only + d.male_only) AS p_female_all
    FROM a JOIN data_default d USING (occupation) GROUP BY ALL
), cells AS (
    SELECT a.model, a.stage, a.template, a.decoding, a.occupation, g.gender,
           CASE g.gender WHEN 'female' THEN a.p_data ELSE 1 - a.p_data END AS p_a_given_t,
           CASE g.gender WHEN 'female' THEN p.p_female_all ELSE 1 - p.p_female_all END AS p_a,
           CASE g.gender WHEN 'female' THEN a.p_model - a.p_data ELSE a.p_data - a.p_model END AS delta
    FROM a JOIN pooled p USING (model, stage, template, decoding)
    CROSS JOIN (VALUES ('female'), ('male')) g(gender)
)
SELECT model, stage, template, decoding, count(DISTINCT occupation) AS occupations,
       avg(CASE WHEN p_a_given_t > p_a THEN delta ELSE -delta END) AS bias_amp_t_to_a
FROM cells GROUP BY ALL;

-- one row per model, stage, template, decoding: every summary metric
CREATE OR REPLACE VIEW amplification_summary AS
WITH a AS (SELECT * FROM amplification WHERE NOT low_support AND p_data IS NOT NULL
                                            AND p_model IS NOT NULL),
ranked AS (
    SELECT *,
        rank() OVER (PARTITION BY model, stage, template, decoding ORDER BY p_data)
          + (count(*) OVER (PARTITION BY model, stage, template, decoding, p_data) - 1) / 2.0 AS r_data,
        rank() OVER (PARTITION BY model, stage, template, decoding ORDER BY p_model)
          + (count(*) OVER (PARTITION BY model, stage, template, decoding, p_model) - 1) / 2.0 AS r_model
    FROM a
), s AS (
    SELECT model, stage, template, decoding, count(*) AS n_occupations,
           avg(amplification) AS mean_amplification,
           avg(abs(amplification)) AS mean_abs_amplification,
           avg(tvd_data_world) AS mean_tvd_data_world,
           avg(tvd_model_world) AS mean_tvd_model_world,
           avg(zhao_term) AS bias_amplification_zhao,
           corr(p_data, p_model) AS pearson,
           corr(r_data, r_model) AS spearman,
           sum((p_data - 0.5) * (p_model - 0.5)) / nullif(sum((p_data - 0.5) ^ 2), 0) AS slope,
           regr_slope(p_model, p_data) AS slope_ols,
           regr_intercept(p_model, p_data) AS intercept_ols
    FROM ranked GROUP BY ALL
), excluded AS (
    SELECT model, stage, template, decoding, count(*) FILTER (WHERE low_support) AS n_low_support
    FROM amplification GROUP BY ALL
)
SELECT s.*, e.n_low_support, d.bias_amp_t_to_a AS directional_amplification
FROM s LEFT JOIN excluded e USING (model, stage, template, decoding)
LEFT JOIN directional_amplification d USING (model, stage, template, decoding);

-- scores from elsewhere (e.g. log P(she) - log P(he)) against the data, per model and metric
CREATE OR REPLACE VIEW score_correlation AS
SELECT s.model, s.stage, s.metric, count(*) AS n_occupations, corr(d.p, s.value) AS pearson,
       regr_slope(s.value, d.p) AS slope_ols
FROM model_scores s JOIN data_default d USING (occupation)
WHERE NOT d.low_support
GROUP BY ALL;

-- long form of the trace: world, data, and each model stage (templates pooled)
CREATE OR REPLACE VIEW bias_trace_long AS
SELECT occupation, 'world' AS series, 0 AS series_order, pct_female AS pct, NULL::BIGINT AS n,
       FALSE AS low_support
FROM world_stats
UNION ALL
SELECT occupation, 'data', 1, 100 * p, n, low_support FROM data_default
UNION ALL
SELECT ms.occupation,
       ms.model || ' / ' || ms.stage || CASE WHEN k.decodings > 1 THEN ' / ' || ms.decoding ELSE '' END,
       2, 100 * ms.p, ms.n, ms.low_support
FROM model_share ms
JOIN (SELECT model, stage, count(DISTINCT decoding) AS decodings FROM model_generations GROUP BY ALL) k
  USING (model, stage)
WHERE ms.template = '*'
UNION ALL
SELECT occupation, model || ' / ' || stage || ' / ' || metric, 3,
       CASE WHEN metric IN ('pct_female', 'percent_female') THEN value
            WHEN metric IN ('p_female', 'share_female') THEN 100 * value END, NULL, FALSE
FROM model_scores WHERE metric IN ('pct_female', 'percent_female', 'p_female', 'share_female');

-- ---- bootstrap intervals (counts made with --bootstrap B) ---------------------------------
-- 95% percentile intervals of the female share over the document-level Poisson replicates
CREATE OR REPLACE VIEW data_share_ci AS
WITH per AS (
    SELECT run, source, "window", occupation, replicate, sum(female_only) AS f, sum(male_only) AS m
    FROM bootstrap GROUP BY ALL
    UNION ALL
    SELECT run, '*', "window", occupation, replicate, sum(female_only), sum(male_only)
    FROM bootstrap GROUP BY ALL
)
SELECT run, source, "window", occupation, count(*) AS replicates,
       avg(female_share(f, m)) AS p_boot_mean,
       quantile_cont(female_share(f, m), 0.025) AS p_low,
       quantile_cont(female_share(f, m), 0.975) AS p_high
FROM per GROUP BY ALL;

-- amplification with the data side resampled (the model side is taken as measured)
CREATE OR REPLACE VIEW amplification_ci AS
SELECT a.model, a.stage, a.template, a.decoding, a.occupation, a.amplification,
       a.p_model - c.p_high AS amplification_low, a.p_model - c.p_low AS amplification_high,
       c.p_low AS p_data_low, c.p_high AS p_data_high, c.replicates, a.low_support
FROM amplification a
JOIN data_share_ci c ON c.occupation = a.occupation AND c.run = setting('data_run')
     AND c."window" = setting('data_window') AND c.source = '*';

-- the summary metrics recomputed in every replicate: percentile intervals
CREATE OR REPLACE VIEW amplification_summary_ci AS
WITH rep AS (
    SELECT occupation, replicate, female_share(sum(female_only), sum(male_only)) AS p_b
    FROM bootstrap WHERE run = setting('data_run') AND "window" = setting('data_window')
    GROUP BY ALL
), a AS (SELECT * FROM amplification WHERE NOT low_support AND p_model IS NOT NULL),
per_rep AS (
    SELECT a.model, a.stage, a.template, a.decoding, r.replicate,
           avg(a.p_model - r.p_b) AS mean_amplification,
           corr(r.p_b, a.p_model) AS pearson,
           sum((r.p_b - 0.5) * (a.p_model - 0.5)) / nullif(sum((r.p_b - 0.5) ^ 2), 0) AS slope
    FROM a JOIN rep r USING (occupation) WHERE r.p_b IS NOT NULL GROUP BY ALL
)
SELECT model, stage, template, decoding, count(*) AS replicates,
       quantile_cont(mean_amplification, 0.025) AS mean_amplification_low,
       quantile_cont(mean_amplification, 0.975) AS mean_amplification_high,
       quantile_cont(pearson, 0.025) AS pearson_low,
       quantile_cont(pearson, 0.975) AS pearson_high,
       quantile_cont(slope, 0.025) AS slope_low,
       quantile_cont(slope, 0.975) AS slope_high
FROM per_rep GROUP BY ALL;
