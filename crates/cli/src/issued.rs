//! What the CA issued, read back: the chain's certificates and the leaf facts a person
//! checks (identity, serial, validity, how many logs promised to include it).

use anyhow::{Context, bail};
use der::{DecodePem, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// A parsed chain, leaf first.
pub struct IssuedChain {
    /// The certificates as the CA sent them (leaf first).
    pub certificates: Vec<Certificate>,
    /// DER of the leaf (the SCT list is read from it).
    pub leaf_der: Vec<u8>,
    /// The whole chain as one PEM file, leaf first.
    pub pem: String,
}

impl IssuedChain {
    /// Parses the PEM elements of a `signingCert` chain.
    pub fn parse(pems: &[String]) -> anyhow::Result<Self> {
        let mut certificates = Vec::with_capacity(pems.len());
        let mut pem = String::new();
        for (i, element) in pems.iter().enumerate() {
            let cert = Certificate::from_pem(element.trim().as_bytes()).with_context(|| {
                format!("certificate {i} of the chain is not a PEM certificate")
            })?;
            certificates.push(cert);
            pem.push_str(element.trim());
            pem.push('\n');
        }
        let Some(leaf) = certificates.first() else {
            bail!("the chain is empty");
        };
        let leaf_der = leaf.to_der().context("re-encoding the leaf")?;
        Ok(Self {
            certificates,
            leaf_der,
            pem,
        })
    }

    /// The leaf ([`IssuedChain::parse`] refuses an empty chain, so there is one).
    pub fn leaf(&self) -> &Certificate {
        &self.certificates[0]
    }

    /// The leaf's summary.
    pub fn leaf_summary(&self) -> anyhow::Result<LeafSummary> {
        let leaf = self.leaf();
        let tbs = leaf.tbs_certificate();
        let validity = tbs.validity();
        Ok(LeafSummary {
            identities: san_identities(leaf)?,
            serial: tbs.serial_number().to_string(),
            not_before: validity.not_before.to_string(),
            not_after: validity.not_after.to_string(),
            issuer: tbs.issuer().to_string(),
            embedded_scts: count_embedded_scts(&self.leaf_der)?,
        })
    }
}

/// The facts `ccc cert request` prints about a leaf.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeafSummary {
    /// Subject alternative names (`email:…`, `uri:…`, …).
    pub identities: Vec<String>,
    /// Serial number, hex.
    pub serial: String,
    /// notBefore, RFC 3339.
    pub not_before: String,
    /// notAfter, RFC 3339.
    pub not_after: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Entries of the embedded `SignedCertificateTimestampList`.
    pub embedded_scts: usize,
}

/// The leaf's SAN entries as `kind:value` — Fulcio puts the identity there, not in the
/// subject (RFC 5280 §4.2.1.6 allows an empty subject when the SAN is critical).
pub fn san_identities(cert: &Certificate) -> anyhow::Result<Vec<String>> {
    let Some((_, san)) = cert
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .context("decoding the subjectAltName extension")?
    else {
        return Ok(Vec::new());
    };
    Ok(san
        .0
        .iter()
        .map(|name| match name {
            GeneralName::Rfc822Name(email) => format!("email:{}", email.as_str()),
            GeneralName::UniformResourceIdentifier(uri) => format!("uri:{}", uri.as_str()),
            GeneralName::DnsName(dns) => format!("dns:{}", dns.as_str()),
            GeneralName::OtherName(other) => format!("otherName:{}", other.type_id),
            other => format!("{other:?}"),
        })
        .collect())
}

/// The email addresses in the leaf's SAN.
pub fn san_emails(cert: &Certificate) -> anyhow::Result<Vec<String>> {
    Ok(san_identities(cert)?
        .into_iter()
        .filter_map(|s| s.strip_prefix("email:").map(str::to_owned))
        .collect())
}

/// Entries of the SCT list extension (1.3.6.1.4.1.11129.2.4.2) of a certificate; 0 if
/// it has none. Every entry is decoded, so a malformed list is an error rather than a
/// miscount.
pub fn count_embedded_scts(cert_der: &[u8]) -> anyhow::Result<usize> {
    match pki::embedded_scts(cert_der) {
        Ok(scts) => Ok(scts.len()),
        Err(pki::ChainError::NoSctList) => Ok(0),
        Err(e) => Err(e).context("decoding the embedded SCT list"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, CustomExtension, KeyPair, SanType};

    fn sample_sct(ts: u64) -> pki::SignedCertificateTimestamp {
        pki::SignedCertificateTimestamp {
            log_id: [7; 32],
            timestamp: ts,
            extensions: vec![],
            signature: pki::DigitallySigned {
                hash: 4,
                signature_algorithm: 3,
                signature: vec![0x30, 0x00],
            },
        }
    }

    /// A leaf for `email` with `scts` embedded SCTs (none: no extension at all).
    fn leaf(email: &str, scts: usize) -> (KeyPair, rcgen::Certificate) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.subject_alt_names = vec![SanType::Rfc822Name(email.try_into().unwrap())];
        if scts > 0 {
            let list: Vec<_> = (0..scts as u64).map(sample_sct).collect();
            let value = pki::ct::SignedCertificateTimestampList { sct_list: list }
                .to_extension_value()
                .unwrap();
            params.custom_extensions = vec![CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
                value,
            )];
        }
        let cert = params.self_signed(&key).unwrap();
        (key, cert)
    }

    #[test]
    fn sct_list_entries_are_counted() {
        for n in [0, 1, 2, 3] {
            let (_, cert) = leaf("a@example.com", n);
            assert_eq!(count_embedded_scts(cert.der()).unwrap(), n);
        }
    }

    #[test]
    fn malformed_sct_list_is_an_error_not_zero() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        // OCTET STRING { 00 05 ... } claims 5 bytes of list but holds 1.
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2],
            vec![0x04, 0x03, 0x00, 0x05, 0x01],
        )];
        let cert = params.self_signed(&key).unwrap();
        assert!(count_embedded_scts(cert.der()).is_err());
    }

    #[test]
    fn chain_parse_and_summary() {
        let (_, cert) = leaf("alice@example.com", 2);
        let (_, other) = leaf("ca@example.com", 0);
        let chain = IssuedChain::parse(&[cert.pem(), format!("\n{}\n\n", other.pem())]).unwrap();
        assert_eq!(chain.certificates.len(), 2);
        assert_eq!(chain.pem.matches("-----BEGIN CERTIFICATE-----").count(), 2);
        assert!(chain.pem.ends_with("-----END CERTIFICATE-----\n"));
        let s = chain.leaf_summary().unwrap();
        assert_eq!(s.identities, ["email:alice@example.com"]);
        assert_eq!(s.embedded_scts, 2);
        assert!(!s.serial.is_empty());
        assert_eq!(
            san_emails(&chain.certificates[0]).unwrap(),
            ["alice@example.com"]
        );
        assert!(IssuedChain::parse(&["garbage".into()]).is_err());
        assert!(IssuedChain::parse(&[]).is_err());
    }
}
