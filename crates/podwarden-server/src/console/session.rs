//! The console's request context: the session cookie, the signed-in user, the language and
//! time zone, and the extractors that guard every page (signed in) and every form (signed in,
//! CSRF token of the session, same origin, and the admin role for changes).

use super::i18n::Lang;
use super::users::SessionInfo;
use crate::auth::Role;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::tz::TimeZone;

/// The session cookie.
pub const SESSION_COOKIE: &str = "pw_session";
/// The language cookie (`en`, `ja`).
pub const LANG_COOKIE: &str = "pw_lang";
/// The time zone cookie (an IANA name from the browser), overriding the tenant's zone.
pub const TZ_COOKIE: &str = "pw_tz";
/// The one-shot message cookie shown after a form redirect.
pub const FLASH_COOKIE: &str = "pw_flash";
/// Largest form body accepted (a kubeconfig fits).
pub const FORM_LIMIT_BYTES: usize = 1024 * 1024;

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// Whether the request came over TLS (directly or through a proxy that says so), so cookies
/// get `Secure`.
pub fn is_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
        || headers
            .get("forwarded")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|f| f.to_ascii_lowercase().contains("proto=https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure over TLS; `max_age`
/// seconds (0 deletes the cookie; `None` makes a browser-session cookie).
pub fn set_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(seconds) = max_age {
        text.push_str(&format!("; Max-Age={seconds}"));
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("pw_invalid=1"))
}

/// The language of a request: the cookie, else `Accept-Language`.
pub fn request_lang(headers: &HeaderMap) -> Lang {
    if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
        return lang;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::En, Lang::negotiate)
}

/// Whether htmx sent the request (it then wants `HX-Redirect` instead of a 303).
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// Only local paths are followed after sign-in or a language switch (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.contains(['\r', '\n'])
                && path.len() <= 2048 =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// A redirect after a form (303), or `HX-Redirect` for htmx.
pub fn see_other(headers: &HeaderMap, to: &str) -> Response {
    if is_htmx(headers) {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Ok(value) = HeaderValue::from_str(to) {
            response.headers_mut().insert("hx-redirect", value);
        }
        return response;
    }
    Redirect::to(to).into_response()
}

/// A display time zone by its canonical setting name (`UTC`, `+08:00`, `Asia/Tokyo`).
pub fn zone_by_name(name: &str) -> Option<TimeZone> {
    if name.eq_ignore_ascii_case("utc") {
        return Some(TimeZone::UTC);
    }
    if name.starts_with(['+', '-']) {
        let sign = if name.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = name.get(1..)?.split_once(':')?;
        let seconds =
            sign * (hours.parse::<i32>().ok()? * 3600 + minutes.parse::<i32>().ok()? * 60);
        return jiff::tz::Offset::from_seconds(seconds)
            .ok()
            .map(TimeZone::fixed);
    }
    if name.len() > 64 {
        return None;
    }
    TimeZone::get(name).ok()
}

/// Why a console request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No live session: go and sign in (back to `next` afterwards).
    SignedOut { next: String, htmx: bool },
    /// A form without this session's CSRF token, or from another origin.
    Csrf(Lang),
    /// A viewer tried to change something.
    ViewerRole(Lang),
    /// The form body is not a form or too large.
    BadForm(Lang),
    /// The store failed.
    Internal(Lang),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::SignedOut { next, htmx } => {
                let to = if next == "/" {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", percent_encode(&next))
                };
                if htmx {
                    let mut response = StatusCode::UNAUTHORIZED.into_response();
                    if let Ok(value) = HeaderValue::from_str(&to) {
                        response.headers_mut().insert("hx-redirect", value);
                    }
                    response
                } else {
                    Redirect::to(&to).into_response()
                }
            }
            Refusal::Csrf(lang) => {
                super::layout::error_page(lang, StatusCode::FORBIDDEN, "error.csrf")
            }
            Refusal::ViewerRole(lang) => {
                super::layout::error_page(lang, StatusCode::FORBIDDEN, "error.viewer")
            }
            Refusal::BadForm(lang) => {
                super::layout::error_page(lang, StatusCode::BAD_REQUEST, "error.bad_form")
            }
            Refusal::Internal(lang) => {
                super::layout::error_page(lang, StatusCode::INTERNAL_SERVER_ERROR, "error.internal")
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The signed-in user of a console request, with the request's language.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub session: SessionInfo,
    pub lang: Lang,
    /// The `pw_tz` cookie's zone, if the user chose the browser's zone.
    pub browser_zone: Option<String>,
    /// Path and query of the request (for links back and sign-in redirects).
    pub path: String,
    /// The request asked over TLS (cookies get `Secure`).
    pub tls: bool,
    pub headers: HeaderMap,
}

impl ConsoleUser {
    /// Whether the user may change things.
    pub fn is_admin(&self) -> bool {
        self.session.role == Role::Admin
    }
}

impl FromRequestParts<AppState> for ConsoleUser {
    type Rejection = Refusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = request_lang(&parts.headers);
        let path = parts
            .uri
            .path_and_query()
            .map_or("/".to_string(), |pq| pq.as_str().to_string());
        let signed_out = || Refusal::SignedOut {
            next: if parts.method == Method::GET {
                safe_next(Some(&path))
            } else {
                "/".to_string()
            },
            htmx: is_htmx(&parts.headers),
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(signed_out());
        };
        let session = match state.store.console_session(secret).await {
            Ok(Some(session)) => session,
            Ok(None) => return Err(signed_out()),
            Err(err) => {
                tracing::error!(error = %err, "console session lookup failed");
                return Err(Refusal::Internal(lang));
            }
        };
        let browser_zone = cookie(&parts.headers, TZ_COOKIE)
            .map(|z| z.replace("%2F", "/"))
            .filter(|z| zone_by_name(z).is_some());
        Ok(ConsoleUser {
            session,
            lang,
            browser_zone,
            path: path.clone(),
            tls: is_tls(&parts.headers),
            headers: parts.headers.clone(),
        })
    }
}

/// The fields of a submitted form (repeated names kept, in order).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The first value of `name` exactly as sent (passwords, kubeconfigs).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Whether a checkbox `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| matches!(v, "on" | "true" | "1" | "yes"))
    }
}

/// Parses an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> Option<Fields> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()
        .map(Fields)
}

/// Whether the request's `Origin` (when sent) is this server.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Browsers send Origin on every POST; requests without one are not cross-site forms.
        return true;
    };
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .unwrap_or_default();
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// Compares two secrets in time independent of where they differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A form submitted by a signed-in user of any role (sign-out, preferences), with the
/// session's CSRF token checked.
#[derive(Debug, Clone)]
pub struct SessionForm {
    pub user: ConsoleUser,
    pub fields: Fields,
}

impl FromRequest<AppState> for SessionForm {
    type Rejection = Refusal;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let user = ConsoleUser::from_request_parts(&mut parts, state).await?;
        let lang = user.lang;
        if !same_origin(&parts.headers) {
            return Err(Refusal::Csrf(lang));
        }
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| Refusal::BadForm(lang))?;
        if bytes.len() > FORM_LIMIT_BYTES {
            return Err(Refusal::BadForm(lang));
        }
        let fields = parse_form(&bytes).ok_or(Refusal::BadForm(lang))?;
        let sent = fields.raw("csrf").unwrap_or_default();
        if !constant_time_eq(sent, &user.session.csrf) {
            return Err(Refusal::Csrf(lang));
        }
        Ok(SessionForm { user, fields })
    }
}

/// A form that changes something: [`SessionForm`] plus the admin role.
#[derive(Debug, Clone)]
pub struct AdminForm {
    pub user: ConsoleUser,
    pub fields: Fields,
}

impl FromRequest<AppState> for AdminForm {
    type Rejection = Refusal;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let SessionForm { user, fields } = SessionForm::from_request(request, state).await?;
        if !user.is_admin() {
            return Err(Refusal::ViewerRole(user.lang));
        }
        Ok(AdminForm { user, fields })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; pw_session=pws_x; pw_lang=ja"),
        );
        assert_eq!(cookie(&headers, "pw_session"), Some("pws_x"));
        assert_eq!(cookie(&headers, "pw_lang"), Some("ja"));
        assert_eq!(cookie(&headers, "missing"), None);
        assert_eq!(request_lang(&headers), Lang::Ja);
    }

    #[test]
    fn next_paths_stay_local() {
        for (input, expected) in [
            (Some("/assets?page=2"), "/assets?page=2"),
            (Some("//evil.example/"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("/\\evil"), "/"),
            (None, "/"),
        ] {
            assert_eq!(safe_next(input), expected, "{input:?}");
        }
    }

    #[test]
    fn origins() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("pw.example:8080"));
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://pw.example:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_origin(&headers));
    }

    #[test]
    fn zones() {
        for (name, ok) in [
            ("UTC", true),
            ("+08:00", true),
            ("-05:30", true),
            ("Asia/Tokyo", true),
            ("Mars/Base", false),
        ] {
            assert_eq!(zone_by_name(name).is_some(), ok, "{name}");
        }
    }
}
