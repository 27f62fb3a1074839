-- The audit trail's hash chain: each audit row's hash covers the row and the hash before it, so
-- an audit row edited, removed or slipped in past the append-only triggers (with the sqlite3
-- shell, say) breaks the chain from that row on, and `reentry-board check` says where. The hashes
-- of rows written before this migration are made by the migration itself (in Rust: SQLite has no
-- SHA-256), so the chain covers the whole trail.
CREATE TABLE audit_chain (
    audit_id INTEGER PRIMARY KEY REFERENCES audit (id),
    hash     BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
