-- Schema v4: the broker and firm workspace. Challenges posted by firms (ownership, lifecycle,
-- confidentiality), matches a broker shares with the firm, deals, solver applications, and an
-- audit log of every decision and every change to a challenge.

ALTER TABLE challenges ADD COLUMN firm VARCHAR;                 -- owning firm (NULL: crawled from a market)
ALTER TABLE challenges ADD COLUMN posted_by VARCHAR;            -- username of the firm user who posted it
ALTER TABLE challenges ADD COLUMN targets VARCHAR;              -- 期望指标
ALTER TABLE challenges ADD COLUMN anonymous BOOLEAN NOT NULL DEFAULT FALSE;  -- 匿名: firm hidden from solvers
ALTER TABLE challenges ADD COLUMN revealed BOOLEAN NOT NULL DEFAULT FALSE;   -- broker revealed the firm

ALTER TABLE reviews ADD COLUMN deal_amount_wan DOUBLE;          -- 签约: amount in 万元
ALTER TABLE reviews ADD COLUMN deal_date DATE;

CREATE TABLE match_shares (
    challenge_id  VARCHAR NOT NULL,
    listing_id    VARCHAR NOT NULL,
    shared_by     VARCHAR NOT NULL,
    shared_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (challenge_id, listing_id)
);

CREATE SEQUENCE application_seq;
CREATE TABLE applications (                                     -- 揭榜 applications from solvers
    application_id BIGINT PRIMARY KEY DEFAULT nextval('application_seq'),
    challenge_id   VARCHAR NOT NULL,
    team           VARCHAR NOT NULL,                            -- team / unit
    proposal       VARCHAR NOT NULL,
    contact        VARCHAR NOT NULL,
    session_key    VARCHAR,                                     -- for per-session rate limiting
    submitted_at   TIMESTAMP NOT NULL
);

CREATE SEQUENCE audit_seq;
CREATE TABLE audit_log (                                        -- append-only
    audit_id     BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'),
    actor        VARCHAR NOT NULL,                              -- username, or 'solver:<session>' / 'system'
    role         VARCHAR NOT NULL,
    action       VARCHAR NOT NULL,                              -- post, edit, status, decide, share, reveal, apply …
    entity_type  VARCHAR NOT NULL,                              -- challenge, match, application, user
    entity_id    VARCHAR NOT NULL,
    before       JSON,
    after        JSON,
    acted_at     TIMESTAMP NOT NULL
);
