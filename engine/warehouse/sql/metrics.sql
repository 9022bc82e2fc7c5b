-- tracebias metrics: macros and the binary-gender views over the counts, the model outputs and
-- the world statistics. Formulas and sources: docs/metrics.md. engine/warehouse/warehouse.py
-- runs this file first, after the count views (one per table of engine/count/tables.py), the
-- lexicon tables, the model tables and the (empty) statistics tables exist; then every other
-- sql/*.sql file in name order. Settings are read from the `settings` table; change them with
-- `tracebias warehouse set` (which validates them and refreshes the statistics tables).

-- ---- macros --------------------------------------------------------------------------------
CREATE OR REPLACE MACRO setting(k) AS (SELECT value FROM settings WHERE key = k);
CREATE OR REPLACE MACRO female_share(f, m) AS
    CASE WHEN f + m > 0 THEN f::DOUBLE / (f + m) END;
CREATE OR REPLACE MACRO smoothed_log_odds(f, m) AS ln((f + 0.5) / (m + 0.5));
CREATE OR REPLACE MACRO wilson_low(k, n, z) AS
    CASE WHEN n > 0 THEN greatest(0.0,
        (k::DOUBLE / n + z * z / (2 * n)
         - z * sqrt((k::DOUBLE / n) * (1 - k::DOUBLE / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n)) END;
CREATE OR REPLACE MACRO wilson_high(k, n, z) AS
    CASE WHEN n > 0 THEN least(1.0,
        (k::DOUBLE / n + z * z / (2 * n)
         + z * sqrt((k::DOUBLE / n) * (1 - k::DOUBLE / n) / n + z * z / (4.0 * n * n)))
        / (1 + z * z / n)) END;
-- total variation distance between two-point distributions (p, 1-p) and (q, 1-q)
CREATE OR REPLACE MACRO tvd2(p, q) AS 0.5 * (abs(p - q) + abs((1 - p) - (1 - q)));
-- upper tail of the standard normal, 1 - Phi(x), x >= 0 (Abramowitz & Stegun 7.1.26 for erfc,
-- absolute error < 1e-7)
CREATE OR REPLACE MACRO normal_upper_tail(x) AS
    0.5 * (0.254829592 * (1.0 / (1.0 + 0.3275911 * x / sqrt(2.0)))
           - 0.284496736 * (1.0 / (1.0 + 0.3275911 * x / sqrt(2.0))) ^ 2
           + 1.421413741 * (1.0 / (1.0 + 0.3275911 * x / sqrt(2.0))) ^ 3
           - 1.453152027 * (1.0 / (1.0 + 0.3275911 * x / sqrt(2.0))) ^ 4
           + 1.061405429 * (1.0 / (1.0 + 0.3275911 * x / sqrt(2.0))) ^ 5) * exp(-x * x / 2.0);
-- lower tail of every percentile interval: level 2 Phi(z) - 1 (z = 1.96 -> 0.025)
CREATE OR REPLACE MACRO ci_tail() AS normal_upper_tail(setting('z')::DOUBLE);
-- the q-quantile of a sorted list, linear interpolation (as quantile_cont, but q may vary)
CREATE OR REPLACE MACRO list_quantile(l, q) AS
    CASE WHEN len(l) > 0 THEN
        l[floor((len(l) - 1) * q)::BIGINT + 1]
        + ((len(l) - 1) * q - floor((len(l) - 1) * q))
          * (l[ceil((len(l) - 1) * q)::BIGINT + 1] - l[floor((len(l) - 1) * q)::BIGINT + 1]) END;

-- ---- data side -----------------------------------------------------------------------------
-- female share per run, source ('*' = all sources), window, occupation
CREATE OR REPLACE VIEW data_share AS
WITH per_source AS (
    SELECT run, source, window_label, window_kind, window_k, occupation,
           sum(units)::BIGINT AS units, sum(female_only)::BIGINT AS f,
           sum(male_only)::BIGINT AS m, sum(female_and_male)::BIGINT AS b
    FROM cooccurrence GROUP BY ALL
), all_sources AS (
    SELECT run, '*' AS source, window_label, window_kind, window_k, occupation,
           sum(units)::BIGINT AS units, sum(f)::BIGINT AS f, sum(m)::BIGINT AS m,
           sum(b)::BIGINT AS b
    FROM per_source GROUP BY ALL
), s AS (SELECT * FROM per_source UNION ALL SELECT * FROM all_sources)
SELECT run, source, window_label, window_kind, window_k, occupation, units, f AS female_only,
       m AS male_only, b AS female_and_male,
       f + m AS n, female_share(f, m) AS p, smoothed_log_odds(f, m) AS log_odds,
       wilson_low(f, f + m, setting('z')::DOUBLE) AS p_low,
       wilson_high(f, f + m, setting('z')::DOUBLE) AS p_high,
       (f + m) < setting('min_support')::BIGINT AS low_support
FROM s;

-- the same from term-level counts: every gender-term mention in a context counts
CREATE OR REPLACE VIEW data_term_share AS
WITH per_source AS (
    SELECT run, source, window_label, window_kind, window_k, occupation,
           sum(term_count) FILTER (WHERE gender = 'female')::BIGINT AS f,
           sum(term_count) FILTER (WHERE gender = 'male')::BIGINT AS m
    FROM term_cooccurrence GROUP BY ALL
), s AS (
    SELECT run, source, window_label, window_kind, window_k, occupation, coalesce(f, 0) AS f,
           coalesce(m, 0) AS m
    FROM per_source
    UNION ALL
    SELECT run, '*', window_label, window_kind, window_k, occupation,
           coalesce(sum(f), 0)::BIGINT, coalesce(sum(m), 0)::BIGINT
    FROM per_source GROUP BY ALL
)
SELECT run, source, window_label, window_kind, window_k, occupation, f AS female_terms,
       m AS male_terms, f + m AS n, female_share(f, m) AS p, smoothed_log_odds(f, m) AS log_odds,
       wilson_low(f, f + m, setting('z')::DOUBLE) AS p_low,
       wilson_high(f, f + m, setting('z')::DOUBLE) AS p_high,
       (f + m) < setting('min_support')::BIGINT AS low_support
FROM s;

-- which gender terms drive each association
CREATE OR REPLACE VIEW term_share AS
SELECT run, source, window_label, window_kind, window_k, occupation, gender, term, term_count,
       units_with_term,
       term_count::DOUBLE / sum(term_count) OVER (PARTITION BY run, source, window_label,
                                                  occupation) AS share_of_gender_mentions
FROM term_cooccurrence;

-- the data the model side is compared with: settings data_run, data_window, all sources
CREATE OR REPLACE VIEW data_default AS
SELECT * FROM data_share
WHERE run = setting('data_run') AND window_label = setting('data_window') AND source = '*';

-- ---- model side ----------------------------------------------------------------------------
-- female share per model, stage, template ('*' = all templates pooled; '(none)' = generations
-- without a template), decoding, occupation. kind 'generations': classified generations
-- (n = f + m); kind 'probes': model_probes rows of the gender axis (p = mean probed female
-- share over the prompts, n = prompts)
CREATE OR REPLACE VIEW model_share AS
WITH gen AS (
    SELECT model, stage, coalesce(template, '(none)') AS template, decoding, occupation, class
    FROM model_generations WHERE class IS NOT NULL
), g AS (
    SELECT model, stage, template, decoding, occupation, count(*) AS generations,
           count(*) FILTER (WHERE class = 'female') AS f,
           count(*) FILTER (WHERE class = 'male') AS m,
           count(*) FILTER (WHERE class = 'both') AS b,
           count(*) FILTER (WHERE class = 'none') AS nn
    FROM gen GROUP BY ALL
    UNION ALL
    SELECT model, stage, '*', decoding, occupation, count(*),
           count(*) FILTER (WHERE class = 'female'), count(*) FILTER (WHERE class = 'male'),
           count(*) FILTER (WHERE class = 'both'), count(*) FILTER (WHERE class = 'none')
    FROM gen GROUP BY model, stage, decoding, occupation
), pr AS (  -- one row per probed prompt: its female share (0 when the row is absent)
    SELECT model, stage, coalesce(template, '(none)') AS template, decoding,
           target AS occupation, coalesce(prompt_id, prompt, '') AS prompt_key,
           coalesce(sum(share) FILTER (WHERE group_name = 'female'), 0) AS pf
    FROM model_probes WHERE axis = 'gender' GROUP BY ALL
), pg AS (
    SELECT model, stage, template, decoding, occupation, count(*) AS prompts, avg(pf) AS p,
           stddev_samp(pf) AS sd
    FROM pr GROUP BY ALL
    UNION ALL
    SELECT model, stage, '*', decoding, occupation, count(*), avg(pf), stddev_samp(pf)
    FROM pr GROUP BY model, stage, decoding, occupation
)
SELECT model, stage, template, decoding, occupation, generations, f AS female_only,
       m AS male_only, b AS female_and_male, nn AS none, f + m AS n, female_share(f, m) AS p,
       smoothed_log_odds(f, m) AS log_odds,
       wilson_low(f, f + m, setting('z')::DOUBLE) AS p_low,
       wilson_high(f, f + m, setting('z')::DOUBLE) AS p_high,
       (f + m) < setting('min_model_support')::BIGINT AS low_support,
       'generations' AS kind, NULL::BIGINT AS prompts
FROM g
UNION ALL
SELECT model, stage, template, decoding, occupation, NULL, NULL, NULL, NULL, NULL, prompts, p,
       CASE WHEN p > 0 AND p < 1 THEN ln(p / (1 - p)) END,
       CASE WHEN prompts > 1 THEN greatest(0.0, p - setting('z')::DOUBLE * sd / sqrt(prompts)) END,
       CASE WHEN prompts > 1 THEN least(1.0, p + setting('z')::DOUBLE * sd / sqrt(prompts)) END,
       prompts < setting('min_probe_support')::BIGINT, 'probes', prompts
FROM pg;

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
       d.low_support OR ms.low_support AS low_support, ms.kind
FROM model_share ms
JOIN data_default d USING (occupation)
LEFT JOIN world_stats w USING (occupation);

-- Wang & Russakovsky 2021, both directions, A = {female, male}, over the occupations T with
-- support on both sides: y_at = [P(a|t) > P(a)] in the data, P(a) from the whole data side
-- (every occupation of data_default); T->A: Delta = P_model(a|t) - P_data(a|t);
-- A->T: Delta = P_model(t|a) - P_data(t|a), both conditionals by Bayes with the data's
-- P(t) = n_t / sum n over T; BiasAmp = 1/(|A||T|) sum y Delta + (1 - y)(-Delta)
CREATE OR REPLACE VIEW directional_amplification AS
WITH a AS (
    SELECT * FROM amplification
    WHERE NOT low_support AND p_data IS NOT NULL AND p_model IS NOT NULL
), pooled AS (
    SELECT sum(female_only)::DOUBLE / nullif(sum(female_only + male_only), 0) AS p_female_all
    FROM data_default
), cells AS (
    SELECT a.model, a.stage, a.template, a.decoding, a.occupation, g.gender,
           CASE g.gender WHEN 'female' THEN a.p_data ELSE 1 - a.p_data END AS pd,
           CASE g.gender WHEN 'female' THEN a.p_model ELSE 1 - a.p_model END AS pm,
           CASE g.gender WHEN 'female' THEN p.p_female_all ELSE 1 - p.p_female_all END AS p_a,
           a.n_data::DOUBLE / sum(a.n_data) OVER (PARTITION BY a.model, a.stage, a.template,
                                                  a.decoding, g.gender) AS p_t
    FROM a CROSS JOIN pooled p CROSS JOIN (VALUES ('female'), ('male')) g(gender)
), bayes AS (
    SELECT *,
           pd * p_t / nullif(sum(pd * p_t) OVER k, 0) AS pd_t_given_a,
           pm * p_t / nullif(sum(pm * p_t) OVER k, 0) AS pm_t_given_a
    FROM cells
    WINDOW k AS (PARTITION BY model, stage, template, decoding, gender)
)
SELECT model, stage, template, decoding, count(DISTINCT occupation) AS occupations,
       avg(CASE WHEN pd > p_a THEN pm - pd ELSE pd - pm END) AS bias_amp_t_to_a,
       avg(CASE WHEN pd > p_a THEN pm_t_given_a - pd_t_given_a
                ELSE pd_t_given_a - pm_t_given_a END) AS bias_amp_a_to_t
FROM bayes GROUP BY ALL;

-- one row per model, stage, template, decoding: every summary metric, with permutation
-- p-values and bootstrap intervals from the amplification_stats table (refreshed by Python)
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
SELECT s.*, e.n_low_support, d.bias_amp_t_to_a AS directional_amplification,
       d.bias_amp_a_to_t AS directional_amplification_a_to_t,
       st.pearson_p, st.pearson_low, st.pearson_high,
       st.spearman_p, st.spearman_low, st.spearman_high,
       st.slope_p, st.slope_low, st.slope_high,
       st.mean_amplification_low, st.mean_amplification_high,
       st.bias_amplification_zhao_low, st.bias_amplification_zhao_high,
       st.mean_tvd_data_world_low, st.mean_tvd_data_world_high,
       st.mean_tvd_model_world_low, st.mean_tvd_model_world_high,
       st.resamples, st.permutations, st.resampling
FROM s LEFT JOIN excluded e USING (model, stage, template, decoding)
LEFT JOIN directional_amplification d USING (model, stage, template, decoding)
LEFT JOIN amplification_stats st USING (model, stage, template, decoding);

-- scores from elsewhere (e.g. log P(she) - log P(he)) against the data, per model and metric
CREATE OR REPLACE VIEW score_correlation AS
SELECT s.model, s.stage, s.metric, count(*) AS n_occupations, corr(d.p, s.value) AS pearson,
       regr_slope(s.value, d.p) AS slope_ols
FROM model_scores s JOIN data_default d USING (occupation)
WHERE NOT d.low_support
GROUP BY ALL;

-- long form of the trace: world, data, and each model stage (templates pooled; the decoding is
-- named when a model and stage have more than one, e.g. sampled generations and probes)
CREATE OR REPLACE VIEW bias_trace_long AS
SELECT occupation, 'world' AS series, 0 AS series_order, pct_female AS pct, NULL::BIGINT AS n,
       FALSE AS low_support
FROM world_stats
UNION ALL
SELECT occupation, 'data', 1, 100 * p, n, low_support FROM data_default
UNION ALL
SELECT ms.occupation,
       ms.model || ' / ' || ms.stage
         || CASE WHEN k.decodings > 1 THEN ' / ' || coalesce(nullif(ms.decoding, ''), 'generations')
                 ELSE '' END,
       2, 100 * ms.p, ms.n, ms.low_support
FROM model_share ms
JOIN (SELECT model, stage, count(DISTINCT decoding) AS decodings FROM model_share
      WHERE template = '*' GROUP BY ALL) k USING (model, stage)
WHERE ms.template = '*'
UNION ALL
SELECT occupation, model || ' / ' || stage || ' / ' || metric, 3,
       CASE WHEN metric IN ('pct_female', 'percent_female') THEN value
            WHEN metric IN ('p_female', 'share_female') THEN 100 * value END, NULL, FALSE
FROM model_scores WHERE metric IN ('pct_female', 'percent_female', 'p_female', 'share_female');

-- ---- bootstrap intervals (counts made with --bootstrap B) ---------------------------------
-- percentile intervals (level 2 Phi(z) - 1) of the female share over the document-level
-- Poisson replicates
CREATE OR REPLACE VIEW data_share_ci AS
WITH per AS (
    SELECT run, source, window_label, occupation, replicate, sum(female_only) AS f,
           sum(male_only) AS m
    FROM bootstrap GROUP BY ALL
    UNION ALL
    SELECT run, '*', window_label, occupation, replicate, sum(female_only), sum(male_only)
    FROM bootstrap GROUP BY ALL
), l AS (
    SELECT run, source, window_label, occupation, count(*) AS replicates,
           avg(female_share(f, m)) AS p_boot_mean,
           list_sort(list(female_share(f, m)) FILTER (WHERE f + m > 0)) AS ps
    FROM per GROUP BY ALL
)
SELECT run, source, window_label, occupation, replicates, p_boot_mean,
       list_quantile(ps, ci_tail()) AS p_low, list_quantile(ps, 1 - ci_tail()) AS p_high
FROM l;

-- amplification with the data side resampled (the model side is taken as measured)
CREATE OR REPLACE VIEW amplification_ci AS
SELECT a.model, a.stage, a.template, a.decoding, a.occupation, a.amplification,
       a.p_model - c.p_high AS amplification_low, a.p_model - c.p_low AS amplification_high,
       c.p_low AS p_data_low, c.p_high AS p_data_high, c.replicates, a.low_support
FROM amplification a
JOIN data_share_ci c ON c.occupation = a.occupation AND c.run = setting('data_run')
     AND c.window_label = setting('data_window') AND c.source = '*';

-- the summary metrics recomputed in every document replicate (occupations fixed)
CREATE OR REPLACE VIEW amplification_summary_ci AS
WITH rep AS (
    SELECT occupation, replicate, female_share(sum(female_only), sum(male_only)) AS p_b
    FROM bootstrap WHERE run = setting('data_run') AND window_label = setting('data_window')
    GROUP BY ALL
), a AS (SELECT * FROM amplification WHERE NOT low_support AND p_model IS NOT NULL),
per_rep AS (
    SELECT a.model, a.stage, a.template, a.decoding, r.replicate,
           avg(a.p_model - r.p_b) AS mean_amplification,
           corr(r.p_b, a.p_model) AS pearson,
           sum((r.p_b - 0.5) * (a.p_model - 0.5)) / nullif(sum((r.p_b - 0.5) ^ 2), 0) AS slope
    FROM a JOIN rep r USING (occupation) WHERE r.p_b IS NOT NULL GROUP BY ALL
), l AS (
    SELECT model, stage, template, decoding, count(*) AS replicates,
           list_sort(list(mean_amplification) FILTER (WHERE mean_amplification IS NOT NULL)) AS ma,
           list_sort(list(pearson) FILTER (WHERE pearson IS NOT NULL)) AS pe,
           list_sort(list(slope) FILTER (WHERE slope IS NOT NULL)) AS sl
    FROM per_rep GROUP BY ALL
)
SELECT model, stage, template, decoding, replicates,
       list_quantile(ma, ci_tail()) AS mean_amplification_low,
       list_quantile(ma, 1 - ci_tail()) AS mean_amplification_high,
       list_quantile(pe, ci_tail()) AS pearson_low,
       list_quantile(pe, 1 - ci_tail()) AS pearson_high,
       list_quantile(sl, ci_tail()) AS slope_low,
       list_quantile(sl, 1 - ci_tail()) AS slope_high
FROM l;
