-- 撤销 (undo) of a decision is itself a decision appended to the log: 'reopen' puts a pair back to
-- 待审 when nothing was decided before the undone one. DuckDB cannot change a CHECK constraint in
-- place, so the table is rebuilt with every row and id kept (the sequence stays as it is).
CREATE TABLE reviews_v13 (
    review_id       BIGINT PRIMARY KEY DEFAULT nextval('review_seq'),
    challenge_id    VARCHAR NOT NULL,
    listing_id      VARCHAR NOT NULL,
    decision        VARCHAR NOT NULL CHECK (decision IN ('shortlist', 'reject', 'contacted', 'intent', 'signed',
                                                         'follow_up', 'reopen')),
    reason          VARCHAR,
    note            VARCHAR,
    reviewer        VARCHAR NOT NULL,
    decided_at      TIMESTAMP NOT NULL,
    deal_amount_wan DOUBLE,
    deal_date       DATE
);
INSERT INTO reviews_v13
SELECT review_id, challenge_id, listing_id, decision, reason, note, reviewer, decided_at, deal_amount_wan, deal_date
FROM reviews ORDER BY review_id;
DROP TABLE reviews;
ALTER TABLE reviews_v13 RENAME TO reviews;
