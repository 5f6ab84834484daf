//! The object identifiers `const_oid::db` does not name: the CT arcs
//! 1.3.6.1.4.1.11129.2.4.* (RFC 6962). Every other OID comes from `const_oid::db`.

use const_oid::ObjectIdentifier;

// Fulcio's arc 1.3.6.1.4.1.57264.1: the certificate extensions of
// <https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md> (see `crate::fulcio`).

/// Fulcio's legacy issuer extension: the OIDC issuer URL as raw bytes in `extnValue`
/// (not DER-wrapped). Deprecated, still read by older sigstore clients.
pub const FULCIO_ISSUER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Deprecated GitHub Actions `event_name`, raw bytes.
pub const FULCIO_GITHUB_WORKFLOW_TRIGGER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.2");
/// Deprecated GitHub Actions `sha`, raw bytes.
pub const FULCIO_GITHUB_WORKFLOW_SHA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.3");
/// Deprecated GitHub Actions `workflow`, raw bytes.
pub const FULCIO_GITHUB_WORKFLOW_NAME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.4");
/// Deprecated GitHub Actions `repository`, raw bytes.
pub const FULCIO_GITHUB_WORKFLOW_REPOSITORY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.5");
/// Deprecated GitHub Actions `ref`, raw bytes.
pub const FULCIO_GITHUB_WORKFLOW_REF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.6");
/// Fulcio's `otherName` type for username identities (a SAN, not an extension).
pub const FULCIO_USERNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// Fulcio's issuer extension (v2): the OIDC issuer URL as a DER UTF8String.
pub const FULCIO_ISSUER_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Build signer URI, DER UTF8String.
pub const FULCIO_BUILD_SIGNER_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.9");
/// Build signer digest, DER UTF8String.
pub const FULCIO_BUILD_SIGNER_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.10");
/// Runner environment, DER UTF8String.
pub const FULCIO_RUNNER_ENVIRONMENT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.11");
/// Source repository URI, DER UTF8String.
pub const FULCIO_SOURCE_REPOSITORY_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.12");
/// Source repository digest, DER UTF8String.
pub const FULCIO_SOURCE_REPOSITORY_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.13");
/// Source repository ref, DER UTF8String.
pub const FULCIO_SOURCE_REPOSITORY_REF: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.14");
/// Source repository identifier, DER UTF8String.
pub const FULCIO_SOURCE_REPOSITORY_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.15");
/// Source repository owner URI, DER UTF8String.
pub const FULCIO_SOURCE_REPOSITORY_OWNER_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.16");
/// Source repository owner identifier, DER UTF8String.
pub const FULCIO_SOURCE_REPOSITORY_OWNER_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.17");
/// Build config URI, DER UTF8String.
pub const FULCIO_BUILD_CONFIG_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.18");
/// Build config digest, DER UTF8String.
pub const FULCIO_BUILD_CONFIG_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.19");
/// Build trigger, DER UTF8String.
pub const FULCIO_BUILD_TRIGGER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.20");
/// Run invocation URI, DER UTF8String.
pub const FULCIO_RUN_INVOCATION_URI: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.21");
/// Source repository visibility at signing, DER UTF8String.
pub const FULCIO_SOURCE_REPOSITORY_VISIBILITY_AT_SIGNING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.22");

/// CT precertificate poison, RFC 6962 §3.1.
pub const CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// Embedded SCT list extension, RFC 6962 §3.3.
pub const CT_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Precertificate Signing Certificate EKU, RFC 6962 §3.1.
pub const CT_PRECERT_SIGNING_EKU: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.4");
