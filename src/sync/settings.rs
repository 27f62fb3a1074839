//! Where the sender sends, and with what credentials: the `[sync]` config section, each value
//! also a flag and an environment variable (flag > environment > file). Everything is checked at
//! start, so a bad URL or an unreadable file is an error then, never a silent no-op later.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use reqwest::Url;
use serde::Deserialize;

use super::backoff::Backoff;
use crate::fhir::Recipient;

/// What the sender speaks: the native contract of docs/API.md, or FHIR R4 transactions to a
/// FHIR server's base URL (docs/FHIR.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SyncFormat {
    /// `POST /v1/events:batch` with the outbox's events (docs/API.md).
    #[default]
    Native,
    /// `POST {url}` with one FHIR R4 transaction Bundle per person (docs/FHIR.md).
    Fhir,
}

/// The `[sync]` section of the config file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// The hub's base URL, e.g. `https://reentry-hub.county.example` (the `/v1/...` paths are
    /// appended). `http` only to loopback.
    pub url: Option<String>,
    /// The facility the token belongs to; when set it must match the database's facility id.
    pub facility_id: Option<String>,
    /// A file holding the bearer token (first line not starting with `#`); mode 0600.
    pub token_file: Option<PathBuf>,
    /// PEM file of the county's CA certificate(s), added to the system roots.
    pub ca_file: Option<PathBuf>,
    /// Trust only `ca_file`, not the system roots.
    pub ca_only: bool,
    /// PEM client certificate (with `client_key`) for hubs that require mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub connect_timeout_secs: u64,
    pub request_timeout_secs: u64,
    /// Events per request (1 to 100).
    pub batch_size: usize,
    /// The board sends too when it can take the sender lock (no `sync` service running).
    pub board_sends: bool,
    /// `native` (docs/API.md) or `fhir` (FHIR R4 transactions to `url`, docs/FHIR.md).
    pub format: SyncFormat,
    /// With `format = "fhir"`: who receives it, which decides what Part 2 data may go.
    pub fhir_recipient: Recipient,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            url: None,
            facility_id: None,
            token_file: None,
            ca_file: None,
            ca_only: false,
            client_cert: None,
            client_key: None,
            connect_timeout_secs: 5,
            request_timeout_secs: 30,
            batch_size: 100,
            board_sends: true,
            format: SyncFormat::Native,
            fhir_recipient: Recipient::HealthPlan,
        }
    }
}

impl SyncConfig {
    /// Checks what can be checked without touching files: `Err((key, message))`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(url) = &self.url {
            parse_url(url).map_err(|e| ("url", format!("{e:#}")))?;
        }
        if !(1..=crate::hub::MAX_BATCH).contains(&self.batch_size) {
            return Err((
                "batch_size",
                format!("must be 1 to {}", crate::hub::MAX_BATCH),
            ));
        }
        if self.connect_timeout_secs == 0 {
            return Err(("connect_timeout_secs", "must be at least 1".into()));
        }
        if self.request_timeout_secs == 0 {
            return Err(("request_timeout_secs", "must be at least 1".into()));
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            return Err((
                "client_cert",
                "client_cert and client_key go together".into(),
            ));
        }
        Ok(())
    }
}

/// Values given on the command line or in the environment (`crate::cli::SyncConnArgs` reads
/// both); `None` falls back to the file.
#[derive(Debug, Clone, Default)]
pub struct SyncOverrides {
    pub url: Option<String>,
    pub facility_id: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ca_file: Option<PathBuf>,
    pub ca_only: Option<bool>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub connect_timeout_secs: Option<u64>,
    pub request_timeout_secs: Option<u64>,
    pub batch_size: Option<usize>,
    /// Tests shorten the backoff base; production keeps 1 s.
    pub backoff_base: Option<Duration>,
    /// How often a paused queue tries its credentials again.
    pub pause_probe: Option<Duration>,
    pub format: Option<SyncFormat>,
    pub fhir_recipient: Option<Recipient>,
}

/// Everything the sender needs, checked.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub url: Url,
    pub facility_id: Option<String>,
    pub token_file: PathBuf,
    pub ca_file: Option<PathBuf>,
    pub ca_only: bool,
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub batch_size: usize,
    pub backoff: Backoff,
    /// How often an idle sender looks for new events (a cheap `PRAGMA data_version`).
    pub idle_poll: Duration,
    pub pause_probe: Duration,
    pub format: SyncFormat,
    pub fhir_recipient: Recipient,
    /// The county's timeline, for the milestone Tasks of FHIR transactions.
    pub rules: crate::domain::Rules,
}

impl SyncSettings {
    /// Merges flags and environment over the file and checks the result.
    pub fn resolve(file: &SyncConfig, over: &SyncOverrides) -> anyhow::Result<Self> {
        let url = over.url.clone().or_else(|| file.url.clone()).context(
            "no hub URL: pass --url, set REENTRY_SYNC_URL, or set `url` in the [sync] section \
             of the config file",
        )?;
        let url = parse_url(&url)?;
        let token_file = over
            .token_file
            .clone()
            .or_else(|| file.token_file.clone())
            .context(
                "no token file: pass --token-file, set REENTRY_SYNC_TOKEN_FILE, or set \
                 `token_file` in the [sync] section",
            )?;
        let client_cert = match (
            over.client_cert
                .clone()
                .or_else(|| file.client_cert.clone()),
            over.client_key.clone().or_else(|| file.client_key.clone()),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => bail!("a client certificate needs both --client-cert and --client-key"),
        };
        let batch_size = over.batch_size.unwrap_or(file.batch_size);
        if !(1..=crate::hub::MAX_BATCH).contains(&batch_size) {
            bail!(
                "batch size {batch_size}: must be 1 to {}",
                crate::hub::MAX_BATCH
            );
        }
        let secs = |v: u64, what: &str| -> anyhow::Result<Duration> {
            if v == 0 {
                bail!("{what} must be at least 1 second");
            }
            Ok(Duration::from_secs(v))
        };
        Ok(Self {
            url,
            facility_id: over
                .facility_id
                .clone()
                .or_else(|| file.facility_id.clone()),
            token_file,
            ca_file: over.ca_file.clone().or_else(|| file.ca_file.clone()),
            ca_only: over.ca_only.unwrap_or(file.ca_only),
            client_cert,
            connect_timeout: secs(
                over.connect_timeout_secs
                    .unwrap_or(file.connect_timeout_secs),
                "the connect timeout",
            )?,
            request_timeout: secs(
                over.request_timeout_secs
                    .unwrap_or(file.request_timeout_secs),
                "the request timeout",
            )?,
            batch_size,
            backoff: Backoff {
                base: over.backoff_base.unwrap_or(Backoff::default().base),
                ..Backoff::default()
            },
            idle_poll: Duration::from_secs(1),
            pause_probe: over.pause_probe.unwrap_or(Duration::from_secs(60)),
            format: over.format.unwrap_or(file.format),
            fhir_recipient: over.fhir_recipient.unwrap_or(file.fhir_recipient),
            rules: crate::domain::Rules::default(),
        })
        .and_then(|s: Self| {
            if s.ca_only && s.ca_file.is_none() {
                bail!("--ca-only needs a CA file (--ca-file or `ca_file` in [sync])");
            }
            Ok(s)
        })
    }

    /// `<base>/v1/<path>`, keeping a path prefix of the base URL.
    /// The county's timeline rules (the config's `[rules]`), for FHIR's milestone Tasks.
    pub fn with_rules(mut self, rules: crate::domain::Rules) -> Self {
        self.rules = rules;
        self
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!(
            "{}/v1/{}",
            self.url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// A base URL the sender may use: https anywhere, http only to loopback, no credentials, query
/// or fragment in it (URLs end up in logs).
pub fn parse_url(text: &str) -> anyhow::Result<Url> {
    let url = Url::parse(text.trim())
        .with_context(|| format!("`{text}` is not a URL (e.g. https://hub.county.example)"))?;
    let host = url
        .host_str()
        .with_context(|| format!("`{text}` names no host"))?
        .to_string();
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => bail!(
            "`{text}`: plain http to {host} is refused; use https (http is allowed only to \
             localhost / 127.0.0.1 / ::1)"
        ),
        other => bail!("`{text}`: the scheme must be https (or http to loopback), not {other}"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        bail!("`{text}`: put no credentials in the URL; the token goes in the token file");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("`{text}`: the hub URL takes no query or fragment");
    }
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert!(parse_url("https://hub.county.example").is_ok());
        assert!(parse_url("https://hub.county.example/reentry/").is_ok());
        for ok in [
            "http://127.0.0.1:8787",
            "http://localhost:1",
            "http://[::1]:80",
        ] {
            assert!(parse_url(ok).is_ok(), "{ok}");
        }
        let e = parse_url("http://hub.county.example")
            .unwrap_err()
            .to_string();
        assert!(e.contains("plain http"), "{e}");
        let e = parse_url("http://10.0.0.5:8080").unwrap_err().to_string();
        assert!(e.contains("plain http"), "{e}");
        assert!(parse_url("ftp://localhost").is_err());
        assert!(parse_url("hub.county.example").is_err());
        assert!(parse_url("https://u:p@hub.example").is_err());
        assert!(parse_url("https://hub.example/?token=x").is_err());
    }

    #[test]
    fn flags_win_over_the_file_and_missing_values_are_named() {
        let file = SyncConfig {
            url: Some("https://file.example".into()),
            token_file: Some("/etc/token".into()),
            ..SyncConfig::default()
        };
        let over = SyncOverrides {
            url: Some("http://127.0.0.1:9".into()),
            ..SyncOverrides::default()
        };
        let s = SyncSettings::resolve(&file, &over).unwrap();
        assert_eq!(s.url.as_str(), "http://127.0.0.1:9/");
        assert_eq!(
            s.endpoint("events:batch"),
            "http://127.0.0.1:9/v1/events:batch"
        );
        let e = SyncSettings::resolve(&SyncConfig::default(), &SyncOverrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no hub URL"), "{e}");
    }
}
