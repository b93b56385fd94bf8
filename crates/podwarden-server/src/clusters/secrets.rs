//! Kubeconfigs at rest: sealed with AES-256-GCM under a server key file, so a copy of the
//! database alone does not hand out cluster credentials.
//!
//! The key file holds 32 random bytes in hex. It is created (mode 0600) on first use when
//! absent; every replica of a PostgreSQL deployment needs the same file. Sealed text is
//! `v1:` + hex(nonce ‖ ciphertext ‖ tag); the tenant id is the associated data, so a sealed
//! kubeconfig copied into another tenant's row does not open.

use crate::store::TenantId;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use std::io::Write as _;
use std::path::{Path, PathBuf};

const PREFIX: &str = "v1:";
const KEY_LEN: usize = 32;

/// Why a secret cannot be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secrets key file {path}: {message}")]
    KeyFile { path: PathBuf, message: String },
    #[error(
        "the stored kubeconfig cannot be opened with the key in {path} (another key file, or \
         the database was copied from another server); add the cluster's kubeconfig again"
    )]
    Open { path: PathBuf },
    #[error("cannot seal a secret: no randomness")]
    Random,
}

/// The server's sealing key.
pub struct SealingKey {
    key: LessSafeKey,
    path: PathBuf,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SealingKey {
    /// Reads the key file, creating it with a fresh random key when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<SealingKey, SecretError> {
        let fail = |message: String| SecretError::KeyFile {
            path: path.to_path_buf(),
            message,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                create_key_file(path).map_err(|err| fail(format!("cannot create: {err}")))?;
                std::fs::read_to_string(path).map_err(|err| fail(err.to_string()))?
            }
            Err(err) => return Err(fail(err.to_string())),
        };
        let bytes = hex::decode(text.trim())
            .map_err(|_| fail("expected 64 hexadecimal characters".to_string()))?;
        if bytes.len() != KEY_LEN {
            return Err(fail(format!(
                "expected a {KEY_LEN}-byte key (64 hexadecimal characters), found {} bytes",
                bytes.len()
            )));
        }
        let unbound =
            UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| fail("unusable key".to_string()))?;
        Ok(SealingKey {
            key: LessSafeKey::new(unbound),
            path: path.to_path_buf(),
        })
    }

    /// Seals `plain` for `tenant`.
    pub fn seal(&self, tenant: TenantId, plain: &str) -> Result<String, SecretError> {
        let mut nonce_bytes = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce_bytes)
            .map_err(|_| SecretError::Random)?;
        let mut data = plain.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad(tenant)),
                &mut data,
            )
            .map_err(|_| SecretError::Random)?;
        let mut out = Vec::with_capacity(NONCE_LEN + data.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", hex::encode(out)))
    }

    /// Opens text sealed by [`SealingKey::seal`] for the same tenant.
    pub fn open(&self, tenant: TenantId, sealed: &str) -> Result<String, SecretError> {
        let fail = || SecretError::Open {
            path: self.path.clone(),
        };
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(fail)?;
        if bytes.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce_bytes, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce_bytes).map_err(|_| fail())?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(aad(tenant)), &mut data)
            .map_err(|_| fail())?;
        String::from_utf8(plain.to_vec()).map_err(|_| fail())
    }
}

fn aad(tenant: TenantId) -> Vec<u8> {
    format!("podwarden-kubeconfig:tenant:{}", tenant.0).into_bytes()
}

/// Writes a new random key; a concurrent creator wins and its key is kept.
fn create_key_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = [0u8; KEY_LEN];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| std::io::Error::other("no randomness"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", hex::encode(key)).as_bytes())?;
            file.sync_all()
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_per_tenant() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("keys").join("secrets.key");
        let key = SealingKey::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let sealed = key
            .seal(TenantId(7), "token: s3cret")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!sealed.contains("s3cret"));
        // The same file opens it again; another tenant or another key does not.
        let again = SealingKey::load_or_create(&path).unwrap_or_else(|e| panic!("{e}"));
        let cases: Vec<(&SealingKey, TenantId, &str, Option<&str>)> = vec![
            (&again, TenantId(7), sealed.as_str(), Some("token: s3cret")),
            (&again, TenantId(8), sealed.as_str(), None),
            (&again, TenantId(7), "v1:00", None),
            (&again, TenantId(7), "plain text", None),
        ];
        for (key, tenant, text, expected) in cases {
            assert_eq!(key.open(tenant, text).ok().as_deref(), expected, "{text}");
        }
        let other_path = dir.path().join("other.key");
        let other = SealingKey::load_or_create(&other_path).unwrap_or_else(|e| panic!("{e}"));
        assert!(other.open(TenantId(7), &sealed).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_default();
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&other_path, "abcd").unwrap_or_else(|e| panic!("{e}"));
        let err = SealingKey::load_or_create(&other_path).map(|_| ());
        assert!(
            matches!(&err, Err(SecretError::KeyFile { message, .. }) if message.contains("32-byte")),
            "{err:?}"
        );
    }
}
