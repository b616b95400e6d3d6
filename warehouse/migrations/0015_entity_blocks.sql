-- Entity features v2: blocks narrow themselves by size (warehouse.entity_links.block_keys_sql), so
-- the title's key is its whole stem, not a 4-character prefix; the unused text_head goes; text
-- shingles are hashed another way. Stored features and the model's state are dropped so that the
-- next run is a full pass that computes them all again (links and clusters stay until it does).
DROP INDEX entity_features_prefix;
DELETE FROM entity_features;
DELETE FROM entity_state;
ALTER TABLE entity_features DROP COLUMN text_head;
ALTER TABLE entity_features RENAME COLUMN title_prefix TO title_stem;
