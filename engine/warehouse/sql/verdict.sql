-- The report's verdict: per model, stage, template, decoding, does the model amplify, dampen or
-- follow the data's stereotypes? The statistic (estimate, a share: x 100 for points) is signed
-- toward the stereotype: the mean over the occupations with support on both sides of the
-- model's minus the data's share of the gender the data favours for that occupation (Zhao et
-- al.'s BA for two groups), with the resampled interval of amplification_stats (low, high:
-- occupations, and documents when the run has replicates) at level 2 Phi(z) - 1.
CREATE OR REPLACE VIEW amplification_verdict AS
WITH s AS (
    SELECT model, stage, template, decoding, n_occupations, n_low_support,
           bias_amplification_zhao AS estimate, bias_amplification_zhao_low AS low,
           bias_amplification_zhao_high AS high, slope, slope_low, slope_high, resampling,
           round(100 * (1 - 2 * ci_tail()))::INTEGER AS level
    FROM amplification_summary
), v AS (
    SELECT *,
           CASE WHEN n_occupations < 3 OR low IS NULL OR high IS NULL THEN 'insufficient data'
                WHEN low > 0 THEN 'amplifies'
                WHEN high < 0 THEN 'dampens'
                ELSE 'follows' END AS verdict
    FROM s
)
SELECT model, stage, template, decoding, n_occupations, n_low_support, estimate, low, high,
       level, slope, slope_low, slope_high, resampling, verdict,
       CASE WHEN verdict = 'insufficient data' THEN
           printf('%s / %s: too few occupations with support on both sides for a verdict '
                  || '(%d; at least 3 are needed)', model, stage, n_occupations)
       ELSE printf('%s / %s %s the data''s stereotypes: %+.1f points toward the gender the data '
                   || 'favours for each occupation (%d%% interval %+.1f to %+.1f; %d occupations)',
                   model, stage, verdict, 100 * estimate, level, 100 * low, 100 * high,
                   n_occupations) END AS sentence
FROM v;
