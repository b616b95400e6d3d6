-- Schema v6: the data files the nightly refresh imports ([[imports]] in the settings), as each
-- was last imported successfully. A file whose bytes and options are unchanged is not loaded
-- again, so an incremental night costs in proportion to what changed.
CREATE TABLE imported_files (
    path          VARCHAR NOT NULL,     -- as configured (absolute when read from a TOML file)
    format        VARCHAR NOT NULL,     -- a crawlers.importers format
    sha256        VARCHAR NOT NULL,     -- of the file's bytes
    size_bytes    BIGINT NOT NULL,
    options_hash  VARCHAR NOT NULL,     -- source, kind and map: the same bytes read another way load differently
    records       BIGINT NOT NULL,      -- loaded + quarantined: a skipped file reports them as skipped unchanged
    run_id        VARCHAR NOT NULL,     -- the run that imported it
    imported_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (path, format)
);
