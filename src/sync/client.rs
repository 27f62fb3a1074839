//! The HTTP side: a reqwest client (rustls) built from checked settings, one batch per request,
//! and the hub's answer sorted into what the sender does next (docs/API.md section 9).

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;

use super::backoff::parse_retry_after;
use super::settings::SyncSettings;

/// What the hub said about a whole request.
#[derive(Debug)]
pub enum Reply {
    /// 200 with one result per event, in order.
    Items(Vec<Item>),
    /// The request as a whole failed with this status.
    Status {
        status: u16,
        retry_after: Option<Duration>,
        problem: String,
    },
    /// No HTTP answer: connect failure, timeout, dropped connection. `tls` when the handshake or
    /// the certificate failed: that pauses the queue instead of backing off.
    Network { error: String, tls: bool },
}

/// One event's result in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Stored,
    Deferred,
    Rejected {
        status: u16,
        kind: String,
        detail: String,
    },
}

#[derive(Deserialize)]
struct BatchBody {
    results: Vec<BatchResult>,
}

#[derive(Deserialize)]
struct BatchResult {
    index: usize,
    result: String,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    problem: Option<ProblemBody>,
}

#[derive(Deserialize, Default)]
struct ProblemBody {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    errors: Vec<String>,
}

impl ProblemBody {
    fn slug(&self) -> &str {
        self.kind.rsplit(':').next().unwrap_or_default()
    }

    /// Detail and schema errors; they never repeat the offending values (docs/API.md section 8).
    fn words(&self) -> String {
        let mut words = self.detail.clone();
        if !self.errors.is_empty() {
            words.push_str(": ");
            words.push_str(&self.errors.join("; "));
        }
        words
    }
}

/// The client and the token it presents. The token is never logged or shown.
pub struct HubClient {
    http: reqwest::Client,
    batch_url: String,
    token: String,
    token_file: std::path::PathBuf,
    token_stamp: Option<(std::time::SystemTime, u64)>,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("batch_url", &self.batch_url)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// Reads the token and the certificates and builds the client; every problem is an error
    /// naming the file.
    pub fn new(settings: &SyncSettings) -> anyhow::Result<Self> {
        // rustls needs a process-wide crypto provider; another part may have installed it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let token = read_token(&settings.token_file)?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            // Drop an idle connection before a hub closes it (the reference hub after 60 s), so
            // a request never goes out on a connection the hub is closing.
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .user_agent(concat!("reentry-board/", env!("CARGO_PKG_VERSION")))
            .https_only(settings.url.scheme() == "https")
            .redirect(reqwest::redirect::Policy::none());
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca)
                .with_context(|| format!("cannot read the CA file {}", ca.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("{} is not a PEM certificate file", ca.display()))?;
            if certs.is_empty() {
                bail!("{} holds no PEM certificate", ca.display());
            }
            builder = if settings.ca_only {
                builder.tls_certs_only(certs)
            } else {
                builder.tls_certs_merge(certs)
            };
        }
        if let Some((cert, key)) = &settings.client_cert {
            let mut pem = std::fs::read(cert).with_context(|| {
                format!("cannot read the client certificate {}", cert.display())
            })?;
            pem.push(b'\n');
            pem.extend(
                std::fs::read(key)
                    .with_context(|| format!("cannot read the client key {}", key.display()))?,
            );
            let identity = reqwest::Identity::from_pem(&pem).with_context(|| {
                format!(
                    "{} and {} are not a PEM certificate and private key",
                    cert.display(),
                    key.display()
                )
            })?;
            builder = builder.identity(identity);
        }
        let http = builder
            .build()
            .context("cannot set up the HTTPS client (check the CA and client certificate)")?;
        Ok(Self {
            http,
            batch_url: settings.endpoint("events:batch"),
            token,
            token_file: settings.token_file.clone(),
            token_stamp: stamp(&settings.token_file),
        })
    }

    /// Reads the token file again if it changed since: a fixed token lifts a 401 pause without a
    /// restart. `Ok(true)` when a new token was read.
    pub fn reload_token_if_changed(&mut self) -> anyhow::Result<bool> {
        let now = stamp(&self.token_file);
        if now == self.token_stamp {
            return Ok(false);
        }
        self.token_stamp = now;
        let token = read_token(&self.token_file)?;
        let changed = token != self.token;
        self.token = token;
        Ok(changed)
    }

    /// POSTs the events (their stored bytes, unchanged) as one batch.
    pub async fn send(&self, payloads: &[&str], now: DateTime<Utc>) -> Reply {
        let mut body =
            String::with_capacity(payloads.iter().map(|p| p.len() + 1).sum::<usize>() + 16);
        body.push_str("{\"events\":[");
        for (i, p) in payloads.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(p);
        }
        body.push_str("]}");
        let response = self
            .http
            .post(&self.batch_url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return network(&e),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return network(&e),
        };
        if status != StatusCode::OK {
            let problem: ProblemBody = serde_json::from_slice(&bytes).unwrap_or_default();
            let slug = problem.slug().to_string();
            return Reply::Status {
                status: status.as_u16(),
                retry_after,
                problem: format!("{} {slug}: {}", status.as_u16(), problem.words())
                    .trim_end_matches([' ', ':'])
                    .to_string(),
            };
        }
        let parsed: BatchBody = match serde_json::from_slice(&bytes) {
            Ok(p) => p,
            Err(e) => {
                return Reply::Status {
                    status: 200,
                    retry_after: None,
                    problem: format!("the hub's answer is not a batch result: {e}"),
                };
            }
        };
        let mut items = vec![Item::Deferred; payloads.len()];
        for r in parsed.results {
            let Some(slot) = items.get_mut(r.index) else {
                continue;
            };
            *slot = match r.result.as_str() {
                "created" | "duplicate" => Item::Stored,
                "deferred" => Item::Deferred,
                _ => {
                    let problem = r.problem.unwrap_or_default();
                    Item::Rejected {
                        status: r.status,
                        kind: problem.slug().to_string(),
                        detail: problem.words(),
                    }
                }
            };
        }
        Reply::Items(items)
    }
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl HubClient {
    /// POSTs `body` to `url` with the token; `Err` is a request that got no HTTP answer, as a
    /// [`Reply::Network`].
    pub async fn post_raw(
        &self,
        url: &str,
        content_type: &str,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<RawAnswer, Reply> {
        let response = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header(reqwest::header::ACCEPT, content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| network(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now));
        let body = response.bytes().await.map_err(|e| network(&e))?.to_vec();
        Ok(RawAnswer {
            status,
            retry_after,
            body,
        })
    }
}

fn network(e: &reqwest::Error) -> Reply {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "connection failed"
    };
    // A TLS failure is one line that says what to fix, not the library's nested debug text.
    if let Some(words) = crate::tls_words::describe(e, crate::tls_words::Side::Client) {
        return Reply::Network {
            error: words,
            tls: true,
        };
    }
    let mut words = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        let text = err.to_string();
        if !words.contains(&text) {
            if !words.is_empty() {
                words.push_str(": ");
            }
            words.push_str(&text);
        }
        source = err.source();
    }
    let lower = words.to_ascii_lowercase();
    let tls = lower.contains("certificate") || lower.contains("tls handshake");
    Reply::Network {
        error: format!("{kind}: {words}"),
        tls,
    }
}

fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The token: the first line that is not empty or a `#` comment (so the output of
/// `reentry-board hub token add` can be saved as is). The file must be private to its owner.
pub fn read_token(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "the token file {} can be read by other accounts (mode {:o}); run `chmod 600 {}`",
            path.display(),
            meta.permissions().mode() & 0o777,
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .with_context(|| format!("the token file {} holds no token", path.display()))?;
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!(
            "the token file {} holds more than one word on its token line",
            path.display()
        );
    }
    Ok(token.to_string())
}
