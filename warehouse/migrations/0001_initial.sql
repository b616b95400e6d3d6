-- Schema v1: supply (listings), demand (challenges), matches, broker reviews, runs, quarantine.

CREATE TABLE listings (
    listing_id         VARCHAR PRIMARY KEY,  -- natural id: CN101551481 (patents) or source:path
    kind               VARCHAR NOT NULL CHECK (kind IN ('patent', 'achievement')),
    title              VARCHAR NOT NULL,
    abstract           VARCHAR NOT NULL DEFAULT '',
    claims             VARCHAR NOT NULL DEFAULT '',
    keywords           VARCHAR[] NOT NULL DEFAULT [],
    applicants         VARCHAR[] NOT NULL DEFAULT [],
    inventors          VARCHAR[] NOT NULL DEFAULT [],
    ipc                VARCHAR[] NOT NULL DEFAULT [],
    publication_number VARCHAR,
    field              VARCHAR,
    maturity           VARCHAR,
    cooperation        VARCHAR,
    price_wan          DOUBLE,
    price_text         VARCHAR,
    contact            VARCHAR,
    region             VARCHAR,
    legal_status       VARCHAR,
    published_on       DATE,
    url                VARCHAR NOT NULL,
    source             VARCHAR NOT NULL,       -- source of the latest version
    sources            VARCHAR[] NOT NULL,     -- every source that reported this listing
    content_hash       VARCHAR NOT NULL,
    first_seen         TIMESTAMP NOT NULL,
    last_seen          TIMESTAMP NOT NULL,
    last_changed       TIMESTAMP NOT NULL,
    active             BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE challenges (
    challenge_id   VARCHAR PRIMARY KEY,  -- natural id: source:path of the need page
    title          VARCHAR NOT NULL,
    description    VARCHAR NOT NULL,
    field          VARCHAR,
    budget_wan     DOUBLE,
    deadline       DATE,
    issuer         VARCHAR,
    region         VARCHAR,
    cooperation    VARCHAR,
    status         VARCHAR NOT NULL DEFAULT '已发布',
    url            VARCHAR,
    source         VARCHAR NOT NULL,
    content_hash   VARCHAR NOT NULL,
    first_seen     TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    last_changed   TIMESTAMP NOT NULL
);

-- The latest proposals per challenge; rebuilt by each matching run.
CREATE TABLE matches (
    challenge_id  VARCHAR NOT NULL,
    listing_id    VARCHAR NOT NULL,
    rank          INTEGER NOT NULL,
    score         DOUBLE NOT NULL,
    parts         JSON NOT NULL,        -- {"relevance": x, "coverage": y, "field": z}: sums to score
    matched_terms JSON NOT NULL,
    run_id        VARCHAR,
    matched_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (challenge_id, listing_id)
);

-- Broker decisions: append-only, so no decision is ever overwritten or lost.
CREATE SEQUENCE review_seq;
CREATE TABLE reviews (
    review_id     BIGINT PRIMARY KEY DEFAULT nextval('review_seq'),
    challenge_id  VARCHAR NOT NULL,
    listing_id    VARCHAR NOT NULL,
    decision      VARCHAR NOT NULL CHECK (decision IN ('shortlist', 'reject', 'contacted', 'intent', 'signed', 'follow_up')),
    reason        VARCHAR,
    note          VARCHAR,
    reviewer      VARCHAR NOT NULL,
    decided_at    TIMESTAMP NOT NULL
);

CREATE TABLE runs (
    run_id       VARCHAR PRIMARY KEY,
    flow         VARCHAR NOT NULL,
    status       VARCHAR NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    stats        JSON,
    error        VARCHAR
);

CREATE SEQUENCE quarantine_seq;
CREATE TABLE quarantine (
    quarantine_id BIGINT PRIMARY KEY DEFAULT nextval('quarantine_seq'),
    run_id        VARCHAR,
    source        VARCHAR NOT NULL,
    url           VARCHAR,
    record_id     VARCHAR,
    field         VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    payload       JSON NOT NULL,
    quarantined_at TIMESTAMP NOT NULL
);
