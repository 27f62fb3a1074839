-- reentry-board schema 1. Enum columns hold the domain `code()` strings; dates are ISO
-- `YYYY-MM-DD`; instants are RFC 3339 UTC. Child rows are keyed by (person_id, id) so a record's
-- ids are its own and survive seeding unchanged; WITHOUT ROWID clusters them by person, so the
-- board's one-query-per-table load reads each table in order.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE facilities (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL
) STRICT;

CREATE TABLE contacts (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    organisation TEXT NOT NULL,
    phone        TEXT NOT NULL,
    kind         TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    login        TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- Decides the "own organisation" grant; NULL means none.
    organisation TEXT,
    added_at     TEXT NOT NULL,
    added_by     TEXT NOT NULL
) STRICT;

CREATE TABLE persons (
    id                   TEXT PRIMARY KEY,
    booking_id           TEXT NOT NULL UNIQUE,
    last_name            TEXT NOT NULL,
    first_name           TEXT NOT NULL,
    dob                  TEXT,
    facility_id          TEXT NOT NULL REFERENCES facilities(id),
    unit                 TEXT NOT NULL,
    youth                INTEGER NOT NULL CHECK (youth IN (0, 1)),
    booked_on            TEXT NOT NULL,
    custody              TEXT NOT NULL,
    released_on          TEXT,
    release_date         TEXT,
    release_certainty    TEXT NOT NULL,
    release_type         TEXT,
    release_source       TEXT,
    medi_cal_status      TEXT NOT NULL,
    mcp_name             TEXT,
    former_foster_youth  INTEGER NOT NULL CHECK (former_foster_youth IN (0, 1)),
    screening_result     TEXT NOT NULL,
    -- JSON array of HealthNeed codes.
    screening_needs      TEXT NOT NULL DEFAULT '[]',
    consent_scope        TEXT,
    consent_signed_on    TEXT,
    consent_expires_on   TEXT,
    consent_by_guardian  INTEGER NOT NULL CHECK (consent_by_guardian IN (0, 1)),
    consent_part2        INTEGER NOT NULL CHECK (consent_part2 IN (0, 1)),
    pre_release_cm_id    TEXT REFERENCES contacts(id),
    post_release_ecm_id  TEXT REFERENCES contacts(id),
    probation_officer_id TEXT REFERENCES contacts(id),
    behavioral_health_id TEXT REFERENCES contacts(id),
    care_plan            TEXT NOT NULL,
    warm_handoff         TEXT NOT NULL,
    warm_handoff_on      TEXT,
    naloxone             TEXT,
    transport            TEXT NOT NULL,
    transport_note       TEXT NOT NULL DEFAULT '',
    version              INTEGER NOT NULL DEFAULT 1,
    updated_at           TEXT NOT NULL,
    updated_by           TEXT NOT NULL
) STRICT;

-- The board reads people still held, soonest release first.
CREATE INDEX persons_board ON persons (custody, release_date);
CREATE INDEX persons_facility ON persons (facility_id);

CREATE TABLE release_changes (
    person_id       TEXT NOT NULL REFERENCES persons(id),
    id              INTEGER NOT NULL,
    changed_at      TEXT NOT NULL,
    changed_by      TEXT NOT NULL,
    from_date       TEXT,
    to_date         TEXT,
    certainty       TEXT NOT NULL,
    source          TEXT,
    reason          TEXT NOT NULL,
    reason_text     TEXT NOT NULL DEFAULT '',
    acknowledged_by TEXT,
    acknowledged_at TEXT,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

-- The history is evidence: only the acknowledgement may be filled in later.
CREATE TRIGGER release_changes_no_delete BEFORE DELETE ON release_changes
BEGIN SELECT RAISE(ABORT, 'release history is append-only'); END;
CREATE TRIGGER release_changes_no_rewrite
BEFORE UPDATE OF person_id, id, changed_at, changed_by, from_date, to_date, certainty, source,
    reason, reason_text ON release_changes
BEGIN SELECT RAISE(ABORT, 'release history is append-only'); END;

CREATE TABLE date_flags (
    person_id   TEXT NOT NULL REFERENCES persons(id),
    id          INTEGER NOT NULL,
    proposed    TEXT,
    reason      TEXT NOT NULL,
    reason_text TEXT NOT NULL DEFAULT '',
    raised_by   TEXT NOT NULL,
    raised_at   TEXT NOT NULL,
    status      TEXT NOT NULL,
    decided_by  TEXT,
    decided_at  TEXT,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE medications (
    person_id    TEXT NOT NULL REFERENCES persons(id),
    id           INTEGER NOT NULL,
    name         TEXT NOT NULL,
    class        TEXT NOT NULL,
    lai          INTEGER NOT NULL CHECK (lai IN (0, 1)),
    next_dose    TEXT,
    supply       TEXT NOT NULL,
    confirmed_by TEXT,
    confirmed_at TEXT,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE dme (
    person_id    TEXT NOT NULL REFERENCES persons(id),
    id           INTEGER NOT NULL,
    item         TEXT NOT NULL,
    status       TEXT NOT NULL,
    confirmed_by TEXT,
    confirmed_at TEXT,
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE appointments (
    person_id TEXT NOT NULL REFERENCES persons(id),
    id        INTEGER NOT NULL,
    what      TEXT NOT NULL,
    on_date   TEXT,
    status    TEXT NOT NULL,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE referrals (
    person_id TEXT NOT NULL REFERENCES persons(id),
    id        INTEGER NOT NULL,
    target    TEXT NOT NULL,
    status    TEXT NOT NULL,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE notifications (
    person_id TEXT NOT NULL REFERENCES persons(id),
    pos       INTEGER NOT NULL,
    recipient TEXT NOT NULL,
    status    TEXT NOT NULL,
    PRIMARY KEY (person_id, pos)
) STRICT, WITHOUT ROWID;

CREATE TABLE barriers (
    person_id   TEXT NOT NULL REFERENCES persons(id),
    id          INTEGER NOT NULL,
    milestone   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    opened_on   TEXT NOT NULL,
    resolved_on TEXT,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE notes (
    person_id TEXT NOT NULL REFERENCES persons(id),
    id        INTEGER NOT NULL,
    at        TEXT NOT NULL,
    by_login  TEXT NOT NULL,
    text      TEXT NOT NULL,
    PRIMARY KEY (person_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE milestone_marks (
    person_id TEXT NOT NULL REFERENCES persons(id),
    pos       INTEGER NOT NULL,
    milestone TEXT NOT NULL,
    kind      TEXT NOT NULL,
    by_login  TEXT NOT NULL,
    on_date   TEXT NOT NULL,
    PRIMARY KEY (person_id, pos)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    -- How the actor reached us, e.g. "ssh key SHA256:... from 10.0.0.5".
    via       TEXT,
    person_id TEXT,
    kind      TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT,
    before    TEXT,
    after     TEXT,
    reason    TEXT
) STRICT;

CREATE INDEX audit_person ON audit (person_id, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    person_id       TEXT NOT NULL REFERENCES persons(id),
    person_seq      INTEGER NOT NULL CHECK (person_seq >= 1),
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'dead', 'blocked')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    UNIQUE (person_id, person_seq)
) STRICT;

CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

-- A retry must send the same bytes under the same key.
CREATE TRIGGER outbox_immutable
BEFORE UPDATE OF event_id, person_id, person_seq, event_type, payload, created_at ON outbox
BEGIN SELECT RAISE(ABORT, 'outbox events are immutable'); END;
