//! rcgen-built certificate fixtures shared by the integration tests.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, SerialNumber, date_time_ymd,
};

/// 2025-06-01T00:00:00Z in milliseconds.
pub const NOW_MS: u64 = 1_748_736_000_000;

pub const POISON_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];
pub const SCT_LIST_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];
pub const PRECERT_SIGNING_EKU: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 4];

pub type Ca = CertifiedIssuer<'static, KeyPair>;

pub fn ca_params(cn: &str, from: i32, to: i32) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.not_before = date_time_ymd(from, 1, 1);
    p.not_after = date_time_ymd(to, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p
}

pub fn root(cn: &str, from: i32, to: i32) -> Ca {
    CertifiedIssuer::self_signed(ca_params(cn, from, to), KeyPair::generate().unwrap()).unwrap()
}

pub fn intermediate(cn: &str, issuer: &Ca) -> Ca {
    CertifiedIssuer::signed_by(
        ca_params(cn, 2020, 2030),
        KeyPair::generate().unwrap(),
        issuer,
    )
    .unwrap()
}

/// A CA:true certificate whose only EKU is the CT precertificate-signing one (RFC 6962 §3.1).
pub fn precert_signing_cert(issuer: &Ca) -> Ca {
    let mut p = ca_params("Precert Signer", 2020, 2030);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(PRECERT_SIGNING_EKU.to_vec())];
    CertifiedIssuer::signed_by(p, KeyPair::generate().unwrap(), issuer).unwrap()
}

pub fn der(ca: &Ca) -> Vec<u8> {
    ca.der().to_vec()
}

/// Leaf parameters with a fixed serial, so a precertificate and its final certificate
/// share everything except the poison / SCT list.
pub fn leaf_params(extra: Vec<CustomExtension>) -> CertificateParams {
    let mut p = CertificateParams::new(vec!["example.com".to_string()]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "example.com");
    p.serial_number = Some(SerialNumber::from_slice(&[0x01, 0x02, 0x03, 0x04]));
    p.not_before = date_time_ymd(2019, 1, 1); // expired leaves are still logged
    p.not_after = date_time_ymd(2020, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p.custom_extensions = extra;
    p
}

pub fn poison(critical: bool) -> CustomExtension {
    let mut e = CustomExtension::from_oid_content(POISON_OID, vec![0x05, 0x00]);
    e.set_criticality(critical);
    e
}

pub fn sct_list_ext(extn_value: Vec<u8>) -> CustomExtension {
    CustomExtension::from_oid_content(SCT_LIST_OID, extn_value)
}

pub fn leaf(key: &KeyPair, issuer: &Ca, extra: Vec<CustomExtension>) -> Vec<u8> {
    leaf_params(extra)
        .signed_by(key, issuer)
        .unwrap()
        .der()
        .to_vec()
}

pub fn store(roots: &[&Ca]) -> pki::RootStore {
    let mut s = pki::RootStore::new();
    for r in roots {
        s.add_der(r.der()).unwrap();
    }
    s
}
