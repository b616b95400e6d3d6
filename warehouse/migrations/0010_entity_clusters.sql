-- Schema v10: entity resolution. One technology listed by several sources (or several times by
-- one) is one cluster: links between listings (certain: a shared patent number; or the Splink
-- model's probability), each listing's cluster, a broker's merges and splits (which win over the
-- model), an audit of every merge and split, and the trained model with the run's watermark.

CREATE TABLE entity_links (
    left_id      VARCHAR NOT NULL,          -- left_id < right_id
    right_id     VARCHAR NOT NULL,
    probability  DOUBLE NOT NULL,           -- 1.0 for a certain link
    rule         VARCHAR NOT NULL,          -- 'patent_key' | 'model'
    linked_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (left_id, right_id)
);

-- Only listings in a cluster of two or more; any other listing is its own cluster.
CREATE TABLE entity_clusters (
    listing_id   VARCHAR PRIMARY KEY,
    cluster_id   VARCHAR NOT NULL,          -- the oldest member's listing id (first_seen, then id)
    updated_at   TIMESTAMP NOT NULL
);

CREATE SEQUENCE entity_decision_seq;
CREATE TABLE entity_decisions (              -- append-only; the latest decision on a pair wins
    decision_id  BIGINT PRIMARY KEY DEFAULT nextval('entity_decision_seq'),
    left_id      VARCHAR NOT NULL,
    right_id     VARCHAR NOT NULL,
    decision     VARCHAR NOT NULL CHECK (decision IN ('merge', 'split')),
    actor        VARCHAR NOT NULL,
    decided_at   TIMESTAMP NOT NULL
);

CREATE SEQUENCE entity_audit_seq;
CREATE TABLE entity_audit (                  -- append-only
    audit_id     BIGINT PRIMARY KEY DEFAULT nextval('entity_audit_seq'),
    run_id       VARCHAR,                    -- the dedup run, or NULL for a broker's decision
    action       VARCHAR NOT NULL CHECK (action IN ('merge', 'split')),
    actor        VARCHAR NOT NULL,           -- 'model' or the broker's username
    cluster_id   VARCHAR NOT NULL,
    members      JSON NOT NULL,              -- the cluster's members after
    before       JSON NOT NULL,              -- the clusters they were in before
    acted_at     TIMESTAMP NOT NULL
);

CREATE TABLE entity_state (                  -- one row
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    model        JSON NOT NULL,              -- Splink's settings with m and u
    trained_at   TIMESTAMP NOT NULL,
    watermark    TIMESTAMP NOT NULL          -- listings changed after it are linked again
);

-- Each active listing's comparison features (matching.entity.entity_features), kept so that a
-- nightly run computes them for changed listings only and reads just the blocks they fall in.
CREATE TABLE entity_features (
    listing_id   VARCHAR PRIMARY KEY,
    title_core   VARCHAR,
    title_prefix VARCHAR,
    title_marks  VARCHAR,
    text         UINTEGER[],
    text_head    VARCHAR,
    owner        VARCHAR,
    field        VARCHAR,
    field_group  VARCHAR,
    published    VARCHAR,
    price        DOUBLE,
    patent_key   VARCHAR
);
CREATE INDEX entity_features_prefix ON entity_features (title_prefix);
