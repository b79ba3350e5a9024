//! HTTPS for the sandbox: the certificate it serves (made at start for the listening address
//! and signed by a CA of its own, or given as PEM), and the rustls server settings built
//! from it.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::SandboxError;

/// The certificate the sandbox serves HTTPS with (see [`crate::Options::tls`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Tls {
    /// Made at start: a CA of the sandbox's own, and a certificate it signed for `localhost`,
    /// `127.0.0.1` and the listening address. Trust
    /// [`Sandbox::ca_certificate_pem`](crate::Sandbox::ca_certificate_pem) to connect.
    Generated,
    /// This chain (leaf first) and its private key, both PEM; the caller knows which CA to
    /// trust.
    Given {
        /// `-----BEGIN CERTIFICATE-----` blocks, the server's own first.
        chain_pem: String,
        /// The leaf's private key (PKCS#8, PKCS#1 or SEC1 PEM).
        key_pem: String,
    },
}

/// What the server needs to speak TLS, and what the caller must trust.
pub(crate) struct Identity {
    pub(crate) config: Arc<ServerConfig>,
    /// The generated CA, PEM; `None` for a given certificate.
    pub(crate) ca_pem: Option<String>,
}

/// The rustls server settings for `tls`, serving on `ip`.
pub(crate) fn identity(tls: &Tls, ip: IpAddr) -> Result<Identity, SandboxError> {
    let (chain, key, ca_pem) = match tls {
        Tls::Generated => {
            let generated = generate(ip).map_err(|e| invalid(format!("rcgen: {e}")))?;
            (generated.chain, generated.key, Some(generated.ca_pem))
        }
        Tls::Given { chain_pem, key_pem } => {
            let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(format!("the certificate chain: {e}")))?;
            if chain.is_empty() {
                return Err(invalid("the certificate chain holds no certificate".into()));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|e| invalid(format!("the private key: {e}")))?;
            (chain, key, None)
        }
    };
    // ring, as ureq's rustls uses: one crypto library in the build.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| invalid(format!("rustls refused it: {e}")))?;
    Ok(Identity {
        config: Arc::new(config),
        ca_pem,
    })
}

fn invalid(reason: String) -> SandboxError {
    SandboxError::Tls { reason }
}

struct Generated {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    ca_pem: String,
}

/// A CA, and a server certificate it signed for loopback and `ip`. A CA apart from the leaf,
/// as in production: clients trust a root, not the server's own certificate.
fn generate(ip: IpAddr) -> Result<Generated, rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "ghesta-sandbox test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !ip.is_unspecified() && !names.contains(&ip.to_string()) {
        names.push(ip.to_string());
    }
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "ghesta-sandbox");
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &ca)?;
    Ok(Generated {
        chain: vec![cert.der().clone()],
        // rcgen serializes key pairs as PKCS#8.
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        ca_pem: ca.pem(),
    })
}
