//! Checks on the registry transparency log, pure: the caller fetches, these verify.
//!
//! The leaf and entry-bundle formats are `pki::registry_log`, the definitions the
//! server encodes with, so this client refuses every leaf the server would refuse.

use merkle::checkpoint::Checkpoint;
use merkle::note::{Ed25519NoteVerifier, NoteVerifier, SignedNote};
use merkle::{Hash, ProofError};
use pki::entry_bundle::EntryBundle;
use pki::registry_log::{RegistryAction, RegistryLogEntry};
use pki::tls::{Codec, TlsError};

/// Why the registry log could not be trusted.
#[derive(Debug, thiserror::Error)]
pub enum LogCheckError {
    #[error("the registry log key {0:?} is not a valid note verifier key: {1}")]
    BadKey(String, merkle::note::NoteError),
    #[error("the registry checkpoint is not validly signed by the pinned log key: {0}")]
    BadCheckpoint(merkle::note::NoteError),
    #[error("the checkpoint is for log {got:?}, the pinned key is for {want:?}")]
    WrongOrigin { got: String, want: String },
    #[error("entry bundle is malformed: {0}")]
    MalformedBundle(TlsError),
    #[error("entry bundle has no entry {0}")]
    NotInBundle(usize),
    #[error("registry log entry is malformed: {0}")]
    MalformedEntry(TlsError),
    #[error("the log entry at index {index} is not the {action} of this certificate by {username}")]
    WrongEntry {
        index: u64,
        action: &'static str,
        username: String,
    },
    #[error("the inclusion proof does not match the checkpoint: {0}")]
    Inclusion(ProofError),
    #[error(
        "REWRITTEN HISTORY: the registry's checkpoint (size {new_size}) is not consistent with \
         the checkpoint this client saw before (size {old_size}): {reason}. The registry \
         operator has changed or removed entries it had published; refusing to trust anything \
         from it"
    )]
    Inconsistent {
        old_size: u64,
        new_size: u64,
        reason: String,
    },
}

/// The `n`th entry of an entry bundle; the whole bundle must be well formed.
pub fn bundle_entry(bundle: &[u8], n: usize) -> Result<Vec<u8>, LogCheckError> {
    let mut entries = EntryBundle::read_bytes(bundle)
        .map_err(LogCheckError::MalformedBundle)?
        .entries;
    if n >= entries.len() {
        return Err(LogCheckError::NotInBundle(n));
    }
    Ok(entries.swap_remove(n))
}

/// Verifies a signed checkpoint note against the verifier key and returns its tree
/// head. The origin must be the key's name: a key for one log vouches for no other.
pub fn verify_checkpoint(note: &str, verifier_key: &str) -> Result<Checkpoint, LogCheckError> {
    let verifier = Ed25519NoteVerifier::from_verifier_key(verifier_key)
        .map_err(|e| LogCheckError::BadKey(verifier_key.to_owned(), e))?;
    let signed = SignedNote::parse(note).map_err(LogCheckError::BadCheckpoint)?;
    let verifiers: [&dyn NoteVerifier; 1] = [&verifier];
    signed
        .verify(&verifiers)
        .map_err(LogCheckError::BadCheckpoint)?;
    let checkpoint = Checkpoint::parse(&signed.text).map_err(LogCheckError::BadCheckpoint)?;
    if checkpoint.origin != verifier.key_name() {
        return Err(LogCheckError::WrongOrigin {
            got: checkpoint.origin,
            want: verifier.key_name().to_owned(),
        });
    }
    Ok(checkpoint)
}

/// Checks that the push leaf at `index` records `certificate` for `username` and is
/// included in `checkpoint` (RFC 9162 §2.1.3.2); returns the decoded leaf.
pub fn verify_push_inclusion(
    entry_bytes: &[u8],
    index: u64,
    username: &str,
    certificate: &[u8],
    proof: &[Hash],
    checkpoint: &Checkpoint,
) -> Result<RegistryLogEntry, LogCheckError> {
    verify_leaf_inclusion(
        entry_bytes,
        index,
        RegistryAction::Push,
        username,
        certificate,
        proof,
        checkpoint,
    )
}

/// Checks that the leaf at `index` records `action` on `certificate` by `username` and
/// is included in `checkpoint`; returns the decoded leaf.
pub fn verify_leaf_inclusion(
    entry_bytes: &[u8],
    index: u64,
    action: RegistryAction,
    username: &str,
    certificate: &[u8],
    proof: &[Hash],
    checkpoint: &Checkpoint,
) -> Result<RegistryLogEntry, LogCheckError> {
    let entry = RegistryLogEntry::read_bytes(entry_bytes).map_err(LogCheckError::MalformedEntry)?;
    if entry.action != action || entry.username != username || entry.certificate != certificate {
        return Err(LogCheckError::WrongEntry {
            index,
            action: match action {
                RegistryAction::Push => "push",
                RegistryAction::Revoke => "revocation",
            },
            username: username.to_owned(),
        });
    }
    let leaf = merkle::leaf_hash(entry_bytes);
    merkle::verify_inclusion(&leaf, index, checkpoint.size, proof, &checkpoint.root)
        .map_err(LogCheckError::Inclusion)?;
    Ok(entry)
}

/// Checks that `new` extends `old` (RFC 9162 §2.1.4.2). A smaller new tree is a
/// rollback, which no append-only log can produce.
pub fn verify_extends(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), LogCheckError> {
    let inconsistent = |reason: String| LogCheckError::Inconsistent {
        old_size: old.size,
        new_size: new.size,
        reason,
    };
    if new.size < old.size {
        return Err(inconsistent("the tree shrank".into()));
    }
    merkle::verify_consistency(old.size, new.size, &old.root, &new.root, proof)
        .map_err(|e| inconsistent(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use merkle::note::Ed25519NoteSigner;

    fn entry(user: &str, cert: &[u8]) -> Vec<u8> {
        let mut out = 1_700_000_000_000u64.to_be_bytes().to_vec();
        out.push(u8::try_from(user.len()).unwrap());
        out.extend_from_slice(user.as_bytes());
        out.push(0);
        out.extend_from_slice(&u16::try_from(cert.len()).unwrap().to_be_bytes());
        out.extend_from_slice(cert);
        out
    }

    fn signed(signer: &Ed25519NoteSigner, cp: &Checkpoint) -> String {
        let mut note = SignedNote::new(cp.to_text()).unwrap();
        note.sign(signer).unwrap();
        note.encode()
    }

    #[test]
    fn single_leaf_log_verifies_and_a_rewrite_is_refused() {
        let signer = Ed25519NoteSigner::from_seed("reg.example/log", &[7; 32]).unwrap();
        let vkey = signer.verifier_key();
        let e1 = entry("alice", b"\x30\x01\x00");
        let cp1 = Checkpoint::new("reg.example/log", 1, merkle::leaf_hash(&e1));
        let parsed = verify_checkpoint(&signed(&signer, &cp1), &vkey).unwrap();
        assert_eq!(parsed, cp1);
        verify_push_inclusion(&e1, 0, "alice", b"\x30\x01\x00", &[], &parsed).unwrap();
        assert!(matches!(
            verify_push_inclusion(&e1, 0, "mallory", b"\x30\x01\x00", &[], &parsed),
            Err(LogCheckError::WrongEntry { .. })
        ));

        // Same size, other root: the operator rewrote leaf 0.
        let e1b = entry("alice", b"\x30\x01\x01");
        let cp1b = Checkpoint::new("reg.example/log", 1, merkle::leaf_hash(&e1b));
        let e = verify_extends(&cp1, &cp1b, &[]).unwrap_err();
        assert!(e.to_string().contains("REWRITTEN HISTORY"), "{e}");
        // A proper extension verifies.
        let e2 = entry("bob", b"\x30\x01\x02");
        let l2 = merkle::leaf_hash(&e2);
        let cp2 = Checkpoint::new("reg.example/log", 2, merkle::node_hash(&cp1.root, &l2));
        verify_extends(&cp1, &cp2, &[l2]).unwrap();
        assert!(verify_extends(&cp2, &cp1, &[]).is_err(), "rollback");
    }

    #[test]
    fn checkpoint_signed_by_another_key_is_refused() {
        let signer = Ed25519NoteSigner::from_seed("reg.example/log", &[7; 32]).unwrap();
        let other = Ed25519NoteSigner::from_seed("reg.example/log", &[8; 32]).unwrap();
        let cp = Checkpoint::new("reg.example/log", 0, merkle::EMPTY_ROOT);
        assert!(matches!(
            verify_checkpoint(&signed(&other, &cp), &signer.verifier_key()),
            Err(LogCheckError::BadCheckpoint(_))
        ));
    }

    #[test]
    fn bundle_entries_are_found_by_position() {
        let bundle = [0u8, 1, 0xaa, 0, 2, 0xbb, 0xcc];
        assert_eq!(bundle_entry(&bundle, 0).unwrap(), &[0xaa]);
        assert_eq!(bundle_entry(&bundle, 1).unwrap(), &[0xbb, 0xcc]);
        assert!(bundle_entry(&bundle, 2).is_err());
        assert!(bundle_entry(&bundle[..4], 1).is_err());
    }
}
