//! RFC 6962 TLS-encoded structures and the c2sp.org/static-ct-api additions.
//!
//! Every structure is encoded and decoded in exactly one place, its [`Codec`]
//! implementation, under a doc comment quoting its definition. Decoders only ever
//! slice their input, so the memory they allocate is bounded by the input length;
//! they never panic.
//!
//! Encoders write values this crate (or the log) constructed. A field longer than
//! its TLS length prefix can express is refused with [`CtError::TooLong`]; the few
//! infallible wrappers kept for their many callers ([`merkle_tree_leaf`],
//! [`sct_signed_data`]) panic with that message (documented under `# Panics`).

use sha2::{Digest, Sha256};

use crate::tls::{Codec, LengthPrefix, Reader, TlsError, put_opaque, put_uint, put_vector};

pub use crate::tls::{MAX_U16, MAX_U24};

/// Errors of the TLS codecs in this module (the crate's one TLS error type).
pub type CtError = TlsError;

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

impl Codec for LogEntryType {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        put_uint(out, *self as u64, 2);
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
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

    /// `entry_type` then the selected body: the part of a [`TimestampedEntry`] (and so of
    /// an SCT's signed data) that names what was logged.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        self.entry_type().write(out)?;
        match self {
            Self::X509(cert) => put_asn1_cert(out, "ASN.1Cert", cert),
            Self::Precert {
                issuer_key_hash,
                tbs_certificate,
            } => {
                out.extend_from_slice(issuer_key_hash);
                put_asn1_cert(out, "TBSCertificate", tbs_certificate)
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        match LogEntryType::read(r)? {
            LogEntryType::X509 => Ok(Self::X509(read_asn1_cert(r, "ASN.1Cert")?)),
            LogEntryType::Precert => {
                let issuer_key_hash = r.array::<32>("issuer_key_hash")?;
                let tbs_certificate = read_asn1_cert(r, "TBSCertificate")?;
                Ok(Self::Precert {
                    issuer_key_hash,
                    tbs_certificate,
                })
            }
        }
    }
}

/// `opaque ASN.1Cert<1..2^24-1>` (non-empty, 24-bit length).
fn put_asn1_cert(out: &mut Vec<u8>, what: &'static str, der: &[u8]) -> Result<(), CtError> {
    put_opaque(out, LengthPrefix::U24, 1, what, der)
}

fn read_asn1_cert(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, CtError> {
    Ok(r.opaque(LengthPrefix::U24, 1, what)?.to_vec())
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

impl Codec for TimestampedEntry {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        put_uint(out, self.timestamp, 8);
        self.entry.write(out)?;
        put_opaque(out, LengthPrefix::U16, 0, "CtExtensions", &self.extensions)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(Self {
            timestamp: r.u64("timestamp")?,
            entry: SignedEntry::read(r)?,
            extensions: r.opaque(LengthPrefix::U16, 0, "CtExtensions")?.to_vec(),
        })
    }
}

const VERSION_V1: u8 = 0;
const LEAF_TYPE_TIMESTAMPED_ENTRY: u8 = 0;
const SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP: u8 = 0;
const SIGNATURE_TYPE_TREE_HASH: u8 = 1;

fn read_version(r: &mut Reader<'_>, what: &'static str) -> Result<(), CtError> {
    match r.u8(what)? {
        VERSION_V1 => Ok(()),
        other => Err(CtError::UnsupportedVersion(other)),
    }
}

fn read_signature_type(r: &mut Reader<'_>, want: u8) -> Result<(), CtError> {
    match r.u8("SignatureType")? {
        t if t == want => Ok(()),
        other => Err(CtError::UnexpectedSignatureType(other)),
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MerkleTreeLeaf {
    /// The only leaf type, `timestamped_entry`.
    pub timestamped_entry: TimestampedEntry,
}

impl MerkleTreeLeaf {
    /// The encoding of the leaf of a borrowed entry (what [`merkle_tree_leaf`] returns).
    fn write_entry(entry: &TimestampedEntry, out: &mut Vec<u8>) -> Result<(), CtError> {
        out.extend_from_slice(&[VERSION_V1, LEAF_TYPE_TIMESTAMPED_ENTRY]);
        entry.write(out)
    }
}

impl Codec for MerkleTreeLeaf {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        Self::write_entry(&self.timestamped_entry, out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        read_version(r, "MerkleTreeLeaf.version")?;
        let leaf_type = r.u8("MerkleLeafType")?;
        if leaf_type != LEAF_TYPE_TIMESTAMPED_ENTRY {
            return Err(CtError::UnknownLeafType(leaf_type));
        }
        Ok(Self {
            timestamped_entry: TimestampedEntry::read(r)?,
        })
    }
}

/// The [`MerkleTreeLeaf`] encoding of `entry`, the input of its leaf hash.
///
/// # Panics
/// If a field exceeds its TLS bound (certificate ≥ 2^24 bytes, extensions ≥ 2^16 bytes)
/// or a certificate is empty; the log encodes its entries (with [`Codec::encode`])
/// before it hashes them.
pub fn merkle_tree_leaf(entry: &TimestampedEntry) -> Vec<u8> {
    let mut out = Vec::new();
    must(MerkleTreeLeaf::write_entry(entry, &mut out));
    out
}

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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateTimestamp {
    /// The signed entry, timestamp and extensions.
    pub timestamped_entry: TimestampedEntry,
}

impl CertificateTimestamp {
    /// The encoding for a borrowed entry (what [`sct_signed_data`] returns).
    fn write_entry(entry: &TimestampedEntry, out: &mut Vec<u8>) -> Result<(), CtError> {
        out.extend_from_slice(&[VERSION_V1, SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP]);
        entry.write(out)
    }
}

impl Codec for CertificateTimestamp {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        Self::write_entry(&self.timestamped_entry, out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        read_version(r, "sct_version")?;
        read_signature_type(r, SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP)?;
        Ok(Self {
            timestamped_entry: TimestampedEntry::read(r)?,
        })
    }
}

/// The [`CertificateTimestamp`] encoding of `entry`: the bytes an SCT signs.
///
/// # Panics
/// As [`merkle_tree_leaf`].
pub fn sct_signed_data(entry: &TimestampedEntry) -> Vec<u8> {
    let mut out = Vec::new();
    must(CertificateTimestamp::write_entry(entry, &mut out));
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
///
/// The same signature serves `get-sth` and, wrapped as an RFC6962NoteSignature
/// ([`crate::rfc6962_note`]), the tiled log's checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TreeHeadSignature {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// Number of leaves.
    pub tree_size: u64,
    /// The tree's root hash.
    pub sha256_root_hash: [u8; 32],
}

impl Codec for TreeHeadSignature {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        out.extend_from_slice(&[VERSION_V1, SIGNATURE_TYPE_TREE_HASH]);
        put_uint(out, self.timestamp, 8);
        put_uint(out, self.tree_size, 8);
        out.extend_from_slice(&self.sha256_root_hash);
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        read_version(r, "TreeHeadSignature.version")?;
        read_signature_type(r, SIGNATURE_TYPE_TREE_HASH)?;
        Ok(Self {
            timestamp: r.u64("timestamp")?,
            tree_size: r.u64("tree_size")?,
            sha256_root_hash: r.array::<32>("sha256_root_hash")?,
        })
    }
}

/// The [`TreeHeadSignature`] encoding: the bytes a tree head signature signs.
pub fn tree_head_signed_data(timestamp: u64, tree_size: u64, root: &[u8; 32]) -> Vec<u8> {
    // Fixed-size fields only: encoding cannot fail.
    must(
        TreeHeadSignature {
            timestamp,
            tree_size,
            sha256_root_hash: *root,
        }
        .to_bytes(),
    )
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
}

impl Codec for DigitallySigned {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        out.push(self.hash);
        out.push(self.signature_algorithm);
        put_opaque(
            out,
            LengthPrefix::U16,
            0,
            "DigitallySigned.signature",
            &self.signature,
        )
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(Self {
            hash: r.u8("HashAlgorithm")?,
            signature_algorithm: r.u8("SignatureAlgorithm")?,
            signature: r
                .opaque(LengthPrefix::U16, 0, "DigitallySigned.signature")?
                .to_vec(),
        })
    }
}

// ---------------------------------------------------------------------------
// RFC 6962 §3.2, §3.3 SCT and SCT list
// ---------------------------------------------------------------------------

/// RFC 6962 §3.2 `SignedCertificateTimestamp` (the `digitally-signed` body is a
/// [`CertificateTimestamp`]; here only its [`DigitallySigned`] result is carried).
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

impl Codec for SignedCertificateTimestamp {
    /// Starts with `sct_version` v1 (0).
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        out.push(VERSION_V1);
        out.extend_from_slice(&self.log_id);
        put_uint(out, self.timestamp, 8);
        put_opaque(out, LengthPrefix::U16, 0, "CtExtensions", &self.extensions)?;
        self.signature.write(out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        read_version(r, "sct_version")?;
        Ok(Self {
            log_id: r.array::<32>("LogID")?,
            timestamp: r.u64("timestamp")?,
            extensions: r.opaque(LengthPrefix::U16, 0, "CtExtensions")?.to_vec(),
            signature: DigitallySigned::read(r)?,
        })
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
/// An empty list is refused both ways (`sct_list<1..2^16-1>`); each `SerializedSCT`
/// must hold exactly one SCT.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignedCertificateTimestampList {
    /// The SCTs, in order.
    pub sct_list: Vec<SignedCertificateTimestamp>,
}

impl Codec for SignedCertificateTimestampList {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        if self.sct_list.is_empty() {
            return Err(CtError::Empty("sct_list"));
        }
        put_vector(out, LengthPrefix::U16, "sct_list", |out| {
            for sct in &self.sct_list {
                put_vector(out, LengthPrefix::U16, "SerializedSCT", |out| {
                    sct.write(out)
                })?;
            }
            Ok(())
        })
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        let mut body = r.vector(LengthPrefix::U16, 1, "sct_list")?;
        let mut sct_list = Vec::new();
        while body.remaining() > 0 {
            let serialized = body.opaque(LengthPrefix::U16, 1, "SerializedSCT")?;
            sct_list.push(SignedCertificateTimestamp::read_bytes(serialized)?);
        }
        Ok(Self { sct_list })
    }
}

impl SignedCertificateTimestampList {
    /// The `extnValue` contents of the X.509 extension 1.3.6.1.4.1.11129.2.4.2 carrying
    /// embedded SCTs: RFC 6962 §3.3 says the TLS-encoded list "is encoded as an ASN.1 OCTET
    /// STRING and inserted into the X.509v3 certificate extension", so the extension's
    /// `extnValue OCTET STRING` contains a DER `OCTET STRING` whose contents are the TLS list.
    ///
    /// Returns the inner DER `OCTET STRING` (what goes inside `extnValue`).
    pub fn to_extension_value(&self) -> Result<Vec<u8>, CtError> {
        let list = self.to_bytes()?;
        let mut out = Vec::with_capacity(list.len() + 4);
        crate::der_util::put_tlv(&mut out, crate::der_util::TAG_OCTET_STRING, &list);
        Ok(out)
    }

    /// Inverse of [`Self::to_extension_value`]: `extn_value` is the contents of the
    /// extension's `extnValue` (a DER `OCTET STRING` holding the TLS list).
    pub fn from_extension_value(extn_value: &[u8]) -> Result<Self, CtError> {
        let inner = crate::der_util::single_octet_string(extn_value)
            .map_err(|e| CtError::Der(e.to_string()))?;
        Self::read_bytes(inner)
    }
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

/// c2sp.org/static-ct-api "SCT Extension": one element of `CtExtensions`.
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
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CtExtension {
    /// `ExtensionType`.
    pub extension_type: u8,
    /// `extension_data`.
    pub extension_data: Vec<u8>,
}

impl Codec for CtExtension {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        out.push(self.extension_type);
        put_opaque(
            out,
            LengthPrefix::U16,
            0,
            "extension_data",
            &self.extension_data,
        )
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(Self {
            extension_type: r.u8("ExtensionType")?,
            extension_data: r.opaque(LengthPrefix::U16, 0, "extension_data")?.to_vec(),
        })
    }
}

/// c2sp.org/static-ct-api: the `CtExtensions` body of a tiled log's SCTs, holding
/// only `leaf_index` (8 bytes encoded).
///
/// ```text
/// uint8 uint40[5];
/// uint40 LeafIndex;
/// ```
///
/// Reading walks the whole body: duplicate extension types are rejected, unknown
/// types are skipped, and the `leaf_index` extension is REQUIRED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeafIndex(pub u64);

impl Codec for LeafIndex {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        if self.0 > MAX_LEAF_INDEX {
            return Err(CtError::LeafIndexOutOfRange(self.0));
        }
        let mut extension_data = Vec::with_capacity(5);
        put_uint(&mut extension_data, self.0, 5);
        CtExtension {
            extension_type: EXTENSION_TYPE_LEAF_INDEX,
            extension_data,
        }
        .write(out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        let mut seen = [false; 256];
        let mut index = None;
        while r.remaining() > 0 {
            let ext = CtExtension::read(r)?;
            let ty = ext.extension_type;
            if std::mem::replace(&mut seen[usize::from(ty)], true) {
                return Err(CtError::DuplicateExtension(ty));
            }
            if ty == EXTENSION_TYPE_LEAF_INDEX {
                if ext.extension_data.len() != 5 {
                    return Err(CtError::BadLeafIndexLength(ext.extension_data.len()));
                }
                index = Some(Reader::new(&ext.extension_data).uint(5, "LeafIndex")?);
            }
        }
        index.map(Self).ok_or(CtError::MissingLeafIndex)
    }
}

/// The `CtExtensions` contents holding `leaf_index` (the value to put in
/// [`SignedCertificateTimestamp::extensions`] / [`TimestampedEntry::extensions`]).
pub fn leaf_index_extension(index: u64) -> Result<Vec<u8>, CtError> {
    LeafIndex(index).to_bytes()
}

/// Finds the `leaf_index` in a `CtExtensions` body (see [`LeafIndex`]).
pub fn parse_leaf_index_extension(ext: &[u8]) -> Result<u64, CtError> {
    LeafIndex::read_bytes(ext).map(|LeafIndex(index)| index)
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

impl Codec for TileLeaf {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        self.entry.write(out)?;
        match (self.entry.entry.entry_type(), &self.pre_certificate) {
            (LogEntryType::X509, None) => {}
            (LogEntryType::Precert, Some(pc)) => put_asn1_cert(out, "pre_certificate", pc)?,
            _ => return Err(CtError::PreCertificateMismatch),
        }
        put_vector(out, LengthPrefix::U16, "certificate_chain", |out| {
            for fp in &self.chain_fingerprints {
                out.extend_from_slice(fp);
            }
            Ok(())
        })
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        let entry = TimestampedEntry::read(r)?;
        let pre_certificate = match entry.entry.entry_type() {
            LogEntryType::X509 => None,
            LogEntryType::Precert => Some(read_asn1_cert(r, "pre_certificate")?),
        };
        let chain = r.opaque(LengthPrefix::U16, 0, "certificate_chain")?;
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
        Ok(Self {
            entry,
            pre_certificate,
            chain_fingerprints,
        })
    }
}

impl TileLeaf {
    /// Decodes a whole data tile (concatenated `TileLeaf`s).
    pub fn decode_tile(input: &[u8]) -> Result<Vec<Self>, CtError> {
        let mut r = Reader::new(input);
        let mut out = Vec::new();
        while r.remaining() > 0 {
            out.push(Self::read(&mut r)?);
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertificateChain {
    /// The DER certificates, each non-empty.
    pub certificates: Vec<Vec<u8>>,
}

impl CertificateChain {
    fn write_certificates(
        out: &mut Vec<u8>,
        what: &'static str,
        certificates: &[Vec<u8>],
    ) -> Result<(), CtError> {
        put_vector(out, LengthPrefix::U24, what, |out| {
            for cert in certificates {
                put_asn1_cert(out, "ASN.1Cert", cert)?;
            }
            Ok(())
        })
    }

    fn read_certificates(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<Vec<u8>>, CtError> {
        let mut body = r.vector(LengthPrefix::U24, 0, what)?;
        let mut out = Vec::new();
        while body.remaining() > 0 {
            out.push(read_asn1_cert(&mut body, "ASN.1Cert")?);
        }
        Ok(out)
    }
}

impl Codec for CertificateChain {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        Self::write_certificates(out, "certificate_chain", &self.certificates)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(Self {
            certificates: Self::read_certificates(r, "certificate_chain")?,
        })
    }
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

impl Codec for PrecertChainEntry {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), CtError> {
        put_asn1_cert(out, "pre_certificate", &self.pre_certificate)?;
        CertificateChain::write_certificates(
            out,
            "precertificate_chain",
            &self.precertificate_chain,
        )
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, CtError> {
        Ok(Self {
            pre_certificate: read_asn1_cert(r, "pre_certificate")?,
            precertificate_chain: CertificateChain::read_certificates(r, "precertificate_chain")?,
        })
    }
}

#[cfg(test)]
mod tests;
