//! static-ct-api checkpoints signed with RFC6962NoteSignature, alone and cosigned
//! with an Ed25519 witness (moved from merkle's tests with the signature type).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use merkle::checkpoint::Checkpoint;
use merkle::note::{Ed25519NoteSigner, NoteError, SignedNote};
use pki::ct::{DigitallySigned, tree_head_signed_data};
use pki::rfc6962_note::{Rfc6962NoteSignature, Rfc6962NoteVerifier, rfc6962_note_signature};

const ORIGIN: &str = "certcentral.example/logs/dev-a";

struct LogKey {
    key: EcdsaKeyPair,
    spki: Vec<u8>,
}

fn log_key() -> LogKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap();
    // SubjectPublicKeyInfo for id-ecPublicKey / prime256v1 around the uncompressed point.
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    spki.extend_from_slice(key.public_key().as_ref());
    LogKey { key, spki }
}

/// Signs the RFC 6962 tree head and wraps it as a note signature, as a CT log does.
fn sign_checkpoint(key: &LogKey, checkpoint: &Checkpoint, timestamp: u64) -> SignedNote {
    let input = tree_head_signed_data(timestamp, checkpoint.size, &checkpoint.root);
    let sig = key.key.sign(&SystemRandom::new(), &input).unwrap();
    let digitally_signed = DigitallySigned {
        hash: DigitallySigned::HASH_SHA256,
        signature_algorithm: DigitallySigned::SIG_ECDSA,
        signature: sig.as_ref().to_vec(),
    };
    let mut note = SignedNote::new(checkpoint.to_text()).unwrap();
    note.signatures
        .push(rfc6962_note_signature(ORIGIN, &key.spki, timestamp, &digitally_signed).unwrap());
    note
}

#[test]
fn rfc6962_checkpoint_round_trips_and_verifies() {
    let key = log_key();
    let checkpoint = Checkpoint::new(ORIGIN, 42, [3u8; 32]);
    let wire = sign_checkpoint(&key, &checkpoint, 1_700_000_000_000).encode();
    let note = SignedNote::parse(&wire).unwrap();
    let verifier = Rfc6962NoteVerifier::new(ORIGIN, &key.spki).unwrap();
    assert_eq!(note.verify(&[&verifier]).unwrap(), vec![ORIGIN.to_owned()]);
    assert_eq!(Checkpoint::parse(&note.text).unwrap(), checkpoint);
    let signature = Rfc6962NoteSignature::decode_ecdsa(&note.signatures[0].signature).unwrap();
    assert_eq!(signature.timestamp, 1_700_000_000_000);
}

#[test]
fn tampered_checkpoints_are_rejected() {
    let key = log_key();
    let checkpoint = Checkpoint::new(ORIGIN, 42, [3u8; 32]);
    let wire = sign_checkpoint(&key, &checkpoint, 1).encode();
    let verifier = Rfc6962NoteVerifier::new(ORIGIN, &key.spki).unwrap();
    let bigger = SignedNote::parse(&wire.replacen("\n42\n", "\n43\n", 1)).unwrap();
    assert_eq!(
        bigger.verify(&[&verifier]),
        Err(NoteError::BadSignature(ORIGIN.into()))
    );
    // Flip a byte inside the signature blob (after the 4-byte key ID and timestamp).
    let mut note = SignedNote::parse(&wire).unwrap();
    let last = note.signatures[0].signature.len() - 1;
    note.signatures[0].signature[last] ^= 1;
    assert!(note.verify(&[&verifier]).is_err());
}

#[test]
fn a_key_under_another_name_is_not_trusted() {
    let key = log_key();
    let checkpoint = Checkpoint::new(ORIGIN, 1, [0u8; 32]);
    let note = sign_checkpoint(&key, &checkpoint, 1);
    let renamed = Rfc6962NoteVerifier::new("other.example/log", &key.spki).unwrap();
    assert_eq!(note.verify(&[&renamed]), Err(NoteError::NoKnownSignature));
    let other_key = log_key();
    let wrong_key = Rfc6962NoteVerifier::new(ORIGIN, &other_key.spki).unwrap();
    assert_eq!(note.verify(&[&wrong_key]), Err(NoteError::NoKnownSignature));
}

#[test]
fn cosigned_checkpoint_verifies_with_either_key() {
    let key = log_key();
    let witness = Ed25519NoteSigner::from_seed("witness.example", &[1u8; 32]).unwrap();
    let checkpoint = Checkpoint::new(ORIGIN, 9, [5u8; 32]);
    let mut note = sign_checkpoint(&key, &checkpoint, 7);
    note.sign(&witness).unwrap();
    let parsed = SignedNote::parse(&note.encode()).unwrap();
    let log = Rfc6962NoteVerifier::new(ORIGIN, &key.spki).unwrap();
    let w = witness.verifier();
    assert_eq!(
        parsed.verify(&[&w]).unwrap(),
        vec!["witness.example".to_owned()]
    );
    assert_eq!(parsed.verify(&[&log, &w]).unwrap().len(), 2);
}

#[test]
fn a_checkpoint_whose_origin_differs_from_the_key_name_fails() {
    let key = log_key();
    let checkpoint = Checkpoint::new("evil.example/log", 1, [0u8; 32]);
    let note = sign_checkpoint(&key, &checkpoint, 1);
    let verifier = Rfc6962NoteVerifier::new(ORIGIN, &key.spki).unwrap();
    assert!(note.verify(&[&verifier]).is_err());
}
