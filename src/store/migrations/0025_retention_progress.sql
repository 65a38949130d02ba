-- Issue 17: how far the nightly retention has scrubbed the audit events of no ticket (the
-- quarantine's, spam marks', refused operator mail's): events older than
-- [retention] personal_data_days lose the addresses, numbers and names in their detail and a
-- person as actor, once each, in id order.
CREATE TABLE retention_progress (
    kind    TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
