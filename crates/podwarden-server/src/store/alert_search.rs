//! Free-text search over alerts (`q=`): a case-insensitive substring of the rule, description,
//! process, file or remote address, answered from the trigram index of migration 0005.

use super::{Backend, Sql};
use crate::findings::like_pattern;

/// A search counts its matches exactly up to this many; beyond, the page says "more than"
/// (as search engines do): an exact count of 100,000 matches costs a pass over all of them.
pub(super) const SEARCH_COUNT_CAP: i64 = 10_000;

/// The columns searched, as a case-insensitive substring of any one of them.
const SEARCHED_COLUMNS: [&str; 7] = [
    "a.rule_id",
    "a.rule_name",
    "a.description",
    "a.process_exe",
    "a.process_cmdline",
    "a.file_path",
    "a.remote",
];

/// How one `q=` is answered on this database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum AlertSearch {
    /// SQLite: an FTS5 phrase over the trigram table `alerts_search`, which matches exactly
    /// the rows where the text occurs within one column, case folded. The matches can drive
    /// the query (few of them) or each row can be checked by [`AlertSearch::push_row_condition`]
    /// while walking the newest alerts (many of them).
    Fts { phrase: String, query: String },
    /// PostgreSQL: `LIKE` on the generated `search_text` column under its pg_trgm index.
    Trigram { pattern: String },
    /// A query too short for trigrams (under three characters), or one holding the column
    /// separator U+001F on PostgreSQL: `LIKE` on each column, a scan.
    Scan { query: String, backend: Backend },
}

impl AlertSearch {
    /// The plan for `q` (not empty) on `backend`.
    pub(super) fn new(backend: Backend, q: &str) -> AlertSearch {
        let indexed = q.chars().count() >= 3;
        match backend {
            Backend::Sqlite if indexed => AlertSearch::Fts {
                phrase: format!("\"{}\"", q.replace('"', "\"\"")),
                query: q.to_string(),
            },
            Backend::Postgres if indexed && !q.contains('\u{1f}') => AlertSearch::Trigram {
                pattern: like_pattern(q),
            },
            _ => AlertSearch::Scan {
                query: q.to_string(),
                backend,
            },
        }
    }

    /// Whether counting should start from the index's matches. On SQLite yes: walking the
    /// FTS matches stops at the cap. PostgreSQL's planner picks between its trigram bitmap
    /// and a scan that stops at the cap better than a fixed order would.
    pub(super) fn counts_from_index(&self) -> bool {
        matches!(self, AlertSearch::Fts { .. })
    }

    /// `FROM` and the start of `WHERE` for a query whose rows come from the index (SQLite's
    /// FTS table drives the join; on PostgreSQL a fenced subquery makes the trigram index
    /// find the matches before they are sorted, instead of the planner walking every alert
    /// in last-seen order when the matches cluster in time); the caller continues with the
    /// first condition. `false` (nothing written) for a scan.
    pub(super) fn push_indexed_from(&self, sql: &mut Sql) -> bool {
        match self {
            AlertSearch::Fts { phrase, .. } => {
                sql.push(
                    " FROM alerts_search CROSS JOIN alerts a ON a.id = alerts_search.rowid \
                     WHERE alerts_search MATCH ",
                )
                .bind(phrase.clone())
                .push(" AND ");
                true
            }
            AlertSearch::Trigram { pattern } => {
                sql.push(" FROM (SELECT * FROM alerts WHERE search_text LIKE ")
                    .bind(pattern.clone())
                    .push(" ESCAPE '\\' OFFSET 0) a WHERE ");
                true
            }
            AlertSearch::Scan { .. } => false,
        }
    }

    /// The search as a condition on each alert row (` AND ...`), for queries that walk the
    /// alerts table. For [`AlertSearch::Fts`] this is the column scan: SQLite folds case for
    /// ASCII letters there, the FTS index for all of Unicode.
    pub(super) fn push_row_condition(&self, sql: &mut Sql) {
        match self {
            AlertSearch::Trigram { pattern } => {
                sql.push(" AND a.search_text LIKE ")
                    .bind(pattern.clone())
                    .push(" ESCAPE '\\'");
            }
            AlertSearch::Fts { query, .. } => {
                sql.push(" AND ")
                    .push_contains_any(Backend::Sqlite, &SEARCHED_COLUMNS, query);
            }
            AlertSearch::Scan { query, backend } => {
                sql.push(" AND ")
                    .push_contains_any(*backend, &SEARCHED_COLUMNS, query);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_follow_the_backend_and_the_query_length() {
        assert_eq!(
            AlertSearch::new(Backend::Sqlite, "Ab\"c"),
            AlertSearch::Fts {
                phrase: "\"Ab\"\"c\"".to_string(),
                query: "Ab\"c".to_string()
            }
        );
        assert_eq!(
            AlertSearch::new(Backend::Sqlite, "ab"),
            AlertSearch::Scan {
                query: "ab".to_string(),
                backend: Backend::Sqlite
            }
        );
        assert_eq!(
            AlertSearch::new(Backend::Postgres, "a_c"),
            AlertSearch::Trigram {
                pattern: "%a\\_c%".to_string()
            }
        );
        assert_eq!(
            AlertSearch::new(Backend::Postgres, "a\u{1f}c"),
            AlertSearch::Scan {
                query: "a\u{1f}c".to_string(),
                backend: Backend::Postgres
            }
        );
    }
}
