-- Intake asks two questions of every message's sender; both now read only the rows that
-- answer them, however many tickets the sender had before.
-- The sender's open tickets: a professional's hundreds of closed ones are not read to find them.
CREATE INDEX tickets_open_of_requester ON tickets (requester_email, created_at, id)
    WHERE status IN ('new', 'assigned');
-- The sender's undeliverable marks, which are almost always none.
CREATE INDEX participants_undeliverable ON participants (email) WHERE undeliverable = 1;
