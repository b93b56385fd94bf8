//! A small read-only SQLite file reader: enough to list the rows of one rowid table.
//!
//! It reads the database header, finds a table's root page in `sqlite_schema` (page 1), walks
//! the table b-tree (interior and leaf pages), follows overflow chains and decodes records.
//! Pages are read on demand through [`FileContents`], so memory stays at a few pages plus the
//! row being decoded. Every offset is bounds-checked, every page number range-checked, pages
//! seen twice in one walk are reported as a cycle, and payload sizes are capped.
//! The write-ahead log (`-wal` file) is not read: rows only there are not seen.

use crate::inventory::FileContents;
#[cfg(test)]
use crate::inventory::rootfs::MemoryFile;
use std::collections::HashSet;

/// Why the database could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqliteError {
    #[error("not an SQLite 3 database (bad header)")]
    NotSqlite,
    #[error("unsupported page size {0}")]
    PageSize(u32),
    #[error("unsupported text encoding {0}")]
    Encoding(u32),
    #[error("page {page}: {message}")]
    Corrupt { page: u32, message: String },
    #[error("page {page} is out of range (the file has {count} pages)")]
    PageOutOfRange { page: u32, count: u32 },
    #[error("page {0} is reached twice: the b-tree or overflow chain has a cycle")]
    Cycle(u32),
    #[error("row payload of {size} bytes is over the {limit}-byte limit")]
    PayloadTooLarge { size: u64, limit: u64 },
    #[error("b-tree deeper than {0} levels")]
    TooDeep(usize),
    #[error("read error: {0}")]
    Io(String),
}

/// One column value of a record.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl Value {
    fn as_text(&self) -> Option<&[u8]> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// The largest row payload decoded (rpm itself caps a header at 256 MiB; real ones are small).
pub const MAX_PAYLOAD: u64 = 64 << 20;
/// B-trees deeper than this are taken as corrupt (a real one of 2^32 pages is under 10 deep).
const MAX_DEPTH: usize = 32;

/// An open database file.
pub struct Database<'a> {
    src: &'a dyn FileContents,
    page_size: u32,
    usable: u32,
    page_count: u32,
}

impl<'a> Database<'a> {
    /// Reads and checks the 100-byte header.
    pub fn open(src: &'a dyn FileContents) -> Result<Database<'a>, SqliteError> {
        let mut header = [0u8; 100];
        read_exact(src, 0, &mut header)?;
        if &header[..16] != b"SQLite format 3\0" {
            return Err(SqliteError::NotSqlite);
        }
        let raw_size = u32::from(u16::from_be_bytes([header[16], header[17]]));
        let page_size = if raw_size == 1 { 65536 } else { raw_size };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(SqliteError::PageSize(page_size));
        }
        let reserved = u32::from(header[20]);
        let usable = page_size - reserved;
        if usable < 480 {
            return Err(SqliteError::PageSize(page_size));
        }
        let encoding = be32(&header, 56).unwrap_or(0);
        if encoding > 1 {
            // 0 means an empty database created without any table: UTF-8 by default.
            return Err(SqliteError::Encoding(encoding));
        }
        let pages_in_file = src.len() / u64::from(page_size);
        let page_count = u32::try_from(pages_in_file).unwrap_or(u32::MAX);
        Ok(Database {
            src,
            page_size,
            usable,
            page_count,
        })
    }

    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// Reads page `number` (1-based).
    fn page(&self, number: u32) -> Result<Vec<u8>, SqliteError> {
        if number == 0 || number > self.page_count {
            return Err(SqliteError::PageOutOfRange {
                page: number,
                count: self.page_count,
            });
        }
        let mut page = vec![0u8; self.page_size as usize];
        let offset = u64::from(number - 1) * u64::from(self.page_size);
        read_exact(self.src, offset, &mut page)?;
        Ok(page)
    }

    /// The root page of table `name`, from `sqlite_schema`; None if there is no such table.
    pub fn table_root(&self, name: &str) -> Result<Option<u32>, SqliteError> {
        let mut found = None;
        self.scan_table(1, &mut |_rowid, row| {
            // type, name, tbl_name, rootpage, sql
            let Ok(columns) = row else {
                return true;
            };
            let is_table = columns.first().and_then(Value::as_text) == Some(b"table");
            let matches = columns.get(1).and_then(Value::as_text) == Some(name.as_bytes());
            if is_table && matches {
                if let Some(Value::Integer(root)) = columns.get(3) {
                    found = u32::try_from(*root).ok();
                }
                return false;
            }
            true
        })?;
        Ok(found)
    }

    /// Calls `visit(rowid, columns)` for each row of the table rooted at `root`, in rowid
    /// order, until it returns false. A row that cannot be decoded is passed as `Err` and the
    /// walk goes on; a broken page ends the walk with an error.
    pub fn scan_table(
        &self,
        root: u32,
        visit: &mut dyn FnMut(i64, Result<Vec<Value>, SqliteError>) -> bool,
    ) -> Result<(), SqliteError> {
        let mut seen = HashSet::new();
        self.walk(root, 0, &mut seen, visit).map(|_| ())
    }

    /// Returns Ok(false) when the visitor asked to stop.
    fn walk(
        &self,
        number: u32,
        depth: usize,
        seen: &mut HashSet<u32>,
        visit: &mut dyn FnMut(i64, Result<Vec<Value>, SqliteError>) -> bool,
    ) -> Result<bool, SqliteError> {
        if depth > MAX_DEPTH {
            return Err(SqliteError::TooDeep(MAX_DEPTH));
        }
        if !seen.insert(number) {
            return Err(SqliteError::Cycle(number));
        }
        let page = self.page(number)?;
        let corrupt = |message: &str| SqliteError::Corrupt {
            page: number,
            message: message.to_string(),
        };
        let header_at = if number == 1 { 100 } else { 0 };
        let kind = *page
            .get(header_at)
            .ok_or_else(|| corrupt("no page header"))?;
        let (is_leaf, header_len) = match kind {
            13 => (true, 8),
            5 => (false, 12),
            2 | 10 => return Err(corrupt("index page where a table page was expected")),
            _ => return Err(corrupt(&format!("unknown page type {kind}"))),
        };
        let cells = usize::from(be16(&page, header_at + 3).ok_or_else(|| corrupt("short header"))?);
        let pointers_at = header_at + header_len;
        if pointers_at + cells * 2 > self.usable as usize {
            return Err(corrupt("cell count does not fit the page"));
        }
        for i in 0..cells {
            let cell_at = usize::from(
                be16(&page, pointers_at + i * 2).ok_or_else(|| corrupt("short cell pointer"))?,
            );
            if cell_at < pointers_at + cells * 2 || cell_at >= self.usable as usize {
                return Err(corrupt(&format!(
                    "cell {i} points outside the content area"
                )));
            }
            if is_leaf {
                let (rowid, row) = self.leaf_cell(&page, number, cell_at, seen)?;
                if !visit(rowid, row) {
                    return Ok(false);
                }
            } else {
                let child = be32(&page, cell_at).ok_or_else(|| corrupt("short interior cell"))?;
                if !self.walk(child, depth + 1, seen, visit)? {
                    return Ok(false);
                }
            }
        }
        if !is_leaf {
            let right = be32(&page, header_at + 8).ok_or_else(|| corrupt("short header"))?;
            return self.walk(right, depth + 1, seen, visit);
        }
        Ok(true)
    }

    /// Decodes one table leaf cell: payload size, rowid, local payload, overflow chain.
    /// Structural problems of the cell itself are returned as the row's `Err`.
    #[allow(clippy::type_complexity)]
    fn leaf_cell(
        &self,
        page: &[u8],
        number: u32,
        at: usize,
        seen: &mut HashSet<u32>,
    ) -> Result<(i64, Result<Vec<Value>, SqliteError>), SqliteError> {
        let corrupt = |message: &str| SqliteError::Corrupt {
            page: number,
            message: message.to_string(),
        };
        let usable_page = page.get(..self.usable as usize).unwrap_or(page);
        let (payload_size, n1) =
            varint(usable_page, at).ok_or_else(|| corrupt("bad payload size varint"))?;
        let (rowid, n2) =
            varint(usable_page, at + n1).ok_or_else(|| corrupt("bad rowid varint"))?;
        let rowid = rowid as i64;
        if payload_size > MAX_PAYLOAD {
            return Ok((
                rowid,
                Err(SqliteError::PayloadTooLarge {
                    size: payload_size,
                    limit: MAX_PAYLOAD,
                }),
            ));
        }
        let start = at + n1 + n2;
        let local = self.local_payload(payload_size) as usize;
        let Some(local_bytes) = usable_page.get(start..start + local) else {
            return Ok((rowid, Err(corrupt("payload runs past the page"))));
        };
        let mut payload = Vec::with_capacity(payload_size as usize);
        payload.extend_from_slice(local_bytes);
        if (local as u64) < payload_size {
            let Some(first) = be32(usable_page, start + local) else {
                return Ok((rowid, Err(corrupt("missing overflow page number"))));
            };
            if let Err(e) = self.read_overflow(first, payload_size as usize, &mut payload, seen) {
                return Ok((rowid, Err(e)));
            }
        }
        Ok((rowid, decode_record(&payload).map_err(|m| corrupt(&m))))
    }

    /// How much of a payload of `size` bytes is stored on a table leaf page.
    fn local_payload(&self, size: u64) -> u64 {
        let usable = u64::from(self.usable);
        let max_local = usable - 35;
        if size <= max_local {
            return size;
        }
        let min_local = ((usable - 12) * 32 / 255) - 23;
        let k = min_local + ((size - min_local) % (usable - 4));
        if k <= max_local { k } else { min_local }
    }

    fn read_overflow(
        &self,
        mut next: u32,
        total: usize,
        payload: &mut Vec<u8>,
        seen: &mut HashSet<u32>,
    ) -> Result<(), SqliteError> {
        let per_page = self.usable as usize - 4;
        while payload.len() < total {
            if next == 0 {
                return Err(SqliteError::Corrupt {
                    page: 0,
                    message: format!(
                        "overflow chain ends after {} of {total} bytes",
                        payload.len()
                    ),
                });
            }
            if !seen.insert(next) {
                return Err(SqliteError::Cycle(next));
            }
            let page = self.page(next)?;
            let following = be32(&page, 0).unwrap_or(0);
            let take = per_page.min(total - payload.len());
            let chunk = page.get(4..4 + take).ok_or(SqliteError::Corrupt {
                page: next,
                message: "overflow page too short".to_string(),
            })?;
            payload.extend_from_slice(chunk);
            next = following;
        }
        Ok(())
    }
}

/// Decodes a record: a header of serial types, then the values.
pub fn decode_record(payload: &[u8]) -> Result<Vec<Value>, String> {
    let (header_size, n) = varint(payload, 0).ok_or("bad record header size")?;
    let header_size = usize::try_from(header_size).map_err(|_| "record header too large")?;
    if header_size > payload.len() || header_size < n {
        return Err(format!(
            "record header of {header_size} bytes does not fit a {}-byte payload",
            payload.len()
        ));
    }
    let mut types = Vec::new();
    let mut at = n;
    while at < header_size {
        let (serial, len) = varint(&payload[..header_size], at).ok_or("bad serial type varint")?;
        types.push(serial);
        at += len;
    }
    let mut values = Vec::with_capacity(types.len());
    let mut data = header_size;
    for serial in types {
        let size = match serial {
            0 | 8 | 9 => 0,
            1 => 1,
            2 => 2,
            3 => 3,
            4 => 4,
            5 => 6,
            6 | 7 => 8,
            10 | 11 => return Err(format!("reserved serial type {serial}")),
            n => usize::try_from((n - 12) / 2).map_err(|_| "value too large")?,
        };
        let bytes = payload
            .get(data..data.checked_add(size).ok_or("value too large")?)
            .ok_or_else(|| format!("value of {size} bytes runs past the record"))?;
        data += size;
        let value = match serial {
            0 => Value::Null,
            8 => Value::Integer(0),
            9 => Value::Integer(1),
            1..=6 => {
                // Big-endian two's complement of 1..8 bytes.
                let mut v: i64 = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
                    -1
                } else {
                    0
                };
                for b in bytes {
                    v = (v << 8) | i64::from(*b);
                }
                Value::Integer(v)
            }
            7 => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(bytes);
                Value::Real(f64::from_be_bytes(raw))
            }
            n if n % 2 == 0 => Value::Blob(bytes.to_vec()),
            _ => Value::Text(bytes.to_vec()),
        };
        values.push(value);
    }
    Ok(values)
}

/// SQLite's variable-length integer: 1-9 bytes, big-endian, 7 bits per byte (8 in the ninth).
pub fn varint(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for i in 0..9 {
        let byte = *buf.get(at + i)?;
        if i == 8 {
            return Some(((value << 8) | u64::from(byte), 9));
        }
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn be16(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at + 2)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at + 4)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

fn read_exact(src: &dyn FileContents, offset: u64, buf: &mut [u8]) -> Result<(), SqliteError> {
    let mut done = 0;
    while done < buf.len() {
        let n = src
            .read_at(offset + done as u64, &mut buf[done..])
            .map_err(|e| SqliteError::Io(e.to_string()))?;
        if n == 0 {
            return Err(SqliteError::Io(format!(
                "file ends at {} bytes, wanted {} at offset {offset}",
                offset + done as u64,
                buf.len()
            )));
        }
        done += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_varints() {
        type Case = (&'static [u8], Option<(u64, usize)>);
        let cases: &[Case] = &[
            (&[0x00], Some((0, 1))),
            (&[0x7f], Some((127, 1))),
            (&[0x81, 0x00], Some((128, 2))),
            (&[0x82, 0x2c], Some((300, 2))),
            (&[0xff; 9], Some((u64::MAX, 9))),
            (&[0x81], None),
            (&[], None),
        ];
        for (bytes, want) in cases {
            assert_eq!(varint(bytes, 0), *want, "{bytes:x?}");
        }
    }

    #[test]
    fn decodes_records() {
        // header size 5; types: NULL, int8, text(3), blob(2); values.
        let record = [5u8, 0, 1, 19, 16, 0xfe, b'a', b'b', b'c', 1, 2];
        assert_eq!(
            decode_record(&record),
            Ok(vec![
                Value::Null,
                Value::Integer(-2),
                Value::Text(b"abc".to_vec()),
                Value::Blob(vec![1, 2]),
            ])
        );
        let errors: &[&[u8]] = &[&[9, 0], &[2, 19, b'a'], &[2, 10], &[]];
        for record in errors {
            assert!(decode_record(record).is_err(), "{record:x?}");
        }
    }

    #[test]
    fn rejects_non_sqlite_headers() {
        let cases: &[(&[u8], SqliteError)] = &[
            (
                b"short",
                SqliteError::Io("file ends at 5 bytes, wanted 100 at offset 0".into()),
            ),
            (&[0u8; 100], SqliteError::NotSqlite),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                Database::open(&MemoryFile(*bytes)).err().as_ref(),
                Some(want)
            );
        }
        let mut header = b"SQLite format 3\0".to_vec();
        header.extend_from_slice(&[0x03, 0x00]); // page size 768: not a power of two
        header.resize(100, 0);
        assert_eq!(
            Database::open(&MemoryFile(&header[..])).err(),
            Some(SqliteError::PageSize(768))
        );
    }
}
