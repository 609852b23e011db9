//! The certificate authorities the AWS clients trust: the Amazon Trust Services roots every AWS
//! service endpoint chains to, built in, or the bundle `AWS_CA_BUNDLE` names.
//!
//! The SDK's default is every root certificate of the system, parsed at each cold start (on
//! Debian, the bundle and then each of ~150 files of `/etc/ssl/certs` once more): most of a
//! function's init time, to reach endpoints that only ever present Amazon's chains.

use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::ca_bundle;
use crate::config::ConfigError;

/// Amazon Root CA 1 to 4 and Starfield Services Root CA G2, from the Mozilla root program (the
/// test below checks each against it); what AWS service endpoints present, VPC endpoints and
/// FIPS endpoints included.
pub(super) const AMAZON_ROOTS: &[u8] = include_bytes!("amazon-trust-services.pem");

/// The HTTPS client of every AWS SDK client (rustls on aws-lc, the SDK's own), trusting
/// `roots` (PEM) only.
pub(super) fn https_client(roots: &[u8]) -> SharedHttpClient {
    let trust = TrustStore::empty().with_pem_certificate(roots);
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context from a trust store always builds");
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https()
}

/// The roots to trust: the PEM file at `bundle` (`AWS_CA_BUNDLE`, read as the AWS CLI reads
/// it) when set, for a proxy or an endpoint with a private CA; else the Amazon roots.
pub(super) fn roots(bundle: Option<&str>) -> Result<Vec<u8>, ConfigError> {
    match bundle {
        Some(path) => Ok(ca_bundle::read("AWS_CA_BUNDLE", path)?.pem),
        None => Ok(AMAZON_ROOTS.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn the_built_in_roots_are_amazons_as_mozilla_ships_them() {
        let built_in: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(AMAZON_ROOTS)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(built_in.len(), 5);
        for certificate in &built_in {
            assert!(
                webpki_root_certs::TLS_SERVER_ROOT_CERTS.contains(certificate),
                "not in Mozilla's root program: {certificate:?}"
            );
        }
        assert_eq!(ca_bundle::trust_anchors(AMAZON_ROOTS).unwrap().len(), 5);
    }

    #[test]
    fn aws_ca_bundle_replaces_the_built_in_roots() {
        assert_eq!(roots(None).unwrap(), AMAZON_ROOTS);
        let dir = std::env::temp_dir().join(format!("taskgate-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bundle = dir.join("bundle.pem");
        let one_root = &AMAZON_ROOTS[..AMAZON_ROOTS.windows(3).rposition(|w| w == b"# s").unwrap()];
        std::fs::write(&bundle, one_root).unwrap();
        assert_eq!(roots(bundle.to_str()).unwrap(), one_root);
        std::fs::write(&bundle, "not a certificate").unwrap();
        let error = roots(bundle.to_str()).unwrap_err().to_string();
        assert!(
            error.contains("AWS_CA_BUNDLE") && error.contains("no PEM certificate"),
            "{error}"
        );
        let missing = dir.join("missing.pem");
        let error = roots(missing.to_str()).unwrap_err().to_string();
        assert!(
            error.contains("AWS_CA_BUNDLE") && error.contains("cannot read"),
            "{error}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
