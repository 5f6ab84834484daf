//! C2SP signed-note: a UTF-8 text followed by one or more signature lines
//! (`— <key name> <base64(key ID || signature)>`).
//!
//! Ed25519 (type 0x01) is implemented here; the static-ct-api `RFC6962NoteSignature`
//! (type 0x05), an RFC 6962 tree head signature, is `pki::rfc6962_note`, which
//! implements [`NoteVerifier`] with the TLS codec this crate does not have.

use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// Signature type byte for Ed25519 note keys.
pub const ALG_ED25519: u8 = 0x01;

/// Upper bound on a note we are willing to parse; checkpoints are a few hundred bytes.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Upper bound on signature lines, so hostile notes cannot make us verify forever.
pub const MAX_SIGNATURES: usize = 100;

const SIGNATURE_PREFIX: &str = "\u{2014} ";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("invalid key name {0:?}")]
    BadKeyName(String),
    #[error("signature by {0} does not verify")]
    BadSignature(String),
    #[error("no signature by a known key")]
    NoKnownSignature,
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    #[error("signing failed")]
    SigningFailed,
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub key_name: String,
    pub key_id: [u8; 4],
    pub signature: Vec<u8>,
}

/// A note: its text (ending in a newline) and its signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedNote {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

/// Key names are non-empty and contain no whitespace and no `+` (which separates the
/// fields of a verifier key).
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// `SHA-256(key name || 0x0A || signature type || public key)[:4]`.
pub fn key_id(name: &str, alg: u8, public_key: &[u8]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', alg]);
    hasher.update(public_key);
    let digest: [u8; 32] = hasher.finalize().into();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("note text must end with a newline"));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("note text has control characters"));
    }
    Ok(())
}

impl SignedNote {
    /// Builds a note from its text; the text must end with a newline.
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        check_text(&text)?;
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    pub fn sign(&mut self, signer: &dyn NoteSigner) -> Result<(), NoteError> {
        let signature = signer.sign(self.text.as_bytes())?;
        self.signatures.push(NoteSignature {
            key_name: signer.key_name().to_owned(),
            key_id: signer.key_id(),
            signature,
        });
        Ok(())
    }

    /// The wire form: text, a blank line, then one line per signature.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 128 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for sig in &self.signatures {
            let mut blob = sig.key_id.to_vec();
            blob.extend_from_slice(&sig.signature);
            out.push_str(SIGNATURE_PREFIX);
            out.push_str(&sig.key_name);
            out.push(' ');
            out.push_str(&BASE64.encode(blob));
            out.push('\n');
        }
        out
    }

    /// Parses the wire form without verifying anything.
    pub fn parse(input: &str) -> Result<Self, NoteError> {
        if input.len() > MAX_NOTE_BYTES {
            return Err(NoteError::Malformed("note too large"));
        }
        let split = input
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (text, sig_block) = (&input[..split + 1], &input[split + 2..]);
        check_text(text)?;
        if sig_block.is_empty() || !sig_block.ends_with('\n') {
            return Err(NoteError::Malformed(
                "signature block must end with a newline",
            ));
        }
        let mut signatures = Vec::new();
        for line in sig_block[..sig_block.len() - 1].split('\n') {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::Malformed("too many signatures"));
            }
            let rest = line
                .strip_prefix(SIGNATURE_PREFIX)
                .ok_or(NoteError::Malformed(
                    "signature line must start with an em dash",
                ))?;
            let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
                "signature line needs a name and a signature",
            ))?;
            check_key_name(name)?;
            let blob = BASE64
                .decode(b64)
                .map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if blob.len() < 5 {
                return Err(NoteError::Malformed("signature too short"));
            }
            signatures.push(NoteSignature {
                key_name: name.to_owned(),
                key_id: [blob[0], blob[1], blob[2], blob[3]],
                signature: blob[4..].to_vec(),
            });
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies every signature made by a key in `verifiers` (matched by name and key
    /// ID) and returns the names that verified. Signatures by unknown keys are
    /// ignored, as the spec says; a bad signature by a known key is an error, and so is
    /// a note with no signature by any known key.
    pub fn verify(&self, verifiers: &[&dyn NoteVerifier]) -> Result<Vec<String>, NoteError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let Some(verifier) = verifiers
                .iter()
                .find(|v| v.key_name() == sig.key_name && v.key_id() == sig.key_id)
            else {
                continue;
            };
            if !verifier.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature(sig.key_name.clone()));
            }
            if !verified.contains(&sig.key_name) {
                verified.push(sig.key_name.clone());
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }
}

/// Produces note signatures.
pub trait NoteSigner: Send + Sync {
    fn key_name(&self) -> &str;
    fn key_id(&self) -> [u8; 4];
    fn sign(&self, text: &[u8]) -> Result<Vec<u8>, NoteError>;
}

/// Checks note signatures.
pub trait NoteVerifier: Send + Sync {
    fn key_name(&self) -> &str;
    fn key_id(&self) -> [u8; 4];
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

/// An Ed25519 note key (signature type 0x01).
pub struct Ed25519NoteSigner {
    name: String,
    key_id: [u8; 4],
    key: Ed25519KeyPair,
}

impl std::fmt::Debug for Ed25519NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Ed25519NoteSigner {
    /// A signer from a 32-byte Ed25519 seed (the caller supplies the randomness).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key = Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| NoteError::BadVerifierKey("invalid Ed25519 seed"))?;
        let key_id = key_id(name, ALG_ED25519, key.public_key().as_ref());
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.key.public_key().as_ref());
        out
    }

    /// The verifier key string `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut blob = vec![ALG_ED25519];
        blob.extend_from_slice(&self.public_key());
        format!(
            "{}+{}+{}",
            self.name,
            hex_lower(&self.key_id),
            BASE64.encode(blob)
        )
    }

    pub fn verifier(&self) -> Ed25519NoteVerifier {
        Ed25519NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            public_key: self.public_key(),
        }
    }
}

impl NoteSigner for Ed25519NoteSigner {
    fn key_name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
    fn sign(&self, text: &[u8]) -> Result<Vec<u8>, NoteError> {
        Ok(self.key.sign(text).as_ref().to_vec())
    }
}

/// Verifies Ed25519 note signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519NoteVerifier {
    name: String,
    key_id: [u8; 4],
    public_key: [u8; 32],
}

impl Ed25519NoteVerifier {
    /// Parses a verifier key `<name>+<hex key ID>+<base64(0x01 || key)>`, checking that
    /// the key ID matches the key.
    pub fn from_verifier_key(vkey: &str) -> Result<Self, NoteError> {
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(NoteError::BadVerifierKey("expected name+id+key"));
        };
        check_key_name(name)?;
        let blob = BASE64
            .decode(b64)
            .map_err(|_| NoteError::BadVerifierKey("key is not base64"))?;
        let (&alg, key) = blob
            .split_first()
            .ok_or(NoteError::BadVerifierKey("empty key"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::BadVerifierKey("not an Ed25519 key"));
        }
        let public_key: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::BadVerifierKey("Ed25519 keys are 32 bytes"))?;
        let key_id = key_id(name, ALG_ED25519, &public_key);
        if id_hex != hex_lower(&key_id) {
            return Err(NoteError::BadVerifierKey("key ID does not match the key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id,
            public_key,
        })
    }
}

impl NoteVerifier for Ed25519NoteVerifier {
    fn key_name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
    fn verify(&self, text: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
            .verify(text, sig)
            .is_ok()
    }
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Ed25519NoteSigner {
        Ed25519NoteSigner::from_seed("example.com/log", &[7u8; 32]).unwrap()
    }

    #[test]
    fn sign_encode_parse_verify_round_trip() {
        let signer = signer();
        let mut note = SignedNote::new("example.com/log\n5\nAAAA\n").unwrap();
        note.sign(&signer).unwrap();
        let wire = note.encode();
        assert!(wire.contains("\n\n\u{2014} example.com/log "));
        let parsed = SignedNote::parse(&wire).unwrap();
        assert_eq!(parsed, note);
        let verifier = signer.verifier();
        assert_eq!(
            parsed.verify(&[&verifier]).unwrap(),
            vec!["example.com/log"]
        );
    }

    #[test]
    fn verifier_key_round_trips_and_checks_its_id() {
        let signer = signer();
        let vkey = signer.verifier_key();
        let parsed = Ed25519NoteVerifier::from_verifier_key(&vkey).unwrap();
        assert_eq!(parsed, signer.verifier());
        let tampered = vkey.replacen("+", "+0", 1);
        assert!(Ed25519NoteVerifier::from_verifier_key(&tampered).is_err());
    }

    #[test]
    fn tampered_text_fails() {
        let signer = signer();
        let mut note = SignedNote::new("example.com/log\n5\nAAAA\n").unwrap();
        note.sign(&signer).unwrap();
        let wire = note.encode().replace("\n5\n", "\n6\n");
        let parsed = SignedNote::parse(&wire).unwrap();
        assert_eq!(
            parsed.verify(&[&signer.verifier()]),
            Err(NoteError::BadSignature("example.com/log".into()))
        );
    }

    #[test]
    fn unknown_key_names_are_not_trusted() {
        let signer = signer();
        let other = Ed25519NoteSigner::from_seed("other.example/log", &[7u8; 32]).unwrap();
        let mut note = SignedNote::new("x\n").unwrap();
        note.sign(&signer).unwrap();
        assert_eq!(
            note.verify(&[&other.verifier()]),
            Err(NoteError::NoKnownSignature)
        );
    }

    #[test]
    fn malformed_notes_are_rejected() {
        for bad in [
            "",
            "text\n",
            "text\n\n",
            "text\n\n\u{2014} name\n",
            "text\n\n- name AAAAAAAA\n",
            "text\n\n\u{2014} name AAAAAAAA",
            "text\n\n\u{2014} name !!!!\n",
            "text\n\n\u{2014} name AAAA\n",
            "te\rxt\n\n\u{2014} name AAAAAAAA\n",
            "text\n\n\u{2014} na+me AAAAAAAA\n",
        ] {
            assert!(
                SignedNote::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert!(SignedNote::new("no newline").is_err());
        assert!(check_key_name("has space").is_err());
    }
}
