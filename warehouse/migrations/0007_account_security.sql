-- Schema v7 (issue 14): accounts that can be disabled, a credential version that ends the live
-- sessions of an account whose password was reset or which was disabled, the failed sign-ins
-- that throttle an account and a client, and the client a 揭榜 application came from.
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN credential_version INTEGER NOT NULL DEFAULT 1;  -- +1 on reset / disable

CREATE TABLE login_throttle (                -- one row per throttled key, rewritten on each failure
    scope            VARCHAR NOT NULL CHECK (scope IN ('account', 'client')),
    key              VARCHAR NOT NULL,        -- the username tried, or the client key (a hash)
    failures         INTEGER NOT NULL,        -- consecutive failures (forgotten after a quiet window)
    last_failure_at  TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,               -- sign-in refused for this key until then
    PRIMARY KEY (scope, key)
);

-- The rate limit counts per client and challenge: a new browser session is not a new client.
ALTER TABLE applications ADD COLUMN client_key VARCHAR;
