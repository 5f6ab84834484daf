//! The registry transparency log's wire formats: the leaf every push and revocation
//! appends, and the C2SP tlog-tiles entry bundles that publish the leaves.
//!
//! The server encodes with these and `ccc` decodes with these, so a client cannot
//! accept a leaf the server would never have written.

use crate::tls::{Codec, LengthPrefix, Reader, TlsError, put_opaque, put_uint};

/// What a leaf records.
///
/// ```text
/// enum { push(0), revoke(1), (255) } RegistryAction;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RegistryAction {
    /// `push(0)`: the certificate was registered.
    Push = 0,
    /// `revoke(1)`: the certificate was revoked.
    Revoke = 1,
}

impl Codec for RegistryAction {
    fn write(&self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        out.push(*self as u8);
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, TlsError> {
        match r.u8("RegistryAction")? {
            0 => Ok(Self::Push),
            1 => Ok(Self::Revoke),
            other => Err(TlsError::UnknownValue {
                what: "RegistryAction",
                value: u64::from(other),
            }),
        }
    }
}

/// One leaf of the registry log (TLS presentation language, big-endian):
///
/// ```text
/// struct {
///     uint64 timestamp;                    // milliseconds since the Unix epoch
///     opaque username<1..2^8-1>;
///     RegistryAction action;
///     opaque certificate<1..2^16-1>;       // DER
/// } RegistryLogEntry;
/// ```
///
/// The leaf hash is RFC 6962's `SHA-256(0x00 || RegistryLogEntry)`. The decoder
/// accepts exactly what the encoder can write (non-empty username and certificate,
/// a UTF-8 username, nothing after the certificate), so a decoded entry encodes back
/// to the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistryLogEntry {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The account that pushed or revoked.
    pub username: String,
    /// Push or revoke.
    pub action: RegistryAction,
    /// The certificate DER.
    pub certificate: Vec<u8>,
}

impl Codec for RegistryLogEntry {
    /// Fails only for fields beyond their length prefixes (or empty), which the
    /// service bounds before building an entry.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), TlsError> {
        put_uint(out, self.timestamp_ms, 8);
        put_opaque(
            out,
            LengthPrefix::U8,
            1,
            "username",
            self.username.as_bytes(),
        )?;
        self.action.write(out)?;
        put_opaque(out, LengthPrefix::U16, 1, "certificate", &self.certificate)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, TlsError> {
        let timestamp_ms = r.u64("timestamp")?;
        let username = r.opaque(LengthPrefix::U8, 1, "username")?;
        let username =
            String::from_utf8(username.to_vec()).map_err(|_| TlsError::NotUtf8("username"))?;
        Ok(Self {
            timestamp_ms,
            username,
            action: RegistryAction::read(r)?,
            certificate: r.opaque(LengthPrefix::U16, 1, "certificate")?.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(n: u64) -> RegistryLogEntry {
        RegistryLogEntry {
            timestamp_ms: 1_700_000_000_000 + n,
            username: format!("user-{n}"),
            action: if n.is_multiple_of(3) {
                RegistryAction::Revoke
            } else {
                RegistryAction::Push
            },
            certificate: vec![0x30; 100 + n as usize],
        }
    }

    /// Moved from the server's `registry::log` tests.
    #[test]
    fn entries_round_trip_and_truncations_are_rejected() {
        let e = entry(4);
        let bytes = e.to_bytes().unwrap();
        assert_eq!(RegistryLogEntry::read_bytes(&bytes).unwrap(), e);
        for cut in 0..bytes.len() {
            assert!(
                RegistryLogEntry::read_bytes(&bytes[..cut]).is_err(),
                "cut {cut}"
            );
        }
        let mut bad = bytes.clone();
        bad[9 + 6] = 7; // the action byte after "user-4"
        assert!(RegistryLogEntry::read_bytes(&bad).is_err());
        let too_long = RegistryLogEntry {
            username: "x".repeat(256),
            ..entry(1)
        };
        assert!(too_long.to_bytes().is_err());
        let mut trailing = bytes;
        trailing.push(0);
        assert_eq!(
            RegistryLogEntry::read_bytes(&trailing),
            Err(TlsError::TrailingData(1))
        );
    }

    /// The entries the server refuses to write, the one decoder (the server's and
    /// `ccc`'s) refuses to read: `ccc`'s own decoder once accepted the empty ones.
    #[test]
    fn entries_the_server_refuses_are_refused_by_the_decoder() {
        let no_user = RegistryLogEntry {
            username: String::new(),
            ..entry(1)
        };
        assert_eq!(no_user.to_bytes(), Err(TlsError::Empty("username")));
        let mut bytes = 0u64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 1, 0x30]);
        assert_eq!(
            RegistryLogEntry::read_bytes(&bytes),
            Err(TlsError::Empty("username"))
        );

        let no_cert = RegistryLogEntry {
            certificate: Vec::new(),
            ..entry(1)
        };
        assert_eq!(no_cert.to_bytes(), Err(TlsError::Empty("certificate")));
        let mut bytes = 0u64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[1, b'u', 0, 0, 0]);
        assert_eq!(
            RegistryLogEntry::read_bytes(&bytes),
            Err(TlsError::Empty("certificate"))
        );

        let mut bytes = 0u64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[1, b'u', 2, 0, 1, 0x30]);
        assert_eq!(
            RegistryLogEntry::read_bytes(&bytes),
            Err(TlsError::UnknownValue {
                what: "RegistryAction",
                value: 2
            })
        );
        let mut bytes = 0u64.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[1, 0xff, 0, 0, 1, 0x30]);
        assert_eq!(
            RegistryLogEntry::read_bytes(&bytes),
            Err(TlsError::NotUtf8("username"))
        );
    }

    fn arb_entry() -> impl Strategy<Value = RegistryLogEntry> {
        (
            any::<u64>(),
            "[a-z0-9-]{1,40}",
            prop_oneof![Just(RegistryAction::Push), Just(RegistryAction::Revoke)],
            proptest::collection::vec(any::<u8>(), 1..300),
        )
            .prop_map(
                |(timestamp_ms, username, action, certificate)| RegistryLogEntry {
                    timestamp_ms,
                    username,
                    action,
                    certificate,
                },
            )
    }

    proptest! {
        #[test]
        fn entries_and_bundles_round_trip(entries in proptest::collection::vec(arb_entry(), 0..5)) {
            let encoded: Vec<Vec<u8>> = entries.iter().map(|e| e.to_bytes().unwrap()).collect();
            for (e, bytes) in entries.iter().zip(&encoded) {
                prop_assert_eq!(&RegistryLogEntry::read_bytes(bytes).unwrap(), e);
            }
            let bundle = crate::entry_bundle::EntryBundle { entries: encoded };
            prop_assert_eq!(crate::entry_bundle::EntryBundle::read_bytes(&bundle.to_bytes().unwrap()).unwrap(), bundle);
        }

        /// Whatever decodes encodes back to exactly the input (the fuzz target
        /// `registry_push` checks the same on coverage-guided input). Moved from the
        /// server's `registry::log` tests.
        #[test]
        fn decoding_then_encoding_gives_the_input_back(
            ts: u64,
            user in proptest::collection::vec(proptest::num::u8::ANY, 0..4),
            action in 0u8..3,
            cert in proptest::collection::vec(proptest::num::u8::ANY, 0..4),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..2),
        ) {
            let mut bytes = ts.to_be_bytes().to_vec();
            bytes.push(user.len() as u8);
            bytes.extend_from_slice(&user);
            bytes.push(action);
            bytes.extend_from_slice(&(cert.len() as u16).to_be_bytes());
            bytes.extend_from_slice(&cert);
            bytes.extend_from_slice(&tail);
            if let Ok(entry) = RegistryLogEntry::read_bytes(&bytes) {
                prop_assert_eq!(entry.to_bytes().unwrap(), bytes);
            }
        }
    }
}
