//! Chain validation against rcgen-built fixtures (RFC 6962 §3.1, §3.2, §4.1, §4.2).

mod common;

use SubmissionKind::{Certificate, Precertificate};
use common::*;
use pki::chain::{ChainError, MAX_CHAIN_LEN, SubmissionKind, ValidatedChain, validate_chain};
use pki::{SignedEntry, precert_tbs_from_certificate};
use rcgen::{CertifiedIssuer, CustomExtension, KeyPair};
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

/// A root valid 2020–2030 (so at [`NOW_MS`]) and an intermediate `Int` under it.
fn root_and_intermediate() -> (Ca, Ca) {
    let root = root("Root", 2020, 2030);
    let int = intermediate("Int", &root);
    (root, int)
}

/// A leaf under `issuer` with a key of its own.
fn fresh_leaf(issuer: &Ca, extra: Vec<CustomExtension>) -> Vec<u8> {
    leaf(&KeyPair::generate().unwrap(), issuer, extra)
}

/// [`validate_chain`] at [`NOW_MS`] with `root` as the only trusted root.
fn validate(
    chain: &[Vec<u8>],
    root: &Ca,
    kind: SubmissionKind,
) -> Result<ValidatedChain, ChainError> {
    validate_chain(chain, &store(&[root]), NOW_MS, kind)
}

/// Why [`validate`] refuses `chain`; panics if it accepts it.
fn rejection(chain: &[Vec<u8>], root: &Ca, kind: SubmissionKind) -> ChainError {
    validate(chain, root, kind).unwrap_err()
}

/// Why a leaf carrying `extensions`, submitted alone as `kind`, is refused by a valid
/// root that issued it.
fn lone_leaf_rejection(extensions: Vec<CustomExtension>, kind: SubmissionKind) -> ChainError {
    let root = root("Root", 2020, 2030);
    let leaf = fresh_leaf(&root, extensions);
    rejection(&[leaf], &root, kind)
}

/// Why the chain leaf → `Int` is refused when its root is valid only from the year
/// `from` to the year `to`.
fn rejection_with_root_valid(from: i32, to: i32) -> ChainError {
    let root = root("Root", from, to);
    let int = intermediate("Int", &root);
    let leaf = fresh_leaf(&int, vec![]);
    rejection(&[leaf, der(&int)], &root, Certificate)
}

/// The (issuer key hash, TBS) of a precertificate entry; panics on an X509 entry.
fn precert_entry(entry: SignedEntry) -> ([u8; 32], Vec<u8>) {
    let SignedEntry::Precert {
        issuer_key_hash,
        tbs_certificate,
    } = entry
    else {
        panic!("expected precert entry")
    };
    (issuer_key_hash, tbs_certificate)
}

#[test]
fn valid_certificate_chain_is_accepted_and_root_appended() {
    let (root, int) = root_and_intermediate();
    let leaf = fresh_leaf(&int, vec![]);
    let v = validate(&[leaf.clone(), der(&int)], &root, Certificate).unwrap();
    assert_eq!(v.entry, SignedEntry::X509(leaf.clone()));
    assert_eq!(v.leaf_der, leaf);
    assert_eq!(v.chain_der, vec![der(&int), der(&root)]);
}

#[test]
fn chain_ending_in_the_root_itself_is_accepted() {
    let (root, int) = root_and_intermediate();
    let leaf = fresh_leaf(&int, vec![]);
    let v = validate(&[leaf, der(&int), der(&root)], &root, Certificate).unwrap();
    assert_eq!(v.chain_der, vec![der(&int), der(&root)]);
}

#[test]
fn precertificate_entry_has_issuer_key_hash_and_tbs_without_poison() {
    let (root, int) = root_and_intermediate();
    let key = KeyPair::generate().unwrap();
    let precert = leaf(&key, &int, vec![poison(true)]);
    let final_cert = leaf(&key, &int, vec![]);
    let v = validate(&[precert, der(&int)], &root, Precertificate).unwrap();
    let (issuer_key_hash, tbs_certificate) = precert_entry(v.entry);
    assert_eq!(issuer_key_hash, spki_hash(&der(&int)));
    // The logged TBS is exactly the final certificate's TBS.
    assert_eq!(
        tbs_certificate,
        precert_tbs_from_certificate(&final_cert).unwrap()
    );
}

#[test]
fn precert_via_precert_signing_certificate_rewrites_issuer_and_aki() {
    let (root, int) = root_and_intermediate();
    let signer = precert_signing_cert(&int);
    let key = KeyPair::generate().unwrap();
    let precert = leaf(&key, &signer, vec![poison(true)]);
    // The final certificate is issued by the real CA with the same contents.
    let final_cert = leaf(&key, &int, vec![]);
    let v = validate(&[precert, der(&signer), der(&int)], &root, Precertificate).unwrap();
    assert_eq!(v.chain_der, vec![der(&signer), der(&int), der(&root)]);
    let (issuer_key_hash, tbs_certificate) = precert_entry(v.entry);
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
    let precert = fresh_leaf(&signer, vec![poison(true)]);
    let v = validate(&[precert, der(&signer)], &root, Precertificate).unwrap();
    let (issuer_key_hash, _) = precert_entry(v.entry);
    assert_eq!(issuer_key_hash, spki_hash(&der(&root)));
}

#[test]
fn wrong_signature_is_rejected() {
    let (root, int) = root_and_intermediate();
    // Same subject name "Int", different key: the leaf's signature will not verify.
    let impostor = intermediate("Int", &root);
    let leaf = fresh_leaf(&impostor, vec![]);
    let err = rejection(&[leaf, der(&int)], &root, Certificate);
    assert!(
        matches!(err, ChainError::BadSignature { index: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn issuer_name_mismatch_is_rejected() {
    let (root, int) = root_and_intermediate();
    let other = intermediate("Other", &root);
    let leaf = fresh_leaf(&int, vec![]);
    assert_eq!(
        rejection(&[leaf, der(&other)], &root, Certificate),
        ChainError::IssuerMismatch { index: 0 }
    );
}

#[test]
fn chain_not_reaching_a_root_is_rejected() {
    let (_, int) = root_and_intermediate();
    let other_root = root("Other Root", 2020, 2030);
    let leaf = fresh_leaf(&int, vec![]);
    assert_eq!(
        rejection(&[leaf.clone(), der(&int)], &other_root, Certificate),
        ChainError::NoPathToRoot
    );
    // Same root name, different key.
    let fake_root = root("Root", 2020, 2030);
    assert_eq!(
        rejection(&[leaf, der(&int)], &fake_root, Certificate),
        ChainError::NoPathToRoot
    );
}

#[test]
fn expired_root_is_rejected() {
    assert_eq!(
        rejection_with_root_valid(2010, 2020),
        ChainError::RootExpired
    );
}

#[test]
fn not_yet_valid_root_is_rejected() {
    assert_eq!(
        rejection_with_root_valid(2030, 2040),
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
    let leaf = fresh_leaf(&int, vec![]);
    assert_eq!(
        rejection(&[leaf, der(&int)], &root, Certificate),
        ChainError::IntermediateExpired { index: 1 }
    );
}

#[test]
fn non_ca_issuer_is_rejected() {
    let root = root("Root", 2020, 2030);
    let mut p = ca_params("NotCA", 2020, 2030);
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    let not_ca = CertifiedIssuer::signed_by(p, KeyPair::generate().unwrap(), &root).unwrap();
    let leaf = fresh_leaf(&not_ca, vec![]);
    assert_eq!(
        rejection(&[leaf, der(&not_ca)], &root, Certificate),
        ChainError::NotCa { index: 1 }
    );
}

#[test]
fn poison_on_certificate_is_rejected() {
    assert_eq!(
        lone_leaf_rejection(vec![poison(true)], Certificate),
        ChainError::PoisonOnCertificate
    );
}

#[test]
fn missing_poison_on_precertificate_is_rejected() {
    assert_eq!(
        lone_leaf_rejection(vec![], Precertificate),
        ChainError::MissingPoison
    );
}

#[test]
fn non_critical_poison_is_rejected() {
    assert_eq!(
        lone_leaf_rejection(vec![poison(false)], Precertificate),
        ChainError::PoisonNotCritical
    );
}

#[test]
fn garbage_der_in_chain_is_rejected() {
    let root = root("Root", 2020, 2030);
    let leaf = fresh_leaf(&root, vec![]);
    let mut truncated = der(&root);
    truncated.truncate(truncated.len() - 1);
    let err = rejection(&[leaf, truncated], &root, Certificate);
    assert!(
        matches!(err, ChainError::Malformed { index: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn oversized_chain_is_rejected() {
    let root = root("Root", 2020, 2030);
    let chain = vec![der(&root); MAX_CHAIN_LEN + 1];
    assert_eq!(
        rejection(&chain, &root, Certificate),
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
    let leaf = fresh_leaf(&a, vec![]);
    assert_eq!(
        s.add_der(&leaf).unwrap_err(),
        ChainError::NotCa { index: 0 }
    );
}

#[test]
fn remembered_intermediate_signatures_never_vouch_for_other_bytes() {
    let (root, int) = root_and_intermediate();
    let roots = store(&[&root]);
    let chain = |int_der: Vec<u8>| {
        let leaf = fresh_leaf(&int, vec![]);
        validate_chain(&[leaf, int_der, der(&root)], &roots, NOW_MS, Certificate)
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
