//! The TLS presentation language (RFC 8446 §3), as RFC 6962 §3 and the formats
//! built on it use it: big-endian integers, fixed-size arrays and vectors with a
//! 1-, 2- or 3-byte length prefix.
//!
//! Every TLS-encoded structure of this crate implements [`Codec`]: one `write` that
//! appends its fields in order and one `read` that takes them off a [`Reader`].
//! Decoders only ever slice their input, so the memory they allocate is bounded by
//! the input length, and they never panic.
//!
//! Encoders write values this crate (or the log) constructed. A vector longer than
//! its length prefix can express is refused with [`TlsError::TooLong`] and nothing
//! is written.

use thiserror::Error;

/// Errors of the TLS codecs (this module, [`crate::ct`], [`crate::registry_log`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlsError {
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
    /// `SignatureType` other than the one the structure requires.
    #[error("unexpected SignatureType {0}")]
    UnexpectedSignatureType(u8),
    /// An enum value the structure does not define.
    #[error("unknown {what} {value}")]
    UnknownValue {
        /// Which enum.
        what: &'static str,
        /// The value read.
        value: u64,
    },
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
    /// A field that carries text is not UTF-8.
    #[error("{0} is not UTF-8")]
    NotUtf8(&'static str),
    /// Fields that must agree do not.
    #[error("inconsistent structure: {0}")]
    Inconsistent(&'static str),
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

/// A TLS-encoded structure: one encoder, one decoder.
pub trait Codec: Sized {
    /// Appends the fields in order. On error `out` may hold a partial encoding;
    /// callers use [`Codec::encode`], which takes it back.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), TlsError>;

    /// Reads one value off the front of `r`.
    fn read(r: &mut Reader<'_>) -> Result<Self, TlsError>;

    /// Appends the TLS encoding, or fails without writing if a vector exceeds its bound.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        let start = out.len();
        let result = self.write(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// The TLS encoding.
    fn to_bytes(&self) -> Result<Vec<u8>, TlsError> {
        let mut out = Vec::new();
        self.write(&mut out)?;
        Ok(out)
    }

    /// Decodes one value filling all of `input` (trailing bytes are rejected).
    fn read_bytes(input: &[u8]) -> Result<Self, TlsError> {
        let mut r = Reader::new(input);
        let value = Self::read(&mut r)?;
        r.finish()?;
        Ok(value)
    }

    /// Decodes one value from the front of `input`, returning it and the number of
    /// bytes consumed, so that concatenated values can be walked one by one.
    fn read_prefix(input: &[u8]) -> Result<(Self, usize), TlsError> {
        let mut r = Reader::new(input);
        let value = Self::read(&mut r)?;
        Ok((value, r.consumed()))
    }
}

/// The width of a vector's length prefix: `<..2^8-1>`, `<..2^16-1>` or `<..2^24-1>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthPrefix {
    /// One byte: `opaque x<0..2^8-1>`.
    U8,
    /// Two bytes: `opaque x<0..2^16-1>`.
    U16,
    /// Three bytes: `opaque x<0..2^24-1>`.
    U24,
}

impl LengthPrefix {
    /// The number of bytes of the prefix.
    pub const fn width(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U24 => 3,
        }
    }

    /// The longest vector the prefix can express.
    pub const fn max(self) -> usize {
        (1 << (8 * self.width())) - 1
    }
}

/// Upper bound of `opaque ASN.1Cert<1..2^24-1>` and other 24-bit vectors.
pub const MAX_U24: usize = LengthPrefix::U24.max();
/// Upper bound of 16-bit vectors such as `CtExtensions<0..2^16-1>`.
pub const MAX_U16: usize = LengthPrefix::U16.max();

/// Appends `value` as a big-endian unsigned integer of `width` bytes (at most 8).
pub fn put_uint(out: &mut Vec<u8>, value: u64, width: usize) {
    let bytes = value.to_be_bytes();
    out.extend_from_slice(&bytes[8 - width..]);
}

/// Writes a vector whose body `body` appends, prefixed with its length. A body
/// longer than the prefix allows is refused and nothing is written.
pub fn put_vector(
    out: &mut Vec<u8>,
    prefix: LengthPrefix,
    what: &'static str,
    body: impl FnOnce(&mut Vec<u8>) -> Result<(), TlsError>,
) -> Result<(), TlsError> {
    let width = prefix.width();
    let start = out.len();
    out.extend(std::iter::repeat_n(0u8, width));
    if let Err(e) = body(out) {
        out.truncate(start);
        return Err(e);
    }
    let len = out.len() - start - width;
    if len > prefix.max() {
        out.truncate(start);
        return Err(TlsError::TooLong {
            field: what,
            len,
            max: prefix.max(),
        });
    }
    let bytes = (len as u64).to_be_bytes();
    out[start..start + width].copy_from_slice(&bytes[8 - width..]);
    Ok(())
}

/// Writes `opaque x<min..2^(8*width)-1>` holding `data`; `min` is 0 or 1.
pub fn put_opaque(
    out: &mut Vec<u8>,
    prefix: LengthPrefix,
    min: usize,
    what: &'static str,
    data: &[u8],
) -> Result<(), TlsError> {
    if data.len() < min {
        return Err(TlsError::Empty(what));
    }
    put_vector(out, prefix, what, |out| {
        out.extend_from_slice(data);
        Ok(())
    })
}

/// Bounds-checked reader over a TLS-encoded byte string.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], TlsError> {
        let end = self.pos.checked_add(n).ok_or(TlsError::Truncated(what))?;
        let out = self
            .buf
            .get(self.pos..end)
            .ok_or(TlsError::Truncated(what))?;
        self.pos = end;
        Ok(out)
    }

    /// `uint8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, TlsError> {
        Ok(self.take(1, what)?[0])
    }

    /// A big-endian unsigned integer of `width` bytes (at most 8).
    pub fn uint(&mut self, width: usize, what: &'static str) -> Result<u64, TlsError> {
        Ok(self
            .take(width, what)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// `uint16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, TlsError> {
        // Width 2 always fits in u16.
        Ok(self.uint(2, what)? as u16)
    }

    /// `uint64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, TlsError> {
        self.uint(8, what)
    }

    /// `opaque x[N]`.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], TlsError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// `opaque x<min..2^(8*width)-1>`: the length prefix, then the data; `min` is 0 or 1.
    pub fn opaque(
        &mut self,
        prefix: LengthPrefix,
        min: usize,
        what: &'static str,
    ) -> Result<&'a [u8], TlsError> {
        let len = self.uint(prefix.width(), what)?;
        let len = usize::try_from(len).map_err(|_| TlsError::Truncated(what))?;
        if len < min {
            return Err(TlsError::Empty(what));
        }
        self.take(len, what)
    }

    /// A vector's body as a reader of its own, to walk its elements.
    pub fn vector(
        &mut self,
        prefix: LengthPrefix,
        min: usize,
        what: &'static str,
    ) -> Result<Reader<'a>, TlsError> {
        Ok(Reader::new(self.opaque(prefix, min, what)?))
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), TlsError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(TlsError::TrailingData(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_have_their_rfc_8446_bounds() {
        assert_eq!(LengthPrefix::U8.max(), 255);
        assert_eq!(LengthPrefix::U16.max(), 65_535);
        assert_eq!(LengthPrefix::U24.max(), 16_777_215);
    }

    #[test]
    fn opaque_vectors_round_trip_at_every_width() {
        for prefix in [LengthPrefix::U8, LengthPrefix::U16, LengthPrefix::U24] {
            let mut out = Vec::new();
            put_opaque(&mut out, prefix, 1, "x", &[1, 2, 3]).unwrap();
            assert_eq!(out.len(), prefix.width() + 3);
            let mut r = Reader::new(&out);
            assert_eq!(r.opaque(prefix, 1, "x").unwrap(), &[1, 2, 3]);
            r.finish().unwrap();
        }
    }

    #[test]
    fn a_vector_too_long_for_its_prefix_is_refused_and_nothing_is_written() {
        let mut out = vec![9];
        assert_eq!(
            put_opaque(&mut out, LengthPrefix::U8, 0, "x", &[0; 256]),
            Err(TlsError::TooLong {
                field: "x",
                len: 256,
                max: 255
            })
        );
        assert_eq!(out, vec![9]);
        put_opaque(&mut out, LengthPrefix::U8, 0, "x", &[0; 255]).unwrap();
        assert_eq!(out.len(), 1 + 1 + 255);
    }

    #[test]
    fn an_empty_vector_with_lower_bound_one_is_refused_both_ways() {
        assert_eq!(
            put_opaque(&mut Vec::new(), LengthPrefix::U16, 1, "x", &[]),
            Err(TlsError::Empty("x"))
        );
        assert_eq!(
            Reader::new(&[0, 0]).opaque(LengthPrefix::U16, 1, "x"),
            Err(TlsError::Empty("x"))
        );
    }

    #[test]
    fn reads_past_the_end_are_truncation_errors() {
        let mut r = Reader::new(&[0, 3, 1, 2]);
        assert_eq!(
            r.opaque(LengthPrefix::U16, 0, "x"),
            Err(TlsError::Truncated("x"))
        );
        assert_eq!(Reader::new(&[1]).u16("y"), Err(TlsError::Truncated("y")));
        assert_eq!(
            Reader::new(&[1, 2]).finish(),
            Err(TlsError::TrailingData(2))
        );
    }
}
