//! The authorized-keys file: OpenSSH's format, one key a line, each mapped to a board login by a
//! `login="NAME"` option or, failing that, the key's comment. A bad line is reported with its
//! file and line and skipped, so one typo does not lock everyone else out.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use russh::keys::ssh_key::authorized_keys::Entry;
use russh::keys::{HashAlg, PublicKey};

/// A line that was skipped and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyProblem {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Who each accepted key belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizedKeys {
    /// SHA256 fingerprint -> login.
    logins: HashMap<String, String>,
}

impl AuthorizedKeys {
    pub fn load(path: &Path) -> Result<(Self, Vec<KeyProblem>)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the authorized keys {}", path.display()))?;
        Ok(Self::parse(&text, path))
    }

    pub fn parse(text: &str, file: &Path) -> (Self, Vec<KeyProblem>) {
        let mut keys = Self::default();
        let mut problems = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = |message: String| KeyProblem {
                file: file.to_path_buf(),
                line: index + 1,
                message,
            };
            let entry = match line.parse::<Entry>() {
                Ok(entry) => entry,
                Err(error) => {
                    problems.push(problem(format!("not an OpenSSH public key line ({error})")));
                    continue;
                }
            };
            let login = match login_of(&entry) {
                Ok(login) => login,
                Err(message) => {
                    problems.push(problem(message));
                    continue;
                }
            };
            let fingerprint = fingerprint(entry.public_key());
            if let Some(first) = keys.logins.get(&fingerprint) {
                if *first != login {
                    problems.push(problem(format!(
                        "key {fingerprint} is already listed for {first}; this line is ignored"
                    )));
                }
                continue;
            }
            keys.logins.insert(fingerprint, login);
        }
        (keys, problems)
    }

    pub fn login_for(&self, key: &PublicKey) -> Option<&str> {
        self.logins.get(&fingerprint(key)).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.logins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
    }
}

/// `SHA256:...`, as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

fn login_of(entry: &Entry) -> Result<String, String> {
    let option = entry
        .config_opts()
        .iter()
        .find_map(|opt| opt.strip_prefix("login="))
        .map(|value| value.trim_matches('"').to_string());
    let login = match option {
        Some(login) => login,
        None => entry.public_key().comment().to_string().trim().to_string(),
    };
    if login.is_empty() {
        return Err("no login: add login=\"NAME\" before the key or a comment after it".into());
    }
    if login.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "login {login:?} has spaces or control characters; use login=\"NAME\""
        ));
    }
    Ok(login)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGp0LeFI9pbtKMKzUiEaSp8Cd0lHcmgmTo+AApH4LM+c";
    const BOB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFfLnpMEPYT2kGwPDdnMvRCKfF2x4Wv5RM8vCeVBMwe1";

    #[test]
    fn maps_keys_by_option_or_comment_and_reports_bad_lines() {
        let text = format!(
            "# staff\n{ALICE} alice\n\nnot a key at all\nlogin=\"bob\",no-pty {BOB} bob@laptop\n{ALICE}\n"
        );
        let (keys, problems) = AuthorizedKeys::parse(&text, Path::new("keys"));
        assert_eq!(keys.len(), 2);
        let alice: PublicKey = ALICE.parse().unwrap();
        let bob: PublicKey = BOB.parse().unwrap();
        assert_eq!(keys.login_for(&alice), Some("alice"));
        assert_eq!(keys.login_for(&bob), Some("bob"), "the option wins");
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![4, 6], "{problems:?}");
        assert!(
            problems[0]
                .to_string()
                .starts_with("keys:4: not an OpenSSH")
        );
        assert!(problems[1].message.contains("no login"));
    }

    #[test]
    fn a_key_without_a_login_is_refused() {
        let (keys, problems) = AuthorizedKeys::parse(BOB, Path::new("k"));
        assert!(keys.is_empty());
        assert_eq!(problems[0].line, 1);
        assert!(problems[0].message.contains("no login"));
    }
}
