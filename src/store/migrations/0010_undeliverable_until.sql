-- A delivery failure marks an address undeliverable only until `undeliverable_until` (or
-- until the address writes again). Marks made before this migration were believed from any
-- mail carrying X-Failed-Recipients, forged ones included: they are not carried over.
ALTER TABLE participants ADD COLUMN undeliverable_until TEXT;
UPDATE participants SET undeliverable = 0 WHERE undeliverable = 1;
