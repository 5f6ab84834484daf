//! Minimal raw DER TLV walking, used where bytes must be kept exactly as
//! received (names compared byte-for-byte, TBSCertificate surgery that
//! re-emits untouched fields verbatim).

use thiserror::Error;

pub(crate) const TAG_OCTET_STRING: u8 = 0x04;
pub(crate) const TAG_SEQUENCE: u8 = 0x30;
/// `[3] EXPLICIT` (constructed, context-specific 3): TBSCertificate.extensions.
pub(crate) const TAG_CTX_3: u8 = 0xa3;
/// `[0] EXPLICIT`: TBSCertificate.version.
pub(crate) const TAG_CTX_0: u8 = 0xa0;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum RawDerError {
    #[error("truncated DER")]
    Truncated,
    #[error("unsupported or non-minimal DER length")]
    BadLength,
    #[error("high-tag-number form not supported")]
    HighTag,
    #[error("unexpected tag 0x{0:02x}")]
    UnexpectedTag(u8),
    #[error("trailing data after DER value")]
    Trailing,
}

/// One TLV: its tag, its full encoding and its contents.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub raw: &'a [u8],
    pub content: &'a [u8],
}

/// Reads one TLV from the front of `input`; returns it and the rest.
pub(crate) fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), RawDerError> {
    let tag = *input.first().ok_or(RawDerError::Truncated)?;
    if tag & 0x1f == 0x1f {
        return Err(RawDerError::HighTag);
    }
    let first = *input.get(1).ok_or(RawDerError::Truncated)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(RawDerError::BadLength);
        }
        let bytes = input.get(2..2 + n).ok_or(RawDerError::Truncated)?;
        if bytes[0] == 0 {
            return Err(RawDerError::BadLength);
        }
        let len = bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b));
        if len < 0x80 {
            return Err(RawDerError::BadLength);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len).ok_or(RawDerError::Truncated)?;
    let raw = input.get(..end).ok_or(RawDerError::Truncated)?;
    let content = raw.get(header..).ok_or(RawDerError::Truncated)?;
    let rest = input.get(end..).ok_or(RawDerError::Truncated)?;
    Ok((Tlv { tag, raw, content }, rest))
}

/// Reads exactly one TLV with tag `tag` filling `input`.
pub(crate) fn read_single(input: &[u8], tag: u8) -> Result<Tlv<'_>, RawDerError> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(RawDerError::UnexpectedTag(tlv.tag));
    }
    if !rest.is_empty() {
        return Err(RawDerError::Trailing);
    }
    Ok(tlv)
}

/// Splits the contents of a constructed value into its element TLVs.
pub(crate) fn elements(mut content: &[u8]) -> Result<Vec<Tlv<'_>>, RawDerError> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read_tlv(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Contents of a DER OCTET STRING filling `input`.
pub(crate) fn single_octet_string(input: &[u8]) -> Result<&[u8], RawDerError> {
    Ok(read_single(input, TAG_OCTET_STRING)?.content)
}

/// Appends `tag || length || content` with a minimal DER length.
pub(crate) fn put_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u64).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (8 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_round_trip_lengths() {
        for len in [0usize, 1, 127, 128, 255, 256, 70000] {
            let content = vec![7u8; len];
            let mut out = Vec::new();
            put_tlv(&mut out, TAG_OCTET_STRING, &content);
            let tlv = read_single(&out, TAG_OCTET_STRING).unwrap();
            assert_eq!(tlv.content, &content[..]);
            assert_eq!(tlv.raw, &out[..]);
        }
    }

    #[test]
    fn rejects_non_minimal_and_truncated() {
        assert_eq!(
            read_tlv(&[0x04, 0x81, 0x05]).unwrap_err(),
            RawDerError::BadLength
        );
        assert_eq!(read_tlv(&[0x04, 0x80]).unwrap_err(), RawDerError::BadLength);
        assert_eq!(
            read_tlv(&[0x04, 0x03, 1]).unwrap_err(),
            RawDerError::Truncated
        );
        assert_eq!(
            read_tlv(&[0x1f, 0x01, 0]).unwrap_err(),
            RawDerError::HighTag
        );
        assert_eq!(read_tlv(&[]).unwrap_err(), RawDerError::Truncated);
        assert_eq!(
            read_single(&[0x04, 0x00, 0x00], 0x04).unwrap_err(),
            RawDerError::Trailing
        );
    }
}
