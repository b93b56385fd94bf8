//! Browsing a loaded database: every advisory with the ecosystems it affects, for "supported
//! vulnerabilities" listings (the center's console, `GET /api/v1/vulnerabilities/supported`).

use super::index::Database;

/// One advisory of the database, with the ecosystems it affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry<'a> {
    pub id: &'a str,
    pub summary: &'a str,
    pub withdrawn: bool,
    /// Ecosystem names without release suffix (`Debian`, not `Debian:12`), sorted, distinct.
    pub ecosystems: Vec<&'a str>,
}

impl Database {
    /// Every advisory, in import order, with the ecosystems its `affected` entries name.
    pub fn catalog(&self) -> Vec<CatalogEntry<'_>> {
        let mut entries: Vec<CatalogEntry<'_>> = self
            .records
            .iter()
            .map(|r| CatalogEntry {
                id: self.str(r.id),
                summary: self.str(r.summary),
                withdrawn: r.withdrawn != 0,
                ecosystems: Vec::new(),
            })
            .collect();
        for row in &self.affected {
            let full = self.str(row.ecosystem);
            let base = full.split(':').next().unwrap_or(full);
            if let Some(entry) = entries.get_mut(row.record as usize)
                && !entry.ecosystems.contains(&base)
            {
                entry.ecosystems.push(base);
            }
        }
        for entry in &mut entries {
            entry.ecosystems.sort_unstable();
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use crate::vuln::osv::Record;

    fn record(json: &str) -> Record {
        Record::from_json(json.as_bytes())
            .unwrap_or_else(|e| panic!("bad test record {json}: {e:?}"))
    }

    fn check(records: &[&str], expected: &[(&str, &[&str])]) {
        let records: Vec<Record> = records.iter().map(|r| record(r)).collect();
        let db = crate::vuln::Database::from_records(&records);
        let got: Vec<(String, Vec<String>)> = db
            .catalog()
            .into_iter()
            .map(|e| {
                (
                    e.id.to_string(),
                    e.ecosystems.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        let want: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(id, ecos)| (id.to_string(), ecos.iter().map(|s| s.to_string()).collect()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn advisories_list_their_ecosystems_without_release() {
        check(
            &[
                r#"{"id":"DSA-1","modified":"2024-01-01T00:00:00Z","affected":[
                    {"package":{"ecosystem":"Debian:12","name":"openssl"},"versions":["1"]},
                    {"package":{"ecosystem":"Debian:11","name":"openssl"},"versions":["1"]}]}"#,
                r#"{"id":"GHSA-x","modified":"2024-01-01T00:00:00Z","affected":[
                    {"package":{"ecosystem":"PyPI","name":"a"},"versions":["1"]},
                    {"package":{"ecosystem":"npm","name":"a"},"versions":["1"]}]}"#,
                r#"{"id":"NONE-1","modified":"2024-01-01T00:00:00Z"}"#,
            ],
            &[
                ("DSA-1", &["Debian"]),
                ("GHSA-x", &["PyPI", "npm"]),
                ("NONE-1", &[]),
            ],
        );
    }
}
