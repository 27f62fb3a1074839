-- The board's band counts without a pass over the index. A person has overdue work on the days
-- after `overdue_after` (the earliest open due day, or the day after which a lapsed consent is
-- due again), and on the days strictly between `early_after` and `early_before` (a consent due
-- before it was signed); 9223372036854775807 means never. The tally counts people by release day
-- and `overdue_after`: a few thousand rows whatever the roster's size, so the counts of a board
-- with no filter are sums over it (src/store/board_query.rs).

ALTER TABLE board_index ADD COLUMN overdue_after INTEGER NOT NULL DEFAULT 9223372036854775807;
ALTER TABLE board_index ADD COLUMN early_after INTEGER;
ALTER TABLE board_index ADD COLUMN early_before INTEGER;

-- Overdue work is found by these days now, not by the earliest due day alone.
DROP INDEX board_index_open_due;
CREATE INDEX board_index_overdue_after ON board_index (overdue_after);
CREATE INDEX board_index_early ON board_index (early_before) WHERE early_before IS NOT NULL;

CREATE TABLE board_index_tally (
    order_day     INTEGER NOT NULL,
    overdue_after INTEGER NOT NULL,
    people        INTEGER NOT NULL,
    PRIMARY KEY (order_day, overdue_after)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER board_tally_insert AFTER INSERT ON board_index
BEGIN
    INSERT INTO board_index_tally (order_day, overdue_after, people)
    VALUES (NEW.order_day, NEW.overdue_after, 1)
    ON CONFLICT (order_day, overdue_after) DO UPDATE SET people = people + 1;
END;
CREATE TRIGGER board_tally_delete AFTER DELETE ON board_index
BEGIN
    UPDATE board_index_tally SET people = people - 1
     WHERE order_day = OLD.order_day AND overdue_after = OLD.overdue_after;
    DELETE FROM board_index_tally
     WHERE order_day = OLD.order_day AND overdue_after = OLD.overdue_after AND people <= 0;
END;
CREATE TRIGGER board_tally_update AFTER UPDATE OF order_day, overdue_after ON board_index
BEGIN
    UPDATE board_index_tally SET people = people - 1
     WHERE order_day = OLD.order_day AND overdue_after = OLD.overdue_after;
    DELETE FROM board_index_tally
     WHERE order_day = OLD.order_day AND overdue_after = OLD.overdue_after AND people <= 0;
    INSERT INTO board_index_tally (order_day, overdue_after, people)
    VALUES (NEW.order_day, NEW.overdue_after, 1)
    ON CONFLICT (order_day, overdue_after) DO UPDATE SET people = people + 1;
END;

-- Everyone's entry again, with the new columns (src/store/open.rs catches up after migrating).
DELETE FROM board_index;
INSERT OR IGNORE INTO board_index_dirty (person_id) SELECT id FROM persons;
