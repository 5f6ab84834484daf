//! Fixtures shared by the integration tests: rcgen-built certificates, and runs of
//! sigstore-python's own code ([`sigstore`]).
#![allow(dead_code)]

pub mod sigstore;

use rcgen::{CertificateParams, CustomExtension, DnType, KeyPair, SerialNumber, date_time_ymd};

/// 2025-06-01T00:00:00Z in milliseconds.
pub const NOW_MS: u64 = 1_748_736_000_000;

#[allow(unused_imports)] // each test binary uses a different subset
pub use testkit::{
    Ca, POISON_OID, PRECERT_SIGNING_EKU, SCT_LIST_OID, ca_params, intermediate, poison,
    precert_signing_cert, root,
};

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
