-- The operator an event concerns, as a column: the assignee of an `assigned`, the technician
-- a `reopened` ticket went straight back to. The accounting counts per technician by it;
-- before, it parsed the free text of `detail`. Existing rows get what that parsing gave.
ALTER TABLE events ADD COLUMN operator TEXT;
UPDATE events SET operator = detail WHERE action = 'assigned' AND detail LIKE '%@%';
UPDATE events SET operator = substr(detail, instr(detail, '; ') + 2)
 WHERE action = 'reopened' AND instr(detail, '; ') > 0
   AND substr(detail, instr(detail, '; ') + 2) LIKE '%@%';
