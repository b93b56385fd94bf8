//! Console users (username + Argon2id password) and console sessions in the store.
//!
//! A session is created by signing in with an API token or a username and password. Its
//! cookie secret (`pws_` + 64 hex) is stored only as SHA-256 (it is high-entropy, like the
//! API tokens); each session has its own CSRF token, an absolute expiry and an idle expiry.
//! Every lookup re-checks the credential behind the session: a revoked token or a deleted
//! user ends its sessions at once, and a role change applies on the next request.

use crate::auth::{Role, hash_secret};
use crate::error::StoreError;
use crate::store::audit::{Page, Paging};
use crate::store::{Actor, Store, TenantId, audit};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use serde::Serialize;
use sqlx::Row;

/// A session lives at most this long after sign-in.
pub const SESSION_LIFETIME_MS: i64 = 12 * 3_600_000;
/// A session ends after this long without a request.
pub const SESSION_IDLE_MS: i64 = 2 * 3_600_000;
/// `last_seen_at` is written at most this often (reads stay reads).
const TOUCH_EVERY_MS: i64 = 5 * 60_000;

/// Shortest and longest accepted password (characters).
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 1024;

/// A console user as listed (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConsoleUserInfo {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_at: i64,
    pub created_by: String,
}

/// Who a live session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: i64,
    pub tenant: TenantId,
    pub tenant_name: String,
    pub is_operator: bool,
    pub role: Role,
    /// How changes made in this session appear in the audit log.
    pub actor: Actor,
    /// The token name or username, for the header.
    pub display_name: String,
    /// The per-session CSRF token every form carries.
    pub csrf: String,
}

/// What signs a session in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSubject {
    /// An API token (its id).
    Token(i64),
    /// A console user (its id).
    User(i64),
}

fn random_hex() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|err| StoreError::Invalid(format!("system random generator failed: {err}")))?;
    Ok(hex::encode(bytes))
}

/// Checks a username: 3 to 64 characters of letters, digits, `.`, `_`, `-`, `@`.
pub fn check_username(username: &str) -> Result<String, StoreError> {
    let trimmed = username.trim();
    let length = trimmed.chars().count();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if !(3..=64).contains(&length) || !trimmed.chars().all(allowed) {
        return Err(StoreError::Invalid(
            "username must be 3 to 64 characters: letters, digits, '.', '_', '-', '@'".to_string(),
        ));
    }
    Ok(trimmed.to_string())
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(StoreError::Invalid(format!(
            "password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        )));
    }
    Ok(())
}

/// Argon2id PHC string of `password` (random salt). CPU-heavy: run off the async threads.
fn hash_password(password: &str) -> Result<String, StoreError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|err| StoreError::Invalid(format!("cannot hash the password: {err}")))
}

/// Whether `password` matches the PHC string `stored`.
fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Invalid(format!("password hashing task failed: {err}")))
}

/// A fixed PHC string checked when the username is unknown, so both cases take as long.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password for unknown users").unwrap_or_default())
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<ConsoleUserInfo, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(ConsoleUserInfo {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

impl Store {
    /// Creates a console user in `tenant`. Usernames are unique across tenants (signing in
    /// with one names the tenant).
    pub async fn create_console_user(
        &self,
        tenant: TenantId,
        username: &str,
        password: &str,
        role: Role,
        actor: &Actor,
    ) -> Result<ConsoleUserInfo, StoreError> {
        let username = check_username(username)?;
        check_password(password)?;
        let password = password.to_string();
        let hash = blocking(move || hash_password(&password)).await??;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM console_users WHERE username = $1")
                .bind(username.clone())
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a user named {username:?} already exists"
            )));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO console_users (tenant_id, username, role, password_hash, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(tenant.0)
        .bind(username.clone())
        .bind(role.as_str())
        .bind(hash)
        .bind(now)
        .bind(actor.0.clone())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "user.create",
            &format!("user:{id}"),
            serde_json::json!({"username": username, "role": role.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok(ConsoleUserInfo {
            id,
            username,
            role,
            created_at: now,
            created_by: actor.0.clone(),
        })
    }

    /// The tenant's console users, by username.
    pub async fn list_console_users(
        &self,
        tenant: TenantId,
        paging: Paging,
    ) -> Result<Page<ConsoleUserInfo>, StoreError> {
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM console_users WHERE tenant_id = $1")
                .bind(tenant.0)
                .fetch_one(self.db().reader())
                .await?;
        let rows = sqlx::query(
            "SELECT id, username, role, created_at, created_by FROM console_users
             WHERE tenant_id = $1 ORDER BY username LIMIT $2 OFFSET $3",
        )
        .bind(tenant.0)
        .bind(i64::from(paging.per_page))
        .bind(paging.offset())
        .fetch_all(self.db().reader())
        .await?;
        Ok(Page::exact(
            rows.iter()
                .map(user_from_row)
                .collect::<Result<Vec<_>, _>>()?,
            paging,
            total,
        ))
    }

    /// Deletes a console user of the tenant and ends its sessions.
    pub async fn delete_console_user(
        &self,
        tenant: TenantId,
        user: i64,
        actor: &Actor,
    ) -> Result<ConsoleUserInfo, StoreError> {
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let row = sqlx::query(
            "SELECT id, username, role, created_at, created_by FROM console_users
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
        let info = user_from_row(&row)?;
        sqlx::query("DELETE FROM console_sessions WHERE tenant_id = $1 AND user_id = $2")
            .bind(tenant.0)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM console_users WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "user.delete",
            &format!("user:{user}"),
            serde_json::json!({"username": info.username}),
        )
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// The user with this username and password, if they match.
    pub async fn authenticate_console_user(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<(TenantId, i64, Role)>, StoreError> {
        if username.len() > 256 || password.len() > PASSWORD_MAX * 4 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT id, tenant_id, role, password_hash FROM console_users WHERE username = $1",
        )
        .bind(username.trim().to_string())
        .fetch_optional(self.db().reader())
        .await?;
        let (found, stored) = match &row {
            Some(row) => {
                let role: String = row.try_get("role")?;
                let role = Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?;
                (
                    Some((
                        TenantId(row.try_get::<i64, _>("tenant_id")?),
                        row.try_get::<i64, _>("id")?,
                        role,
                    )),
                    row.try_get::<String, _>("password_hash")?,
                )
            }
            None => (None, String::new()),
        };
        let password = password.to_string();
        let matches = blocking(move || {
            let against = if stored.is_empty() {
                decoy_hash()
            } else {
                &stored
            };
            verify_password(&password, against) && !stored.is_empty()
        })
        .await?;
        Ok(found.filter(|_| matches))
    }

    /// Starts a session; returns the cookie secret (only its hash is stored).
    pub async fn create_console_session(
        &self,
        tenant: TenantId,
        subject: SessionSubject,
        role: Role,
    ) -> Result<String, StoreError> {
        let secret = format!("pws_{}", random_hex()?);
        let csrf = random_hex()?;
        let now = self.now();
        let (token_id, user_id) = match subject {
            SessionSubject::Token(id) => (Some(id), None),
            SessionSubject::User(id) => (None, Some(id)),
        };
        let mut tx = self.db().begin_write().await?;
        // Sign-ins are rare: a good moment to forget ended sessions.
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now)
            .bind(now - SESSION_IDLE_MS)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (tenant_id, session_hash, csrf_token, token_id, user_id,
                 role, created_at, last_seen_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(tenant.0)
        .bind(hash_secret(&secret))
        .bind(csrf)
        .bind(token_id)
        .bind(user_id)
        .bind(role.as_str())
        .bind(now)
        .bind(now)
        .bind(now + SESSION_LIFETIME_MS)
        .execute(&mut *tx)
        .await?;
        let actor = match subject {
            SessionSubject::Token(id) => format!("token:{id}"),
            SessionSubject::User(id) => format!("user:{id}"),
        };
        audit::record(
            &mut tx,
            tenant,
            now,
            &Actor(actor.clone()),
            "console.sign_in",
            &actor,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The live session behind a cookie secret, if any (refreshing its idle time now and then).
    pub async fn console_session(&self, secret: &str) -> Result<Option<SessionInfo>, StoreError> {
        if !secret.starts_with("pws_") || secret.len() != 68 {
            return Ok(None);
        }
        let now = self.now();
        let row = sqlx::query(
            "SELECT s.id AS id, s.tenant_id AS tenant_id, s.csrf_token AS csrf_token,
                    s.token_id AS token_id, s.user_id AS user_id, s.last_seen_at AS last_seen_at,
                    s.expires_at AS expires_at, n.name AS tenant_name,
                    n.is_operator AS is_operator, t.name AS token_name, t.role AS token_role,
                    t.revoked_at AS token_revoked_at, u.username AS username,
                    u.role AS user_role
             FROM console_sessions s
             JOIN tenants n ON n.id = s.tenant_id
             LEFT JOIN api_tokens t ON t.id = s.token_id AND t.tenant_id = s.tenant_id
             LEFT JOIN console_users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
             WHERE s.session_hash = $1",
        )
        .bind(hash_secret(secret))
        .fetch_optional(self.db().reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_at: i64 = row.try_get("expires_at")?;
        let last_seen_at: i64 = row.try_get("last_seen_at")?;
        if expires_at <= now || last_seen_at + SESSION_IDLE_MS <= now {
            return Ok(None);
        }
        let token_id: Option<i64> = row.try_get("token_id")?;
        let user_id: Option<i64> = row.try_get("user_id")?;
        let (role, actor, display_name) = match (token_id, user_id) {
            (Some(id), None) => {
                let revoked: Option<i64> = row.try_get("token_revoked_at")?;
                let name: Option<String> = row.try_get("token_name")?;
                let role: Option<String> = row.try_get("token_role")?;
                match (revoked, name, role) {
                    (None, Some(name), Some(role)) => {
                        (role, format!("token:{id}:{name}"), name.clone())
                    }
                    _ => return Ok(None),
                }
            }
            (None, Some(id)) => {
                let name: Option<String> = row.try_get("username")?;
                let role: Option<String> = row.try_get("user_role")?;
                match (name, role) {
                    (Some(name), Some(role)) => (role, format!("user:{id}:{name}"), name),
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        };
        let role =
            Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?;
        let id: i64 = row.try_get("id")?;
        if now - last_seen_at >= TOUCH_EVERY_MS {
            sqlx::query("UPDATE console_sessions SET last_seen_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(self.db().writer())
                .await?;
        }
        Ok(Some(SessionInfo {
            id,
            tenant: TenantId(row.try_get("tenant_id")?),
            tenant_name: row.try_get("tenant_name")?,
            is_operator: row.try_get::<i64, _>("is_operator")? == 1,
            role,
            actor: Actor(actor),
            display_name,
            csrf: row.try_get("csrf_token")?,
        }))
    }

    /// Ends a session.
    pub async fn end_console_session(&self, session: &SessionInfo) -> Result<(), StoreError> {
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        sqlx::query("DELETE FROM console_sessions WHERE tenant_id = $1 AND id = $2")
            .bind(session.tenant.0)
            .bind(session.id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            session.tenant,
            now,
            &session.actor,
            "console.sign_out",
            &session.actor.0,
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for (input, ok) in [
            ("alice", true),
            ("  bob.smith@example.com ", true),
            ("ab", false),
            ("has space", false),
            ("名前です", false),
            (&"x".repeat(65), false),
        ] {
            assert_eq!(check_username(input).is_ok(), ok, "{input:?}");
        }
    }

    #[test]
    fn passwords_hash_and_verify() {
        let stored = hash_password("correct horse battery").unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify_password("correct horse battery", &stored));
        assert!(!verify_password("correct horse batterx", &stored));
        assert!(!verify_password("anything", "not a phc string"));
        assert!(check_password("short").is_err());
        assert!(check_password("long enough password").is_ok());
    }
}
