//! The accept loop: plain HTTP/1.1 or TLS (rustls), graceful shutdown, and a per-connection
//! handle so the fault layer can drop a connection after a commit.
//!
//! Our own small loop on hyper instead of `axum::serve` because it gives the TLS handshake its own
//! task (a slow client cannot stall `accept`) and lets a request reach its TCP connection.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use super::bare_errors::BareErrors;
use super::faults::ConnHandle;
use super::limits::{ConnLimits, Connections, LimitedIo, Refusal};
use crate::log_every::LogEvery;

/// A client must send its request headers within this time (slow-loris guard).
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// hyper's read buffer, and so the most a request's head may take (431 above it).
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// After a shutdown signal, requests in progress get this long to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Loads a PEM certificate chain and private key into a rustls server config (ring provider,
/// TLS 1.2 and 1.3, HTTP/1.1 by ALPN), without client certificates or reloading.
pub fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let files = super::tls::TlsFiles {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        client_ca: None,
    };
    Ok(files.load()?.0)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in progress
/// finish (up to [`DRAIN_TIMEOUT`]). Connections are held to `limits`.
pub async fn run(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<ServerConfig>>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let connections = Connections::new(limits);
    let mut refused = LogEvery::new("hub: connections refused");
    let mut failed = LogEvery::new("hub: accept failed");
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match connections.admit_or_wait(peer.ip()).await {
                    Ok(place) => {
                        let _ = stream.set_nodelay(true);
                        let io = LimitedIo::new(stream, place);
                        let router = router.clone();
                        let acceptor = acceptor.clone();
                        let watcher = graceful.watcher();
                        tokio::spawn(connection(io, router, acceptor, watcher));
                    }
                    // Closed at once: a flood from one address costs a descriptor only for an
                    // instant, and never the places the others need.
                    Err(Refusal::PerAddress) => refused.hit("per address"),
                    Err(Refusal::Full) => refused.hit("every connection busy"),
                },
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    failed.hit(&error.to_string());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    tracing::info!(open_connections = graceful.count(), "shutting down");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the drain timeout; closing them");
    }
    Ok(())
}

async fn connection(
    stream: LimitedIo<TcpStream>,
    router: Router,
    acceptor: Option<TlsAcceptor>,
    watcher: Watcher,
) {
    let handle = ConnHandle::default();
    let io = KillableIo {
        inner: stream,
        handle: handle.clone(),
    };
    match acceptor {
        None => http(io, router, handle, watcher).await,
        Some(acceptor) => {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
                Ok(Ok(tls)) => http(tls, router, handle, watcher).await,
                // One readable line for operators: a client without a certificate, an expired
                // one, plain http to the TLS port.
                Ok(Err(error)) => tracing::info!(
                    error = crate::tls_words::describe(&error, crate::tls_words::Side::Server)
                        .unwrap_or_else(|| error.to_string()),
                    "TLS handshake failed"
                ),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn http<I>(io: I, router: Router, handle: ConnHandle, watcher: Watcher)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(handle.clone());
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES);
    let connection = builder.serve_connection(TokioIo::new(BareErrors::new(io)), service);
    if let Err(error) = watcher.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// A stream whose reads and writes fail once its handle is killed.
struct KillableIo<T> {
    inner: T,
    handle: ConnHandle,
}

fn aborted() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "connection dropped by fault injection",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for KillableIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.handle.is_killed() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for KillableIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.handle.is_killed() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.handle.is_killed() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.handle.is_killed() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
