-- The daily meeting: who came, who was reviewed, what was decided and who does what next.
-- Local records: the hub has no event type for them, so they never reach the outbox.
CREATE TABLE meetings (
    id          TEXT PRIMARY KEY,
    day         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT NOT NULL,
    chaired_by  TEXT NOT NULL,
    CHECK (ended_at >= started_at)
) STRICT;
CREATE INDEX meetings_day ON meetings (day, ended_at);

CREATE TABLE meeting_attendees (
    meeting_id  TEXT NOT NULL REFERENCES meetings(id),
    name        TEXT NOT NULL,
    -- Set for signed-in users who joined; free-text names have none.
    login       TEXT,
    PRIMARY KEY (meeting_id, name)
) STRICT;

CREATE TABLE meeting_reviews (
    meeting_id  TEXT NOT NULL REFERENCES meetings(id),
    person_id   TEXT NOT NULL REFERENCES persons(id),
    position    INTEGER NOT NULL,
    seconds     INTEGER NOT NULL CHECK (seconds >= 0),
    reviewed    INTEGER NOT NULL CHECK (reviewed IN (0, 1)),
    PRIMARY KEY (meeting_id, person_id)
) STRICT;

CREATE TABLE meeting_decisions (
    id          INTEGER PRIMARY KEY,
    meeting_id  TEXT NOT NULL REFERENCES meetings(id),
    person_id   TEXT NOT NULL REFERENCES persons(id),
    text        TEXT NOT NULL CHECK (length(text) > 0)
) STRICT;

CREATE TABLE meeting_tasks (
    id          INTEGER PRIMARY KEY,
    meeting_id  TEXT NOT NULL REFERENCES meetings(id),
    person_id   TEXT NOT NULL REFERENCES persons(id),
    what        TEXT NOT NULL CHECK (length(what) > 0),
    -- A user login or a directory contact's name.
    owner       TEXT NOT NULL CHECK (length(owner) > 0),
    due         TEXT NOT NULL,
    done_at     TEXT
) STRICT;
CREATE INDEX meeting_tasks_open ON meeting_tasks (person_id) WHERE done_at IS NULL;
