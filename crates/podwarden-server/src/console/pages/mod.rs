//! One module per console page, and the helpers they share.

pub mod alerts;
pub mod asset_detail;
pub mod assets;
pub mod baseline;
pub mod login;
pub mod overview;
pub mod settings;
pub mod usage;
pub mod vulns;

use super::layout::{Ctx, Flash, error_flash, redirect_with_flash};
use super::session::{ConsoleUser, Fields, safe_next};
use crate::error::StoreError;
use crate::store::alerts::AlertAsset;
use axum::response::Response;
use maud::{Markup, html};

/// Where a form goes back to: its `next` field when local, else `default`.
pub fn back_to(fields: &Fields, default: &str) -> String {
    match fields.get("next") {
        Some(next) => safe_next(Some(next)),
        None => default.to_string(),
    }
}

/// Redirects after an action: the success flash, or the store's refusal.
pub fn after<T>(
    user: &ConsoleUser,
    to: &str,
    result: Result<T, StoreError>,
    flash: impl FnOnce(T) -> Flash,
) -> Response {
    match result {
        Ok(value) => redirect_with_flash(user, to, flash(value)),
        Err(err) => redirect_with_flash(user, to, error_flash(&err)),
    }
}

/// A link to an asset: pod name, with namespace and cluster below.
pub fn asset_cell(asset: &AlertAsset) -> Markup {
    html! {
        a href={ "/assets/" (asset.id) } { (asset.pod_name) }
        small { (asset.namespace) @if !asset.cluster.is_empty() { " · " (asset.cluster) } }
    }
}

/// The hidden `next` field that brings a form back to the current page.
pub fn next_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="next" value=(ctx.user.path); }
}

/// A dialog with a title, a body and a close button (opened by `data-open="{id}"`).
pub fn dialog(ctx: &Ctx, id: &str, title: &str, body: Markup) -> Markup {
    let title_id = format!("{id}-title");
    html! {
        dialog id=(id) aria-labelledby=(title_id) {
            div.dialog-head {
                h2 id=(title_id) { (title) }
                button.close type="button" data-close aria-label=(ctx.t("common.close")) { "×" }
            }
            (body)
        }
    }
}

/// A button that opens the dialog `id`.
pub fn open_button(label: &str, id: &str, class: &str) -> Markup {
    html! {
        button type="button" class={ "btn " (class) } data-open=(id) aria-haspopup="dialog" { (label) }
    }
}

/// The pod name of asset `id`, for the "filtered to this asset" chip (`#id` if unknown).
pub async fn asset_label(state: &crate::state::AppState, user: &ConsoleUser, id: i64) -> String {
    state
        .store
        .get_asset(user.session.tenant, id)
        .await
        .map_or_else(|_| format!("#{id}"), |detail| detail.asset.pod_name)
}

/// The id of a `what` from a URL path; one that is not a positive number does not exist.
pub fn path_id(id: &str, what: &str) -> Result<i64, StoreError> {
    parse_id(Some(id)).ok_or_else(|| StoreError::NotFound(format!("{what} {id}")))
}

/// A query value without surrounding blanks; `None` when absent or blank.
pub fn nonempty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A list page's search text (`q`): trimmed, at most 200 characters (the field's maxlength).
pub fn search_text(value: &Option<String>) -> Option<String> {
    nonempty(value).map(|q| q.chars().take(200).collect())
}

/// Parses an optional positive id from a query or form value.
pub fn parse_id(text: Option<&str>) -> Option<i64> {
    text.and_then(|t| t.trim().parse::<i64>().ok())
        .filter(|id| *id > 0)
}
