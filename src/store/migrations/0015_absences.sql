-- Issue 15, item 2: an absence has a first day and may name a deputy; its beginning (the
-- hand-over of the operator's open tickets) is carried out once.
-- Rows recorded before this migration were "away from now until": they have begun.
ALTER TABLE operator_away ADD COLUMN from_day TEXT;
ALTER TABLE operator_away ADD COLUMN deputy TEXT;
ALTER TABLE operator_away ADD COLUMN began INTEGER NOT NULL DEFAULT 1;
UPDATE operator_away SET from_day = min(until, date('now'));
