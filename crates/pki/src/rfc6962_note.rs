//! c2sp.org/static-ct-api checkpoint signatures: the `RFC6962NoteSignature` note
//! signature type (0x05), on top of `merkle::note`'s generic signed notes.
//!
//! Its signature is an RFC 6962 tree head signature over the checkpoint the note
//! carries, so the same signature serves the RFC 6962 `get-sth` response and the
//! tiled log's checkpoint.

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use merkle::checkpoint::Checkpoint;
use merkle::note::{NoteError, NoteSignature, NoteVerifier, check_key_name, key_id};

use crate::ct::{CtError, DigitallySigned, TreeHeadSignature, log_id};
use crate::tls::{Codec, Reader, put_uint};

/// Signature type byte for static-ct-api RFC 6962 note signatures.
pub const ALG_RFC6962: u8 = 0x05;

/// static-ct-api "Checkpoints": the signature bytes of an RFC6962NoteSignature.
///
/// ```text
/// struct {
///   uint64 timestamp;
///   TreeHeadSignature signature;
/// } RFC6962NoteSignature;
/// ```
///
/// `signature` is the `DigitallySigned` the log made over the [`TreeHeadSignature`]
/// of `timestamp` and the checkpoint's size and root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rfc6962NoteSignature {
    /// The tree head timestamp, milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The tree head signature.
    pub signature: DigitallySigned,
}

impl Codec for Rfc6962NoteSignature {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        put_uint(out, self.timestamp, 8);
        self.signature.write(out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(Self {
            timestamp: r.u64("timestamp")?,
            signature: DigitallySigned::read(r)?,
        })
    }
}

impl Rfc6962NoteSignature {
    /// Decodes a note signature made with an ECDSA P-256 log key: the whole of
    /// `signature`, with the DigitallySigned header SHA-256 (4) / ECDSA (3).
    pub fn decode_ecdsa(signature: &[u8]) -> Option<Self> {
        let decoded = Self::read_bytes(signature).ok()?;
        let ds = &decoded.signature;
        if ds.hash != DigitallySigned::HASH_SHA256
            || ds.signature_algorithm != DigitallySigned::SIG_ECDSA
        {
            return None;
        }
        Some(decoded)
    }
}

/// static-ct-api: the key ID of an RFC6962NoteSignature hashes the 32-byte RFC 6962
/// `LogID` (SHA-256 of the SPKI), not the SPKI itself.
pub fn rfc6962_key_id(key_name: &str, spki_der: &[u8]) -> [u8; 4] {
    key_id(key_name, ALG_RFC6962, &log_id(spki_der))
}

/// The note signature line of a tree head signature already made over the
/// checkpoint's size and root.
pub fn rfc6962_note_signature(
    key_name: &str,
    spki_der: &[u8],
    timestamp_ms: u64,
    signature: &DigitallySigned,
) -> Result<NoteSignature, CtError> {
    let signature = Rfc6962NoteSignature {
        timestamp: timestamp_ms,
        signature: signature.clone(),
    }
    .to_bytes()?;
    Ok(NoteSignature {
        key_name: key_name.to_owned(),
        key_id: rfc6962_key_id(key_name, spki_der),
        signature,
    })
}

/// Verifies static-ct-api checkpoint signatures made with an ECDSA P-256 log key.
#[derive(Clone, Debug)]
pub struct Rfc6962NoteVerifier {
    name: String,
    key_id: [u8; 4],
    spki_der: Vec<u8>,
}

impl Rfc6962NoteVerifier {
    /// `name` is the log's origin (the checkpoint's first line).
    pub fn new(name: &str, spki_der: &[u8]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: rfc6962_key_id(name, spki_der),
            spki_der: spki_der.to_vec(),
        })
    }
}

impl NoteVerifier for Rfc6962NoteVerifier {
    fn key_name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> [u8; 4] {
        self.key_id
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(text) = std::str::from_utf8(text) else {
            return false;
        };
        let Ok(checkpoint) = Checkpoint::parse(text) else {
            return false;
        };
        if checkpoint.origin != self.name {
            return false;
        }
        let Some(note_signature) = Rfc6962NoteSignature::decode_ecdsa(signature) else {
            return false;
        };
        let Ok(message) = (TreeHeadSignature {
            timestamp: note_signature.timestamp,
            tree_size: checkpoint.size,
            sha256_root_hash: checkpoint.root,
        })
        .to_bytes() else {
            return false;
        };
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &self.spki_der)
            .verify(&message, &note_signature.signature.signature)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn rfc6962_key_id_hashes_the_log_id_as_static_ct_api_says() {
        let spki = b"not really an spki, only bytes";
        let log_id = Sha256::digest(spki);
        let mut input = b"ct.example/log\n\x05".to_vec();
        input.extend_from_slice(&log_id);
        let digest = Sha256::digest(&input);
        assert_eq!(rfc6962_key_id("ct.example/log", spki), digest[..4]);
        let empty = DigitallySigned {
            hash: 4,
            signature_algorithm: 3,
            signature: vec![],
        };
        assert_eq!(
            rfc6962_note_signature("ct.example/log", spki, 1, &empty)
                .unwrap()
                .key_id,
            digest[..4]
        );
    }

    #[test]
    fn the_signature_is_the_timestamp_then_the_digitally_signed() {
        let ds = DigitallySigned {
            hash: 4,
            signature_algorithm: 3,
            signature: vec![0xaa, 0xbb],
        };
        let line = rfc6962_note_signature("ct.example/log", b"spki", 0x0102, &ds).unwrap();
        assert_eq!(
            line.signature,
            [&[0, 0, 0, 0, 0, 0, 1, 2][..], &[4, 3, 0, 2, 0xaa, 0xbb]].concat()
        );
        let back = Rfc6962NoteSignature::decode_ecdsa(&line.signature).unwrap();
        assert_eq!((back.timestamp, back.signature), (0x0102, ds));
    }

    #[test]
    fn only_whole_sha256_ecdsa_signatures_are_accepted() {
        let good = [&[0u8; 8][..], &[4, 3, 0, 1, 0xaa]].concat();
        assert!(Rfc6962NoteSignature::decode_ecdsa(&good).is_some());
        for bad in [
            [&[0u8; 8][..], &[4, 1, 0, 1, 0xaa]].concat(),
            [&[0u8; 8][..], &[2, 3, 0, 1, 0xaa]].concat(),
            [&[0u8; 8][..], &[4, 3, 0, 2, 0xaa]].concat(),
            [&[0u8; 8][..], &[4, 3, 0, 1, 0xaa, 0]].concat(),
            vec![0; 7],
        ] {
            assert!(
                Rfc6962NoteSignature::decode_ecdsa(&bad).is_none(),
                "{bad:?}"
            );
        }
    }
}
