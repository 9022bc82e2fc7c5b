-- K-group model side: generations classified per axis with the corpus kernels, probes, and
-- amplification generalised to K groups (formulas and sources: docs/metrics.md).

-- share of each group per model, stage, template ('*' = pooled), decoding, axis, target.
-- kind 'generations': generations whose text mentions exactly one group of the axis count
-- for it (n = their number); kind 'probes': p = mean probed share over the prompts, n = prompts
CREATE OR REPLACE VIEW model_group_share AS
WITH gen AS (
    SELECT g.model, g.stage, coalesce(g.template, '(none)') AS template, g.decoding,
           g.occupation AS target, a.axis, a.single_group, a.groups_present
    FROM model_generations g JOIN generation_axes a ON a.gen_id = g.gen_id
), tot AS (
    SELECT model, stage, template, decoding, axis, target, count(*) AS generations,
           count(*) FILTER (WHERE groups_present = 0) AS no_group,
           count(*) FILTER (WHERE groups_present >= 2) AS multi_group
    FROM gen GROUP BY ALL
    UNION ALL
    SELECT model, stage, '*', decoding, axis, target, count(*),
           count(*) FILTER (WHERE groups_present = 0), count(*) FILTER (WHERE groups_present >= 2)
    FROM gen GROUP BY model, stage, decoding, axis, target
), one AS (
    SELECT model, stage, template, decoding, axis, target, single_group AS group_name,
           count(*) AS k
    FROM gen WHERE single_group IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT model, stage, '*', decoding, axis, target, single_group, count(*)
    FROM gen WHERE single_group IS NOT NULL
    GROUP BY model, stage, decoding, axis, target, single_group
), gcells AS (
    SELECT t.*, g.group_name, g.group_order, coalesce(o.k, 0) AS units_only,
           sum(coalesce(o.k, 0)) OVER (PARTITION BY t.model, t.stage, t.template, t.decoding,
                                       t.axis, t.target) AS n
    FROM tot t
    JOIN lexicon_groups g ON g.run = setting('data_run') AND g.axis = t.axis
    LEFT JOIN one o ON o.model = t.model AND o.stage = t.stage AND o.template = t.template
         AND o.decoding = t.decoding AND o.axis = t.axis AND o.target = t.target
         AND o.group_name = g.group_name
), pr AS (  -- one row per (template, prompt, group): the probed share
    SELECT model, stage, coalesce(template, '(none)') AS template, decoding, target, axis,
           coalesce(prompt_id, prompt, '') AS prompt_key, group_name, sum(share) AS share
    FROM model_probes GROUP BY ALL
), pn AS (  -- prompts per target (templates pooled: every template's prompts)
    SELECT model, stage, template, decoding, axis, target, count(DISTINCT prompt_key) AS prompts
    FROM pr GROUP BY ALL
    UNION ALL
    SELECT model, stage, '*', decoding, axis, target,
           count(DISTINCT template || chr(31) || prompt_key)
    FROM pr GROUP BY model, stage, decoding, axis, target
), ps AS (
    SELECT model, stage, template, decoding, axis, target, group_name, sum(share) AS s,
           sum(share * share) AS s2
    FROM pr GROUP BY ALL
    UNION ALL
    SELECT model, stage, '*', decoding, axis, target, group_name, sum(share), sum(share * share)
    FROM pr GROUP BY model, stage, decoding, axis, target, group_name
), pcells AS (
    SELECT n.model, n.stage, n.template, n.decoding, n.axis, n.target, g.group_name,
           g.group_order, n.prompts, coalesce(s.s, 0) / n.prompts AS p,
           CASE WHEN n.prompts > 1 THEN
               sqrt(greatest(0.0, (coalesce(s.s2, 0) - n.prompts * (coalesce(s.s, 0) / n.prompts) ^ 2)
                                  / (n.prompts - 1))) END AS sd
    FROM pn n
    JOIN lexicon_groups g ON g.run = setting('data_run') AND g.axis = n.axis
    LEFT JOIN ps s ON s.model = n.model AND s.stage = n.stage AND s.template = n.template
         AND s.decoding = n.decoding AND s.axis = n.axis AND s.target = n.target
         AND s.group_name = g.group_name
)
SELECT model, stage, template, decoding, axis, target, group_name, group_order,
       'generations' AS kind, generations, NULL::BIGINT AS prompts, units_only, no_group,
       multi_group, n,
       CASE WHEN n > 0 THEN units_only::DOUBLE / n END AS p,
       wilson_low(units_only, n, setting('z')::DOUBLE) AS p_low,
       wilson_high(units_only, n, setting('z')::DOUBLE) AS p_high,
       n < setting('min_model_support')::BIGINT AS low_support
FROM gcells
UNION ALL
SELECT model, stage, template, decoding, axis, target, group_name, group_order, 'probes', NULL,
       prompts, NULL, NULL, NULL, prompts, p,
       CASE WHEN prompts > 1 THEN greatest(0.0, p - setting('z')::DOUBLE * sd / sqrt(prompts)) END,
       CASE WHEN prompts > 1 THEN least(1.0, p + setting('z')::DOUBLE * sd / sqrt(prompts)) END,
       prompts < setting('min_probe_support')::BIGINT
FROM pcells;

-- p_model - p_data per group, with the target's reference distribution when it has one
CREATE OR REPLACE VIEW group_amplification AS
SELECT m.model, m.stage, m.template, m.decoding, m.kind, m.axis, m.target, m.group_name,
       m.group_order, r.share AS p_reference, d.p AS p_data, m.p AS p_model,
       m.p - d.p AS amplification, d.n AS n_data, m.n AS n_model,
       d.low_support OR m.low_support AS low_support
FROM model_group_share m
JOIN group_default d ON d.axis = m.axis AND d.target = m.target AND d.group_name = m.group_name
LEFT JOIN target_reference_full r ON r.run = setting('data_run') AND r.target = m.target
     AND r.axis = m.axis AND r.group_name = m.group_name;

-- the share of each group over all targets of the data side (P(a) of Wang & Russakovsky)
CREATE OR REPLACE VIEW group_pooled AS
SELECT axis, group_name, sum(units_only)::BIGINT AS units_only,
       sum(units_only)::DOUBLE / nullif(sum(sum(units_only)) OVER (PARTITION BY axis), 0) AS p
FROM group_default GROUP BY axis, group_name;

-- one row per model, stage, template, decoding, axis: K-group amplification metrics over the
-- targets with support on both sides
CREATE OR REPLACE VIEW group_amplification_summary AS
WITH a AS (
    SELECT a.*, k.groups, pl.p AS p_a
    FROM group_amplification a
    JOIN (SELECT axis, count(*) AS groups FROM lexicon_groups
          WHERE run = setting('data_run') GROUP BY axis) k ON k.axis = a.axis
    JOIN group_pooled pl ON pl.axis = a.axis AND pl.group_name = a.group_name
    WHERE NOT a.low_support AND a.p_data IS NOT NULL AND a.p_model IS NOT NULL
), w AS (  -- P_data(t) over the supported targets, for the A->T direction
    SELECT *, n_data::DOUBLE / sum(n_data) OVER (PARTITION BY model, stage, template, decoding,
                                                 axis, group_name) AS p_t
    FROM a
), bayes AS (
    SELECT *,
           p_data * p_t / nullif(sum(p_data * p_t) OVER k, 0) AS pd_t_given_a,
           p_model * p_t / nullif(sum(p_model * p_t) OVER k, 0) AS pm_t_given_a
    FROM w WINDOW k AS (PARTITION BY model, stage, template, decoding, axis, group_name)
), per_t AS (
    SELECT model, stage, template, decoding, axis, target,
           avg(abs(p_model - p_data)) AS abs_amp,
           0.5 * sum(abs(p_model - p_data)) AS tvd_model_data,
           CASE WHEN count(p_reference) = count(*) THEN 0.5 * sum(abs(p_data - p_reference)) END
               AS tvd_data_reference,
           CASE WHEN count(p_reference) = count(*) THEN 0.5 * sum(abs(p_model - p_reference)) END
               AS tvd_model_reference,
           sum(CASE WHEN p_data > 1.0 / groups THEN p_model - p_data ELSE 0 END) AS zhao_t,
           avg(CASE WHEN p_data > p_a THEN p_model - p_data ELSE p_data - p_model END) AS wr_t_to_a,
           avg(CASE WHEN p_data > p_a THEN pm_t_given_a - pd_t_given_a
                    ELSE pd_t_given_a - pm_t_given_a END) AS wr_a_to_t
    FROM bayes GROUP BY ALL
), s AS (
    SELECT model, stage, template, decoding, axis, count(*) AS n_targets,
           avg(abs_amp) AS mean_abs_amplification,
           avg(tvd_model_data) AS mean_tvd_model_data,
           avg(tvd_data_reference) AS mean_tvd_data_reference,
           avg(tvd_model_reference) AS mean_tvd_model_reference,
           count(tvd_data_reference) AS n_with_reference,
           avg(zhao_t) AS bias_amplification_zhao,
           avg(wr_t_to_a) AS bias_amp_t_to_a,
           avg(wr_a_to_t) AS bias_amp_a_to_t
    FROM per_t GROUP BY ALL
), excluded AS (
    SELECT model, stage, template, decoding, axis,
           count(DISTINCT target) FILTER (WHERE low_support) AS n_low_support
    FROM group_amplification GROUP BY ALL
)
SELECT s.*, e.n_low_support,
       st.mean_abs_amplification_low, st.mean_abs_amplification_high,
       st.bias_amplification_zhao_low, st.bias_amplification_zhao_high,
       st.mean_tvd_data_reference_low, st.mean_tvd_data_reference_high,
       st.mean_tvd_model_reference_low, st.mean_tvd_model_reference_high,
       st.bias_amp_t_to_a_low, st.bias_amp_t_to_a_high, st.resamples, st.resampling
FROM s
LEFT JOIN excluded e USING (model, stage, template, decoding, axis)
LEFT JOIN group_amplification_stats st USING (model, stage, template, decoding, axis);

-- neutral and multi-group rates of the generations per model, stage, template, decoding, axis
-- (for gender: the none and both rates)
CREATE OR REPLACE VIEW class_rates AS
WITH gen AS (
    SELECT g.model, g.stage, coalesce(g.template, '(none)') AS template, g.decoding, a.axis,
           a.groups_present
    FROM model_generations g JOIN generation_axes a ON a.gen_id = g.gen_id
), c AS (
    SELECT model, stage, template, decoding, axis, count(*) AS generations,
           count(*) FILTER (WHERE groups_present = 1) AS single_group,
           count(*) FILTER (WHERE groups_present >= 2) AS multi_group,
           count(*) FILTER (WHERE groups_present = 0) AS no_group
    FROM gen GROUP BY ALL
    UNION ALL
    SELECT model, stage, '*', decoding, axis, count(*),
           count(*) FILTER (WHERE groups_present = 1), count(*) FILTER (WHERE groups_present >= 2),
           count(*) FILTER (WHERE groups_present = 0)
    FROM gen GROUP BY model, stage, decoding, axis
)
SELECT model, stage, template, decoding, axis, generations, single_group, multi_group, no_group,
       no_group::DOUBLE / generations AS rate_none,
       wilson_low(no_group, generations, setting('z')::DOUBLE) AS rate_none_low,
       wilson_high(no_group, generations, setting('z')::DOUBLE) AS rate_none_high,
       multi_group::DOUBLE / generations AS rate_multi,
       wilson_low(multi_group, generations, setting('z')::DOUBLE) AS rate_multi_low,
       wilson_high(multi_group, generations, setting('z')::DOUBLE) AS rate_multi_high
FROM c;
