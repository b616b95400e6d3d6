-- Schema v3: what each crawled detail page last looked like, so that the next crawl skips the
-- pages whose listing has not changed (the list row is the same, or the server answers 304).
CREATE TABLE pages (
    source         VARCHAR NOT NULL,
    page_key       VARCHAR NOT NULL,   -- crawlers.identity.page_id: stable across hosts and ports
    record_id      VARCHAR NOT NULL,   -- the listing or challenge the page yielded
    etag           VARCHAR,
    last_modified  VARCHAR,
    row_hash       VARCHAR,            -- the list row that linked to the page
    last_fetched   TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    PRIMARY KEY (source, page_key)
);
