//! The tlog-tiles entry bundle (c2sp.org/tlog-tiles): the data tile of a log whose
//! leaves are opaque byte strings — the registry log and the artifact logs.

use crate::tls::{Codec, LengthPrefix, Reader, TlsError, put_vector};

/// A tlog-tiles entry bundle (`tile/entries/N`): the leaves of one data tile, each
/// framed by a big-endian `uint16` length.
///
/// ```text
/// opaque Entry<0..2^16-1>;
/// Entry entries[width];        /* concatenated, no outer length */
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EntryBundle {
    /// The encoded leaves, in log order.
    pub entries: Vec<Vec<u8>>,
}

impl Codec for EntryBundle {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        for entry in &self.entries {
            put_vector(out, LengthPrefix::U16, "entry", |out| {
                out.extend_from_slice(entry);
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Reads entries until the input ends: a bundle fills its whole body.
    fn read(r: &mut Reader<'_>) -> Result<Self, TlsError> {
        let mut entries = Vec::new();
        while r.remaining() > 0 {
            entries.push(r.opaque(LengthPrefix::U16, 0, "entry")?.to_vec());
        }
        Ok(Self { entries })
    }
}

impl EntryBundle {
    /// One entry framed as it sits in a bundle, for appending to a partial tile.
    pub fn frame(entry: &[u8]) -> Result<Vec<u8>, TlsError> {
        let mut out = Vec::with_capacity(entry.len() + 2);
        put_vector(&mut out, LengthPrefix::U16, "entry", |out| {
            out.extend_from_slice(entry);
            Ok(())
        })?;
        Ok(out)
    }

    /// The byte length of the first `count` entries of an encoded bundle, or `None`
    /// when it holds fewer.
    pub fn prefix_len(bundle: &[u8], count: usize) -> Option<usize> {
        let mut reader = Reader::new(bundle);
        for _ in 0..count {
            reader.opaque(LengthPrefix::U16, 0, "entry").ok()?;
        }
        Some(bundle.len() - reader.remaining())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_frame_each_entry_with_a_u16_length() {
        let bundle = [0u8, 1, 0xaa, 0, 2, 0xbb, 0xcc];
        let decoded = EntryBundle::read_bytes(&bundle).unwrap();
        assert_eq!(decoded.entries, vec![vec![0xaa], vec![0xbb, 0xcc]]);
        assert_eq!(decoded.to_bytes().unwrap(), bundle);
        assert!(EntryBundle::read_bytes(&bundle[..4]).is_err());
        let too_long = EntryBundle {
            entries: vec![vec![0; 65_536]],
        };
        assert!(too_long.to_bytes().is_err());
    }

    #[test]
    fn frame_and_prefix_len_agree_with_the_bundle_encoding() {
        let bundle = EntryBundle {
            entries: vec![vec![1, 2, 3], vec![], vec![4]],
        }
        .to_bytes()
        .unwrap();
        let mut framed = Vec::new();
        for entry in [&[1u8, 2, 3][..], &[], &[4]] {
            framed.extend(EntryBundle::frame(entry).unwrap());
        }
        assert_eq!(framed, bundle);
        assert_eq!(EntryBundle::prefix_len(&bundle, 0), Some(0));
        assert_eq!(EntryBundle::prefix_len(&bundle, 2), Some(7));
        assert_eq!(EntryBundle::prefix_len(&bundle, 3), Some(bundle.len()));
        assert_eq!(EntryBundle::prefix_len(&bundle, 4), None);
        assert!(EntryBundle::frame(&vec![0; 65_536]).is_err());
    }
}
