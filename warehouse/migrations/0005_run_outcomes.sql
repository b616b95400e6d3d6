-- Schema v5: a run can end 'partial' (some sources failed, the rest loaded and matched) or be
-- found 'interrupted' (its process died: kill -9, power cut). DuckDB cannot alter a CHECK
-- constraint, so the runs table is recreated with its rows; `pid` says which process ran it.

CREATE TABLE runs_v5 (
    run_id       VARCHAR PRIMARY KEY,
    flow         VARCHAR NOT NULL,
    status       VARCHAR NOT NULL CHECK (status IN ('running', 'completed', 'partial', 'failed', 'interrupted')),
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    stats        JSON,
    error        VARCHAR,
    pid          INTEGER
);
INSERT INTO runs_v5 (run_id, flow, status, started_at, finished_at, stats, error)
    SELECT run_id, flow, status, started_at, finished_at, stats, error FROM runs;
DROP TABLE runs;
ALTER TABLE runs_v5 RENAME TO runs;

-- The pairs a run proposed for the first time (the digest tells brokers about these). Written
-- in the same transaction as the matches themselves.
CREATE TABLE new_matches (
    run_id        VARCHAR NOT NULL,
    challenge_id  VARCHAR NOT NULL,
    listing_id    VARCHAR NOT NULL,
    PRIMARY KEY (run_id, challenge_id, listing_id)
);
