//! TLS client settings shared by every connection the daemon opens itself (IMAP, the OAuth2
//! token endpoint, SMTP with implicit TLS): the web's root certificates, plus the CA file a
//! configuration names for a server with a private certificate. Owns nothing else; SMTP's
//! STARTTLS is lettre's.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A client configuration trusting the web's roots and `ca_file`'s certificates.
pub fn client_config(ca_file: Option<&Path>) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(ca) = ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.with_context(|| format!("parsing {}", ca.display()))?)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
