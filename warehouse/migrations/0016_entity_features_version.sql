-- The version of matching.entity's features the stored ones were computed with: a dedup run
-- whose code computes them another way makes a full pass (features are never compared across
-- versions) instead of each such change needing a migration that drops them, as 0015 did. NULL,
-- the state every warehouse has now, is no version: the next run is a full pass.
ALTER TABLE entity_state ADD COLUMN features_version INTEGER;
