//! The page shell (left navigation, header with tenant, user, language, time zone and
//! sign-out), the per-request rendering context [`Ctx`], and the small components every page
//! uses: times, badges, pagers, filter query strings, flash messages, error pages.

use super::i18n::{self, Lang};
use super::session::{
    ConsoleUser, FLASH_COOKIE, cookie, percent_encode, request_lang, set_cookie, zone_by_name,
};
use super::static_files;
use crate::error::StoreError;
use crate::state::AppState;
use crate::store::protection::ProtectionState;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::tz::TimeZone;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The sections of the left navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Assets,
    Alerts,
    Vulnerabilities,
    Baseline,
    Usage,
    Settings,
}

impl Section {
    const ALL: [Section; 7] = [
        Section::Overview,
        Section::Assets,
        Section::Alerts,
        Section::Vulnerabilities,
        Section::Baseline,
        Section::Usage,
        Section::Settings,
    ];

    fn href(self) -> &'static str {
        match self {
            Section::Overview => "/",
            Section::Assets => "/assets",
            Section::Alerts => "/alerts",
            Section::Vulnerabilities => "/vulnerabilities",
            Section::Baseline => "/baseline",
            Section::Usage => "/usage",
            Section::Settings => "/settings",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Section::Overview => "nav.overview",
            Section::Assets => "nav.assets",
            Section::Alerts => "nav.alerts",
            Section::Vulnerabilities => "nav.vulnerabilities",
            Section::Baseline => "nav.baseline",
            Section::Usage => "nav.usage",
            Section::Settings => "nav.settings",
        }
    }
}

/// A message shown once after a form redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub ok: bool,
    pub key: String,
    pub args: Vec<(String, String)>,
}

impl Flash {
    /// Encodes the flash for its cookie.
    fn encode(&self) -> String {
        let mut pairs = vec![("k".to_string(), self.key.clone())];
        pairs.push((
            "ok".to_string(),
            if self.ok { "1" } else { "0" }.to_string(),
        ));
        pairs.extend(self.args.iter().cloned());
        percent_encode(&serde_urlencoded::to_string(&pairs).unwrap_or_default())
    }

    /// Reads a flash cookie; unknown keys are dropped (the text always comes from the
    /// catalogue).
    fn decode(value: &str) -> Option<Flash> {
        let decoded = percent_decode(value)?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&decoded).ok()?;
        let key = pairs.iter().find(|(k, _)| k == "k")?.1.clone();
        if !key.starts_with("flash.") || !i18n::catalogue(Lang::En).contains_key(&key) {
            return None;
        }
        let ok = pairs.iter().any(|(k, v)| k == "ok" && v == "1");
        let args = pairs
            .into_iter()
            .filter(|(k, _)| k != "k" && k != "ok")
            .take(8)
            .map(|(k, v)| (k, v.chars().take(400).collect()))
            .collect();
        Some(Flash { ok, key, args })
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes.get(i) {
            Some(b'%') => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            Some(byte) => {
                out.push(*byte);
                i += 1;
            }
            None => break,
        }
    }
    String::from_utf8(out).ok()
}

/// A redirect (303, or `HX-Redirect` for htmx) carrying a flash message.
pub fn redirect_with_flash(user: &ConsoleUser, to: &str, flash: Flash) -> Response {
    let mut response = super::session::see_other(&user.headers, to);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLASH_COOKIE, &flash.encode(), Some(60), user.tls),
    );
    response
}

/// A success flash.
pub fn ok_flash(key: &str, args: &[(&str, String)]) -> Flash {
    Flash {
        ok: true,
        key: key.to_string(),
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    }
}

/// A failure flash with the store's explanation.
pub fn error_flash(err: &StoreError) -> Flash {
    let detail = match err {
        StoreError::NotFound(what) => format!("{what} not found"),
        StoreError::Invalid(message)
        | StoreError::Conflict(message)
        | StoreError::Forbidden(message) => message.clone(),
        other => {
            tracing::error!(error = %other, "console action failed");
            String::new()
        }
    };
    Flash {
        ok: false,
        key: "flash.failed".to_string(),
        args: vec![("detail".to_string(), detail)],
    }
}

/// What every page needs to render: language, time zone, user, section, flash.
pub struct Ctx {
    pub lang: Lang,
    pub zone: TimeZone,
    /// The zone's name as shown (`+08:00`, `Asia/Tokyo`).
    pub zone_name: String,
    /// The zone is the browser's (cookie), not the tenant's.
    pub browser_zone: bool,
    pub user: ConsoleUser,
    pub section: Section,
    pub flash: Option<Flash>,
}

impl Ctx {
    /// The context of a page of `section`, in the tenant's zone unless the user chose the
    /// browser's.
    pub fn new(user: ConsoleUser, tenant_zone: &str, section: Section) -> Ctx {
        let (zone_name, browser_zone) = match &user.browser_zone {
            Some(name) => (name.clone(), true),
            None => (tenant_zone.to_string(), false),
        };
        let zone = zone_by_name(&zone_name).unwrap_or(TimeZone::UTC);
        let flash = cookie(&user.headers, FLASH_COOKIE).and_then(Flash::decode);
        Ctx {
            lang: user.lang,
            zone,
            zone_name,
            browser_zone,
            user,
            section,
            flash,
        }
    }

    /// The context and the tenant's protection settings (most pages show them).
    pub async fn load(
        state: &AppState,
        user: ConsoleUser,
        section: Section,
    ) -> Result<(Ctx, ProtectionState), PageError> {
        let protection = state
            .store
            .protection(user.session.tenant)
            .await
            .map_err(|err| PageError::new(user.lang, err))?;
        Ok((Ctx::new(user, &protection.timezone, section), protection))
    }

    /// The text of `key`.
    pub fn t(&self, key: &str) -> &'static str {
        i18n::text(self.lang, key)
    }

    /// The text of `key` with `{name}` placeholders filled.
    pub fn f(&self, key: &str, args: &[(&str, &str)]) -> String {
        i18n::format(self.lang, key, args)
    }

    /// Whether the user may change things (buttons for changes are shown only then).
    pub fn admin(&self) -> bool {
        self.user.is_admin()
    }

    /// The hidden CSRF field every form carries.
    pub fn csrf(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.user.session.csrf); }
    }

    /// A point in time (Unix ms) in the display zone, as `<time>`; a dash when absent.
    pub fn time(&self, at: Option<i64>) -> Markup {
        match at.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()) {
            Some(ts) => {
                let local = ts.to_zoned(self.zone.clone());
                html! {
                    time datetime=(ts.to_string()) { (local.strftime("%Y-%m-%d %H:%M:%S")) }
                }
            }
            None => html! { span.muted { (self.t("common.never")) } },
        }
    }

    /// A point in time to the minute, as plain text for dense lists; "never" when absent.
    pub fn short_time(&self, at: Option<i64>) -> String {
        match at.and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok()) {
            Some(ts) => ts
                .to_zoned(self.zone.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string(),
            None => self.t("common.never").to_string(),
        }
    }

    /// Today's date (`YYYY-MM-DD`) in the display zone.
    pub fn today(&self, now_ms: i64) -> jiff::civil::Date {
        jiff::Timestamp::from_millisecond(now_ms)
            .map(|ts| ts.to_zoned(self.zone.clone()).date())
            .unwrap_or_default()
    }

    /// A formatted integer.
    pub fn n(&self, value: i64) -> String {
        i18n::number(value)
    }
}

/// A store failure while rendering a page.
#[derive(Debug)]
pub struct PageError {
    pub lang: Lang,
    pub error: StoreError,
}

impl PageError {
    pub fn new(lang: Lang, error: StoreError) -> PageError {
        PageError { lang, error }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self.error {
            StoreError::NotFound(_) => {
                error_page(self.lang, StatusCode::NOT_FOUND, "error.not_found")
            }
            StoreError::Invalid(_) => {
                error_page(self.lang, StatusCode::BAD_REQUEST, "error.bad_request")
            }
            StoreError::Forbidden(_) => {
                error_page(self.lang, StatusCode::FORBIDDEN, "error.forbidden")
            }
            other => {
                tracing::error!(error = %other, "console page failed");
                error_page(
                    self.lang,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "error.internal",
                )
            }
        }
    }
}

/// Result of a page handler.
pub type PageResult = Result<Response, PageError>;

/// Extension trait: store results into page errors in the context's language.
pub trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T> OrPage<T> for Result<T, StoreError> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|err| PageError::new(lang, err))
    }
}

/// Headers of every console HTML response: no caching, no framing, a strict CSP (scripts and
/// styles only from this server; no inline script or style).
pub fn security_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
             object-src 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="color-scheme" content="light";
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"historyCacheSize":0}"#;
            title { (title) " · " (i18n::text(lang, "app.name")) }
            link rel="stylesheet" href=(static_files::url("app.css"));
            script src=(static_files::url("htmx.min.js")) defer {}
            script src=(static_files::url("app.js")) defer {}
        }
    }
}

/// A whole console page: navigation, header, flash, and `body` under an `<h1>`.
pub fn render(ctx: &Ctx, title: &str, actions: Markup, body: Markup) -> Response {
    let session = &ctx.user.session;
    let markup = html! {
        (DOCTYPE)
        html lang=(ctx.lang.code()) {
            (head(ctx.lang, title))
            body {
                a.skip href="#main" { (ctx.t("nav.skip")) }
                div.shell {
                    nav.side aria-label=(ctx.t("nav.label")) {
                        a.brand href="/" { span.logo aria-hidden="true" {} (ctx.t("app.name")) }
                        ul {
                            @for section in Section::ALL {
                                li {
                                    a href=(section.href())
                                        aria-current=[(section == ctx.section).then_some("page")] {
                                        (ctx.t(section.key()))
                                    }
                                }
                            }
                        }
                    }
                    div.content {
                        header.top {
                            span.tenant title=(ctx.t("header.tenant")) { (session.tenant_name) }
                            span.spacer {}
                            span.user {
                                (session.display_name) " "
                                span.badge.role { (ctx.t(if ctx.admin() { "role.admin" } else { "role.viewer" })) }
                            }
                            (tz_switch(ctx))
                            (lang_switch(ctx.lang, &ctx.user.path))
                            form method="post" action="/logout" {
                                (ctx.csrf())
                                button.btn.small.secondary type="submit" { (ctx.t("header.sign_out")) }
                            }
                        }
                        main #main tabindex="-1" {
                            div.title-row {
                                h1 { (title) }
                                div.actions { (actions) }
                            }
                            (flash_box(ctx))
                            (body)
                        }
                    }
                }
            }
        }
    };
    html_response(markup, ctx.flash.is_some(), ctx.user.tls)
}

/// An HTML response with the console's headers (and the flash cookie cleared if shown).
pub fn html_response(markup: Markup, clear_flash: bool, tls: bool) -> Response {
    let mut response = markup.into_string().into_response();
    security_headers(response.headers_mut());
    if clear_flash {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(FLASH_COOKIE, "", Some(0), tls),
        );
    }
    response
}

fn flash_box(ctx: &Ctx) -> Markup {
    html! {
        div #flash role="status" aria-live="polite" {
            @if let Some(flash) = &ctx.flash {
                @let args: Vec<(&str, &str)> = flash.args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                p class=(if flash.ok { "flash ok" } else { "flash error" }) {
                    (ctx.f(&flash.key, &args))
                }
            }
        }
    }
}

fn lang_switch(current: Lang, path: &str) -> Markup {
    html! {
        nav.lang aria-label=(i18n::text(current, "header.language")) {
            @for lang in Lang::ALL {
                @if lang == current {
                    span aria-current="true" lang=(lang.code()) { (lang.native_name()) }
                } @else {
                    a href={ "/lang/" (lang.code()) "?next=" (percent_encode(path)) }
                        lang=(lang.code()) hreflang=(lang.code()) { (lang.native_name()) }
                }
            }
        }
    }
}

fn tz_switch(ctx: &Ctx) -> Markup {
    html! {
        span.tz {
            span.muted { (ctx.t("header.time_zone")) " " }
            span #tz-name { (ctx.zone_name) }
            " "
            @if ctx.browser_zone {
                button.link type="button" data-tz="tenant" { (ctx.t("header.use_tenant_zone")) }
            } @else {
                button.link type="button" data-tz="browser" { (ctx.t("header.use_browser_zone")) }
            }
        }
    }
}

/// A bare page (sign-in, errors) without navigation.
pub fn bare_page(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body.bare {
                main #main {
                    div.bare-box {
                        p.brand-line { span.logo aria-hidden="true" {} (i18n::text(lang, "app.name")) }
                        (body)
                    }
                }
            }
        }
    }
}

/// An error page with the message of `key`.
pub fn error_page(lang: Lang, status: StatusCode, key: &str) -> Response {
    let markup = bare_page(
        lang,
        i18n::text(lang, "error.title"),
        html! {
            h1 { (i18n::text(lang, "error.title")) }
            p { (i18n::text(lang, key)) }
            p { a href="/" { (i18n::text(lang, "error.back")) } }
        },
    );
    let mut response = (status, markup.into_string()).into_response();
    security_headers(response.headers_mut());
    response
}

/// The language of a request without a session (sign-in page, errors).
pub fn lang_of(headers: &HeaderMap) -> Lang {
    request_lang(headers)
}

/// A query string builder that keeps the current filters while changing one of them.
#[derive(Debug, Clone, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Adds `key=value` when the value is not empty.
    pub fn with(mut self, key: &str, value: Option<impl ToString>) -> Query {
        if let Some(value) = value {
            let value = value.to_string();
            if !value.is_empty() {
                self.0.push((key.to_string(), value));
            }
        }
        self
    }

    /// The same query with `key` set to `value` (or removed when `None`).
    pub fn set(&self, key: &str, value: Option<&str>) -> Query {
        let mut out: Vec<(String, String)> =
            self.0.iter().filter(|(k, _)| k != key).cloned().collect();
        if let Some(value) = value {
            out.push((key.to_string(), value.to_string()));
        }
        Query(out)
    }

    /// `path?query` (just `path` when empty).
    pub fn href(&self, path: &str) -> String {
        if self.0.is_empty() {
            path.to_string()
        } else {
            format!(
                "{path}?{}",
                serde_urlencoded::to_string(&self.0).unwrap_or_default()
            )
        }
    }
}

/// "1–50 of 10,000" and previous/next links.
pub fn pager(ctx: &Ctx, path: &str, query: &Query, page: u32, per_page: u32, total: i64) -> Markup {
    pager_with_bound(ctx, path, query, page, per_page, total, None)
}

/// [`pager`] that also serves a list whose count stopped at `total` (a broad free-text
/// search): `lower_bound` is then the number of items on this page; the pager says "more
/// than", and "next" stays open while the page is full.
pub fn pager_with_bound(
    ctx: &Ctx,
    path: &str,
    query: &Query,
    page: u32,
    per_page: u32,
    total: i64,
    lower_bound: Option<usize>,
) -> Markup {
    let first = i64::from(page - 1) * i64::from(per_page) + 1;
    let last = match lower_bound {
        Some(shown) => first + i64::try_from(shown).unwrap_or(0) - 1,
        None => (first + i64::from(per_page) - 1).min(total),
    };
    let pages = ((total + i64::from(per_page) - 1) / i64::from(per_page)).max(1);
    let page_is_full = lower_bound.is_some_and(|shown| shown >= per_page as usize);
    let prev = (page > 1).then(|| query.set("page", Some(&(page - 1).to_string())).href(path));
    let next = (page_is_full || i64::from(page) < pages)
        .then(|| query.set("page", Some(&(page + 1).to_string())).href(path));
    let (range_key, page_key) = if lower_bound.is_some() {
        ("pager.range-at-least", "pager.page-at-least")
    } else {
        ("pager.range", "pager.page")
    };
    html! {
        nav.pager aria-label=(ctx.t("pager.label")) {
            span.range {
                @if total == 0 || lower_bound == Some(0) {
                    (ctx.f("pager.none", &[]))
                } @else {
                    (ctx.f(range_key, &[("first", &ctx.n(first)), ("last", &ctx.n(last)), ("total", &ctx.n(total))]))
                }
            }
            @if let Some(href) = prev {
                a.btn.small.secondary href=(href) rel="prev" { (ctx.t("pager.prev")) }
            } @else {
                span.btn.small.secondary.disabled aria-disabled="true" { (ctx.t("pager.prev")) }
            }
            span.page-no { (ctx.f(page_key, &[("page", &ctx.n(i64::from(page))), ("pages", &ctx.n(pages))])) }
            @if let Some(href) = next {
                a.btn.small.secondary href=(href) rel="next" { (ctx.t("pager.next")) }
            } @else {
                span.btn.small.secondary.disabled aria-disabled="true" { (ctx.t("pager.next")) }
            }
        }
    }
}

/// Tabs as links; `current` is the active one's value.
pub fn tabs(ctx: &Ctx, items: &[(&str, String)], current: &str, label_key: &str) -> Markup {
    html! {
        nav.tabs aria-label=(ctx.t(label_key)) {
            @for (value, href) in items {
                a href=(href) aria-current=[(*value == current).then_some("page")] {
                    (ctx.t(&format!("tab.{value}")))
                }
            }
        }
    }
}

/// A severity badge (`critical` … `info`, `unknown`).
pub fn severity_badge(ctx: &Ctx, severity: &str) -> Markup {
    html! { span class={ "badge sev-" (severity) } { (ctx.t(&format!("severity.{severity}"))) } }
}

/// A `<select>` filter with an "all" option.
pub fn select_filter(
    ctx: &Ctx,
    name: &str,
    label_key: &str,
    options: &[(&str, &str)],
    current: Option<&str>,
) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (ctx.t(label_key)) }
            select id=(id) name=(name) {
                option value="" selected[current.is_none()] { (ctx.t("filter.all")) }
                @for (value, key) in options {
                    option value=(value) selected[current == Some(*value)] { (ctx.t(key)) }
                }
            }
        }
    }
}

/// The search box of a filter bar.
pub fn search_filter(ctx: &Ctx, current: Option<&str>, placeholder_key: &str) -> Markup {
    html! {
        div.field.grow {
            label for="f-q" { (ctx.t("filter.search")) }
            input #f-q type="search" name="q" value=[current] placeholder=(ctx.t(placeholder_key))
                maxlength="200" autocomplete="off";
        }
    }
}

/// A filter bar form: GET to `path`, swapped in place by htmx (results only) with the URL
/// kept in step, and a plain submit button without JavaScript.
pub fn filter_form(ctx: &Ctx, path: &str, hidden: &[(&str, &str)], fields: Markup) -> Markup {
    html! {
        form.filters method="get" action=(path) role="search"
            hx-get=(path) hx-target="#results" hx-select="#results" hx-swap="outerHTML"
            hx-push-url="true" hx-trigger="change, search, keyup changed delay:400ms from:input[type=search]" {
            @for (name, value) in hidden {
                input type="hidden" name=(*name) value=(*value);
            }
            (fields)
            div.field {
                span.label-spacer aria-hidden="true" { (PreEscaped("&nbsp;")) }
                button.btn.secondary type="submit" { (ctx.t("filter.apply")) }
            }
        }
    }
}

/// An empty state: what is missing and what to do next.
pub fn empty_state(ctx: &Ctx, title_key: &str, body: Markup) -> Markup {
    html! {
        div.empty {
            h2 { (ctx.t(title_key)) }
            (body)
        }
    }
}

/// The agent injection instructions (annotation and enrolment Secret), for empty states.
pub fn injection_help(ctx: &Ctx) -> Markup {
    html! {
        ol.steps {
            li {
                (ctx.t("help.inject.secret")) " "
                @if ctx.admin() {
                    a href="/settings#enrollment" { (ctx.t("help.inject.secret_link")) }
                }
            }
            li {
                (ctx.t("help.inject.annotation"))
                pre.code { code { "metadata:\n  annotations:\n    podwarden.io/agent: \"enabled\"" } }
            }
            li { (ctx.t("help.inject.sync")) }
        }
    }
}
