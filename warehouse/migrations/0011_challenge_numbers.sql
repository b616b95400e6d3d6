-- Schema v11: every challenge gets a 需求编号 people can cite (XQ2026-0001), instead of its
-- internal id (firm:7df0746a9611, jiashan_market:/jsmarket/…): XQ, the year it was posted (in
-- Beijing), and its place among that year's challenges. Existing challenges are numbered in
-- posting order (first_seen, then id); a new one gets the next number of its year when it is
-- stored (warehouse.store.assign_challenge_numbers), and a number never changes afterwards.
-- A unique index keeps two challenges from ever sharing a number (NULL, not yet numbered,
-- is allowed many times).
ALTER TABLE challenges ADD COLUMN number VARCHAR;
-- Before the backfill: DuckDB builds no index over rows changed in the same transaction.
CREATE UNIQUE INDEX challenges_number ON challenges (number);

UPDATE challenges SET number = n.number
FROM (
    SELECT challenge_id,
           printf('XQ%04d-%04d', year(first_seen + INTERVAL 8 HOUR),
                  row_number() OVER (PARTITION BY year(first_seen + INTERVAL 8 HOUR) ORDER BY first_seen, challenge_id)
           ) AS number
    FROM challenges
) n
WHERE challenges.challenge_id = n.challenge_id;
