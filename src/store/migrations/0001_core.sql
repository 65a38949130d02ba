-- Core schema: tickets, their messages, participants, the audit trail, the outbox and
-- the mailbox checkpoints. Never edit a shipped migration: add a new file instead.

CREATE TABLE ticket_counters (
    year        INTEGER PRIMARY KEY,
    last_number INTEGER NOT NULL
);

CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,            -- TCK-YYYY-NNNNN
    year            INTEGER NOT NULL,
    number          INTEGER NOT NULL,
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('new', 'assigned', 'resolved', 'archived')),
    level           INTEGER NOT NULL CHECK (level IN (1, 2)),
    channel         TEXT NOT NULL CHECK (channel IN ('portal', 'email', 'phone')),
    kind            TEXT NOT NULL CHECK (kind IN ('problem', 'reminder', 'complaint')),
    requester_email TEXT,                        -- NULL for a phone caller who left none
    requester_name  TEXT,
    requester_phone TEXT,
    assignee        TEXT,                        -- operator e-mail
    resolver        TEXT,                        -- operator who closed the last cycle
    reopened        INTEGER NOT NULL DEFAULT 0,
    outcome         TEXT CHECK (outcome IN ('resolved', 'out_of_scope')),
    category        TEXT,
    pratica         TEXT,                        -- the building-permit application's number
    secret          TEXT NOT NULL,               -- random; the requester's status link
    created_at      TEXT NOT NULL,               -- RFC 3339 UTC
    updated_at      TEXT NOT NULL,
    resolved_at     TEXT,
    UNIQUE (year, number)
);
CREATE INDEX tickets_status ON tickets (status);
CREATE INDEX tickets_requester ON tickets (requester_email);

-- Raw RFC 5322 bytes, content-addressed: kept forever, whatever the parser made of them.
CREATE TABLE raw_messages (
    sha256 TEXT PRIMARY KEY,
    size   INTEGER NOT NULL,
    bytes  BLOB NOT NULL
);

CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   TEXT REFERENCES tickets (id),    -- NULL when the message opened no ticket
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    dedup_key   TEXT UNIQUE,                     -- inbound: Message-ID, or sha256 of the bytes
    message_id  TEXT,                            -- without angle brackets
    from_addr   TEXT,
    from_name   TEXT,
    to_addrs    TEXT NOT NULL DEFAULT '',        -- comma-separated
    cc_addrs    TEXT NOT NULL DEFAULT '',
    subject     TEXT NOT NULL DEFAULT '',
    body_text   TEXT NOT NULL DEFAULT '',        -- the fresh text: quotes and signature stripped
    raw_sha256  TEXT REFERENCES raw_messages (sha256),
    at          TEXT NOT NULL,                   -- received (in) or queued (out), RFC 3339 UTC
    source      TEXT,                            -- mailbox and UID, file, or "cli"
    disposition TEXT NOT NULL,                   -- what intake did with it (see ingest)
    flagged     INTEGER NOT NULL DEFAULT 0       -- 1: unknown sender on an existing ticket
);
CREATE INDEX messages_ticket ON messages (ticket_id);
CREATE INDEX messages_message_id ON messages (message_id);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    message      INTEGER NOT NULL REFERENCES messages (id),
    filename     TEXT NOT NULL,                  -- sanitised
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT,                           -- NULL when dropped
    note         TEXT                            -- why it was dropped
);

CREATE TABLE participants (
    ticket_id     TEXT NOT NULL REFERENCES tickets (id),
    email         TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('requester', 'cc')),
    undeliverable INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (ticket_id, email)
);

-- The audit trail: who did what, when, from which message. Append-only.
CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    ticket_id TEXT REFERENCES tickets (id),
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,                     -- an address, "system" or "cli"
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL DEFAULT '',
    message   INTEGER REFERENCES messages (id)
);
CREATE INDEX events_ticket ON events (ticket_id);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Every outgoing mail, queued in the transaction of the change that caused it.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    ticket_id           TEXT REFERENCES tickets (id),
    message_id          TEXT NOT NULL UNIQUE,    -- fixed at enqueue time
    purpose             TEXT NOT NULL,           -- ack, take_in, answer, closing, notify, ...
    recipients          TEXT NOT NULL,           -- comma-separated envelope recipients
    raw                 BLOB NOT NULL,           -- the complete message
    created_at          TEXT NOT NULL,
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     TEXT NOT NULL,
    last_error          TEXT,
    sent_at             TEXT,                    -- when it actually left (the SLA counts this)
    failure_reported_at TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);

CREATE TABLE mailbox_checkpoints (
    mailbox     TEXT PRIMARY KEY,                -- e.g. imap://user@host/INBOX
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Messages that could not be read or applied: kept with the error, reported once.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    source      TEXT NOT NULL,
    raw_sha256  TEXT REFERENCES raw_messages (sha256),
    error       TEXT NOT NULL,
    reported_at TEXT
);
