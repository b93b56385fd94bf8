//! API tokens and enrolment tokens: create (secret shown once), list (never the secret),
//! revoke, and authenticate a presented secret.

use super::tenants::{check_name, insert_api_token};
use super::{Actor, Store, TenantId, audit, col};
use crate::auth::{
    EnrollmentPrincipal, Principal, Role, SecretKind, display_prefix, generate_secret, hash_secret,
};
use crate::error::StoreError;
use serde::Serialize;
use sqlx::any::AnyRow;

/// An API token as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
}

/// An enrolment token as listed (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EnrollmentTokenInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub created_by: String,
    pub revoked_at: Option<i64>,
}

fn api_token_from_row(row: &AnyRow) -> Result<ApiTokenInfo, StoreError> {
    let role: String = col(row, "role")?;
    Ok(ApiTokenInfo {
        id: col(row, "id")?,
        name: col(row, "name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
        prefix: col(row, "token_prefix")?,
        created_at: col(row, "created_at")?,
        created_by: col(row, "created_by")?,
        revoked_at: col(row, "revoked_at")?,
    })
}

fn new_secret(kind: SecretKind) -> Result<String, StoreError> {
    generate_secret(kind).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl Store {
    /// Creates an API token; returns its record and the secret (shown once).
    pub async fn create_api_token(
        &self,
        tenant: TenantId,
        name: &str,
        role: Role,
        actor: &Actor,
    ) -> Result<(ApiTokenInfo, String), StoreError> {
        let name = check_name("token name", name)?;
        let secret = new_secret(SecretKind::Api)?;
        let prefix = display_prefix(&secret);
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let id = insert_api_token(
            &mut tx,
            tenant,
            &name,
            role,
            &hash_secret(&secret),
            &prefix,
            now,
            actor,
        )
        .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "token.create",
            &format!("token:{id}"),
            serde_json::json!({"name": name, "role": role.as_str()}),
        )
        .await?;
        tx.commit().await?;
        Ok((
            ApiTokenInfo {
                id,
                name,
                role,
                prefix,
                created_at: now,
                created_by: actor.0.clone(),
                revoked_at: None,
            },
            secret,
        ))
    }

    /// The tenant's API tokens (never the secrets).
    pub async fn list_api_tokens(&self, tenant: TenantId) -> Result<Vec<ApiTokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, role, token_prefix, created_at, created_by, revoked_at
             FROM api_tokens WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant.0)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    /// Revokes one of the tenant's API tokens. Refuses to revoke the tenant's last active
    /// admin token (that would lock the tenant out).
    pub async fn revoke_api_token(
        &self,
        tenant: TenantId,
        token_id: i64,
        actor: &Actor,
    ) -> Result<ApiTokenInfo, StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(
            "SELECT id, name, role, token_prefix, created_at, created_by, revoked_at
             FROM api_tokens WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.0)
        .bind(token_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {token_id}")))?;
        let mut info = api_token_from_row(&row)?;
        if info.revoked_at.is_some() {
            return Ok(info);
        }
        if info.role == Role::Admin {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM api_tokens
                 WHERE tenant_id = $1 AND role = 'admin' AND revoked_at IS NULL",
            )
            .bind(tenant.0)
            .fetch_one(&mut *tx)
            .await?;
            if admins <= 1 {
                return Err(StoreError::Conflict(
                    "this is the tenant's last active admin token; create another admin token first"
                        .to_string(),
                ));
            }
        }
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE tenant_id = $2 AND id = $3")
            .bind(now)
            .bind(tenant.0)
            .bind(token_id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "token.revoke",
            &format!("token:{token_id}"),
            serde_json::json!({"name": info.name}),
        )
        .await?;
        tx.commit().await?;
        info.revoked_at = Some(now);
        Ok(info)
    }

    /// The principal behind an API token secret, if it is a live token.
    pub async fn authenticate_api_token(
        &self,
        secret: &str,
    ) -> Result<Option<Principal>, StoreError> {
        let row = sqlx::query(
            "SELECT t.id, t.tenant_id, t.role, t.name, n.is_operator
             FROM api_tokens t JOIN tenants n ON n.id = t.tenant_id
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        )
        .bind(hash_secret(secret))
        .fetch_optional(self.db.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let role: String = col(&row, "role")?;
        Ok(Some(Principal {
            tenant: TenantId(col(&row, "tenant_id")?),
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?,
            token_id: col(&row, "id")?,
            token_name: col(&row, "name")?,
            is_operator: col::<i64>(&row, "is_operator")? == 1,
        }))
    }

    /// Creates an enrolment token for the tenant's agents; returns it and the secret.
    pub async fn create_enrollment_token(
        &self,
        tenant: TenantId,
        name: &str,
        actor: &Actor,
    ) -> Result<(EnrollmentTokenInfo, String), StoreError> {
        let name = check_name("enrolment token name", name)?;
        let secret = new_secret(SecretKind::Enrollment)?;
        let prefix = display_prefix(&secret);
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO enrollment_tokens (tenant_id, name, token_hash, token_prefix, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(tenant.0)
        .bind(name.clone())
        .bind(hash_secret(&secret))
        .bind(prefix.clone())
        .bind(now)
        .bind(actor.0.clone())
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "enrollment_token.create",
            &format!("enrollment_token:{id}"),
            serde_json::json!({"name": name}),
        )
        .await?;
        tx.commit().await?;
        Ok((
            EnrollmentTokenInfo {
                id,
                name,
                prefix,
                created_at: now,
                created_by: actor.0.clone(),
                revoked_at: None,
            },
            secret,
        ))
    }

    /// The tenant's enrolment tokens (never the secrets).
    pub async fn list_enrollment_tokens(
        &self,
        tenant: TenantId,
    ) -> Result<Vec<EnrollmentTokenInfo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, token_prefix, created_at, created_by, revoked_at
             FROM enrollment_tokens WHERE tenant_id = $1 ORDER BY id",
        )
        .bind(tenant.0)
        .fetch_all(self.db.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(EnrollmentTokenInfo {
                    id: col(row, "id")?,
                    name: col(row, "name")?,
                    prefix: col(row, "token_prefix")?,
                    created_at: col(row, "created_at")?,
                    created_by: col(row, "created_by")?,
                    revoked_at: col(row, "revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes an enrolment token (agents enrolled with it keep their credentials).
    pub async fn revoke_enrollment_token(
        &self,
        tenant: TenantId,
        token_id: i64,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE enrollment_tokens SET revoked_at = $1
             WHERE tenant_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(tenant.0)
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM enrollment_tokens WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.0)
            .bind(token_id)
            .fetch_optional(&mut *tx)
            .await?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("enrolment token {token_id}")));
            }
            return Ok(());
        }
        audit::record(
            &mut tx,
            tenant,
            now,
            actor,
            "enrollment_token.revoke",
            &format!("enrollment_token:{token_id}"),
            serde_json::json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The tenant behind an enrolment token secret, if it is live.
    pub async fn authenticate_enrollment_token(
        &self,
        secret: &str,
    ) -> Result<Option<EnrollmentPrincipal>, StoreError> {
        let row = sqlx::query(
            "SELECT id, tenant_id FROM enrollment_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash_secret(secret))
        .fetch_optional(self.db.reader())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(EnrollmentPrincipal {
            tenant: TenantId(col(&row, "tenant_id")?),
            enrollment_token_id: col(&row, "id")?,
        }))
    }
}
