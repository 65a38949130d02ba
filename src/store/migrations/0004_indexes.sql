-- Indexes for the per-message lookups of intake, found by profiling a 10,000-message backlog:
-- the acknowledgment rate limit and the thread lookup by Message-ID in the outbox.
CREATE INDEX outbox_acks ON outbox (purpose, recipients, created_at);
CREATE INDEX participants_email ON participants (email);
