//! The identities a certificate (or a precertificate's TBSCertificate) speaks for: what
//! watch rules match against.

use der::Decode;
use pki::FulcioExtensions;
use serde::Serialize;
use x509_cert::TbsCertificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// Subject alternative names and the OIDC issuer of one certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `rfc822Name` SANs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// `dNSName` SANs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// `uniformResourceIdentifier` SANs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// The OIDC issuer: the .1.8 UTF8String, or else the legacy .1.1 raw value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
    /// The serial number, upper-case hex (for people looking the certificate up).
    pub serial: String,
}

impl Identity {
    /// Every SAN value, whatever its type (what `san-regex:` rules look at).
    pub fn san_values(&self) -> impl Iterator<Item = &str> {
        self.emails
            .iter()
            .chain(&self.dns_names)
            .chain(&self.uris)
            .map(String::as_str)
    }
}

/// Extracts the identity of a TBSCertificate. A SAN extension that does not decode is
/// treated as no SANs: a monitor must keep scanning past hostile entries, and the
/// caller counts the certificates it could not read at all.
pub fn identity_of(tbs: &TbsCertificate) -> Identity {
    let mut id = Identity {
        serial: tbs
            .serial_number()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect(),
        ..Identity::default()
    };
    if let Ok(Some((_, SubjectAltName(names)))) = tbs.get_extension::<SubjectAltName>() {
        for name in names {
            match name {
                GeneralName::Rfc822Name(s) => id.emails.push(s.as_str().to_owned()),
                GeneralName::DnsName(s) => id.dns_names.push(s.as_str().to_owned()),
                GeneralName::UniformResourceIdentifier(s) => id.uris.push(s.as_str().to_owned()),
                _ => {}
            }
        }
    }
    let exts = tbs.extensions().map(|e| e.as_slice()).unwrap_or(&[]);
    // Best effort for the same reason as the SANs: .8 when it decodes, else .1.
    id.oidc_issuer = FulcioExtensions::parse_best_effort(exts).issuer;
    id
}

/// Parses a DER TBSCertificate (a precertificate log entry) and extracts its identity.
pub fn identity_of_tbs_der(tbs_der: &[u8]) -> Result<Identity, der::Error> {
    TbsCertificate::from_der(tbs_der).map(|tbs| identity_of(&tbs))
}

/// Parses a DER certificate (an x509 log entry) and extracts its identity.
pub fn identity_of_cert_der(cert_der: &[u8]) -> Result<Identity, der::Error> {
    x509_cert::Certificate::from_der(cert_der).map(|c| identity_of(c.tbs_certificate()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, CustomExtension, KeyPair, SanType};

    fn cert(exts: Vec<CustomExtension>) -> Vec<u8> {
        let mut p = CertificateParams::new(vec!["www.example.com".to_owned()]).unwrap();
        p.subject_alt_names
            .push(SanType::Rfc822Name("a@example.com".try_into().unwrap()));
        p.subject_alt_names
            .push(SanType::URI("spiffe://example.org/x".try_into().unwrap()));
        p.custom_extensions = exts;
        p.self_signed(&KeyPair::generate().unwrap())
            .unwrap()
            .der()
            .to_vec()
    }

    const V1: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 1];
    const V2: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 8];

    #[test]
    fn sans_and_the_utf8_issuer_extension_are_read() {
        // .1.8 is a DER UTF8String; it wins over the legacy raw .1.1.
        let mut utf8 = vec![0x0c, 19];
        utf8.extend_from_slice(b"https://new.example");
        let der = cert(vec![
            CustomExtension::from_oid_content(V1, b"https://old.example".to_vec()),
            CustomExtension::from_oid_content(V2, utf8),
        ]);
        let id = identity_of_cert_der(&der).unwrap();
        assert_eq!(id.emails, ["a@example.com"]);
        assert_eq!(id.dns_names, ["www.example.com"]);
        assert_eq!(id.uris, ["spiffe://example.org/x"]);
        assert_eq!(id.oidc_issuer.as_deref(), Some("https://new.example"));
    }

    #[test]
    fn the_legacy_raw_issuer_extension_is_read_when_alone() {
        let der = cert(vec![CustomExtension::from_oid_content(
            V1,
            b"https://old.example".to_vec(),
        )]);
        let id = identity_of_cert_der(&der).unwrap();
        assert_eq!(id.oidc_issuer.as_deref(), Some("https://old.example"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(identity_of_cert_der(b"\x30\x03\x02\x01\x01").is_err());
        assert!(identity_of_tbs_der(&[]).is_err());
    }
}
