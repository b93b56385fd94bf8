//! Tenants: creation (with protection defaults and a first admin token) and the bootstrap of
//! the operator tenant on first start.

use super::{Actor, Store, TenantId, audit, col, flag};
use crate::auth::{Role, SecretKind, display_prefix, generate_secret, hash_secret};
use crate::clock::Millis;
use crate::error::StoreError;
use serde::Serialize;
use sqlx::{AnyConnection, Row};

/// A tenant (account).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    /// The operator tenant runs the deployment (creates tenants, sets prices and overdue).
    pub is_operator: bool,
    pub created_at: i64,
}

/// Name of the operator tenant created on first start.
pub const OPERATOR_TENANT_NAME: &str = "operator";

/// What the bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// First start: the operator tenant was created with this freshly generated admin token
    /// (print it once).
    Created { tenant: TenantId, token: String },
    /// First start with `PODWARDEN_BOOTSTRAP_TOKEN`: the operator tenant uses that token.
    CreatedWithGivenToken { tenant: TenantId },
    /// Later start; `given_token_added` says whether the given token was new.
    Existing {
        tenant: TenantId,
        given_token_added: bool,
    },
}

/// Checks a tenant or token name: 1 to 100 characters, no control characters.
pub(crate) fn check_name(what: &str, name: &str) -> Result<String, StoreError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 100 {
        return Err(StoreError::Invalid(format!(
            "{what} must be 1 to 100 characters"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(StoreError::Invalid(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(trimmed.to_string())
}

impl Store {
    /// Creates the operator tenant and its first admin token on first start, or makes sure
    /// the given bootstrap token exists on later starts (idempotent).
    pub async fn bootstrap(&self, given_token: Option<&str>) -> Result<Bootstrap, StoreError> {
        if let Some(token) = given_token
            && token.trim().len() < 16
        {
            return Err(StoreError::Invalid(
                "PODWARDEN_BOOTSTRAP_TOKEN must be at least 16 characters".to_string(),
            ));
        }
        // Two replicas may race on an empty database: the loser hits a unique key and retries.
        match self.bootstrap_once(given_token).await {
            Err(err) if err.is_unique_violation() => self.bootstrap_once(given_token).await,
            other => other,
        }
    }

    async fn bootstrap_once(&self, given_token: Option<&str>) -> Result<Bootstrap, StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM tenants WHERE is_operator = 1 ORDER BY id LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let outcome = match existing {
            Some(id) => {
                let tenant = TenantId(id);
                let mut added = false;
                if let Some(token) = given_token {
                    let hash = hash_secret(token.trim());
                    let known: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM api_tokens WHERE token_hash = $1")
                            .bind(hash.clone())
                            .fetch_optional(&mut *tx)
                            .await?;
                    if known.is_none() {
                        insert_api_token(
                            &mut tx,
                            tenant,
                            "bootstrap admin (PODWARDEN_BOOTSTRAP_TOKEN)",
                            Role::Admin,
                            &hash,
                            &display_prefix(token.trim()),
                            now,
                            &Actor::system(),
                        )
                        .await?;
                        added = true;
                    }
                }
                Bootstrap::Existing {
                    tenant,
                    given_token_added: added,
                }
            }
            None => {
                let tenant = insert_tenant(&mut tx, self, OPERATOR_TENANT_NAME, true, now).await?;
                let (token, generated) = match given_token {
                    Some(token) => (token.trim().to_string(), false),
                    None => (
                        generate_secret(SecretKind::Api)
                            .map_err(|e| StoreError::Invalid(e.to_string()))?,
                        true,
                    ),
                };
                insert_api_token(
                    &mut tx,
                    tenant,
                    "bootstrap admin",
                    Role::Admin,
                    &hash_secret(&token),
                    &display_prefix(&token),
                    now,
                    &Actor::system(),
                )
                .await?;
                audit::record(
                    &mut tx,
                    tenant,
                    now,
                    &Actor::system(),
                    "tenant.bootstrap",
                    &format!("tenant:{tenant}"),
                    serde_json::json!({"name": OPERATOR_TENANT_NAME}),
                )
                .await?;
                if generated {
                    Bootstrap::Created { tenant, token }
                } else {
                    Bootstrap::CreatedWithGivenToken { tenant }
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Creates a tenant with protection defaults and a first admin token (returned once).
    /// The caller must be an operator admin (checked by the API layer and here).
    pub async fn create_tenant(
        &self,
        operator: TenantId,
        name: &str,
        actor: &Actor,
    ) -> Result<(Tenant, String), StoreError> {
        let name = check_name("tenant name", name)?;
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let is_operator: Option<i64> =
            sqlx::query_scalar("SELECT is_operator FROM tenants WHERE id = $1")
                .bind(operator.0)
                .fetch_optional(&mut *tx)
                .await?;
        if is_operator != Some(1) {
            return Err(StoreError::Forbidden(
                "only the operator tenant can create tenants".to_string(),
            ));
        }
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
            .bind(name.clone())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a tenant named {name:?} already exists"
            )));
        }
        let tenant = insert_tenant(&mut tx, self, &name, false, now).await?;
        let secret =
            generate_secret(SecretKind::Api).map_err(|e| StoreError::Invalid(e.to_string()))?;
        insert_api_token(
            &mut tx,
            tenant,
            "initial admin",
            Role::Admin,
            &hash_secret(&secret),
            &display_prefix(&secret),
            now,
            actor,
        )
        .await?;
        for (audit_tenant, target) in [(operator, tenant), (tenant, tenant)] {
            audit::record(
                &mut tx,
                audit_tenant,
                now,
                actor,
                "tenant.create",
                &format!("tenant:{target}"),
                serde_json::json!({"name": name}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok((
            Tenant {
                id: tenant,
                name,
                is_operator: false,
                created_at: now,
            },
            secret,
        ))
    }

    /// Every tenant (operator view).
    pub async fn list_tenants(&self, operator: TenantId) -> Result<Vec<Tenant>, StoreError> {
        self.require_operator(operator).await?;
        let rows = sqlx::query("SELECT id, name, is_operator, created_at FROM tenants ORDER BY id")
            .fetch_all(self.db.reader())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Tenant {
                    id: TenantId(col(row, "id")?),
                    name: col(row, "name")?,
                    is_operator: flag(row, "is_operator")?,
                    created_at: col(row, "created_at")?,
                })
            })
            .collect()
    }

    /// Fails unless `tenant` is the operator tenant.
    pub async fn require_operator(&self, tenant: TenantId) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT is_operator FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(self.db.reader())
            .await?;
        match row {
            Some(row) if row.try_get::<i64, _>("is_operator").unwrap_or(0) == 1 => Ok(()),
            _ => Err(StoreError::Forbidden(
                "only the operator tenant may do this".to_string(),
            )),
        }
    }

    /// Whether a tenant exists.
    pub async fn tenant_exists(&self, tenant: TenantId) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM tenants WHERE id = $1")
            .bind(tenant.0)
            .fetch_optional(self.db.reader())
            .await?;
        Ok(found.is_some())
    }
}

async fn insert_tenant(
    conn: &mut AnyConnection,
    store: &Store,
    name: &str,
    is_operator: bool,
    now: Millis,
) -> Result<TenantId, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tenants (name, is_operator, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name.to_string())
    .bind(i64::from(is_operator))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let settings = store.settings();
    sqlx::query(
        "INSERT INTO protection (tenant_id, enabled, paused, overdue, auto_add, ever_enabled,
                                 price_nano, timezone, updated_at)
         VALUES ($1, 0, 0, 0, 0, 0, $2, $3, $4)",
    )
    .bind(id)
    .bind(settings.default_price.0)
    .bind(settings.default_timezone.name().to_string())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(TenantId(id))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_api_token(
    conn: &mut AnyConnection,
    tenant: TenantId,
    name: &str,
    role: Role,
    hash: &str,
    prefix: &str,
    now: Millis,
    actor: &Actor,
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO api_tokens (tenant_id, name, role, token_hash, token_prefix, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(tenant.0)
    .bind(name.to_string())
    .bind(role.as_str())
    .bind(hash.to_string())
    .bind(prefix.to_string())
    .bind(now)
    .bind(actor.0.clone())
    .fetch_one(conn)
    .await?;
    Ok(id)
}
