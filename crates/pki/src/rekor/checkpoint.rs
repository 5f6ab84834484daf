//! Checkpoint signatures of sigstore transparency logs (Rekor v1 and v2): a C2SP signed
//! note whose signature is a plain ECDSA signature over the note text, with the key ID
//! sigstore clients look for.
//!
//! ```text
//! <origin>
//! <tree size>
//! <root hash, base64>
//!
//! — <key name> base64(key ID (4 bytes) || DER ECDSA-Sig-Value over the text above)
//! ```
//!
//! The key ID is the first four bytes of the log ID, SHA-256 of the key's
//! SubjectPublicKeyInfo DER — not the signed-note spec's hash of name and key: clients
//! (sigstore-python `SignedNote.verify`, sigstore-js) match the note signature to the
//! entry's `logID` by exactly these bytes.

use merkle::note::{NoteError, NoteSigner, NoteVerifier, check_key_name};

use crate::keys::EcdsaP256Signer;
use crate::verify::{HashAlgorithm, verify_by_key};

/// The note key ID of a sigstore log key: `SHA-256(SPKI DER)[..4]`.
pub fn checkpoint_key_id(spki_der: &[u8]) -> [u8; 4] {
    let log_id = crate::ct::log_id(spki_der);
    [log_id[0], log_id[1], log_id[2], log_id[3]]
}

/// Signs checkpoints with an ECDSA P-256 log key.
pub struct EcdsaNoteSigner<'a> {
    name: String,
    key_id: [u8; 4],
    key: &'a EcdsaP256Signer,
}

impl<'a> EcdsaNoteSigner<'a> {
    /// `name` is the note key name, the log's origin.
    pub fn new(name: &str, key: &'a EcdsaP256Signer) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: checkpoint_key_id(&key.spki_der()),
            key,
        })
    }
}

impl NoteSigner for EcdsaNoteSigner<'_> {
    fn key_name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
    fn sign(&self, text: &[u8]) -> Result<Vec<u8>, NoteError> {
        self.key
            .sign(text)
            .map_err(|_| NoteError::Malformed("the log key could not sign the checkpoint"))
    }
}

/// Verifies checkpoint signatures made by [`EcdsaNoteSigner`] (ECDSA P-256/SHA-256).
#[derive(Clone, Debug)]
pub struct EcdsaNoteVerifier {
    name: String,
    key_id: [u8; 4],
    spki_der: Vec<u8>,
}

impl EcdsaNoteVerifier {
    /// `name` is the note key name the log signs with (its origin).
    pub fn new(name: &str, spki_der: &[u8]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: checkpoint_key_id(spki_der),
            spki_der: spki_der.to_vec(),
        })
    }
}

impl NoteVerifier for EcdsaNoteVerifier {
    fn key_name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        verify_by_key(&self.spki_der, HashAlgorithm::Sha256, text, signature).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use merkle::checkpoint::Checkpoint;
    use merkle::note::SignedNote;

    use super::*;

    fn signed(origin: &str, key: &EcdsaP256Signer) -> String {
        let mut note = SignedNote::new(Checkpoint::new(origin, 7, [9; 32]).to_text()).unwrap();
        note.sign(&EcdsaNoteSigner::new(origin, key).unwrap())
            .unwrap();
        note.encode()
    }

    #[test]
    fn note_signature_starts_with_the_log_id_prefix() {
        let key = EcdsaP256Signer::generate().unwrap();
        let note = SignedNote::parse(&signed("log.example/rekor", &key)).unwrap();
        assert_eq!(note.signatures.len(), 1);
        assert_eq!(note.signatures[0].key_id, key.log_id()[..4]);
    }

    #[test]
    fn verifies_with_the_log_key_only() {
        let key = EcdsaP256Signer::generate().unwrap();
        let other = EcdsaP256Signer::generate().unwrap();
        let text = signed("log.example/rekor", &key);
        let note = SignedNote::parse(&text).unwrap();
        let good = EcdsaNoteVerifier::new("log.example/rekor", &key.spki_der()).unwrap();
        assert_eq!(note.verify(&[&good]).unwrap(), vec!["log.example/rekor"]);
        let wrong = EcdsaNoteVerifier::new("log.example/rekor", &other.spki_der()).unwrap();
        assert!(note.verify(&[&wrong]).is_err());
    }

    #[test]
    fn a_changed_tree_size_breaks_the_signature() {
        let key = EcdsaP256Signer::generate().unwrap();
        let text = signed("log.example/rekor", &key).replacen("\n7\n", "\n8\n", 1);
        let note = SignedNote::parse(&text).unwrap();
        let verifier = EcdsaNoteVerifier::new("log.example/rekor", &key.spki_der()).unwrap();
        assert!(note.verify(&[&verifier]).is_err());
    }
}
