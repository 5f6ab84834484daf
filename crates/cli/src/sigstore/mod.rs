//! Signing software the sigstore way, through certcentral: `ccc trust-root` (the
//! instance's trust material, [`trust_root`]), `ccc sign` ([`sign`]) and `ccc
//! verify-blob` ([`verify_blob`]). Bundles are sigstore's v0.3 JSON, so every sigstore
//! client reads what `ccc` writes, and `ccc` verifies what they write; the formats and
//! the verification itself are `pki::bundle` and `pki::sigstore_verify`.

pub mod digest;
pub mod online;
pub mod services;
pub mod sign;
pub mod trust_root;
pub mod verify_blob;
