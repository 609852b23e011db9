//! A PEM file of CA certificates that a variable names: `AWS_CA_BUNDLE` for the AWS clients,
//! `AUTH_JWKS_CA_BUNDLE` for the JWKS fetch; for an endpoint with a private CA or behind a
//! TLS-inspecting proxy. Read once, at start: a file that cannot be read, or that holds no CA
//! certificate, stops the start with one line naming the variable.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::config::ConfigError;

/// The certificates of one bundle: as the file holds them, and as trust anchors.
pub struct CaBundle {
    pub pem: Vec<u8>,
    pub roots: RootCertStore,
}

/// The bundle at `path`, which `variable` names (errors name it).
pub fn read(variable: &'static str, path: &str) -> Result<CaBundle, ConfigError> {
    let pem = std::fs::read(path)
        .map_err(|error| ConfigError::new(variable, format!("cannot read {path}: {error}")))?;
    match trust_anchors(&pem) {
        Ok(roots) if roots.is_empty() => Err(ConfigError::new(
            variable,
            format!("{path} holds no PEM certificate"),
        )),
        Ok(roots) => Ok(CaBundle { pem, roots }),
        Err(reason) => Err(ConfigError::new(
            variable,
            format!("{path} is not a bundle of CA certificates: {reason}"),
        )),
    }
}

/// The trust anchors of `pem`, or why one of its certificates cannot be one (the AWS SDK would
/// panic on it).
pub fn trust_anchors(pem: &[u8]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(pem) {
        let certificate = certificate.map_err(|error| error.to_string())?;
        roots.add(certificate).map_err(|error| error.to_string())?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_must_hold_ca_certificates() {
        assert!(trust_anchors(b"").unwrap().is_empty());
        assert!(
            trust_anchors(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }

    #[test]
    fn errors_name_the_variable_and_the_file() {
        let dir = std::env::temp_dir().join(format!("taskgate-bundle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_only = dir.join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let path = key_only.to_str().unwrap();
        let error = read("SOME_CA_BUNDLE", path).err().unwrap().to_string();
        assert_eq!(
            error,
            format!("configuration error: SOME_CA_BUNDLE: {path} holds no PEM certificate")
        );
        let missing = dir.join("missing.pem");
        let error = read("SOME_CA_BUNDLE", missing.to_str().unwrap())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.starts_with("configuration error: SOME_CA_BUNDLE: cannot read "),
            "{error}"
        );
        assert!(!error.contains('\n'), "one line: {error}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
