//! The console's static files, embedded in the binary and served under a content-hashed
//! name (`/static/app.3f9a0c1b2d.css`) with a one-year immutable cache: a new build changes
//! the name, so browsers never run stale code and never revalidate.
//!
//! `htmx.min.js` is htmx 2.0.11 from the npm registry (`npm pack htmx.org@2`), Zero-Clause
//! BSD (`htmx.LICENSE`, served beside it).

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file.
#[derive(Debug)]
pub struct StaticFile {
    /// The plain name (`app.css`).
    pub name: &'static str,
    /// The served name with the content hash (`app.3f9a0c1b2d.css`).
    pub hashed_name: String,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// The same bytes gzipped (best compression, done once).
    pub gzipped: Vec<u8>,
}

const FILES: [(&str, &str, &[u8]); 4] = [
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/app.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/htmx.min.js"),
    ),
    (
        "htmx.LICENSE",
        "text/plain; charset=utf-8",
        include_bytes!("static/htmx.LICENSE"),
    ),
];

fn hashed(name: &str, bytes: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(bytes));
    let short = digest.get(..10).unwrap_or(&digest);
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{short}.{ext}"),
        None => format!("{name}.{short}"),
    }
}

/// Every embedded file.
pub fn files() -> &'static [StaticFile] {
    static ALL: OnceLock<Vec<StaticFile>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, content_type, bytes)| StaticFile {
                name,
                hashed_name: hashed(name, bytes),
                content_type,
                bytes,
                gzipped: super::compress::gzip(bytes, flate2::Compression::best())
                    .unwrap_or_default(),
            })
            .collect()
    })
}

/// The URL of the file named `name` (`/static/app.<hash>.css`).
pub fn url(name: &str) -> String {
    files().iter().find(|f| f.name == name).map_or_else(
        || format!("/static/{name}"),
        |f| format!("/static/{}", f.hashed_name),
    )
}

/// `GET /static/{file}` (gzipped when the browser accepts it).
pub async fn serve(request_headers: HeaderMap, Path(file): Path<String>) -> Response {
    let Some(found) = files().iter().find(|f| f.hashed_name == file) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let gzip = super::compress::accepts_gzip(&request_headers) && !found.gzipped.is_empty();
    let mut response = if gzip {
        found.gzipped.clone().into_response()
    } else {
        found.bytes.into_response()
    };
    let headers = response.headers_mut();
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(found.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash() {
        assert_eq!(
            hashed("app.css", b"body{}"),
            format!("app.{}.css", &hex::encode(Sha256::digest(b"body{}"))[..10])
        );
        for file in files() {
            assert!(url(file.name).starts_with("/static/"));
            assert_ne!(file.hashed_name, file.name);
        }
    }
}
