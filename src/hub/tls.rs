//! The hub's TLS files: certificate chain, private key and, for mutual TLS, the CA whose client
//! certificates it requires. [`TlsFiles::load`] gives a rustls config whose certificate and client
//! verifier are read through [`TlsReload`], so SIGHUP can swap them without a restart: connections
//! already open keep what they were made with, new ones get the new files.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context as _, bail};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig};

/// Where the hub's TLS material lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// When set, every client must present a certificate signed by one of these CAs.
    pub client_ca: Option<PathBuf>,
}

/// What one reading of the files gave.
struct Loaded {
    key: Arc<CertifiedKey>,
    verifier: Option<Arc<dyn ClientCertVerifier>>,
}

/// The current certificate and client verifier, swapped whole by [`TlsReload::reload`].
pub struct TlsReload {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<Loaded>>,
}

impl fmt::Debug for TlsReload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsReload")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// Reads the files and builds the server config (ring provider, TLS 1.2 and 1.3, HTTP/1.1 by
    /// ALPN). The [`TlsReload`] handle re-reads the same files later.
    pub fn load(&self) -> anyhow::Result<(Arc<ServerConfig>, Arc<TlsReload>)> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let loaded = read(self, &provider)?;
        let mutual = loaded.verifier.is_some();
        let reload = Arc::new(TlsReload {
            files: self.clone(),
            provider: provider.clone(),
            current: RwLock::new(Arc::new(loaded)),
        });
        let builder = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("no TLS protocol version is available")?;
        let builder = if mutual {
            builder.with_client_cert_verifier(reload.clone())
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder.with_cert_resolver(reload.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok((Arc::new(config), reload))
    }
}

impl TlsReload {
    /// Reads the files again. On any problem the old certificate and CA stay in use and the
    /// error says what is wrong with which file. Turning mutual TLS on or off needs a restart.
    pub fn reload(&self) -> anyhow::Result<()> {
        let loaded = read(&self.files, &self.provider)?;
        let mut current = self
            .current
            .write()
            .map_err(|_| anyhow::anyhow!("the TLS state lock is poisoned"))?;
        *current = Arc::new(loaded);
        Ok(())
    }

    fn current(&self) -> Option<Arc<Loaded>> {
        self.current.read().ok().map(|c| c.clone())
    }

    fn verifier(&self) -> Result<Arc<dyn ClientCertVerifier>, rustls::Error> {
        self.current()
            .and_then(|c| c.verifier.clone())
            .ok_or_else(|| rustls::Error::General("no client CA is loaded".into()))
    }
}

impl ResolvesServerCert for TlsReload {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current().map(|c| c.key.clone())
    }
}

impl ClientCertVerifier for TlsReload {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    /// No hints: they would have to outlive a reload. Clients send their certificate anyway.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.verifier()?
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier()?.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn read(files: &TlsFiles, provider: &Arc<CryptoProvider>) -> anyhow::Result<Loaded> {
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read a PEM private key from {}", files.key.display()))?;
    let key = CertifiedKey::from_der(certs, key, provider).with_context(|| {
        format!(
            "the certificate {} and the private key {} do not make a usable pair",
            files.cert.display(),
            files.key.display()
        )
    })?;
    let verifier = match &files.client_ca {
        None => None,
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert).with_context(|| {
                    format!("{} holds an unusable CA certificate", ca.display())
                })?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .with_context(|| {
                        format!("cannot verify client certificates with {}", ca.display())
                    })?;
            Some(verifier)
        }
    };
    Ok(Loaded {
        key: Arc::new(key),
        verifier,
    })
}

pub(crate) fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read the certificate file {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} holds a malformed certificate", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certs)
}
