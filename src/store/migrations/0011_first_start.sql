-- A first start on a mailbox takes only the mail that arrives from then on: `first_uid` is
-- the highest UID the folder had at that start (0 for checkpoints made before this
-- migration, which took the whole folder). Older unread mail is taken only on purpose
-- (`[mailbox] since`, `run --since`).
ALTER TABLE mailbox_checkpoints ADD COLUMN first_uid INTEGER NOT NULL DEFAULT 0;

-- The identity of this data folder: the IMAP keyword it marks processed mail with, so that a
-- second data folder pointed at the same mailbox recognises mail already worked and refuses
-- to start instead of answering it all again.
CREATE TABLE instance (
    id TEXT NOT NULL
);
INSERT INTO instance (id) VALUES (lower(hex(randomblob(4))));

-- Keywords of other data folders found on a mailbox and taken over on purpose
-- (`run --take-over`): they no longer make this one refuse to start.
CREATE TABLE mailbox_takeovers (
    mailbox TEXT NOT NULL,
    keyword TEXT NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (mailbox, keyword)
);
