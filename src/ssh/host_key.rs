//! The server's own key: made on first start, refused when others could read it.

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, HashAlg, PrivateKey};

/// The key at `path`, generated (Ed25519, mode 0600) when there is none. `bool`: it was made now.
pub fn load_or_create(path: &Path) -> Result<(PrivateKey, bool)> {
    if !path.exists() {
        return Ok((create(path)?, true));
    }
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        bail!(
            "the host key {} can be read by other users (mode {:o}); fix it with: chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    let key = russh::keys::load_secret_key(path, None)
        .with_context(|| format!("reading the host key {}", path.display()))?;
    Ok((key, false))
}

pub fn fingerprint(key: &PrivateKey) -> String {
    key.public_key().fingerprint(HashAlg::Sha256).to_string()
}

fn create(path: &Path) -> Result<PrivateKey> {
    let key = PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519)
        .context("generating a host key")?;
    let text = key
        .to_openssh(LineEnding::LF)
        .context("encoding the host key")?;
    // Created 0600 rather than chmod-ed after, so it is never readable by others even briefly.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating the host key {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing the host key {}", path.display()))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_with_0600_then_reused_and_loose_modes_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host_key");
        let (made, created) = load_or_create(&path).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(fingerprint(&made), fingerprint(&again));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = load_or_create(&path).err().unwrap().to_string();
        assert!(error.contains("chmod 600"), "{error}");
    }
}
