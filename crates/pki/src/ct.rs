//! RFC 6962 TLS-encoded structures and the c2sp.org/static-ct-api additions.
//!
//! Every structure is encoded and decoded in exactly one place, under a doc
//! comment quoting its definition. Decoders only ever slice their input, so
//! the memory they allocate is bounded by the input length; they never panic.
//!
//! Encoders write values this crate (or the log) constructed. A field longer
//! than its TLS length prefix can express is a programming error: the
//! `try_*` encoders return [`CtError::TooLong`], the infallible ones panic
//! with that message (documented under `# Panics`).

use sha2::{Digest, Sha256};
use thiserror::Error;

/// Errors of the TLS codecs in this module.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CtError {
    /// The input ended inside a structure.
    #[error("truncated input while reading {0}")]
    Truncated(&'static str),
    /// Bytes remain after a structure that must fill its input.
    #[error("{0} trailing bytes after structure")]
    TrailingData(usize),
    /// `LogEntryType` other than x509_entry(0) / precert_entry(1).
    #[error("unknown LogEntryType {0}")]
    UnknownEntryType(u16),
    /// `Version` other than v1(0).
    #[error("unsupported version {0}")]
    UnsupportedVersion(u8),
    /// `MerkleLeafType` other than timestamped_entry(0).
    #[error("unknown MerkleLeafType {0}")]
    UnknownLeafType(u8),
    /// A vector whose lower bound is 1 was empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// A value does not fit its TLS length prefix.
    #[error("{field} is {len} bytes, more than the maximum {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The maximum the encoding allows.
        max: usize,
    },
    /// A vector of fixed-size elements had a length that is not a multiple of the element size.
    #[error("{0} length is not a multiple of its element size")]
    Misaligned(&'static str),
    /// static-ct-api: LeafIndex is a 40-bit integer.
    #[error("leaf index {0} does not fit in 40 bits")]
    LeafIndexOutOfRange(u64),
    /// static-ct-api: the leaf_index extension is REQUIRED.
    #[error("no leaf_index extension")]
    MissingLeafIndex,
    /// static-ct-api: duplicate extension types MUST NOT be included.
    #[error("duplicate CT extension type {0}")]
    DuplicateExtension(u8),
    /// static-ct-api: the leaf_index extension data must be exactly 5 bytes.
    #[error("leaf_index extension data is {0} bytes, expected 5")]
    BadLeafIndexLength(usize),
    /// A TileLeaf carried a pre_certificate for an x509 entry or lacked one for a precert entry.
    #[error("pre_certificate presence does not match the entry type")]
    PreCertificateMismatch,
    /// The DER wrapping of the SCT list X.509 extension is malformed.
    #[error("malformed SCT list extension DER: {0}")]
    Der(String),
}

/// Upper bound of `opaque ASN.1Cert<1..2^24-1>` and other 24-bit vectors.
pub const MAX_U24: usize = (1 << 24) - 1;
/// Upper bound of 16-bit vectors such as `CtExtensions<0..2^16-1>`.
pub const MAX_U16: usize = (1 << 16) - 1;

// ---------------------------------------------------------------------------
// Primitive TLS reader/writer (RFC 8446 §3 presentation language).
// ---------------------------------------------------------------------------

/// Bounds-checked reader over a TLS-encoded byte string.
struct TlsReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> TlsReader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CtError> {
        let end = self.pos.checked_add(n).ok_or(CtError::Truncated(what))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(CtError::Truncated(what))?;
        self.pos = end;
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, CtError> {
        Ok(self.take(1, what)?[0])
    }

    fn uint(&mut self, width: usize, what: &'static str) -> Result<u64, CtError> {
        Ok(self
            .take(width, what)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, CtError> {
        // Width 2 always fits in u16.
        Ok(self.uint(2, what)? as u16)
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, CtError> {
        self.uint(8, what)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], CtError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// `opaque x<min..2^(8*width)-1>`: a length prefix of `width` bytes, then the data.
    fn opaque(
        &mut self,
        width: usize,
        min: usize,
        what: &'static str,
    ) -> Result<&'a [u8], CtError> {
        let len = self.uint(width, what)?;
        let len = usize::try_from(len).map_err(|_| CtError::Truncated(what))?;
        if len < min {
            return Err(CtError::Empty(what));
        }
        self.take(len, what)
    }

    fn finish(&self) -> Result<(), CtError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(CtError::TrailingData(n)),
        }
    }
}

fn put_uint(out: &mut Vec<u8>, value: u64, width: usize) {
    let bytes = value.to_be_bytes();
    out.extend_from_slice(&bytes[8 - width..]);
}

/// Writes `opaque x<min..2^(8*width)-1>`.
fn put_opaque(
    out: &mut Vec<u8>,
    data: &[u8],
    width: usize,
    what: &'static str,
) -> Result<(), CtError> {
    let max = (1usize << (8 * width)) - 1;
    if data.len() > max {
        return Err(CtError::TooLong {
            field: what,
            len: data.len(),
            max,
        });
    }
    put_uint(out, data.len() as u64, width);
    out.extend_from_slice(data);
    Ok(())
}

/// Writes a vector whose body is produced by `body`, prefixed with its length in `width` bytes.
fn put_vector(
    out: &mut Vec<u8>,
    width: usize,
    what: &'static str,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), CtError>,
) -> Result<(), CtError> {
    let start = out.len();
    out.extend(std::iter::repeat_n(0u8, width));
    body(out)?;
    let len = out.len() - start - width;
    let max = (1usize << (8 * width)) - 1;
    if len > max {
        out.truncate(start);
        return Err(CtError::TooLong {
            field: what,
            len,
            max,
        });
    }
    let bytes = (len as u64).to_be_bytes();
    out[start..start + width].copy_from_slice(&bytes[8 - width..]);
    Ok(())
}

fn must<T>(r: Result<T, CtError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("encoding a CT structure: {e}"),
    }
}

// ---------------------------------------------------------------------------
// RFC 6962 §3.1, §3.4: log entries
// ---------------------------------------------------------------------------

/// RFC 6962 §3.1 `LogEntryType`.
///
/// ```text
/// enum { x509_entry(0), precert_entry(1), (65535) } LogEntryType;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum LogEntryType {
    /// `x509_entry(0)`
    X509 = 0,
    /// `precert_entry(1)`
    Precert = 1,
}

impl LogEntryType {
    fn decode(r: &mut TlsReader<'_>) -> Result<Self, CtError> {
        match r.u16("LogEntryType")? {
            0 => Ok(Self::X509),
            1 => Ok(Self::Precert),
            other => Err(CtError::UnknownEntryType(other)),
        }
    }
}

/// RFC 6962 §3.4 `signed_entry`, selected by `entry_type`.
///
/// ```text
/// opaque ASN.1Cert<1..2^24-1>;
///
/// struct {
///   opaque issuer_key_hash[32];
///   TBSCertificate tbs_certificate;   /* opaque TBSCertificate<1..2^24-1> */
/// } PreCert;
///
/// select(entry_type) {
///   case x509_entry: ASN.1Cert;
///   case precert_entry: PreCert;
/// } signed_entry;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SignedEntry {
    /// The DER of the leaf certificate.
    X509(Vec<u8>),
    /// A precertificate: the issuer's SPKI hash and the DER TBSCertificate
    /// with the poison extension removed (RFC 6962 §3.2).
    Precert {
        /// SHA-256 of the final issuer's SubjectPublicKeyInfo DER.
        issuer_key_hash: [u8; 32],
        /// DER TBSCertificate as it will appear in the final certificate (without SCT list).
        tbs_certificate: Vec<u8>,
    },
}

impl SignedEntry {
    /// The `LogEntryType` selecting this variant.
    pub fn entry_type(&self) -> LogEntryType {
        match self {
            Self::X509(_) => LogEntryType::X509,
            Self::Precert { .. } => LogEntryType::Precert,
        }
    }

    fn try_encode(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        match self {
            Self::X509(cert) => put_asn1_cert(out, cert, "ASN.1Cert"),
            Self::Precert {
                issuer_key_hash,
                tbs_certificate,
            } => {
                out.extend_from_slice(issuer_key_hash);
                put_asn1_cert(out, tbs_certificate, "TBSCertificate")
            }
        }
    }

    fn decode(r: &mut TlsReader<'_>, entry_type: LogEntryType) -> Result<Self, CtError> {
        match entry_type {
            LogEntryType::X509 => Ok(Self::X509(r.opaque(3, 1, "ASN.1Cert")?.to_vec())),
            LogEntryType::Precert => {
                let issuer_key_hash = r.array::<32>("issuer_key_hash")?;
                let tbs_certificate = r.opaque(3, 1, "TBSCertificate")?.to_vec();
                Ok(Self::Precert {
                    issuer_key_hash,
                    tbs_certificate,
                })
            }
        }
    }
}

/// `opaque ASN.1Cert<1..2^24-1>` (non-empty, 24-bit length).
fn put_asn1_cert(out: &mut Vec<u8>, der: &[u8], what: &'static str) -> Result<(), CtError> {
    if der.is_empty() {
        return Err(CtError::Empty(what));
    }
    put_opaque(out, der, 3, what)
}

/// RFC 6962 §3.4 `TimestampedEntry`.
///
/// ```text
/// opaque CtExtensions<0..2^16-1>;
///
/// struct {
///   uint64 timestamp;
///   LogEntryType entry_type;
///   select(entry_type) {
///     case x509_entry: ASN.1Cert;
///     case precert_entry: PreCert;
///   } signed_entry;
///   CtExtensions extensions;
/// } TimestampedEntry;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimestampedEntry {
    /// Milliseconds since the Unix epoch (the SCT timestamp).
    pub timestamp: u64,
    /// The logged certificate or precertificate.
    pub entry: SignedEntry,
    /// The `CtExtensions` body (without its 16-bit length prefix).
    pub extensions: Vec<u8>,
}

impl TimestampedEntry {
    /// Appends the TLS encoding.
    ///
    /// # Panics
    /// If a field exceeds its TLS bound (certificate ≥ 2^24 bytes, extensions ≥ 2^16 bytes)
    /// or a certificate is empty; use [`Self::try_encode`] for untrusted values.
    pub fn encode(&self, out: &mut Vec<u8>) {
        must(self.try_encode(out));
    }

    /// Appends the TLS encoding, or fails without writing if a field exceeds its bound.
    pub fn try_encode(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        let start = out.len();
        let r = (|| {
            put_uint(out, self.timestamp, 8);
            put_uint(out, self.entry.entry_type() as u64, 2);
            self.entry.try_encode(out)?;
            put_opaque(out, &self.extensions, 2, "CtExtensions")
        })();
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// Decodes one `TimestampedEntry` from the front of `input`, returning it and the
    /// number of bytes consumed.
    pub fn decode(input: &[u8]) -> Result<(Self, usize), CtError> {
        let mut r = TlsReader::new(input);
        let e = Self::read(&mut r)?;
        Ok((e, r.pos))
    }

    fn read(r: &mut TlsReader<'_>) -> Result<Self, CtError> {
        let timestamp = r.u64("timestamp")?;
        let entry_type = LogEntryType::decode(r)?;
        let entry = SignedEntry::decode(r, entry_type)?;
        let extensions = r.opaque(2, 0, "CtExtensions")?.to_vec();
        Ok(Self {
            timestamp,
            entry,
            extensions,
        })
    }
}

/// RFC 6962 §3.4 `MerkleTreeLeaf`; the leaf hash input is this encoding.
///
/// ```text
/// enum { v1(0), (255) } Version;
/// enum { timestamped_entry(0), (255) } MerkleLeafType;
///
/// struct {
///   Version version;
///   MerkleLeafType leaf_type;
///   select (leaf_type) {
///     case timestamped_entry: TimestampedEntry;
///   }
/// } MerkleTreeLeaf;
/// ```
///
/// # Panics
/// As [`TimestampedEntry::encode`].
pub fn merkle_tree_leaf(entry: &TimestampedEntry) -> Vec<u8> {
    let mut out = vec![VERSION_V1, LEAF_TYPE_TIMESTAMPED_ENTRY];
    entry.encode(&mut out);
    out
}

/// Parses a `MerkleTreeLeaf` (see [`merkle_tree_leaf`]); trailing bytes are rejected.
pub fn parse_merkle_tree_leaf(input: &[u8]) -> Result<TimestampedEntry, CtError> {
    let mut r = TlsReader::new(input);
    let version = r.u8("MerkleTreeLeaf.version")?;
    if version != VERSION_V1 {
        return Err(CtError::UnsupportedVersion(version));
    }
    let leaf_type = r.u8("MerkleLeafType")?;
    if leaf_type != LEAF_TYPE_TIMESTAMPED_ENTRY {
        return Err(CtError::UnknownLeafType(leaf_type));
    }
    let entry = TimestampedEntry::read(&mut r)?;
    r.finish()?;
    Ok(entry)
}

const VERSION_V1: u8 = 0;
const LEAF_TYPE_TIMESTAMPED_ENTRY: u8 = 0;
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP: u8 = 0;

/// RFC 6962 §3.2: the input of the SCT signature.
///
/// ```text
/// enum { certificate_timestamp(0), tree_hash(1), (255) } SignatureType;
///
/// digitally-signed struct {
///   Version sct_version;
///   SignatureType signature_type = certificate_timestamp;
///   uint64 timestamp;
///   LogEntryType entry_type;
///   select(entry_type) {
///     case x509_entry: ASN.1Cert;
///     case precert_entry: PreCert;
///   } signed_entry;
///   CtExtensions extensions;
/// };
/// ```
///
/// The fields after `signature_type` are exactly a [`TimestampedEntry`].
///
/// # Panics
/// As [`TimestampedEntry::encode`].
pub fn sct_signed_data(entry: &TimestampedEntry) -> Vec<u8> {
    let mut out = vec![VERSION_V1, SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP];
    entry.encode(&mut out);
    out
}

/// RFC 6962 §3.5: the input of the Signed Tree Head signature.
///
/// ```text
/// digitally-signed struct {
///   Version version;
///   SignatureType signature_type = tree_hash;
///   uint64 timestamp;
///   uint64 tree_size;
///   opaque sha256_root_hash[32];
/// } TreeHeadSignature;
/// ```
pub fn tree_head_signed_data(timestamp: u64, tree_size: u64, root: &[u8; 32]) -> Vec<u8> {
    // Encoded once, in the Merkle engine, which also needs it for checkpoint notes.
    merkle::checkpoint::tree_head_signature_input(timestamp, tree_size, root).to_vec()
}

// ---------------------------------------------------------------------------
// RFC 5246 §4.7 digitally-signed
// ---------------------------------------------------------------------------

/// RFC 5246 §4.7 / §7.4.1.4.1 `DigitallySigned` as used by RFC 6962.
///
/// ```text
/// enum { none(0), md5(1), sha1(2), sha224(3), sha256(4), sha384(5), sha512(6), (255) } HashAlgorithm;
/// enum { anonymous(0), rsa(1), dsa(2), ecdsa(3), (255) } SignatureAlgorithm;
///
/// struct {
///   HashAlgorithm hash;
///   SignatureAlgorithm signature;
/// } SignatureAndHashAlgorithm;
///
/// struct {
///   SignatureAndHashAlgorithm algorithm;
///   opaque signature<0..2^16-1>;
/// } DigitallySigned;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigitallySigned {
    /// `HashAlgorithm` (sha256 = 4).
    pub hash: u8,
    /// `SignatureAlgorithm` (rsa = 1, ecdsa = 3).
    pub signature_algorithm: u8,
    /// The signature (DER ECDSA-Sig-Value for ECDSA).
    pub signature: Vec<u8>,
}

impl DigitallySigned {
    /// `HashAlgorithm.sha256`.
    pub const HASH_SHA256: u8 = 4;
    /// `SignatureAlgorithm.rsa`.
    pub const SIG_RSA: u8 = 1;
    /// `SignatureAlgorithm.ecdsa`.
    pub const SIG_ECDSA: u8 = 3;

    /// Appends the TLS encoding.
    ///
    /// # Panics
    /// If the signature is ≥ 2^16 bytes (use [`Self::try_encode`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        must(self.try_encode(out));
    }

    /// Appends the TLS encoding or fails without writing.
    pub fn try_encode(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        if self.signature.len() > MAX_U16 {
            return Err(CtError::TooLong {
                field: "DigitallySigned.signature",
                len: self.signature.len(),
                max: MAX_U16,
            });
        }
        out.push(self.hash);
        out.push(self.signature_algorithm);
        put_opaque(out, &self.signature, 2, "DigitallySigned.signature")
    }

    /// Decodes from the front of `input`, returning the value and bytes consumed.
    pub fn decode(input: &[u8]) -> Result<(Self, usize), CtError> {
        let mut r = TlsReader::new(input);
        let v = Self::read(&mut r)?;
        Ok((v, r.pos))
    }

    fn read(r: &mut TlsReader<'_>) -> Result<Self, CtError> {
        Ok(Self {
            hash: r.u8("HashAlgorithm")?,
            signature_algorithm: r.u8("SignatureAlgorithm")?,
            signature: r.opaque(2, 0, "DigitallySigned.signature")?.to_vec(),
        })
    }
}

// ---------------------------------------------------------------------------
// RFC 6962 §3.2, §3.3 SCT and SCT list
// ---------------------------------------------------------------------------

/// RFC 6962 §3.2 `SignedCertificateTimestamp` (the `digitally-signed` body is computed by
/// [`sct_signed_data`]; here only its [`DigitallySigned`] result is carried).
///
/// ```text
/// struct {
///   opaque key_id[32];
/// } LogID;
///
/// struct {
///   Version sct_version;
///   LogID id;
///   uint64 timestamp;
///   CtExtensions extensions;
///   digitally-signed struct { ... };
/// } SignedCertificateTimestamp;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedCertificateTimestamp {
    /// SHA-256 of the log's SPKI DER.
    pub log_id: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// `CtExtensions` body (without its 16-bit length).
    pub extensions: Vec<u8>,
    /// The log's signature over [`sct_signed_data`].
    pub signature: DigitallySigned,
}

impl SignedCertificateTimestamp {
    /// TLS encoding, starting with `sct_version` v1 (0).
    ///
    /// # Panics
    /// If extensions or signature are ≥ 2^16 bytes (use [`Self::try_encode`]).
    pub fn encode(&self) -> Vec<u8> {
        must(self.try_encode())
    }

    /// TLS encoding, or an error if a field exceeds its bound.
    pub fn try_encode(&self) -> Result<Vec<u8>, CtError> {
        let mut out = Vec::with_capacity(1 + 32 + 8 + 2 + self.extensions.len() + 4 + 72);
        out.push(VERSION_V1);
        out.extend_from_slice(&self.log_id);
        put_uint(&mut out, self.timestamp, 8);
        put_opaque(&mut out, &self.extensions, 2, "CtExtensions")?;
        self.signature.try_encode(&mut out)?;
        Ok(out)
    }

    /// Decodes one SCT filling all of `input` (trailing bytes are rejected).
    pub fn decode(input: &[u8]) -> Result<Self, CtError> {
        let mut r = TlsReader::new(input);
        let version = r.u8("sct_version")?;
        if version != VERSION_V1 {
            return Err(CtError::UnsupportedVersion(version));
        }
        let sct = Self {
            log_id: r.array::<32>("LogID")?,
            timestamp: r.u64("timestamp")?,
            extensions: r.opaque(2, 0, "CtExtensions")?.to_vec(),
            signature: DigitallySigned::read(&mut r)?,
        };
        r.finish()?;
        Ok(sct)
    }
}

/// RFC 6962 §3.3 `SignedCertificateTimestampList`.
///
/// ```text
/// opaque SerializedSCT<1..2^16-1>;
///
/// struct {
///   SerializedSCT sct_list <1..2^16-1>;
/// } SignedCertificateTimestampList;
/// ```
///
/// # Panics
/// If the list does not fit 2^16-1 bytes (use [`try_encode_sct_list`]).
pub fn encode_sct_list(scts: &[SignedCertificateTimestamp]) -> Vec<u8> {
    must(try_encode_sct_list(scts))
}

/// Fallible [`encode_sct_list`]. An empty list is rejected (`sct_list<1..2^16-1>`).
pub fn try_encode_sct_list(scts: &[SignedCertificateTimestamp]) -> Result<Vec<u8>, CtError> {
    if scts.is_empty() {
        return Err(CtError::Empty("sct_list"));
    }
    let mut out = Vec::new();
    put_vector(&mut out, 2, "sct_list", |out| {
        for sct in scts {
            let serialized = sct.try_encode()?;
            put_opaque(out, &serialized, 2, "SerializedSCT")?;
        }
        Ok(())
    })?;
    Ok(out)
}

/// Decodes a `SignedCertificateTimestampList` filling all of `input`.
pub fn decode_sct_list(input: &[u8]) -> Result<Vec<SignedCertificateTimestamp>, CtError> {
    let mut r = TlsReader::new(input);
    let body = r.opaque(2, 1, "sct_list")?;
    r.finish()?;
    let mut r = TlsReader::new(body);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        let serialized = r.opaque(2, 1, "SerializedSCT")?;
        out.push(SignedCertificateTimestamp::decode(serialized)?);
    }
    Ok(out)
}

/// The `extnValue` contents of the X.509 extension 1.3.6.1.4.1.11129.2.4.2 carrying
/// embedded SCTs: RFC 6962 §3.3 says the TLS-encoded list "is encoded as an ASN.1 OCTET
/// STRING and inserted into the X.509v3 certificate extension", so the extension's
/// `extnValue OCTET STRING` contains a DER `OCTET STRING` whose contents are the TLS list.
///
/// Returns the inner DER `OCTET STRING` (what goes inside `extnValue`).
///
/// # Panics
/// As [`encode_sct_list`].
pub fn encode_sct_list_extension_value(scts: &[SignedCertificateTimestamp]) -> Vec<u8> {
    let list = encode_sct_list(scts);
    let mut out = Vec::with_capacity(list.len() + 4);
    crate::der_util::put_tlv(&mut out, crate::der_util::TAG_OCTET_STRING, &list);
    out
}

/// Inverse of [`encode_sct_list_extension_value`]: `extn_value` is the contents of the
/// extension's `extnValue` (a DER `OCTET STRING` holding the TLS list).
pub fn decode_sct_list_extension_value(
    extn_value: &[u8],
) -> Result<Vec<SignedCertificateTimestamp>, CtError> {
    let inner = crate::der_util::single_octet_string(extn_value)
        .map_err(|e| CtError::Der(e.to_string()))?;
    decode_sct_list(inner)
}

/// RFC 6962 §3.2 `LogID`: SHA-256 of the log's SubjectPublicKeyInfo DER.
pub fn log_id(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

// ---------------------------------------------------------------------------
// static-ct-api: CtExtensions and TileLeaf
// ---------------------------------------------------------------------------

/// static-ct-api `ExtensionType.leaf_index`.
pub const EXTENSION_TYPE_LEAF_INDEX: u8 = 0;
/// LeafIndex is a `uint40`.
pub const MAX_LEAF_INDEX: u64 = (1 << 40) - 1;

/// c2sp.org/static-ct-api "SCT Extension": a `CtExtensions` body holding only
/// `leaf_index` (8 bytes).
///
/// ```text
/// enum {
///   leaf_index(0), (255)
/// } ExtensionType;
///
/// struct {
///   ExtensionType extension_type;
///   opaque extension_data<0..2^16-1>;
/// } Extension;
///
/// Extension CtExtensions<0..2^16-1>;
///
/// uint8 uint40[5];
/// uint40 LeafIndex;
/// ```
///
/// The returned bytes are the contents of `CtExtensions` (the value to put in
/// [`SignedCertificateTimestamp::extensions`] / [`TimestampedEntry::extensions`]).
pub fn leaf_index_extension(index: u64) -> Result<Vec<u8>, CtError> {
    if index > MAX_LEAF_INDEX {
        return Err(CtError::LeafIndexOutOfRange(index));
    }
    let mut out = Vec::with_capacity(8);
    out.push(EXTENSION_TYPE_LEAF_INDEX);
    put_uint(&mut out, 5, 2);
    put_uint(&mut out, index, 5);
    Ok(out)
}

/// Finds the `leaf_index` in a `CtExtensions` body (see [`leaf_index_extension`]).
/// Duplicate extension types are rejected, unknown types are skipped.
pub fn parse_leaf_index_extension(ext: &[u8]) -> Result<u64, CtError> {
    let mut r = TlsReader::new(ext);
    let mut seen = [false; 256];
    let mut index = None;
    while r.remaining() > 0 {
        let ty = r.u8("ExtensionType")?;
        let data = r.opaque(2, 0, "extension_data")?;
        if std::mem::replace(&mut seen[usize::from(ty)], true) {
            return Err(CtError::DuplicateExtension(ty));
        }
        if ty == EXTENSION_TYPE_LEAF_INDEX {
            if data.len() != 5 {
                return Err(CtError::BadLeafIndexLength(data.len()));
            }
            index = Some(TlsReader::new(data).uint(5, "LeafIndex")?);
        }
    }
    index.ok_or(CtError::MissingLeafIndex)
}

/// c2sp.org/static-ct-api "Log entries": one entry of a data tile.
///
/// ```text
/// struct {
///   TimestampedEntry timestamped_entry;
///   select (entry_type) {
///     case x509_entry: Empty;
///     case precert_entry: ASN.1Cert pre_certificate;
///   };
///   Fingerprint certificate_chain<0..2^16-1>;
/// } TileLeaf;
///
/// opaque Fingerprint[32];
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileLeaf {
    /// The `TimestampedEntry` of the Merkle tree leaf.
    pub entry: TimestampedEntry,
    /// The submitted precertificate DER; `Some` exactly when `entry` is a precert entry.
    pub pre_certificate: Option<Vec<u8>>,
    /// SHA-256 of each issuer in the submitted chain.
    pub chain_fingerprints: Vec<[u8; 32]>,
}

impl TileLeaf {
    /// Appends the TLS encoding.
    ///
    /// # Panics
    /// If a field exceeds its bound or `pre_certificate` does not match the entry type
    /// (use [`Self::try_encode`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        must(self.try_encode(out));
    }

    /// Appends the TLS encoding, or fails without writing.
    pub fn try_encode(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        let start = out.len();
        let r = (|| {
            self.entry.try_encode(out)?;
            match (self.entry.entry.entry_type(), &self.pre_certificate) {
                (LogEntryType::X509, None) => {}
                (LogEntryType::Precert, Some(pc)) => put_asn1_cert(out, pc, "pre_certificate")?,
                _ => return Err(CtError::PreCertificateMismatch),
            }
            put_vector(out, 2, "certificate_chain", |out| {
                for fp in &self.chain_fingerprints {
                    out.extend_from_slice(fp);
                }
                Ok(())
            })
        })();
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    /// Decodes one `TileLeaf` from the front of `input`, returning it and the bytes consumed,
    /// so that a data tile can be walked entry by entry.
    pub fn decode(input: &[u8]) -> Result<(Self, usize), CtError> {
        let mut r = TlsReader::new(input);
        let entry = TimestampedEntry::read(&mut r)?;
        let pre_certificate = match entry.entry.entry_type() {
            LogEntryType::X509 => None,
            LogEntryType::Precert => Some(r.opaque(3, 1, "pre_certificate")?.to_vec()),
        };
        let chain = r.opaque(2, 0, "certificate_chain")?;
        if chain.len() % 32 != 0 {
            return Err(CtError::Misaligned("certificate_chain"));
        }
        let chain_fingerprints = chain
            .chunks_exact(32)
            .map(|c| {
                let mut fp = [0u8; 32];
                fp.copy_from_slice(c);
                fp
            })
            .collect();
        Ok((
            Self {
                entry,
                pre_certificate,
                chain_fingerprints,
            },
            r.pos,
        ))
    }

    /// Decodes a whole data tile (concatenated `TileLeaf`s).
    pub fn decode_tile(mut input: &[u8]) -> Result<Vec<Self>, CtError> {
        let mut out = Vec::new();
        while !input.is_empty() {
            let (leaf, used) = Self::decode(input)?;
            out.push(leaf);
            input = input.get(used..).ok_or(CtError::Truncated("TileLeaf"))?;
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// RFC 6962 §4.6 get-entries extra_data
// ---------------------------------------------------------------------------

/// RFC 6962 §4.6: for an `x509_entry`, `extra_data` is the `certificate_chain` of
///
/// ```text
/// struct {
///   ASN.1Cert leaf_certificate;
///   ASN.1Cert certificate_chain<0..2^24-1>;
/// } X509ChainEntry;
/// ```
///
/// # Panics
/// If a certificate is empty or ≥ 2^24 bytes, or the chain is ≥ 2^24 bytes
/// (use [`try_encode_certificate_chain`]).
pub fn encode_certificate_chain(chain: &[Vec<u8>]) -> Vec<u8> {
    must(try_encode_certificate_chain(chain))
}

/// Fallible [`encode_certificate_chain`].
pub fn try_encode_certificate_chain(chain: &[Vec<u8>]) -> Result<Vec<u8>, CtError> {
    let mut out = Vec::new();
    put_cert_chain(&mut out, chain, "certificate_chain")?;
    Ok(out)
}

/// Decodes an `X509ChainEntry.certificate_chain` filling all of `input`.
pub fn decode_certificate_chain(input: &[u8]) -> Result<Vec<Vec<u8>>, CtError> {
    let mut r = TlsReader::new(input);
    let chain = read_cert_chain(&mut r, "certificate_chain")?;
    r.finish()?;
    Ok(chain)
}

fn put_cert_chain(out: &mut Vec<u8>, chain: &[Vec<u8>], what: &'static str) -> Result<(), CtError> {
    put_vector(out, 3, what, |out| {
        for cert in chain {
            put_asn1_cert(out, cert, "ASN.1Cert")?;
        }
        Ok(())
    })
}

fn read_cert_chain(r: &mut TlsReader<'_>, what: &'static str) -> Result<Vec<Vec<u8>>, CtError> {
    let body = r.opaque(3, 0, what)?;
    let mut r = TlsReader::new(body);
    let mut out = Vec::new();
    while r.remaining() > 0 {
        out.push(r.opaque(3, 1, "ASN.1Cert")?.to_vec());
    }
    Ok(out)
}

/// RFC 6962 §4.6: for a `precert_entry`, `extra_data` is the whole
///
/// ```text
/// struct {
///   ASN.1Cert pre_certificate;
///   ASN.1Cert precertificate_chain<0..2^24-1>;
/// } PrecertChainEntry;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrecertChainEntry {
    /// The submitted precertificate DER.
    pub pre_certificate: Vec<u8>,
    /// Its issuers up to and including the root.
    pub precertificate_chain: Vec<Vec<u8>>,
}

impl PrecertChainEntry {
    /// TLS encoding.
    ///
    /// # Panics
    /// If a certificate is empty or a length bound is exceeded (use [`Self::try_encode`]).
    pub fn encode(&self) -> Vec<u8> {
        must(self.try_encode())
    }

    /// Fallible [`Self::encode`].
    pub fn try_encode(&self) -> Result<Vec<u8>, CtError> {
        let mut out = Vec::new();
        put_asn1_cert(&mut out, &self.pre_certificate, "pre_certificate")?;
        put_cert_chain(&mut out, &self.precertificate_chain, "precertificate_chain")?;
        Ok(out)
    }

    /// Decodes a `PrecertChainEntry` filling all of `input`.
    pub fn decode(input: &[u8]) -> Result<Self, CtError> {
        let mut r = TlsReader::new(input);
        let pre_certificate = r.opaque(3, 1, "pre_certificate")?.to_vec();
        let precertificate_chain = read_cert_chain(&mut r, "precertificate_chain")?;
        r.finish()?;
        Ok(Self {
            pre_certificate,
            precertificate_chain,
        })
    }
}

#[cfg(test)]
mod tests;
