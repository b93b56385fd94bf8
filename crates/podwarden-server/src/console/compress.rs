//! Gzip for the console's pages and exports when the browser accepts it (static files are
//! compressed once, in [`super::static_files`]). Pages are small; compressing them costs well
//! under a millisecond and cuts what travels by about five times.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write as _;

/// Largest response body compressed (the console's pages and exports are far smaller).
const MAX_COMPRESSED_BODY: usize = 64 * 1024 * 1024;

/// Whether the request accepts gzip.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|item| {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or_default().trim();
                let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
                name.eq_ignore_ascii_case("gzip") && !refused
            })
        })
}

/// Gzip of `bytes` at `level`.
pub fn gzip(bytes: &[u8], level: Compression) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4 + 64), level);
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

/// Middleware: compresses HTML and CSV answers for clients that accept gzip.
pub async fn compress(request: Request, next: Next) -> Response {
    let wanted = accepts_gzip(request.headers());
    let response = next.run(request).await;
    let compressible = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html") || t.starts_with("text/csv"));
    if !wanted || !compressible || response.headers().contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_COMPRESSED_BODY).await else {
        tracing::warn!("console response too large to compress");
        return Response::from_parts(parts, Body::empty());
    };
    match gzip(&bytes, Compression::fast()) {
        Some(packed) => {
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts
                .headers
                .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(packed))
        }
        None => Response::from_parts(parts, Body::from(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding() {
        for (header_value, expected) in [
            ("gzip, deflate, br", true),
            ("br;q=1.0, gzip;q=0.8", true),
            ("GZIP", true),
            ("gzip;q=0", false),
            ("deflate", false),
            ("", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                HeaderValue::from_static(header_value),
            );
            assert_eq!(accepts_gzip(&headers), expected, "{header_value:?}");
        }
    }

    #[test]
    fn gzip_round_trips() {
        let text = "<p>hello</p>".repeat(1000);
        let packed = gzip(text.as_bytes(), Compression::fast()).unwrap_or_default();
        assert!(packed.len() < text.len() / 10);
        let mut out = String::new();
        let mut decoder = flate2::read::GzDecoder::new(packed.as_slice());
        std::io::Read::read_to_string(&mut decoder, &mut out).unwrap_or_default();
        assert_eq!(out, text);
    }
}
