//! Authentication and tenancy: token formats, hashing, roles, and the request principals the
//! middleware puts on each request (a user token for `/api/v1`, an agent credential for
//! `/agent/v1`).
//!
//! Secrets are 32 random bytes (hex) behind a recognisable prefix: `pw_` for API tokens,
//! `pwe_` for enrolment tokens, `pwa_` for per-agent credentials. Only their SHA-256 is stored
//! (they are high-entropy, so a fast hash is the right one); the secret is shown once.

pub mod middleware;

use crate::store::TenantId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a secret is for; its prefix says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// A user or script token for `/api/v1` (`pw_`).
    Api,
    /// A tenant's enrolment token for agents (`pwe_`).
    Enrollment,
    /// A per-agent credential (`pwa_`).
    Agent,
}

impl SecretKind {
    /// The prefix of secrets of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::Api => "pw_",
            SecretKind::Enrollment => "pwe_",
            SecretKind::Agent => "pwa_",
        }
    }

    /// The kind a presented secret claims by its prefix.
    pub fn of(secret: &str) -> Option<SecretKind> {
        // Check the longer prefixes first: `pw_` is not a prefix of the others, but be exact.
        [SecretKind::Enrollment, SecretKind::Agent, SecretKind::Api]
            .into_iter()
            .find(|kind| secret.starts_with(kind.prefix()))
    }
}

/// Why a secret cannot be made.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed: {0}")]
pub struct RandomError(String);

/// A new random secret of `kind`: prefix + 64 hex characters (32 bytes).
pub fn generate_secret(kind: SecretKind) -> Result<String, RandomError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| RandomError(err.to_string()))?;
    Ok(format!("{}{}", kind.prefix(), hex::encode(bytes)))
}

/// The stored form of a secret: SHA-256, hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The part of a secret safe to show in lists (`pw_1a2b3c`).
pub fn display_prefix(secret: &str) -> String {
    let prefix_len = SecretKind::of(secret).map_or(0, |k| k.prefix().len());
    secret.chars().take(prefix_len + 6).collect()
}

/// What a user token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything in its tenant.
    Admin,
    /// Read only.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// The caller of an `/api/v1` route, from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub role: Role,
    pub token_id: i64,
    pub token_name: String,
    /// The tenant is the operator (the bootstrap token's tenant).
    pub is_operator: bool,
}

impl Principal {
    /// How this caller appears in the audit log.
    pub fn actor(&self) -> crate::store::Actor {
        crate::store::Actor(format!("token:{}:{}", self.token_id, self.token_name))
    }
}

/// The caller of an `/agent/v1` route, from its per-agent credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentPrincipal {
    pub tenant: TenantId,
    pub agent_id: i64,
    /// The only asset this agent may write.
    pub asset_id: i64,
}

/// The caller of `/agent/v1/enroll`, from a tenant enrolment token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrollmentPrincipal {
    pub tenant: TenantId,
    pub enrollment_token_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_their_prefix_and_hash_stably() {
        for kind in [SecretKind::Api, SecretKind::Enrollment, SecretKind::Agent] {
            let secret = generate_secret(kind).unwrap_or_default();
            assert_eq!(SecretKind::of(&secret), Some(kind), "{secret}");
            assert_eq!(secret.len(), kind.prefix().len() + 64);
            assert_eq!(hash_secret(&secret), hash_secret(&secret));
        }
        assert_ne!(hash_secret("pw_a"), hash_secret("pw_b"));
        assert_eq!(display_prefix("pwe_0123456789"), "pwe_012345");
        assert_eq!(SecretKind::of("Bearer x"), None);
    }
}
