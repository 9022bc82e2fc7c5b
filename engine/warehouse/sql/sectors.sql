-- Per sector (the study's main figure): the mean share of women per sector in the world (labour
-- statistics), the data and each model series of bias_trace_long, over the occupations with
-- data support (and, for a model series, model support). Interval: mean +- z sd / sqrt(k).
CREATE OR REPLACE VIEW sector_trace AS
WITH occ AS (
    SELECT d.occupation, coalesce(nullif(w.sector, ''), t.sector) AS sector
    FROM data_default d
    LEFT JOIN world_stats w USING (occupation)
    LEFT JOIN lexicon_targets t ON t.run = setting('data_run') AND t.target = d.occupation
    WHERE NOT d.low_support
), l AS (
    SELECT l.series, l.series_order, l.pct, o.sector
    FROM bias_trace_long l JOIN occ o USING (occupation)
    WHERE NOT l.low_support AND l.pct IS NOT NULL AND o.sector IS NOT NULL AND o.sector <> ''
)
SELECT sector, series, series_order, count(*) AS occupations, avg(pct) AS mean_pct,
       avg(pct) - setting('z')::DOUBLE * stddev_samp(pct) / sqrt(count(*)) AS pct_low,
       avg(pct) + setting('z')::DOUBLE * stddev_samp(pct) / sqrt(count(*)) AS pct_high
FROM l GROUP BY ALL;
