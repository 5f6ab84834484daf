//! Chain validation against rcgen-built fixtures (RFC 6962 §3.1, §3.2, §4.1, §4.2).

mod common;

use common::*;
use pki::chain::{ChainError, MAX_CHAIN_LEN, SubmissionKind, validate_chain};
use pki::{SignedEntry, precert_tbs_from_certificate};
use rcgen::KeyPair;
use sha2::{Digest, Sha256};

fn spki_hash(cert_der: &[u8]) -> [u8; 32] {
    use der::{Decode, Encode};
    let c = x509_cert::Certificate::from_der(cert_der).unwrap();
    Sha256::digest(
        c.tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap(),
    )
    .into()
}

#[test]
fn valid_certificate_chain_is_accepted_and_root_appended() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
    let v = validate_chain(
        &[leaf.clone(), der(&int)],
        &store(&[&root]),
        NOW_MS,
        SubmissionKind::Certificate,
    )
    .unwrap();
    assert_eq!(v.entry, SignedEntry::X509(leaf.clone()));
    assert_eq!(v.leaf_der, leaf);
    assert_eq!(v.chain_der, vec![der(&int), der(&root)]);
}

#[test]
fn chain_ending_in_the_root_itself_is_accepted() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
    let v = validate_chain(
        &[leaf, der(&int), der(&root)],
        &store(&[&root]),
        NOW_MS,
        SubmissionKind::Certificate,
    )
    .unwrap();
    assert_eq!(v.chain_der, vec![der(&int), der(&root)]);
}

#[test]
fn precertificate_entry_has_issuer_key_hash_and_tbs_without_poison() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let key = KeyPair::generate().unwrap();
    let precert = leaf(&key, &int, vec![poison(true)]);
    let final_cert = leaf(&key, &int, vec![]);
    let v = validate_chain(
        &[precert, der(&int)],
        &store(&[&root]),
        NOW_MS,
        SubmissionKind::Precertificate,
    )
    .unwrap();
    let SignedEntry::Precert {
        issuer_key_hash,
        tbs_certificate,
    } = v.entry
    else {
        panic!("expected precert entry")
    };
    assert_eq!(issuer_key_hash, spki_hash(&der(&int)));
    // The logged TBS is exactly the final certificate's TBS.
    assert_eq!(
        tbs_certificate,
        precert_tbs_from_certificate(&final_cert).unwrap()
    );
}

#[test]
fn precert_via_precert_signing_certificate_rewrites_issuer_and_aki() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let signer = precert_signing_cert(&int);
    let key = KeyPair::generate().unwrap();
    let precert = leaf(&key, &signer, vec![poison(true)]);
    // The final certificate is issued by the real CA with the same contents.
    let final_cert = leaf(&key, &int, vec![]);
    let v = validate_chain(
        &[precert, der(&signer), der(&int)],
        &store(&[&root]),
        NOW_MS,
        SubmissionKind::Precertificate,
    )
    .unwrap();
    assert_eq!(v.chain_der, vec![der(&signer), der(&int), der(&root)]);
    let SignedEntry::Precert {
        issuer_key_hash,
        tbs_certificate,
    } = v.entry
    else {
        panic!("expected precert entry")
    };
    assert_eq!(
        issuer_key_hash,
        spki_hash(&der(&int)),
        "hash of the real issuer, chain[2]"
    );
    assert_eq!(
        tbs_certificate,
        precert_tbs_from_certificate(&final_cert).unwrap()
    );
}

#[test]
fn precert_signing_certificate_without_following_ca_is_rejected() {
    // The precert signing cert is directly under the root, which gets appended: ok.
    let root = root("Root", 2020, 2030);
    let signer = precert_signing_cert(&root);
    let key = KeyPair::generate().unwrap();
    let precert = leaf(&key, &signer, vec![poison(true)]);
    let v = validate_chain(
        &[precert, der(&signer)],
        &store(&[&root]),
        NOW_MS,
        SubmissionKind::Precertificate,
    )
    .unwrap();
    let SignedEntry::Precert {
        issuer_key_hash, ..
    } = v.entry
    else {
        panic!()
    };
    assert_eq!(issuer_key_hash, spki_hash(&der(&root)));
}

#[test]
fn wrong_signature_is_rejected() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    // Same subject name "Int", different key: the leaf's signature will not verify.
    let impostor = intermediate("Int", &root);
    let leaf = leaf(&KeyPair::generate().unwrap(), &impostor, vec![]);
    let err = validate_chain(
        &[leaf, der(&int)],
        &store(&[&root]),
        NOW_MS,
        SubmissionKind::Certificate,
    )
    .unwrap_err();
    assert!(
        matches!(err, ChainError::BadSignature { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn issuer_name_mismatch_is_rejected() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let other = intermediate("Other", &root);
    let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
    assert_eq!(
        validate_chain(
            &[leaf, der(&other)],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::IssuerMismatch { index: 0 }
    );
}

#[test]
fn chain_not_reaching_a_root_is_rejected() {
    let root = root("Root", 2020, 2030);
    let other_root = common::root("Other Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
    assert_eq!(
        validate_chain(
            &[leaf.clone(), der(&int)],
            &store(&[&other_root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::NoPathToRoot
    );
    // Same root name, different key.
    let fake_root = common::root("Root", 2020, 2030);
    assert_eq!(
        validate_chain(
            &[leaf, der(&int)],
            &store(&[&fake_root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::NoPathToRoot
    );
}

#[test]
fn expired_root_is_rejected() {
    let root = root("Root", 2010, 2020);
    let int = intermediate("Int", &root);
    let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
    assert_eq!(
        validate_chain(
            &[leaf, der(&int)],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::RootExpired
    );
}

#[test]
fn not_yet_valid_root_is_rejected() {
    let root = root("Root", 2030, 2040);
    let int = intermediate("Int", &root);
    let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
    assert_eq!(
        validate_chain(
            &[leaf, der(&int)],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::RootNotYetValid
    );
}

#[test]
fn expired_intermediate_is_rejected_but_expired_leaf_is_not() {
    let root = root("Root", 2010, 2040);
    let int = CertifiedIssuer::signed_by(
        ca_params("Int", 2010, 2015),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
    assert_eq!(
        validate_chain(
            &[leaf, int.der().to_vec()],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::IntermediateExpired { index: 1 }
    );
}

#[test]
fn non_ca_issuer_is_rejected() {
    let root = root("Root", 2020, 2030);
    let mut p = ca_params("NotCA", 2020, 2030);
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    let not_ca = CertifiedIssuer::signed_by(p, KeyPair::generate().unwrap(), &root).unwrap();
    let leaf = leaf(&KeyPair::generate().unwrap(), &not_ca, vec![]);
    assert_eq!(
        validate_chain(
            &[leaf, not_ca.der().to_vec()],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::NotCa { index: 1 }
    );
}

#[test]
fn poison_on_certificate_is_rejected() {
    let root = root("Root", 2020, 2030);
    let leaf = leaf(&KeyPair::generate().unwrap(), &root, vec![poison(true)]);
    assert_eq!(
        validate_chain(
            &[leaf],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::PoisonOnCertificate
    );
}

#[test]
fn missing_poison_on_precertificate_is_rejected() {
    let root = root("Root", 2020, 2030);
    let leaf = leaf(&KeyPair::generate().unwrap(), &root, vec![]);
    assert_eq!(
        validate_chain(
            &[leaf],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Precertificate
        )
        .unwrap_err(),
        ChainError::MissingPoison
    );
}

#[test]
fn non_critical_poison_is_rejected() {
    let root = root("Root", 2020, 2030);
    let leaf = leaf(&KeyPair::generate().unwrap(), &root, vec![poison(false)]);
    assert_eq!(
        validate_chain(
            &[leaf],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Precertificate
        )
        .unwrap_err(),
        ChainError::PoisonNotCritical
    );
}

#[test]
fn garbage_der_in_chain_is_rejected() {
    let root = root("Root", 2020, 2030);
    let leaf = leaf(&KeyPair::generate().unwrap(), &root, vec![]);
    let mut truncated = der(&root);
    truncated.truncate(truncated.len() - 1);
    assert!(matches!(
        validate_chain(
            &[leaf, truncated],
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        ),
        Err(ChainError::Malformed { index: 1, .. })
    ));
}

#[test]
fn oversized_chain_is_rejected() {
    let root = root("Root", 2020, 2030);
    let chain = vec![der(&root); MAX_CHAIN_LEN + 1];
    assert_eq!(
        validate_chain(
            &chain,
            &store(&[&root]),
            NOW_MS,
            SubmissionKind::Certificate
        )
        .unwrap_err(),
        ChainError::ChainTooLong(MAX_CHAIN_LEN + 1)
    );
}

#[test]
fn root_store_dedups_and_indexes_pem_bundles() {
    let a = root("A", 2020, 2030);
    let b = root("B", 2020, 2030);
    let bundle = format!("junk\n{}\n{}{}", a.pem(), b.pem(), a.pem());
    let mut s = pki::RootStore::new();
    assert_eq!(s.add_pem_bundle(&bundle).unwrap(), 2);
    assert!(!s.add_der(a.der()).unwrap());
    assert_eq!(s.len(), 2);
    let roots: Vec<&[u8]> = s.roots_der().collect();
    assert_eq!(roots, vec![a.der().as_ref(), b.der().as_ref()]);
    // A leaf (non-CA) cannot be a root.
    let leaf = leaf(&KeyPair::generate().unwrap(), &a, vec![]);
    assert_eq!(
        s.add_der(&leaf).unwrap_err(),
        ChainError::NotCa { index: 0 }
    );
}

use rcgen::CertifiedIssuer;

#[test]
fn remembered_intermediate_signatures_never_vouch_for_other_bytes() {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    let roots = store(&[&root]);
    let chain = |int_der: Vec<u8>| {
        let leaf = leaf(&KeyPair::generate().unwrap(), &int, vec![]);
        validate_chain(
            &[leaf, int_der, der(&root)],
            &roots,
            NOW_MS,
            SubmissionKind::Certificate,
        )
    };
    // Twice: the second validation takes the intermediate's link from the cache.
    chain(der(&int)).unwrap();
    chain(der(&int)).unwrap();
    // A tampered copy of the cached intermediate (last signature byte flipped) is new
    // bytes, so it is verified — and refused — rather than taken on trust.
    let mut tampered = der(&int);
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    let err = chain(tampered).unwrap_err();
    assert!(
        matches!(err, ChainError::BadSignature { index: 1, .. }),
        "{err:?}"
    );
}
