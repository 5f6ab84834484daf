//! Fulcio's certificate extensions, OID arc 1.3.6.1.4.1.57264.1: the OIDC issuer and
//! the CI-workflow claims a code-signing certificate carries next to its SAN.
//!
//! One struct, [`FulcioExtensions`], rendered by the CA and parsed by the monitor and
//! the verifier, in the manner of Fulcio's `pkg/certificate/extensions.go`
//! (`Extensions.Render` / `parseExtensions`). Two encodings of `extnValue` exist:
//!
//! - .1–.6, deprecated: the string's bytes as they are, not DER-wrapped;
//! - .8–.22: a DER `UTF8String` (tag 0x0c), nothing after it.
//!
//! The issuer appears twice, as the deprecated .1 and as .8, because older sigstore
//! clients read only .1; both carry the same value. .7 is the `otherName` type of a
//! username SAN, not an extension.
//!
//! <https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md>

use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, Utf8StringRef};
use der::{Decode, Encode};
use thiserror::Error;
use x509_cert::ext::Extension;

use crate::oids;

/// The Fulcio extensions of one certificate; `None` is an absent extension.
///
/// Each field names its OID and the token claim Fulcio fills it from for GitHub
/// Actions (other CI issuers map their own claims onto the same fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FulcioExtensions {
    /// OIDC issuer of the identity token: 1.3.6.1.4.1.57264.1.8, and the deprecated
    /// raw 1.3.6.1.4.1.57264.1.1 with the same value.
    pub issuer: Option<String>,
    /// Deprecated (.2): the event that triggered the workflow (`event_name`).
    pub github_workflow_trigger: Option<String>,
    /// Deprecated (.3): the commit SHA being built (`sha`).
    pub github_workflow_sha: Option<String>,
    /// Deprecated (.4): the workflow's name (`workflow`).
    pub github_workflow_name: Option<String>,
    /// Deprecated (.5): the workflow's repository (`repository`).
    pub github_workflow_repository: Option<String>,
    /// Deprecated (.6): the git ref being built (`ref`).
    pub github_workflow_ref: Option<String>,
    /// .9: the build instructions that signed (`job_workflow_ref`, as a URL).
    pub build_signer_uri: Option<String>,
    /// .10: the immutable version of those instructions (`job_workflow_sha`).
    pub build_signer_digest: Option<String>,
    /// .11: platform-hosted or self-hosted runner (`runner_environment`).
    pub runner_environment: Option<String>,
    /// .12: the source repository's URL (`repository`, as a URL).
    pub source_repository_uri: Option<String>,
    /// .13: the source version built (`sha`).
    pub source_repository_digest: Option<String>,
    /// .14: the source ref built (`ref`).
    pub source_repository_ref: Option<String>,
    /// .15: the repository's immutable identifier (`repository_id`).
    pub source_repository_identifier: Option<String>,
    /// .16: the repository owner's URL (`repository_owner`, as a URL).
    pub source_repository_owner_uri: Option<String>,
    /// .17: the owner's immutable identifier (`repository_owner_id`).
    pub source_repository_owner_identifier: Option<String>,
    /// .18: the top-level build instructions (`workflow_ref`, as a URL).
    pub build_config_uri: Option<String>,
    /// .19: their immutable version (`workflow_sha`).
    pub build_config_digest: Option<String>,
    /// .20: the event that started the build (`event_name`).
    pub build_trigger: Option<String>,
    /// .21: the URL of this run of the build.
    pub run_invocation_uri: Option<String>,
    /// .22: the repository's visibility when signing (`repository_visibility`).
    pub source_repository_visibility_at_signing: Option<String>,
}

/// How a field sits in `extnValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// The string's bytes, not DER-wrapped (the deprecated .1–.6).
    Raw,
    /// One DER `UTF8String` (.8 onward).
    Utf8String,
}

/// One extension: its OID, its encoding and the field holding its value.
struct Field {
    oid: ObjectIdentifier,
    encoding: Encoding,
    get: fn(&FulcioExtensions) -> &Option<String>,
    get_mut: fn(&mut FulcioExtensions) -> &mut Option<String>,
}

macro_rules! field {
    ($oid:ident, $encoding:ident, $name:ident) => {
        Field {
            oid: oids::$oid,
            encoding: Encoding::$encoding,
            get: |e| &e.$name,
            get_mut: |e| &mut e.$name,
        }
    };
}

/// Every extension, in the order Fulcio's `Render` writes them (and so the CA).
const FIELDS: [Field; 21] = [
    field!(FULCIO_ISSUER_V1, Raw, issuer),
    field!(FULCIO_ISSUER_V2, Utf8String, issuer),
    field!(FULCIO_GITHUB_WORKFLOW_TRIGGER, Raw, github_workflow_trigger),
    field!(FULCIO_GITHUB_WORKFLOW_SHA, Raw, github_workflow_sha),
    field!(FULCIO_GITHUB_WORKFLOW_NAME, Raw, github_workflow_name),
    field!(
        FULCIO_GITHUB_WORKFLOW_REPOSITORY,
        Raw,
        github_workflow_repository
    ),
    field!(FULCIO_GITHUB_WORKFLOW_REF, Raw, github_workflow_ref),
    field!(FULCIO_BUILD_SIGNER_URI, Utf8String, build_signer_uri),
    field!(FULCIO_BUILD_SIGNER_DIGEST, Utf8String, build_signer_digest),
    field!(FULCIO_RUNNER_ENVIRONMENT, Utf8String, runner_environment),
    field!(
        FULCIO_SOURCE_REPOSITORY_URI,
        Utf8String,
        source_repository_uri
    ),
    field!(
        FULCIO_SOURCE_REPOSITORY_DIGEST,
        Utf8String,
        source_repository_digest
    ),
    field!(
        FULCIO_SOURCE_REPOSITORY_REF,
        Utf8String,
        source_repository_ref
    ),
    field!(
        FULCIO_SOURCE_REPOSITORY_IDENTIFIER,
        Utf8String,
        source_repository_identifier
    ),
    field!(
        FULCIO_SOURCE_REPOSITORY_OWNER_URI,
        Utf8String,
        source_repository_owner_uri
    ),
    field!(
        FULCIO_SOURCE_REPOSITORY_OWNER_IDENTIFIER,
        Utf8String,
        source_repository_owner_identifier
    ),
    field!(FULCIO_BUILD_CONFIG_URI, Utf8String, build_config_uri),
    field!(FULCIO_BUILD_CONFIG_DIGEST, Utf8String, build_config_digest),
    field!(FULCIO_BUILD_TRIGGER, Utf8String, build_trigger),
    field!(FULCIO_RUN_INVOCATION_URI, Utf8String, run_invocation_uri),
    field!(
        FULCIO_SOURCE_REPOSITORY_VISIBILITY_AT_SIGNING,
        Utf8String,
        source_repository_visibility_at_signing
    ),
];

/// Why Fulcio extensions cannot be rendered or parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FulcioError {
    /// A deprecated raw extension (.1–.6) is not UTF-8.
    #[error("{0}: value is not UTF-8")]
    NotUtf8(ObjectIdentifier),
    /// An extension from .8 on is not exactly one DER UTF8String.
    #[error("{oid}: value is not one DER UTF8String: {error}")]
    NotUtf8String {
        /// The extension.
        oid: ObjectIdentifier,
        /// The decoder's complaint (wrong tag, trailing bytes, bad length…).
        error: der::Error,
    },
    /// RFC 5280 §4.2: "A certificate MUST NOT include more than one instance of a
    /// particular extension."
    #[error("{0}: extension appears more than once")]
    Duplicate(ObjectIdentifier),
    /// .1 and .8 name different issuers: clients reading one or the other would
    /// disagree about who vouched for the identity.
    #[error("issuer extensions disagree: .1 says {v1:?}, .8 says {v2:?}")]
    IssuerMismatch {
        /// The deprecated raw issuer.
        v1: String,
        /// The UTF8String issuer.
        v2: String,
    },
    /// A value too long for DER.
    #[error("encoding failed: {0}")]
    Encode(der::Error),
}

/// How [`FulcioExtensions::parse`] treats an extension that does not decode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Policy {
    Strict,
    BestEffort,
}

impl FulcioExtensions {
    /// The extensions in Fulcio's order (.1, .8, .2–.6, .9–.22), non-critical, one per
    /// field that is set.
    pub fn render(&self) -> Result<Vec<Extension>, FulcioError> {
        let mut out = Vec::new();
        for field in &FIELDS {
            let Some(value) = (field.get)(self) else {
                continue;
            };
            let bytes = match field.encoding {
                Encoding::Raw => value.as_bytes().to_vec(),
                Encoding::Utf8String => Utf8StringRef::new(value)
                    .and_then(|s| s.to_der())
                    .map_err(FulcioError::Encode)?,
            };
            out.push(Extension {
                extn_id: field.oid,
                critical: false,
                extn_value: OctetString::new(bytes).map_err(FulcioError::Encode)?,
            });
        }
        Ok(out)
    }

    /// Reads the Fulcio extensions among `extensions`, strictly: every one must
    /// decode, none may repeat, and .1 and .8 must agree. Extensions outside the arc,
    /// and arcs this version does not know, are left alone (as Fulcio does).
    pub fn parse(extensions: &[Extension]) -> Result<Self, FulcioError> {
        Self::read(extensions, Policy::Strict)
    }

    /// Reads what decodes: an extension that does not is left out, and of a repeated
    /// one only the first counts; the issuer is .8, else .1. For a monitor, which must
    /// keep scanning past hostile log entries and still match what it can read.
    pub fn parse_best_effort(extensions: &[Extension]) -> Self {
        // Under best effort `read` skips what fails instead of returning an error.
        Self::read(extensions, Policy::BestEffort).unwrap_or_default()
    }

    fn read(extensions: &[Extension], policy: Policy) -> Result<Self, FulcioError> {
        let mut out = Self::default();
        let mut issuer_v1 = None;
        let mut seen = Vec::with_capacity(FIELDS.len());
        for extension in extensions {
            let Some(field) = FIELDS.iter().find(|f| f.oid == extension.extn_id) else {
                continue;
            };
            if seen.contains(&field.oid) {
                match policy {
                    Policy::Strict => return Err(FulcioError::Duplicate(field.oid)),
                    Policy::BestEffort => continue,
                }
            }
            seen.push(field.oid);
            let value = match decode(field, extension.extn_value.as_bytes()) {
                Ok(value) => value,
                Err(e) if policy == Policy::Strict => return Err(e),
                Err(_) => continue,
            };
            if field.oid == oids::FULCIO_ISSUER_V1 {
                issuer_v1 = Some(value);
            } else {
                *(field.get_mut)(&mut out) = Some(value);
            }
        }
        if let (Some(v1), Some(v2)) = (&issuer_v1, &out.issuer)
            && v1 != v2
            && policy == Policy::Strict
        {
            return Err(FulcioError::IssuerMismatch {
                v1: v1.clone(),
                v2: v2.clone(),
            });
        }
        out.issuer = out.issuer.or(issuer_v1);
        Ok(out)
    }
}

/// One extension's value as its field's encoding says.
fn decode(field: &Field, value: &[u8]) -> Result<String, FulcioError> {
    match field.encoding {
        Encoding::Raw => std::str::from_utf8(value)
            .map(str::to_owned)
            .map_err(|_| FulcioError::NotUtf8(field.oid)),
        // `from_der` refuses trailing bytes after the string.
        Encoding::Utf8String => Utf8StringRef::from_der(value)
            .map(|s| s.as_str().to_owned())
            .map_err(|error| FulcioError::NotUtf8String {
                oid: field.oid,
                error,
            }),
    }
}

#[cfg(test)]
mod tests;
