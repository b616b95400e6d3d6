-- Schema v14: a patent links by its application number as well as its publication number.
-- `listings.application_number` is the 申请号 as the source wrote it (NULL when the source gives
-- none): an achievement citing ZL200810012345.6 and a patent listed as CN101551481B are then one
-- technology. `entity_features.patent_keys` holds every certain key of a listing (its own
-- publication and application keys and the keys its text cites); `patent_key`, the first of
-- them, stays what the model compares and blocks on.
ALTER TABLE listings ADD COLUMN application_number VARCHAR;
ALTER TABLE entity_features ADD COLUMN patent_keys VARCHAR[];
-- Stored features lack the other keys: dropped, so that the next dedup run computes them again
-- for every listing (a listing without features counts as changed) and links on all of them,
-- with the model it has.
DELETE FROM entity_features;
