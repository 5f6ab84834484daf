//! Certificate fixtures for tests, built with rcgen so every test makes its own CAs
//! instead of sharing checked-in key material.

pub mod dev_server;
pub mod openssl;
pub mod sigstore_clients;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, date_time_ymd,
};

/// RFC 6962 §3.1 precertificate poison extension.
pub const POISON_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];
/// RFC 6962 §3.3 embedded SCT list extension.
pub const SCT_LIST_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];
/// RFC 6962 §3.1 Precertificate Signing Certificate EKU.
pub const PRECERT_SIGNING_EKU: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 4];

/// A CA certificate with its key, able to issue.
pub type Ca = CertifiedIssuer<'static, KeyPair>;

/// CA parameters valid from January 1st of `from` to January 1st of `to`.
pub fn ca_params(cn: &str, from: i32, to: i32) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("no SANs");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.not_before = date_time_ymd(from, 1, 1);
    p.not_after = date_time_ymd(to, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p
}

/// A self-signed root.
pub fn root(cn: &str, from: i32, to: i32) -> Ca {
    CertifiedIssuer::self_signed(ca_params(cn, from, to), new_key()).expect("self-signed root")
}

/// An intermediate CA valid 2020–2040.
pub fn intermediate(cn: &str, issuer: &Ca) -> Ca {
    CertifiedIssuer::signed_by(ca_params(cn, 2020, 2040), new_key(), issuer).expect("intermediate")
}

/// A CA:true certificate whose only EKU is the CT precertificate-signing one.
pub fn precert_signing_cert(issuer: &Ca) -> Ca {
    let mut p = ca_params("Precert Signer", 2020, 2040);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(PRECERT_SIGNING_EKU.to_vec())];
    CertifiedIssuer::signed_by(p, new_key(), issuer).expect("precert signing certificate")
}

/// The poison extension (value ASN.1 NULL), critical or not.
pub fn poison(critical: bool) -> CustomExtension {
    let mut e = CustomExtension::from_oid_content(POISON_OID, vec![0x05, 0x00]);
    e.set_criticality(critical);
    e
}

/// A fresh P-256 key.
pub fn new_key() -> KeyPair {
    KeyPair::generate().expect("P-256 key generation")
}
