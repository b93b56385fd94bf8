//! rpm header blobs as stored in the rpm database: index entries followed by a data store.
//!
//! Layout (all big-endian): `il: u32` entry count, `dl: u32` data length, `il` entries of
//! `{tag, type, offset, count}` (16 bytes each), then `dl` bytes of data. Only the tags the
//! inventory needs are decoded; every offset is checked against the data store.

/// Tags read from the header.
pub mod tag {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const VENDOR: u32 = 1011;
    pub const LICENSE: u32 = 1014;
    pub const ARCH: u32 = 1022;
    pub const SOURCERPM: u32 = 1044;
    pub const MODULARITYLABEL: u32 = 5096;
}

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm refuses headers with more entries or data than this (`hdrchkTags`, `hdrchkData`).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 256 << 20;

/// The fields of one installed package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: Option<String>,
    pub source_rpm: Option<String>,
    pub vendor: Option<String>,
    pub license: Option<String>,
    pub modularity_label: Option<String>,
}

/// Parses a header blob; the error says what is wrong.
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, String> {
    let il = be32(blob, 0).ok_or("header shorter than 8 bytes")?;
    let dl = be32(blob, 4).ok_or("header shorter than 8 bytes")?;
    if il == 0 || il > MAX_ENTRIES {
        return Err(format!("implausible index entry count {il}"));
    }
    if dl > MAX_DATA {
        return Err(format!("implausible data length {dl}"));
    }
    let index_len = il as usize * 16;
    let data_start = 8 + index_len;
    let data_end = data_start + dl as usize;
    let data = blob.get(data_start..data_end).ok_or_else(|| {
        format!(
            "header declares {il} entries and {dl} data bytes but the blob has {} bytes",
            blob.len()
        )
    })?;
    let mut header = RpmHeader::default();
    for i in 0..il as usize {
        let entry = 8 + i * 16;
        let (Some(tag), Some(kind), Some(offset), Some(count)) = (
            be32(blob, entry),
            be32(blob, entry + 4),
            be32(blob, entry + 8),
            be32(blob, entry + 12),
        ) else {
            return Err(format!("index entry {i} is truncated"));
        };
        let offset = offset as usize;
        let field = |what: &str| -> Result<String, String> {
            if !matches!(kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) || count == 0 {
                return Err(format!("tag {tag} ({what}) has type {kind}, not a string"));
            }
            string_at(data, offset).ok_or_else(|| {
                format!("tag {tag} ({what}) points outside the data store or is unterminated")
            })
        };
        match tag {
            tag::NAME => header.name = field("NAME")?,
            tag::VERSION => header.version = field("VERSION")?,
            tag::RELEASE => header.release = field("RELEASE")?,
            tag::ARCH => header.arch = Some(field("ARCH")?),
            tag::SOURCERPM => header.source_rpm = Some(field("SOURCERPM")?),
            tag::VENDOR => header.vendor = Some(field("VENDOR")?),
            tag::LICENSE => header.license = Some(field("LICENSE")?),
            tag::MODULARITYLABEL => header.modularity_label = Some(field("MODULARITYLABEL")?),
            tag::EPOCH => {
                if kind != TYPE_INT32 || count == 0 {
                    return Err(format!("EPOCH has type {kind}, not INT32"));
                }
                header.epoch =
                    Some(be32(data, offset).ok_or("EPOCH points outside the data store")?);
            }
            _ => {}
        }
    }
    if header.name.is_empty() {
        return Err("header has no NAME".to_string());
    }
    if header.version.is_empty() {
        return Err(format!("package {} has no VERSION", header.name));
    }
    Ok(header)
}

/// Splits a source rpm file name: `bash-5.1.8-6.el9.src.rpm` → (`bash`, `5.1.8-6.el9`).
pub fn split_source_rpm(file: &str) -> Option<(&str, String)> {
    let stem = file
        .strip_suffix(".src.rpm")
        .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name, format!("{version}-{release}")))
}

fn string_at(data: &[u8], offset: usize) -> Option<String> {
    let tail = data.get(offset..)?;
    let end = memchr::memchr(0, tail)?;
    Some(String::from_utf8_lossy(&tail[..end]).into_owned())
}

fn be32(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Builds a header blob from `(tag, type, value)` entries, for tests.
#[cfg(test)]
pub(crate) fn build_header(entries: &[(u32, HeaderValue)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for (tag, value) in entries {
        let (kind, count) = match value {
            HeaderValue::Str(s) => {
                let offset = data.len() as u32;
                data.extend_from_slice(s.as_bytes());
                data.push(0);
                (TYPE_STRING, (offset, 1u32))
            }
            HeaderValue::Int(v) => {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
                let offset = data.len() as u32;
                data.extend_from_slice(&v.to_be_bytes());
                (TYPE_INT32, (offset, 1u32))
            }
        };
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&kind.to_be_bytes());
        index.extend_from_slice(&count.0.to_be_bytes());
        index.extend_from_slice(&count.1.to_be_bytes());
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&data);
    blob
}

#[cfg(test)]
pub(crate) enum HeaderValue {
    Str(&'static str),
    Int(u32),
}

#[cfg(test)]
mod tests {
    use super::HeaderValue::{Int, Str};
    use super::*;

    #[test]
    fn parses_built_headers() {
        let blob = build_header(&[
            (tag::NAME, Str("bash")),
            (tag::VERSION, Str("5.1.8")),
            (tag::RELEASE, Str("6.el9")),
            (tag::EPOCH, Int(1)),
            (tag::ARCH, Str("x86_64")),
            (tag::SOURCERPM, Str("bash-5.1.8-6.el9.src.rpm")),
            (9999, Str("ignored")),
        ]);
        let header = parse_header(&blob).expect("valid header");
        assert_eq!(
            header,
            RpmHeader {
                name: "bash".into(),
                version: "5.1.8".into(),
                release: "6.el9".into(),
                epoch: Some(1),
                arch: Some("x86_64".into()),
                source_rpm: Some("bash-5.1.8-6.el9.src.rpm".into()),
                ..RpmHeader::default()
            }
        );
    }

    #[test]
    fn rejects_broken_headers_with_a_reason() {
        let good = build_header(&[(tag::NAME, Str("a")), (tag::VERSION, Str("1"))]);
        let mut bad_offset = good.clone();
        bad_offset[8 + 8..8 + 12].copy_from_slice(&1000u32.to_be_bytes());
        let mut epoch_as_string = build_header(&[(tag::NAME, Str("a")), (tag::EPOCH, Int(1))]);
        epoch_as_string[8 + 16 + 4..8 + 16 + 8].copy_from_slice(&TYPE_STRING.to_be_bytes());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![], "header shorter than 8 bytes"),
            (
                vec![0, 0, 0, 0, 0, 0, 0, 0],
                "implausible index entry count 0",
            ),
            (good[..good.len() - 1].to_vec(), "but the blob has"),
            (bad_offset, "points outside the data store"),
            (epoch_as_string, "EPOCH has type 6"),
            (
                build_header(&[(tag::VERSION, Str("1"))]),
                "header has no NAME",
            ),
            (
                build_header(&[(tag::NAME, Str("a"))]),
                "package a has no VERSION",
            ),
        ];
        for (blob, want) in cases {
            let err = parse_header(&blob).expect_err("broken header");
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
        // Every truncation of a valid header is an error, never a panic.
        for len in 0..good.len() {
            assert!(parse_header(&good[..len]).is_err(), "truncated to {len}");
        }
    }

    #[test]
    fn splits_source_rpm_names() {
        let cases = [
            ("bash-5.1.8-6.el9.src.rpm", Some(("bash", "5.1.8-6.el9"))),
            (
                "python3.11-3.11.7-1.el9.src.rpm",
                Some(("python3.11", "3.11.7-1.el9")),
            ),
            (
                "glibc-2.34-100.el9_4.2.nosrc.rpm",
                Some(("glibc", "2.34-100.el9_4.2")),
            ),
            ("noversion.src.rpm", None),
            ("bash-5.1.8-6.el9.x86_64.rpm", None),
        ];
        for (file, want) in cases {
            let got = split_source_rpm(file);
            assert_eq!(got.as_ref().map(|(n, v)| (*n, v.as_str())), want, "{file}");
        }
    }
}
