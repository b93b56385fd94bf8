-- Alert free-text search: a trigram full-text index over the searched columns, so that
-- `q=` (case-insensitive substring) is answered from the index instead of scanning every alert.
-- SQLite flavour (FTS5, external content over `alerts`, kept current by triggers), kept in
-- step with ../postgres/0005_alert_search.sql. Queries shorter than three characters cannot use
-- trigrams; the store scans for those.
-- dialect-specific

CREATE VIRTUAL TABLE alerts_search USING fts5(
    rule_id, rule_name, description, process_exe, process_cmdline, file_path, remote,
    content = 'alerts', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO alerts_search(alerts_search) VALUES ('rebuild');

CREATE TRIGGER alerts_search_insert AFTER INSERT ON alerts BEGIN
    INSERT INTO alerts_search(rowid, rule_id, rule_name, description, process_exe,
                              process_cmdline, file_path, remote)
    VALUES (new.id, new.rule_id, new.rule_name, new.description, new.process_exe,
            new.process_cmdline, new.file_path, new.remote);
END;

CREATE TRIGGER alerts_search_delete AFTER DELETE ON alerts BEGIN
    INSERT INTO alerts_search(alerts_search, rowid, rule_id, rule_name, description,
                              process_exe, process_cmdline, file_path, remote)
    VALUES ('delete', old.id, old.rule_id, old.rule_name, old.description, old.process_exe,
            old.process_cmdline, old.file_path, old.remote);
END;

CREATE TRIGGER alerts_search_update
AFTER UPDATE OF rule_id, rule_name, description, process_exe, process_cmdline, file_path, remote
ON alerts BEGIN
    INSERT INTO alerts_search(alerts_search, rowid, rule_id, rule_name, description,
                              process_exe, process_cmdline, file_path, remote)
    VALUES ('delete', old.id, old.rule_id, old.rule_name, old.description, old.process_exe,
            old.process_cmdline, old.file_path, old.remote);
    INSERT INTO alerts_search(rowid, rule_id, rule_name, description, process_exe,
                              process_cmdline, file_path, remote)
    VALUES (new.id, new.rule_id, new.rule_name, new.description, new.process_exe,
            new.process_cmdline, new.file_path, new.remote);
END;
