//! Object identifiers used by this crate.

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
/// id-ce-authorityKeyIdentifier, RFC 5280 §4.2.1.1.
pub const AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");

/// id-ecPublicKey, RFC 5480.
pub const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1, RFC 5480.
pub const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1, RFC 5480.
pub const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// rsaEncryption, RFC 8017.
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-RSASSA-PSS, RFC 4055.
pub const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
/// id-mgf1, RFC 4055.
pub const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
/// sha256WithRSAEncryption.
pub const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// ecdsa-with-SHA256, RFC 5758.
pub const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384, RFC 5758.
pub const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512, RFC 5758.
pub const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// id-Ed25519, RFC 8410.
pub const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-sha256.
pub const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384.
pub const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512.
pub const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
