//! The client-side checks built on the RFC 6962 §4 JSON messages (`pki::ct_api`):
//! rebuilding an entry's Merkle leaf from its SCT, verifying the SCT, and finding a
//! log's key in the server's Chrome-v3-shaped `log_list.json`.
//!
//! Parsing is strict about the binary fields (base64, TLS structures with no trailing
//! bytes) and lenient about unknown JSON fields, so a server adding fields later does
//! not break the client.

use pki::ct::{merkle_tree_leaf, sct_signed_data};
use pki::{SignedCertificateTimestamp, SignedEntry, TimestampedEntry};
use reqwest::Url;

pub use pki::loglist::{LogList, LogListEntry};

pub use pki::ct_api::{
    AddChainResponse, GetProofByHashResponse as ProofByHashResponse, GetRootsResponse,
    GetSthResponse, SignedTreeHead as TreeHead,
};

/// Why a server answer could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A signature or proof does not verify.
    #[error("{0}")]
    Verify(String),
}

/// The RFC 6962 §3.4 `TimestampedEntry` of an `x509_entry` as the log built it: the SCT's
/// timestamp and extensions around the leaf certificate. (§3.4: "timestamp" and
/// "extensions" of the leaf are those of the SCT issued for it.)
pub fn x509_timestamped_entry(
    leaf_der: &[u8],
    timestamp: u64,
    extensions: &[u8],
) -> TimestampedEntry {
    TimestampedEntry {
        timestamp,
        entry: SignedEntry::X509(leaf_der.to_vec()),
        extensions: extensions.to_vec(),
    }
}

/// The RFC 6962 §2.1 leaf hash, `SHA-256(0x00 || MerkleTreeLeaf)`, of a log entry.
pub fn entry_leaf_hash(entry: &TimestampedEntry) -> merkle::Hash {
    merkle::leaf_hash(&merkle_tree_leaf(entry))
}

/// The leaf hash of a submitted certificate, computed from the SCT the log returned
/// for it (see [`x509_timestamped_entry`]).
pub fn x509_leaf_hash(leaf_der: &[u8], sct: &SignedCertificateTimestamp) -> merkle::Hash {
    entry_leaf_hash(&x509_timestamped_entry(
        leaf_der,
        sct.timestamp,
        &sct.extensions,
    ))
}

/// Verifies an SCT (RFC 6962 §3.2) for `entry` against `key`: the `LogID` must be the
/// key's hash and the signature must cover the entry.
pub fn verify_sct(
    entry: &TimestampedEntry,
    sct: &SignedCertificateTimestamp,
    key: &LogKey,
) -> Result<(), ApiError> {
    if sct.log_id != key.log_id {
        return Err(ApiError::Verify(
            "SCT log id is not the log key's hash".into(),
        ));
    }
    pki::verify_digitally_signed(&key.spki_der, &sct_signed_data(entry), &sct.signature)
        .map_err(|e| ApiError::Verify(format!("SCT signature: {e}")))
}

/// A log's identity as the client checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKey {
    /// Description from the log list (or where the key came from).
    pub description: String,
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// `SHA-256(spki_der)` (RFC 6962 §3.2).
    pub log_id: [u8; 32],
}

impl LogKey {
    /// A key from its SPKI DER.
    pub fn from_spki(description: impl Into<String>, spki_der: Vec<u8>) -> Self {
        Self {
            description: description.into(),
            log_id: pki::ct::log_id(&spki_der),
            spki_der,
        }
    }
}

/// Canonical form of a log URL for comparison: scheme, host, effective port and the path
/// without trailing slashes. Relative URLs in the list are resolved against `server_root`.
fn url_key(url: &str, server_root: &Url) -> Option<(String, String, u16, String)> {
    let u = Url::parse(url).or_else(|_| server_root.join(url)).ok()?;
    Some((
        u.scheme().to_owned(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default()?,
        u.path().trim_end_matches('/').to_owned(),
    ))
}

/// The key of the log in `list` whose `url` is `base` (trailing slashes ignored).
pub fn find_by_url(
    list: &LogList,
    base: &Url,
    server_root: &Url,
) -> Result<Option<LogKey>, ApiError> {
    let want = url_key(base.as_str(), server_root);
    for log in list.logs() {
        if want.is_some() && url_key(&log.url, server_root) == want {
            return to_key(log).map(Some);
        }
    }
    Ok(None)
}

/// Decodes a list entry's key and checks it against the listed `log_id` (when present).
pub fn to_key(log: &LogListEntry) -> Result<LogKey, ApiError> {
    let (spki_der, log_id) = log
        .checked_key()
        .map_err(|e| ApiError::Verify(format!("log list entry {:?}: {e}", log.description)))?;
    Ok(LogKey {
        description: log.description.clone(),
        spki_der,
        log_id,
    })
}

/// Appends `s` percent-encoded for a query string value (RFC 3986 unreserved characters
/// pass through; base64's `+`, `/` and `=` do not).
pub fn push_query_value(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use pki::DigitallySigned;
    use pki::ct::leaf_index_extension;

    const LEAF: &[u8] = b"\x30\x03\x02\x01\x07"; // stands in for a DER certificate

    fn sct(timestamp: u64, extensions: Vec<u8>) -> SignedCertificateTimestamp {
        SignedCertificateTimestamp {
            log_id: [7; 32],
            timestamp,
            extensions,
            signature: DigitallySigned {
                hash: DigitallySigned::HASH_SHA256,
                signature_algorithm: DigitallySigned::SIG_ECDSA,
                signature: vec![1, 2, 3],
            },
        }
    }

    #[test]
    fn leaf_hash_is_hash_of_merkle_tree_leaf_built_from_sct() {
        let ext = leaf_index_extension(42).unwrap();
        let s = sct(1_700_000_000_123, ext.clone());
        let entry = TimestampedEntry {
            timestamp: 1_700_000_000_123,
            entry: SignedEntry::X509(LEAF.to_vec()),
            extensions: ext,
        };
        assert_eq!(
            x509_leaf_hash(LEAF, &s),
            merkle::leaf_hash(&merkle_tree_leaf(&entry))
        );
    }

    #[test]
    fn leaf_hash_matches_hand_encoded_rfc6962_leaf() {
        // MerkleTreeLeaf: version v1(0), leaf_type timestamped_entry(0), uint64 timestamp,
        // entry_type x509_entry(0) as uint16, ASN.1Cert<1..2^24-1>, CtExtensions<0..2^16-1>.
        let ext = leaf_index_extension(5).unwrap();
        let ts: u64 = 0x0102_0304_0506_0708;
        let mut leaf = vec![0u8, 0];
        leaf.extend_from_slice(&ts.to_be_bytes());
        leaf.extend_from_slice(&[0, 0]);
        leaf.extend_from_slice(&[0, 0, LEAF.len() as u8]);
        leaf.extend_from_slice(LEAF);
        leaf.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        leaf.extend_from_slice(&ext);
        // RFC 6962 §2.1: MTH({d(0)}) = SHA-256(0x00 || d(0)).
        let mut prefixed = vec![0u8];
        prefixed.extend_from_slice(&leaf);
        let want: [u8; 32] = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &prefixed)
            .as_ref()
            .try_into()
            .unwrap();
        assert_eq!(x509_leaf_hash(LEAF, &sct(ts, ext)), want);
    }

    #[test]
    fn leaf_hash_depends_on_timestamp_and_extensions() {
        let a = x509_leaf_hash(LEAF, &sct(1, leaf_index_extension(1).unwrap()));
        let b = x509_leaf_hash(LEAF, &sct(2, leaf_index_extension(1).unwrap()));
        let c = x509_leaf_hash(LEAF, &sct(1, leaf_index_extension(2).unwrap()));
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn sct_signed_by_log_key_verifies_and_tampering_fails() {
        let signer = pki::EcdsaP256Signer::generate().unwrap();
        let key = LogKey::from_spki("test", signer.spki_der());
        let ext = leaf_index_extension(9).unwrap();
        let entry = x509_timestamped_entry(LEAF, 1234, &ext);
        let sig = signer
            .sign_digitally_signed(&sct_signed_data(&entry))
            .unwrap();
        let mut s = SignedCertificateTimestamp {
            log_id: key.log_id,
            timestamp: 1234,
            extensions: ext.clone(),
            signature: sig,
        };
        verify_sct(&entry, &s, &key).unwrap();
        let other = x509_timestamped_entry(b"\x30\x00", 1234, &ext);
        assert!(verify_sct(&other, &s, &key).is_err());
        let wrong_key = LogKey::from_spki("other", b"not this key".to_vec());
        assert!(verify_sct(&entry, &s, &wrong_key).is_err());
        s.timestamp += 1;
        let moved = x509_timestamped_entry(LEAF, s.timestamp, &ext);
        assert!(verify_sct(&moved, &s, &key).is_err());
    }

    fn log_list(url: &str, key: &[u8]) -> LogList {
        let json = format!(
            r#"{{"version":"1","operators":[{{"name":"op","email":[],"logs":[
                {{"description":"other","log_id":"{}","key":"{}","url":"http://127.0.0.1:8080/logs/dev-b/","mmd":60,"state":{{"usable":{{"timestamp":"2025-01-01T00:00:00Z"}}}}}},
                {{"description":"dev-a","log_id":"{}","key":"{}","url":"{url}","mmd":60,"state":{{"usable":{{"timestamp":"2025-01-01T00:00:00Z"}}}}}}
            ]}}]}}"#,
            B64.encode(pki::ct::log_id(b"other")),
            B64.encode(b"other"),
            B64.encode(pki::ct::log_id(key)),
            B64.encode(key),
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn log_list_match_ignores_trailing_slashes_and_default_port() {
        let root = Url::parse("http://127.0.0.1:8080/").unwrap();
        for listed in [
            "http://127.0.0.1:8080/logs/dev-a/",
            "http://127.0.0.1:8080/logs/dev-a",
            "/logs/dev-a/",
        ] {
            let list = log_list(listed, b"key-a");
            for base in [
                "http://127.0.0.1:8080/logs/dev-a",
                "http://127.0.0.1:8080/logs/dev-a//",
            ] {
                let got = find_by_url(&list, &Url::parse(base).unwrap(), &root)
                    .unwrap()
                    .unwrap();
                assert_eq!(got.spki_der, b"key-a");
                assert_eq!(got.description, "dev-a");
            }
        }
        let list = log_list("http://example.com/ct/", b"k");
        let root = Url::parse("http://example.com/").unwrap();
        assert!(
            find_by_url(
                &list,
                &Url::parse("http://example.com:80/ct").unwrap(),
                &root
            )
            .unwrap()
            .is_some()
        );
        assert!(
            find_by_url(&list, &Url::parse("http://example.com/ct2").unwrap(), &root)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn log_list_entry_with_wrong_log_id_is_rejected() {
        let mut list = log_list("http://h/logs/a", b"key-a");
        list.operators[0].logs[1].log_id = B64.encode([0u8; 32]);
        let root = Url::parse("http://h/").unwrap();
        assert!(find_by_url(&list, &Url::parse("http://h/logs/a").unwrap(), &root).is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        let mut s = String::new();
        push_query_value(&mut s, "ab+/c=Z9-_.~");
        assert_eq!(s, "ab%2B%2Fc%3DZ9-_.~");
    }
}
