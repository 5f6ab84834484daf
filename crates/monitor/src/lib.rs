//! certcentral monitor: the party that checks that CT logs keep their promises.
//!
//! Two jobs, both usable offline-first and both built only on the pure engines
//! (`merkle`, `pki`) plus an HTTP client:
//!
//! - [`verify`]: verifies a certificate on its own — an RFC 5280 path to given roots,
//!   every embedded SCT against pinned log keys (by rebuilding the precertificate
//!   entry the log signed), an SCT policy, and optionally an inclusion proof from each
//!   log against a tree head whose signature verified;
//! - [`follow`]: follows logs — every new tree head's signature, a consistency proof
//!   from the last verified head (kept in a [`state`] file, so a restart never
//!   re-trusts), every new entry hashed back to the signed root, and the certificates
//!   matched against [`rules`].
//!
//! With the `service` feature, `service` is the server-side monitor built on both:
//! the lease loop, outbox delivery of webhooks, subscription routes and status page.
//!
//! Memory is bounded by the compact range of each log (`O(log n)` hashes) plus one
//! page or tile of entries, never by the log size.

pub mod client;
pub mod follow;
pub mod identity;
pub mod loglist;
pub mod rules;
#[cfg(feature = "service")]
pub mod service;
pub mod state;
pub mod verify;
pub mod webhook;

/// Process exit code for a log caught misbehaving (bad signature, a tree that shrank or
/// forked, entries that do not hash to the signed root): distinct from ordinary
/// failures (1) and usage errors (2), so scripts can page someone on exactly this.
pub const EXIT_MISBEHAVIOUR: u8 = 3;

pub use follow::{Alert, AlertKind, FollowError, LogApi, Match};
pub use loglist::{LogKey, LogKeys};
pub use rules::WatchRule;
pub use state::{LogState, MonitorState};
