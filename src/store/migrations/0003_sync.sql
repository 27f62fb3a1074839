-- The sender's own state, and a `discarded` state for events a coordinator gave up on.
--
-- SQLite cannot change a CHECK constraint in place: the outbox is rebuilt with the same columns
-- and rows. Nothing references the outbox, so it can be dropped inside this transaction.
CREATE TABLE outbox_rebuilt (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    person_id       TEXT NOT NULL REFERENCES persons(id),
    person_seq      INTEGER NOT NULL CHECK (person_seq >= 1),
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'dead', 'blocked', 'discarded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (person_id, person_seq)
) STRICT;
INSERT INTO outbox_rebuilt
    SELECT seq, event_id, person_id, person_seq, event_type, payload, state, attempts,
           next_attempt_at, last_error, created_at, sent_at
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- A retry must send the same bytes under the same key.
CREATE TRIGGER outbox_immutable
BEFORE UPDATE OF event_id, person_id, person_seq, event_type, payload, created_at ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox events are immutable'); END;

-- One row: what the sender last saw. `paused_reason` set means the whole queue waits (401, 403,
-- TLS failure) until the credentials work again or a coordinator resumes it; `hold_until` is a
-- queue-wide wait the hub asked for (Retry-After) or a backoff after a network failure.
CREATE TABLE sync_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    paused_reason   TEXT,
    paused_at       TEXT,
    hold_until      TEXT,
    last_success_at TEXT,
    last_error      TEXT,
    last_error_at   TEXT,
    updated_at      TEXT
) STRICT;
INSERT INTO sync_state (id) VALUES (1);
