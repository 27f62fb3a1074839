//! The authorized-keys file: OpenSSH's format, one key a line, each mapped to a board login by a
//! `login="NAME"` option or, failing that, the key's comment.
//!
//! The file is read as bytes and each line decoded on its own: a line another editor saved in
//! Latin-1 or with a typo is skipped with its file and line, and every other line still loads.
//! Options are in [`super::key_options`].

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use russh::keys::{HashAlg, PublicKey};

use super::key_options::{FromPatterns, KeyOptions, split_line};

use crate::store::MAX_LOGIN_CHARS;

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

/// One accepted key: whose it is and the conditions its line sets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    login: String,
    from: Option<FromPatterns>,
    expires: Option<DateTime<Utc>>,
    line: usize,
}

/// What the file says about a key offered from an address at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDecision {
    /// Listed, and its line's conditions hold: this login.
    Accept(String),
    /// Not in the file.
    Unknown,
    /// Listed, but its line does not allow it now (the reason is for the log).
    Refused(String),
}

/// Who each accepted key belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizedKeys {
    /// SHA256 fingerprint -> grant.
    grants: HashMap<String, Grant>,
}

impl AuthorizedKeys {
    pub fn load(path: &Path) -> Result<(Self, Vec<KeyProblem>)> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the authorized keys {}", path.display()))?;
        Ok(Self::parse(&bytes, path))
    }

    pub fn parse(bytes: &[u8], file: &Path) -> (Self, Vec<KeyProblem>) {
        let mut keys = Self::default();
        let mut problems = Vec::new();
        for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = index + 1;
            let problem = |message: String| KeyProblem {
                file: file.to_path_buf(),
                line,
                message,
            };
            match parse_line(raw, line) {
                Ok(None) => {}
                Ok(Some((fingerprint, grant))) => match keys.grants.get(&fingerprint) {
                    Some(first) => problems.push(problem(format!(
                        "key {fingerprint} is already listed on line {} (for {}); this line is \
                         ignored",
                        first.line, first.login
                    ))),
                    None => {
                        keys.grants.insert(fingerprint, grant);
                    }
                },
                Err(message) => problems.push(problem(message)),
            }
        }
        (keys, problems)
    }

    /// What the file says about `key` offered from `peer` at `now`.
    pub fn decide(&self, key: &PublicKey, peer: Option<IpAddr>, now: DateTime<Utc>) -> KeyDecision {
        let Some(grant) = self.grants.get(&fingerprint(key)) else {
            return KeyDecision::Unknown;
        };
        if let Some(expires) = grant.expires
            && now >= expires
        {
            return KeyDecision::Refused(format!(
                "line {}: expiry-time passed at {}",
                grant.line,
                expires.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        if let Some(from) = &grant.from {
            match peer {
                Some(ip) if from.allows(ip) => {}
                Some(ip) => {
                    return KeyDecision::Refused(format!(
                        "line {}: from= does not allow {}",
                        grant.line,
                        ip.to_canonical()
                    ));
                }
                None => {
                    return KeyDecision::Refused(format!(
                        "line {}: from= is set and the client's address is unknown",
                        grant.line
                    ));
                }
            }
        }
        KeyDecision::Accept(grant.login.clone())
    }

    pub fn len(&self) -> usize {
        self.grants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }
}

/// `SHA256:...`, as `ssh-keygen -lf` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// One line: `Ok(None)` for blank lines and comments.
fn parse_line(raw: &[u8], line: usize) -> Result<Option<(String, Grant)>, String> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let text = String::from_utf8_lossy(raw);
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    // Where the first byte that is not UTF-8 sits, for the message.
    let not_utf8 = std::str::from_utf8(raw).err().map(|e| {
        let at = e.valid_up_to();
        format!(
            "byte {:#04x} at column {} is not UTF-8 (saved in another encoding?)",
            raw.get(at).copied().unwrap_or(0),
            at + 1
        )
    });
    let (options_text, key_text) = split_line(trimmed);
    let key = match PublicKey::from_openssh(key_text) {
        Ok(key) => key,
        Err(error) => {
            return Err(match not_utf8 {
                Some(why) => format!("{why}; save the file as UTF-8"),
                None => format!("not an OpenSSH public key line ({error})"),
            });
        }
    };
    let options = if options_text.is_empty() {
        KeyOptions::default()
    } else {
        KeyOptions::parse(options_text)?
    };
    if let Some(why) = &not_utf8
        && (options.login.is_none() || options_text.contains('\u{FFFD}'))
    {
        // Only a comment the login is not read from may hold bytes of another encoding.
        return Err(format!(
            "{why}; save the file as UTF-8, or name the login with login=\"NAME\""
        ));
    }
    let login = match options.login {
        Some(login) => login,
        None => key.comment().to_string().trim().to_string(),
    };
    check_login(&login)?;
    Ok(Some((
        fingerprint(&key),
        Grant {
            login,
            from: options.from,
            expires: options.expires,
            line,
        },
    )))
}

fn check_login(login: &str) -> Result<(), String> {
    if login.is_empty() {
        return Err("no login: add login=\"NAME\" before the key or a comment after it".into());
    }
    if login.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "login {login:?} has spaces or control characters; use login=\"NAME\""
        ));
    }
    if login.chars().count() > MAX_LOGIN_CHARS {
        return Err(format!(
            "the login is longer than {MAX_LOGIN_CHARS} characters; use login=\"NAME\""
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGp0LeFI9pbtKMKzUiEaSp8Cd0lHcmgmTo+AApH4LM+c";
    const BOB: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFfLnpMEPYT2kGwPDdnMvRCKfF2x4Wv5RM8vCeVBMwe1";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn login(keys: &AuthorizedKeys, key: &str, peer: &str) -> KeyDecision {
        keys.decide(&key.parse().unwrap(), Some(peer.parse().unwrap()), now())
    }

    #[test]
    fn maps_keys_by_option_or_comment_and_reports_bad_lines() {
        let text = format!(
            "# staff\n{ALICE} alice\n\nnot a key at all\nlogin=\"bob\",restrict {BOB} bob@laptop\n{ALICE}\n"
        );
        let (keys, problems) = AuthorizedKeys::parse(text.as_bytes(), Path::new("keys"));
        assert_eq!(keys.len(), 2);
        assert_eq!(
            login(&keys, ALICE, "10.0.0.1"),
            KeyDecision::Accept("alice".into())
        );
        assert_eq!(
            login(&keys, BOB, "10.0.0.1"),
            KeyDecision::Accept("bob".into()),
            "the option wins"
        );
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
    fn a_key_without_a_login_or_with_a_too_long_one_is_refused() {
        let (keys, problems) = AuthorizedKeys::parse(BOB.as_bytes(), Path::new("k"));
        assert!(keys.is_empty());
        assert_eq!(problems[0].line, 1);
        assert!(problems[0].message.contains("no login"));
        let long = format!("{BOB} {}", "x".repeat(65));
        let (keys, problems) = AuthorizedKeys::parse(long.as_bytes(), Path::new("k"));
        assert!(keys.is_empty());
        assert!(
            problems[0].message.contains("longer than 64"),
            "{problems:?}"
        );
    }

    #[test]
    fn options_without_a_comment_and_with_quoted_spaces_parse() {
        let text =
            format!("login=\"bob\" {BOB}\nfrom=\"10.0.0.1, 10.0.0.2\",login=\"a\" {ALICE}\n");
        let (keys, problems) = AuthorizedKeys::parse(text.as_bytes(), Path::new("k"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(keys.len(), 2);
        assert_eq!(
            login(&keys, ALICE, "10.0.0.2"),
            KeyDecision::Accept("a".into())
        );
    }

    #[test]
    fn latin1_bytes_skip_only_their_line_and_say_where() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"# Jos\xe9, ward 3\n");
        bytes.extend_from_slice(format!("{ALICE} Jos").as_bytes());
        bytes.extend_from_slice(b"\xe9\r\n");
        bytes.extend_from_slice(format!("login=\"bob\" {BOB} Jos").as_bytes());
        bytes.extend_from_slice(b"\xe9, ward 3\r\n");
        let (keys, problems) = AuthorizedKeys::parse(&bytes, Path::new("keys"));
        assert_eq!(
            login(&keys, BOB, "10.0.0.1"),
            KeyDecision::Accept("bob".into()),
            "a Latin-1 comment is harmless when login= names the login"
        );
        assert_eq!(login(&keys, ALICE, "10.0.0.1"), KeyDecision::Unknown);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].line, 2);
        assert!(
            problems[0].message.contains("byte 0xe9 at column")
                && problems[0].message.contains("not UTF-8"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn from_and_expiry_time_are_enforced() {
        let text = format!(
            "from=\"10.20.0.0/16,!10.20.9.9\",login=\"bob\" {BOB}\n\
             expiry-time=\"20260301115959Z\" {ALICE} alice\n"
        );
        let (keys, problems) = AuthorizedKeys::parse(text.as_bytes(), Path::new("k"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            login(&keys, BOB, "10.20.1.1"),
            KeyDecision::Accept("bob".into())
        );
        assert!(
            matches!(login(&keys, BOB, "10.20.9.9"), KeyDecision::Refused(why) if why.contains("from="))
        );
        assert!(matches!(
            login(&keys, BOB, "127.0.0.1"),
            KeyDecision::Refused(_)
        ));
        assert!(
            matches!(login(&keys, ALICE, "10.0.0.1"), KeyDecision::Refused(why) if why.contains("expiry-time"))
        );
    }

    #[test]
    fn an_unsupported_option_refuses_its_line_with_its_name() {
        let text = format!("command=\"/bin/sh\",login=\"bob\" {BOB}\n{ALICE} alice\n");
        let (keys, problems) = AuthorizedKeys::parse(text.as_bytes(), Path::new("keys"));
        assert_eq!(keys.len(), 1);
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .starts_with("keys:1: option command is not supported"),
            "{}",
            problems[0]
        );
    }
}
