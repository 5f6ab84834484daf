//! The RFC 3161 time-stamp authority: a client sends the digest of its data, the TSA
//! answers a token — a CMS SignedData over a `TSTInfo` that binds the digest to the
//! time — signed with a key whose certificate carries the critical id-kp-timeStamping
//! extended key usage (RFC 3161 §2.3).
//!
//! [`TimeStampAuthority`] turns a request into a response (the wire format is
//! `pki::tsp`); [`http::router`] serves it as `POST /api/v1/timestamp` (DER and the
//! JSON form of sigstore's timestamp-authority) and `GET /api/v1/timestamp/certchain`.
//! The signing key is any [`ca::cert::CaSigner`], so the CA's backends (in memory, an
//! encrypted file, PKCS#11) serve the TSA too; the clock and the serial numbers are
//! injected.

mod authority;
pub mod http;

pub use authority::{
    DEFAULT_ACCURACY_MS, DEV_POLICY, EphemeralTsa, Rejection, TimeStampAuthority, TsaError,
    TsaSettings,
};
