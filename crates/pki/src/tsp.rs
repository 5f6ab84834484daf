//! RFC 3161 Time-Stamp Protocol messages: the request a client sends, the TSTInfo a
//! TSA signs, and the response around it; also the JSON request form sigstore's
//! timestamp-authority accepts, and the ESS signing-certificate-v2 attribute (RFC 5816)
//! that names the TSA's certificate inside the token.
//!
//! One declaration per structure, encoded and decoded by `der` derives, shared by the
//! TSA, its tests and the load generator. The decoders are strict DER (`from_der`
//! refuses trailing bytes and non-canonical encodings), so a client here never accepts
//! what the TSA would not have written.
//!
//! `x509-tsp` is not used: its only release is on `der` 0.7 / `cms` 0.2, which does not
//! mix with `x509-cert` 0.3.

use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, Int, OctetString, Uint};
use der::{
    DateTime, Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence,
    Tag, Writer,
};
use serde::{Deserialize, Serialize};
use spki::AlgorithmIdentifierOwned;
use thiserror::Error;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;

pub use cms::content_info::ContentInfo;

#[cfg(test)]
mod tests;

/// Media type of a DER `TimeStampReq` (RFC 3161 §3.4).
pub const QUERY_MEDIA_TYPE: &str = "application/timestamp-query";
/// Media type of a DER `TimeStampResp` (RFC 3161 §3.4).
pub const REPLY_MEDIA_TYPE: &str = "application/timestamp-reply";

/// The message digests a request may name: what sigstore's timestamp-authority accepts
/// (SHA-256, SHA-384, SHA-512).
pub use crate::verify::HashAlgorithm;

/// RFC 3161 §2.4.1.
///
/// ```text
/// MessageImprint ::= SEQUENCE  {
///      hashAlgorithm                AlgorithmIdentifier,
///      hashedMessage                OCTET STRING  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// RFC 3161 §2.4.1.
///
/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    messageImprint               MessageImprint,
///    reqPolicy             TSAPolicyId              OPTIONAL,
///    nonce                 INTEGER                  OPTIONAL,
///    certReq               BOOLEAN                  DEFAULT FALSE,
///    extensions            [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    pub version: u8,
    pub message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub extensions: Option<Extensions>,
}

impl TimeStampReq {
    /// Decodes a request the TSA accepts: DER, and only DER. `from_der` alone takes a
    /// `certReq FALSE` written out, which X.690 §11.5 forbids for a DEFAULT value; a
    /// request that does not re-encode to its own bytes is refused, so every accepted
    /// request has exactly one encoding.
    pub fn from_der_canonical(der: &[u8]) -> der::Result<Self> {
        let req = Self::from_der(der)?;
        if req.to_der()? != der {
            return Err(Tag::Sequence.value_error().into());
        }
        Ok(req)
    }
}

/// RFC 3161 §2.4.2.
///
/// ```text
/// Accuracy ::= SEQUENCE {
///          seconds        INTEGER           OPTIONAL,
///          millis     [0] INTEGER  (1..999) OPTIONAL,
///          micros     [1] INTEGER  (1..999) OPTIONAL  }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

impl Accuracy {
    /// An accuracy of `ms` milliseconds, with zero fields left out (a field of 0 is
    /// outside `millis`' range 1..999). `None` for 0: "accuracy" of zero is a claim no
    /// clock can make.
    pub fn from_millis(ms: u64) -> Option<Self> {
        if ms == 0 {
            return None;
        }
        let seconds = u32::try_from(ms / 1000).unwrap_or(u32::MAX);
        let millis = u16::try_from(ms % 1000).unwrap_or(0);
        Some(Self {
            seconds: (seconds > 0).then_some(seconds),
            millis: (millis > 0).then_some(millis),
            micros: None,
        })
    }
}

/// RFC 3161 §2.4.2 `genTime`: a GeneralizedTime in UTC with a fraction of a second.
/// "The encoding MUST terminate with a "Z" ... [the fraction] MUST be omitted if
/// zero ... the fraction-of-second elements MUST NOT include trailing zeros". `der`'s
/// own GeneralizedTime refuses fractions (RFC 5280 forbids them in certificates), so
/// this type carries milliseconds; a decoded fraction finer than 1 ms is refused.
#[derive(Clone, Copy, Debug, Eq, PartialEq, PartialOrd, Ord)]
pub struct GenTime {
    unix_ms: u64,
}

impl GenTime {
    /// The instant `unix_ms` milliseconds after the epoch; an error past year 9999.
    pub fn from_unix_ms(unix_ms: u64) -> der::Result<Self> {
        DateTime::from_unix_duration(Duration::from_secs(unix_ms / 1000))?;
        Ok(Self { unix_ms })
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_ms(self) -> u64 {
        self.unix_ms
    }

    fn date_time(self) -> der::Result<DateTime> {
        DateTime::from_unix_duration(Duration::from_secs(self.unix_ms / 1000))
    }

    /// The fraction digits: milliseconds without trailing zeros.
    fn fraction(self) -> String {
        match self.unix_ms % 1000 {
            0 => String::new(),
            ms => format!(".{ms:03}").trim_end_matches('0').to_string(),
        }
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(15 + self.fraction().len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        let t = self.date_time()?;
        let text = format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}{}Z",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minutes(),
            t.seconds(),
            self.fraction()
        );
        writer.write(text.as_bytes())
    }
}

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length())?;
        // "YYYYMMDDhhmmss" + optional ".f", ".ff" or ".fff" + "Z".
        if !matches!(len, 15 | 17..=19) {
            return Err(reader.error(Tag::GeneralizedTime.value_error()));
        }
        let mut bytes = [0u8; 19];
        reader.read_into(&mut bytes[..len])?;
        let bytes = &bytes[..len];
        let bad = || der::Error::from(Tag::GeneralizedTime.value_error());
        let digits = |range: std::ops::Range<usize>| -> der::Result<u16> {
            bytes[range].iter().try_fold(0u16, |acc, &b| {
                b.is_ascii_digit()
                    .then(|| acc * 10 + u16::from(b - b'0'))
                    .ok_or_else(bad)
            })
        };
        if bytes[len - 1] != b'Z' {
            return Err(bad());
        }
        let two = |at: usize| digits(at..at + 2).and_then(|v| u8::try_from(v).map_err(|_| bad()));
        let date = DateTime::new(digits(0..4)?, two(4)?, two(6)?, two(8)?, two(10)?, two(12)?)?;
        let millis = if len == 15 {
            0
        } else {
            let fraction = &bytes[15..len - 1];
            if bytes[14] != b'.' || fraction.last() == Some(&b'0') {
                return Err(bad());
            }
            let value = digits(15..len - 1)?;
            value * 10u16.pow(u32::try_from(3 - fraction.len()).map_err(|_| bad())?)
        };
        let secs = date.unix_duration().as_secs();
        Ok(Self {
            unix_ms: secs * 1000 + u64::from(millis),
        })
    }
}

/// RFC 3161 §2.4.2.
///
/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    policy                       TSAPolicyId,
///    messageImprint               MessageImprint,
///    serialNumber                 INTEGER,
///    genTime                      GeneralizedTime,
///    accuracy                     Accuracy                 OPTIONAL,
///    ordering                     BOOLEAN             DEFAULT FALSE,
///    nonce                        INTEGER                  OPTIONAL,
///    tsa                          [0] GeneralName          OPTIONAL,
///    extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
///
/// `tsa` is a CHOICE, so its tag is EXPLICIT although the module's default is IMPLICIT.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Uint,
    pub gen_time: GenTime,
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub extensions: Option<Extensions>,
}

/// RFC 3161 §2.4.2 `PKIStatus`.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum PkiStatus {
    Granted = 0,
    GrantedWithMods = 1,
    Rejection = 2,
    Waiting = 3,
    RevocationWarning = 4,
    RevocationNotification = 5,
}

impl PkiStatus {
    /// The status of an INTEGER value, if defined.
    pub fn from_value(value: u8) -> Option<Self> {
        [
            Self::Granted,
            Self::GrantedWithMods,
            Self::Rejection,
            Self::Waiting,
            Self::RevocationWarning,
            Self::RevocationNotification,
        ]
        .into_iter()
        .find(|s| *s as u8 == value)
    }
}

/// RFC 3161 §2.4.2 `PKIFailureInfo`: the bit of a rejection's reason.
///
/// ```text
/// PKIFailureInfo ::= BIT STRING {
///     badAlg               (0),
///     badRequest           (2),
///     badDataFormat        (5),
///     timeNotAvailable    (14),
///     unacceptedPolicy    (15),
///     unacceptedExtension (16),
///     addInfoNotAvailable (17),
///     systemFailure       (25)  }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum PkiFailureInfo {
    BadAlg = 0,
    BadRequest = 2,
    BadDataFormat = 5,
    TimeNotAvailable = 14,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    AddInfoNotAvailable = 17,
    SystemFailure = 25,
}

impl PkiFailureInfo {
    const ALL: [Self; 8] = [
        Self::BadAlg,
        Self::BadRequest,
        Self::BadDataFormat,
        Self::TimeNotAvailable,
        Self::UnacceptedPolicy,
        Self::UnacceptedExtension,
        Self::AddInfoNotAvailable,
        Self::SystemFailure,
    ];

    /// The BIT STRING with this one bit set. X.690 §11.2.2: a named bit list is encoded
    /// without trailing zero bits, so the string ends at the set bit.
    pub fn to_bit_string(self) -> der::Result<BitString> {
        let bit = self as usize;
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        BitString::new(u8::try_from(7 - bit % 8)?, bytes)
    }

    /// The failure bits set in a BIT STRING.
    pub fn from_bit_string(bits: &BitString) -> Vec<Self> {
        let set: Vec<usize> = bits
            .bits()
            .enumerate()
            .filter_map(|(i, b)| b.then_some(i))
            .collect();
        Self::ALL
            .into_iter()
            .filter(|f| set.contains(&(*f as usize)))
            .collect()
    }
}

/// RFC 3161 §2.4.2 (from RFC 4210).
///
/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///    status        PKIStatus,
///    statusString  PKIFreeText     OPTIONAL,
///    failInfo      PKIFailureInfo  OPTIONAL  }
///
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    pub status: u8,
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    pub fail_info: Option<BitString>,
}

/// RFC 3161 §2.4.2.
///
/// ```text
/// TimeStampResp ::= SEQUENCE  {
///      status                  PKIStatusInfo,
///      timeStampToken          TimeStampToken     OPTIONAL  }
///
/// TimeStampToken ::= ContentInfo
///      -- contentType is id-signedData ([CMS])
///      -- content is SignedData ([CMS])
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

impl TimeStampResp {
    /// A granted response carrying `token`.
    pub fn granted(token: ContentInfo) -> Self {
        Self {
            status: PkiStatusInfo {
                status: PkiStatus::Granted as u8,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        }
    }

    /// A rejection for `failure`, with `reason` for people.
    pub fn rejection(failure: PkiFailureInfo, reason: &str) -> Self {
        Self {
            status: PkiStatusInfo {
                status: PkiStatus::Rejection as u8,
                status_string: Some(vec![reason.to_string()]),
                // Always Some: every bit number is below 32 (see the tests).
                fail_info: failure.to_bit_string().ok(),
            },
            time_stamp_token: None,
        }
    }

    /// The TSTInfo inside the token, decoded from the SignedData's eContent (no
    /// signature check: that is the verifier's job).
    pub fn tst_info(&self) -> Result<TstInfo, TspError> {
        let token = self.time_stamp_token.as_ref().ok_or(TspError::NoToken)?;
        let signed: cms::signed_data::SignedData = token.content.decode_as()?;
        if signed.encap_content_info.econtent_type != const_oid::db::rfc3161::ID_CT_TST_INFO {
            return Err(TspError::NotTstInfo);
        }
        let content = signed
            .encap_content_info
            .econtent
            .ok_or(TspError::NotTstInfo)?;
        let octets: OctetString = content.decode_as()?;
        Ok(TstInfo::from_der(octets.as_bytes())?)
    }
}

/// RFC 5035 §3 `IssuerSerial`.
///
/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer                   GeneralNames,
///     serialNumber             CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: GeneralNames,
    pub serial_number: SerialNumber,
}

/// RFC 5035 §4 (the form RFC 5816 lets a TSA use).
///
/// ```text
/// ESSCertIDv2 ::=  SEQUENCE {
///     hashAlgorithm           AlgorithmIdentifier
///                             DEFAULT {algorithm id-sha256},
///     certHash                 Hash,
///     issuerSerial             IssuerSerial OPTIONAL }
/// ```
///
/// `hashAlgorithm` is `None` for the default, SHA-256, which DER leaves out.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// RFC 5035 §3, the value of the id-aa-signingCertificateV2 signed attribute that RFC
/// 5816 §2.2.1 lets a TSA use instead of SHA-1 ESSCertID.
///
/// ```text
/// SigningCertificateV2 ::=  SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    pub policies: Option<Vec<x509_cert::ext::pkix::certpolicy::PolicyInformation>>,
}

/// The JSON request of sigstore's timestamp-authority (`POST /api/v1/timestamp` with
/// `Content-Type: application/json`): the digest in base64, the algorithm by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonTimeStampRequest {
    /// The artifact's digest, standard base64.
    pub artifact_hash: String,
    /// `"sha256"`, `"sha384"` or `"sha512"`.
    pub hash_algorithm: String,
    /// Echoed in the TSTInfo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u64>,
    /// Include the TSA certificate in the token (`certReq`).
    #[serde(default)]
    pub certificates: bool,
    /// The policy asked for (`reqPolicy`), dotted decimal.
    #[serde(
        default,
        rename = "tsaPolicyOID",
        skip_serializing_if = "Option::is_none"
    )]
    pub tsa_policy_oid: Option<String>,
}

impl JsonTimeStampRequest {
    /// The equivalent DER request. Errors say which PKIFailureInfo bit a TSA answers.
    pub fn to_request(&self) -> Result<TimeStampReq, JsonRequestError> {
        use base64::Engine;
        let algorithm = HashAlgorithm::from_name(&self.hash_algorithm)
            .ok_or_else(|| JsonRequestError::UnknownHashAlgorithm(self.hash_algorithm.clone()))?;
        let digest = base64::engine::general_purpose::STANDARD
            .decode(&self.artifact_hash)
            .map_err(|e| JsonRequestError::BadArtifactHash(e.to_string()))?;
        let req_policy = self
            .tsa_policy_oid
            .as_deref()
            .map(|s| {
                ObjectIdentifier::new(s).map_err(|_| JsonRequestError::BadPolicy(s.to_string()))
            })
            .transpose()?;
        let nonce = self
            .nonce
            .map(|n| n.to_der().and_then(|der| Int::from_der(&der)))
            .transpose()
            .map_err(|e| JsonRequestError::BadArtifactHash(e.to_string()))?;
        Ok(TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: algorithm.identifier(),
                hashed_message: OctetString::new(digest)
                    .map_err(|e| JsonRequestError::BadArtifactHash(e.to_string()))?,
            },
            req_policy,
            nonce,
            cert_req: self.certificates,
            extensions: None,
        })
    }
}

/// Why a JSON request has no DER equivalent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonRequestError {
    #[error("unsupported hashAlgorithm {0:?}: use sha256, sha384 or sha512")]
    UnknownHashAlgorithm(String),
    #[error("artifactHash is not standard base64: {0}")]
    BadArtifactHash(String),
    #[error("tsaPolicyOID {0:?} is not a dotted-decimal OID")]
    BadPolicy(String),
}

impl JsonRequestError {
    /// The PKIFailureInfo bit RFC 3161 names for this error.
    pub fn failure_info(&self) -> PkiFailureInfo {
        match self {
            Self::UnknownHashAlgorithm(_) => PkiFailureInfo::BadAlg,
            Self::BadArtifactHash(_) => PkiFailureInfo::BadDataFormat,
            Self::BadPolicy(_) => PkiFailureInfo::UnacceptedPolicy,
        }
    }
}

/// Errors of reading a response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TspError {
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    #[error("the response carries no time-stamp token")]
    NoToken,
    #[error("the token's content is not an id-ct-TSTInfo")]
    NotTstInfo,
}
