//! The admission webhook's HTTPS listener: rustls (ring provider) in front of
//! [`super::webhook::router`], on its own port (`webhook_listen`), because the Kubernetes API
//! server calls webhooks over HTTPS only.
//!
//! The certificate and key are PEM files, checked at start and re-read when either file
//! changes (looked at no more than every few seconds, on a new handshake), so a certificate
//! renewed by cert-manager or a mounted Secret is picked up without a restart; a renewal that
//! does not load keeps the previous certificate and is logged. TLS handshakes run in their own
//! tasks with a timeout, so a slow client holds up no one else. With `webhook_client_ca` the
//! listener requires a client certificate signed by that CA (the API server's, configured in
//! its `--admission-control-config-file`).

use super::settings::WebhookTls;
use crate::state::AppState;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate files are looked at for changes, at most.
const RELOAD_CHECK: Duration = Duration::from_secs(5);
/// Largest PEM file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;
/// Handshaken connections waiting to be served, at most.
const READY_QUEUE: usize = 64;

/// Why the webhook listener cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook TLS file {path}: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("webhook TLS: {0}")]
    Tls(String),
    #[error("cannot listen on {addr} (webhook_listen): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_pem(path: &Path) -> Result<Vec<u8>, WebhookError> {
    use std::io::Read;
    let fail = |message: String| WebhookError::Pem {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.to_string()))?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(fail(format!("larger than {MAX_PEM_BYTES} bytes")));
    }
    Ok(bytes)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, WebhookError> {
    let bytes = read_pem(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| WebhookError::Pem {
            path: path.to_path_buf(),
            message: format!("not PEM certificates: {e}"),
        })?;
    if certs.is_empty() {
        return Err(WebhookError::Pem {
            path: path.to_path_buf(),
            message: "no CERTIFICATE block".to_string(),
        });
    }
    Ok(certs)
}

/// Loads and checks a certificate chain and its key.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, WebhookError> {
    let chain = read_certs(cert)?;
    let key_bytes = read_pem(key)?;
    let private = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| WebhookError::Pem {
        path: key.to_path_buf(),
        message: format!("no usable private key: {e}"),
    })?;
    CertifiedKey::from_der(chain, private, &provider()).map_err(|e| WebhookError::Pem {
        path: key.to_path_buf(),
        message: format!("does not go with {}: {e}", cert.display()),
    })
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Serves the current certificate, re-reading the files when they change.
#[derive(Debug)]
struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    state: Mutex<CertState>,
}

#[derive(Debug)]
struct CertState {
    current: Arc<CertifiedKey>,
    stamps: (Option<SystemTime>, Option<SystemTime>),
    checked: Instant,
}

impl ReloadingCert {
    fn new(cert: &Path, key: &Path) -> Result<ReloadingCert, WebhookError> {
        let stamps = (modified(cert), modified(key));
        let current = Arc::new(load_certified_key(cert, key)?);
        Ok(ReloadingCert {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            state: Mutex::new(CertState {
                current,
                stamps,
                checked: Instant::now(),
            }),
        })
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.checked.elapsed() >= RELOAD_CHECK {
            state.checked = Instant::now();
            let stamps = (modified(&self.cert), modified(&self.key));
            if stamps != state.stamps {
                match load_certified_key(&self.cert, &self.key) {
                    Ok(key) => {
                        tracing::info!(cert = %self.cert.display(), "webhook certificate reloaded");
                        state.current = Arc::new(key);
                        state.stamps = stamps;
                    }
                    // Half-written renewals settle within a check or two; keep serving.
                    Err(err) => tracing::warn!(error = %err, "webhook certificate not reloaded"),
                }
            }
        }
        Some(state.current.clone())
    }
}

/// The rustls server configuration for the webhook.
pub fn server_config(tls: &WebhookTls) -> Result<rustls::ServerConfig, WebhookError> {
    let resolver = Arc::new(ReloadingCert::new(&tls.cert, &tls.key)?);
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WebhookError::Tls(e.to_string()))?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert).map_err(|e| WebhookError::Pem {
                    path: ca.clone(),
                    message: format!("not a CA certificate: {e}"),
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| WebhookError::Tls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A bound webhook listener, not yet serving.
pub struct WebhookListener {
    listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl WebhookListener {
    /// Loads the certificate (errors name the file) and binds the address.
    pub async fn bind(tls: &WebhookTls) -> Result<WebhookListener, WebhookError> {
        let config = server_config(tls)?;
        let listener =
            TcpListener::bind(tls.listen)
                .await
                .map_err(|source| WebhookError::Bind {
                    addr: tls.listen,
                    source,
                })?;
        Ok(WebhookListener {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves [`super::webhook::router`] until [`WebhookTask::stop`].
    pub fn spawn(self, state: AppState) -> WebhookTask {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let listener = TlsListener::start(self.listener, self.acceptor);
        let router = super::webhook::router(state);
        let handle = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        });
        WebhookTask { stop, handle }
    }
}

/// The running webhook server.
pub struct WebhookTask {
    stop: tokio::sync::watch::Sender<bool>,
    handle: JoinHandle<std::io::Result<()>>,
}

impl WebhookTask {
    /// Stops accepting, lets open requests finish, and waits.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        match self.handle.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "webhook listener failed"),
            Err(err) => tracing::warn!(error = %err, "webhook listener task failed"),
        }
    }
}

/// An axum listener yielding TLS streams whose handshakes completed (in their own tasks).
struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl TlsListener {
    fn start(listener: TcpListener, acceptor: TlsAcceptor) -> TlsListener {
        let local = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (sender, ready) = mpsc::channel(READY_QUEUE);
        let accept_task = tokio::spawn(async move {
            loop {
                let (tcp, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %err, "webhook accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => {
                            let _ = sender.send((stream, peer)).await;
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(peer = %peer, error = %err, "webhook TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(peer = %peer, "webhook TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener {
            ready,
            local,
            accept_task,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept task ended (it never does on its own): serve nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
