//! For unit tests: an Ed25519 issuer that signs tokens, and a JWKS server on loopback (plain
//! HTTP, or HTTPS with a certificate for `localhost` from a CA made for the test).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use base64_simd::URL_SAFE_NO_PAD;
use rustls::ServerConfig;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

/// Signs tokens with one Ed25519 key, kid `k`.
pub struct Issuer {
    key: Ed25519KeyPair,
}

impl Issuer {
    pub fn new() -> Self {
        Self {
            key: Ed25519KeyPair::generate().unwrap(),
        }
    }

    /// The JWKS that publishes the key.
    pub fn jwks(&self) -> String {
        let x = URL_SAFE_NO_PAD.encode_to_string(self.key.public_key().as_ref());
        format!(r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"k","x":"{x}"}}]}}"#)
    }

    /// An `Authorization` value: a token for `sub` from `issuer` (also its audience), valid for
    /// 15 minutes from now.
    pub fn bearer(&self, sub: &str, issuer: &str) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = serde_json::json!({
            "sub": sub, "iss": issuer, "aud": issuer, "iat": now, "exp": now + 900,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode_to_string(r#"{"alg":"EdDSA","kid":"k","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode_to_string(claims.to_string())
        );
        let signature = URL_SAFE_NO_PAD.encode_to_string(self.key.sign(input.as_bytes()));
        format!("Bearer {input}.{signature}")
    }
}

/// A raw HTTP/1.1 answer that closes the connection.
pub fn answer(head: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 {head}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    [head.as_bytes(), body].concat()
}

/// A running JWKS server: its port, and how many requests it has read.
pub struct Server {
    pub port: u16,
    requests: Arc<AtomicUsize>,
}

impl Server {
    /// Serves on 127.0.0.1, over TLS when `tls` is given: the n-th connection gets `answers[n]`
    /// (the last one once they run out), or no answer ever when that is `None`.
    pub async fn start(answers: Vec<Option<Vec<u8>>>, tls: Option<ServerConfig>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        let tls = tls.map(|config| TlsAcceptor::from(Arc::new(config)));
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let index = counted.load(Ordering::SeqCst).min(answers.len() - 1);
                let answer = answers[index].clone();
                let counted = counted.clone();
                match &tls {
                    // A handshake the client refuses is not a request.
                    Some(tls) => match tls.accept(stream).await {
                        Ok(stream) => tokio::spawn(respond(stream, answer, counted)),
                        Err(_) => continue,
                    },
                    None => tokio::spawn(respond(stream, answer, counted)),
                };
            }
        });
        Self { port, requests }
    }

    /// Requests read so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn respond(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    answer: Option<Vec<u8>>,
    requests: Arc<AtomicUsize>,
) {
    let mut request = vec![0; 4096];
    let _ = stream.read(&mut request).await;
    requests.fetch_add(1, Ordering::SeqCst);
    match answer {
        Some(answer) => {
            let _ = stream.write_all(&answer).await;
            let _ = stream.shutdown().await;
        }
        None => std::future::pending().await,
    }
}

/// A CA made now (its certificate as PEM), and a TLS server configuration whose certificate,
/// for `localhost`, that CA signed.
pub fn private_ca() -> (String, ServerConfig) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    // Names of their own: a server certificate named like its issuer reads as self-signed.
    ca.distinguished_name
        .push(DnType::CommonName, "taskgate test CA");
    let ca_certificate = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_certificate = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &rcgen::Issuer::new(ca, ca_key))
        .unwrap();
    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let config = ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![server_certificate.der().clone()], key)
    .unwrap();
    (ca_certificate.pem(), config)
}
