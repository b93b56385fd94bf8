//! The SQLite and PostgreSQL migrations stay in lock-step: the same numbered files in both
//! directories, all embedded in the binary, and re-running them is a no-op.

use podwarden_server::store::Db;
use podwarden_server::store::migrate::MIGRATIONS;
use std::collections::BTreeSet;
use std::path::Path;

fn migration_files(dialect: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect()
}

#[test]
fn both_dialects_have_the_same_migrations() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
    let embedded: BTreeSet<String> = MIGRATIONS
        .iter()
        .map(|m| format!("{:04}_{}.sql", m.version, m.name))
        .collect();
    assert_eq!(
        embedded, sqlite,
        "store::migrate::MIGRATIONS does not list every file"
    );
    let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    let expected: Vec<i64> = (1..=MIGRATIONS.len() as i64).collect();
    assert_eq!(versions, expected, "versions must be 1, 2, 3, ... in order");
}

#[test]
fn both_dialects_create_the_same_tables_and_columns() {
    let shape = |sql: &str| -> Vec<String> {
        sql.lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("--") && !l.is_empty())
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_string())
            .collect()
    };
    // A step may build the same capability differently in each engine (the alert search
    // index: FTS5 in SQLite, pg_trgm in PostgreSQL) when both files say so on a line of their
    // own; the store's tests then cover both engines' behaviour.
    let marker = "-- dialect-specific";
    for migration in MIGRATIONS {
        let declared = |sql: &str| sql.lines().any(|l| l.trim() == marker);
        assert_eq!(
            declared(migration.sqlite),
            declared(migration.postgres),
            "{}: only one dialect says it is dialect-specific",
            migration.name
        );
        if declared(migration.sqlite) {
            continue;
        }
        assert_eq!(
            shape(migration.sqlite),
            shape(migration.postgres),
            "{}",
            migration.name
        );
    }
}

#[tokio::test]
async fn reopening_a_database_applies_nothing_twice() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}/nested/dir/pw.db", dir.path().display());
    for _ in 0..2 {
        let db = Db::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(db.reader())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(applied, MIGRATIONS.len() as i64);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(db.reader())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode, "wal");
        db.close().await;
    }
    assert!(dir.path().join("nested/dir/pw.db").exists());
}
