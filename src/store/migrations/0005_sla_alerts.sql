-- SLA warnings and breach reports already sent, one row per cycle and kind: the monitor never
-- sends the same one twice, across restarts too.
CREATE TABLE sla_alerts (
    cycle_id INTEGER NOT NULL REFERENCES cycles (id),
    kind     TEXT NOT NULL CHECK (kind IN ('take_in_warning', 'take_in_breach', 'resolution_warning', 'resolution_breach')),
    at       TEXT NOT NULL,
    PRIMARY KEY (cycle_id, kind)
);
