//! A minimal HTTP/1.1 client for the end-to-end tests: one request per connection
//! (`Connection: close`), chunked bodies joined, JSON bodies parsed.

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One answer: status, raw header block and body text.
pub struct Response {
    pub status: u16,
    head: String,
    pub body: String,
}

impl Response {
    /// A header's value (empty when absent).
    pub fn header(&self, name: &str) -> String {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }

    /// The body as JSON, or as a JSON string when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| Value::String(self.body.clone()))
    }
}

/// Sends `method path` to `addr` (`host:port`) with a bearer `token`, extra `headers` and a
/// JSON `body` (none when empty); `Err` naming what failed.
pub fn send(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Response, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| format!("timeout: {e}"))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("write {method} {path}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read {method} {path}: {e}"))?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, payload) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: bad response {raw:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: bad status line {head:?}"))?;
    let mut response = Response {
        status,
        head: head.to_string(),
        body: String::new(),
    };
    response.body = if response
        .header("transfer-encoding")
        .eq_ignore_ascii_case("chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    Ok(response)
}

/// Joins the chunks of a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = raw.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        let (chunk, tail) = rest.split_at(size);
        out.push_str(chunk);
        raw = tail.trim_start_matches("\r\n");
    }
    out
}
