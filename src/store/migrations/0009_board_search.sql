-- Search as you type over the board index: FTS5's trigram index of the folded name and booking
-- number. A query word of three letters or more is answered from it (a few hundred microseconds
-- at 100,000 people, against some 20 ms for a pass over the column; docs/BENCHMARKS.md); the
-- board still checks every word with instr, so the index only narrows where it looks.

CREATE VIRTUAL TABLE board_search USING fts5(
    search, content = 'board_index', content_rowid = 'rowid', tokenize = 'trigram'
);

CREATE TRIGGER board_search_insert AFTER INSERT ON board_index
BEGIN
    INSERT INTO board_search (rowid, search) VALUES (NEW.rowid, NEW.search);
END;
CREATE TRIGGER board_search_delete AFTER DELETE ON board_index
BEGIN
    INSERT INTO board_search (board_search, rowid, search) VALUES ('delete', OLD.rowid, OLD.search);
END;
CREATE TRIGGER board_search_update AFTER UPDATE OF search ON board_index
BEGIN
    INSERT INTO board_search (board_search, rowid, search) VALUES ('delete', OLD.rowid, OLD.search);
    INSERT INTO board_search (rowid, search) VALUES (NEW.rowid, NEW.search);
END;

INSERT INTO board_search (board_search) VALUES ('rebuild');
