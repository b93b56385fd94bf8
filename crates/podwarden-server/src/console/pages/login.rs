//! `GET/POST /login` (token, or username and password), `POST /logout`, and
//! `GET /lang/{code}` (the language switch, a cookie).

use crate::console::i18n::{self, Lang};
use crate::console::layout::{bare_page, html_response, lang_of};
use crate::console::session::{
    LANG_COOKIE, SESSION_COOKIE, SessionForm, cookie, is_tls, parse_form, percent_encode,
    safe_next, see_other, set_cookie,
};
use crate::console::users::{SESSION_LIFETIME_MS, SessionSubject};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

/// Query of `GET /login` and `GET /lang/{code}`.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Which sign-in method failed, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoginError {
    None,
    Invalid,
    Missing,
}

fn login_form(lang: Lang, next: &str, error: LoginError, username: &str) -> Markup {
    let t = |key: &str| i18n::text(lang, key);
    bare_page(
        lang,
        t("login.title"),
        html! {
            h1 { (t("login.title")) }
            @match error {
                LoginError::Invalid => p.flash.error role="alert" { (t("login.invalid")) },
                LoginError::Missing => p.flash.error role="alert" { (t("login.missing")) },
                LoginError::None => {},
            }
            form.login method="post" action="/login" {
                input type="hidden" name="next" value=(next);
                fieldset {
                    legend { (t("login.with_password")) }
                    div.field {
                        label for="username" { (t("login.username")) }
                        input #username name="username" type="text" autocomplete="username"
                            value=(username) maxlength="64" autocapitalize="none" spellcheck="false";
                    }
                    div.field {
                        label for="password" { (t("login.password")) }
                        input #password name="password" type="password" autocomplete="current-password"
                            maxlength="1024";
                    }
                }
                p.or { span { (t("login.or")) } }
                fieldset {
                    legend { (t("login.with_token")) }
                    div.field {
                        label for="token" { (t("login.token")) }
                        input #token name="token" type="password" autocomplete="off"
                            placeholder="pw_…" maxlength="200" spellcheck="false";
                        p.hint { (t("login.token_hint")) }
                    }
                }
                button.btn.primary.wide type="submit" { (t("login.submit")) }
            }
            nav.lang.center aria-label=(t("header.language")) {
                @for other in Lang::ALL {
                    @if other == lang {
                        span aria-current="true" lang=(other.code()) { (other.native_name()) }
                    } @else {
                        a href={ "/lang/" (other.code()) "?next=" (percent_encode(&format!("/login?next={}", percent_encode(next)))) }
                            lang=(other.code()) hreflang=(other.code()) { (other.native_name()) }
                    }
                }
            }
        },
    )
}

/// `GET /login`: the form (or straight on when already signed in).
pub async fn get_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state.store.console_session(secret).await
    {
        return Redirect::to(&next).into_response();
    }
    html_response(
        login_form(lang_of(&headers), &next, LoginError::None, ""),
        false,
        is_tls(&headers),
    )
}

/// `POST /login`: `token`, or `username` and `password`.
pub async fn post_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = lang_of(&headers);
    let tls = is_tls(&headers);
    let refuse = |error: LoginError, next: &str, username: &str| {
        let mut response = html_response(login_form(lang, next, error, username), false, tls);
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        response
    };
    let Some(fields) = parse_form(&body) else {
        return refuse(LoginError::Missing, "/", "");
    };
    let next = safe_next(fields.get("next"));
    let username = fields.get("username").unwrap_or_default().to_string();
    let signed_in = if let Some(token) = fields.get("token") {
        match state.store.authenticate_api_token(token).await {
            Ok(Some(principal)) => state
                .store
                .create_console_session(
                    principal.tenant,
                    SessionSubject::Token(principal.token_id),
                    principal.role,
                )
                .await
                .map(Some),
            Ok(None) => Ok(None),
            Err(err) => Err(err),
        }
    } else if let (false, Some(password)) = (username.is_empty(), fields.raw("password")) {
        match state
            .store
            .authenticate_console_user(&username, password)
            .await
        {
            Ok(Some((tenant, user, role))) => state
                .store
                .create_console_session(tenant, SessionSubject::User(user), role)
                .await
                .map(Some),
            Ok(None) => Ok(None),
            Err(err) => Err(err),
        }
    } else {
        return refuse(LoginError::Missing, &next, &username);
    };
    match signed_in {
        Ok(Some(secret)) => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &secret,
                    Some(SESSION_LIFETIME_MS / 1000),
                    tls,
                ),
            );
            response
        }
        Ok(None) => {
            tracing::info!(username = %username, "console sign-in refused");
            refuse(LoginError::Invalid, &next, &username)
        }
        Err(err) => {
            tracing::error!(error = %err, "console sign-in failed");
            crate::console::layout::error_page(
                lang,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error.internal",
            )
        }
    }
}

/// `POST /logout`.
pub async fn post_logout(State(state): State<AppState>, form: SessionForm) -> Response {
    if let Err(err) = state.store.end_console_session(&form.user.session).await {
        tracing::error!(error = %err, "console sign-out failed");
    }
    let mut response = see_other(&form.user.headers, "/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), form.user.tls),
    );
    response
}

/// `GET /lang/{code}`: remembers the language for a year and goes back.
pub async fn switch_lang(
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(query): Query<NextQuery>,
) -> Response {
    let next = safe_next(query.next.as_deref());
    let mut response = Redirect::to(&next).into_response();
    if let Some(lang) = Lang::parse(&code) {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                LANG_COOKIE,
                lang.code(),
                Some(365 * 24 * 3600),
                is_tls(&headers),
            ),
        );
    }
    response
}
