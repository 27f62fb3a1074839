-- The board index: one row per person the board shows (in custody, or gone from the roster feed
-- awaiting confirmation) with what the board needs to place and draw them, none of it depending on
-- the day. Dates are days from 0001-01-01 (chrono's num_days_from_ce) so the board compares them
-- with today's number in SQL; due soon, overdue and the overdue band are derived when rows are
-- read. Written in the transaction of every change (see src/store/board_index.rs).

CREATE TABLE board_index (
    person_id         TEXT PRIMARY KEY,
    booking_id        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    first_name        TEXT NOT NULL,
    -- Lower-cased names: the board's order within a day.
    last_key          TEXT NOT NULL,
    first_key         TEXT NOT NULL,
    -- Name and booking number, lower case, without accents (domain::filter::fold).
    search            TEXT NOT NULL,
    custody           TEXT NOT NULL,
    release_day       INTEGER,
    -- release_day, with unknown dates after every known one: the board's first sort key.
    order_day         INTEGER NOT NULL,
    certainty         TEXT NOT NULL,
    youth             INTEGER NOT NULL,
    facility_id       TEXT NOT NULL,
    facility_name     TEXT NOT NULL,
    unit              TEXT NOT NULL,
    care_manager_id   TEXT,
    care_manager_name TEXT,
    -- Every milestone's day-free state, in strip order (src/store/board_index.rs encodes it).
    milestones        TEXT NOT NULL,
    -- Soonest due day of open, unblocked milestones without a validity window.
    earliest_open_due INTEGER,
    -- Open milestones blocked by a barrier (without a validity window).
    blocked           INTEGER NOT NULL,
    -- The consent while it is open: due day, blocked, and the days it is valid (from, until).
    consent_due       INTEGER,
    consent_blocked   INTEGER NOT NULL,
    consent_from      INTEGER,
    consent_until     INTEGER,
    -- Per role whose "my work" is its own late milestones: soonest open due day; and a bit per
    -- role (eligibility 1, coordinator 2, care manager 4, records 8) for a blocked one.
    due_eligibility   INTEGER,
    due_coordinator   INTEGER,
    due_care_manager  INTEGER,
    due_records       INTEGER,
    blocked_roles     INTEGER NOT NULL,
    nurse_unsettled   INTEGER NOT NULL,
    late_entry        INTEGER NOT NULL,
    open_date_flag    INTEGER NOT NULL,
    unacknowledged    INTEGER NOT NULL,
    last_date_change  TEXT,
    protected         INTEGER NOT NULL,
    open_barrier      INTEGER NOT NULL,
    changed_at        TEXT NOT NULL,
    changed_by        TEXT NOT NULL
) STRICT;

CREATE INDEX board_index_order ON board_index (order_day, last_key, first_key, booking_id);
CREATE INDEX board_index_open_due ON board_index (earliest_open_due);
CREATE INDEX board_index_facility ON board_index (facility_id, unit);
CREATE INDEX board_index_care_manager ON board_index (care_manager_id);

-- The timeline offsets the index was computed with (JSON of domain::Rules; NULL: the defaults).
-- Opening with other offsets rebuilds the index.
CREATE TABLE board_index_rules (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    rules TEXT
) STRICT;
INSERT INTO board_index_rules (id, rules) VALUES (1, NULL);

-- People whose entry must be recomputed before the transaction commits. Triggers fill it, so a
-- writer that forgets cannot leave the index wrong: the next writer (or the next open) catches up.
CREATE TABLE board_index_dirty (
    person_id TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;
INSERT INTO board_index_dirty (person_id) SELECT id FROM persons;

CREATE TRIGGER board_dirty_person_insert AFTER INSERT ON persons
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.id); END;
CREATE TRIGGER board_dirty_person_update AFTER UPDATE ON persons
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.id); END;
CREATE TRIGGER board_dirty_person_delete AFTER DELETE ON persons
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.id); END;

CREATE TRIGGER board_dirty_release_changes_insert AFTER INSERT ON release_changes
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_release_changes_update AFTER UPDATE ON release_changes
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_release_changes_delete AFTER DELETE ON release_changes
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_date_flags_insert AFTER INSERT ON date_flags
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_date_flags_update AFTER UPDATE ON date_flags
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_date_flags_delete AFTER DELETE ON date_flags
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_medications_insert AFTER INSERT ON medications
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_medications_update AFTER UPDATE ON medications
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_medications_delete AFTER DELETE ON medications
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_dme_insert AFTER INSERT ON dme
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_dme_update AFTER UPDATE ON dme
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_dme_delete AFTER DELETE ON dme
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_appointments_insert AFTER INSERT ON appointments
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_appointments_update AFTER UPDATE ON appointments
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_appointments_delete AFTER DELETE ON appointments
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_referrals_insert AFTER INSERT ON referrals
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_referrals_update AFTER UPDATE ON referrals
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_referrals_delete AFTER DELETE ON referrals
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_notifications_insert AFTER INSERT ON notifications
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_notifications_update AFTER UPDATE ON notifications
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_notifications_delete AFTER DELETE ON notifications
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_barriers_insert AFTER INSERT ON barriers
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_barriers_update AFTER UPDATE ON barriers
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_barriers_delete AFTER DELETE ON barriers
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

CREATE TRIGGER board_dirty_milestone_marks_insert AFTER INSERT ON milestone_marks
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_milestone_marks_update AFTER UPDATE ON milestone_marks
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (NEW.person_id); END;
CREATE TRIGGER board_dirty_milestone_marks_delete AFTER DELETE ON milestone_marks
BEGIN INSERT OR IGNORE INTO board_index_dirty VALUES (OLD.person_id); END;

-- The board shows the care manager's and the facility's names.
CREATE TRIGGER board_dirty_contact_name AFTER UPDATE OF name ON contacts
BEGIN
    INSERT OR IGNORE INTO board_index_dirty
    SELECT person_id FROM board_index WHERE care_manager_id = NEW.id;
END;
CREATE TRIGGER board_dirty_facility_name AFTER UPDATE OF name ON facilities
BEGIN
    INSERT OR IGNORE INTO board_index_dirty
    SELECT person_id FROM board_index WHERE facility_id = NEW.id;
END;
