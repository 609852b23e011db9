//! Better Auth's JWKS as production serves it, on loopback: over HTTPS, at
//! `https://localhost:PORT/api/auth/jwks`, with a certificate for `localhost` signed by a CA
//! made at start (`rcgen`). The functions trust that CA through `AUTH_JWKS_CA_BUNDLE` (the
//! baselines through the same file); the server counts the fetches.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::routing::get;
use axum::serve::Listener;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A running HTTPS JWKS server.
pub struct HttpsJwks {
    /// The URL, for `AUTH_JWKS_URL`.
    pub url: String,
    /// The CA's certificate (PEM), for `AUTH_JWKS_CA_BUNDLE`.
    pub ca_bundle: PathBuf,
    fetches: Arc<AtomicUsize>,
}

impl HttpsJwks {
    /// Serves `jwks` (cacheable for 5 minutes); writes the CA's certificate into `dir`.
    pub async fn start(jwks: String, dir: &Path) -> Self {
        let (ca_pem, tls) = certificates();
        let ca_bundle = dir.join("jwks-ca.pem");
        std::fs::write(&ca_bundle, ca_pem).expect("write the CA bundle");
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let app = Router::new().route(
            "/api/auth/jwks",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let jwks = jwks.clone();
                async move {
                    (
                        [
                            (CONTENT_TYPE, "application/json"),
                            (CACHE_CONTROL, "public, max-age=300"),
                        ],
                        jwks,
                    )
                }
            }),
        );
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = tcp.local_addr().expect("address").port();
        let listener = TlsListener {
            tcp,
            tls: TlsAcceptor::from(Arc::new(tls)),
        };
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url: format!("https://localhost:{port}/api/auth/jwks"),
            ca_bundle,
            fetches,
        }
    }

    /// Fetches served so far.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// The CA's certificate (PEM), and the server's TLS settings with a certificate for
/// `localhost` that CA signed.
fn certificates() -> (String, ServerConfig) {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    // Names of their own: a server certificate named like its issuer reads as self-signed.
    ca.distinguished_name
        .push(DnType::CommonName, "taskgate cold-start CA");
    let ca_certificate = ca.self_signed(&ca_key).expect("CA certificate");
    let server_key = KeyPair::generate().expect("server key");
    let server_certificate = CertificateParams::new(vec!["localhost".to_string()])
        .expect("server parameters")
        .signed_by(&server_key, &Issuer::new(ca, ca_key))
        .expect("server certificate");
    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let tls = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(vec![server_certificate.der().clone()], key)
    .expect("server TLS settings");
    (ca_certificate.pem(), tls)
}

/// TCP connections that completed a TLS handshake.
struct TlsListener {
    tcp: TcpListener,
    tls: TlsAcceptor,
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, address)) = self.tcp.accept().await else {
                continue;
            };
            // A client that refuses the certificate ends the handshake: not a connection.
            if let Ok(stream) = self.tls.accept(stream).await {
                return (stream, address);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
