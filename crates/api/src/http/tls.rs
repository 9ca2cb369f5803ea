//! HTTPS from PEM files (`HIENMAU_TLS_CERT`, `HIENMAU_TLS_KEY`): rustls with the ring
//! provider, so the binary needs no OpenSSL. Both files or neither; anything else refuses to
//! start with a message naming the variable or the file.

use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::settings::Settings;

/// The TLS configuration the settings ask for: None for plain HTTP (neither file given).
pub fn server_config(settings: &Settings) -> Result<Option<ServerConfig>, String> {
    let cert = settings.tls_cert.as_deref().filter(|p| !p.is_empty());
    let key = settings.tls_key.as_deref().filter(|p| !p.is_empty());
    let (cert, key) = match (cert, key) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (cert, key),
        (Some(_), None) => {
            return Err(
                "HIENMAU_TLS_CERT is set but HIENMAU_TLS_KEY is not: HTTPS needs both \
                 (or neither, for plain HTTP)"
                    .to_owned(),
            )
        }
        (None, Some(_)) => {
            return Err(
                "HIENMAU_TLS_KEY is set but HIENMAU_TLS_CERT is not: HTTPS needs both \
                 (or neither, for plain HTTP)"
                    .to_owned(),
            )
        }
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("HIENMAU_TLS_CERT: cannot read {cert}: {e}"))?;
    if chain.is_empty() {
        return Err(format!(
            "HIENMAU_TLS_CERT: {cert} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        ));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("HIENMAU_TLS_KEY: cannot read a PEM private key from {key}: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            format!("HIENMAU_TLS_CERT and HIENMAU_TLS_KEY do not make a usable pair: {e}")
        })?;
    Ok(Some(config))
}
