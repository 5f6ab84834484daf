//! Requests in, tokens out.
//!
//! ```text
//! TimeStampToken ::= ContentInfo            -- id-signedData
//! SignedData: version 3 (the eContentType is not id-data, RFC 5652 §5.1)
//!   encapContentInfo: id-ct-TSTInfo, eContent = DER TSTInfo
//!   certificates: the TSA certificate, when the request's certReq is true
//!   signerInfos: one, identified by issuerAndSerialNumber (version 1), with signed
//!     attributes contentType, messageDigest, signingTime, signingCertificateV2
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_lc_rs::digest;
use ca::cert::{CaSigner, SerialSource, serial_from_random};
use clock::Clock;
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3161, rfc5280, rfc5911, rfc5912, rfc6268};
use der::asn1::{Any, OctetString, SetOfVec, Uint, UtcTime};
use der::{Decode, Encode};
use pki::tsp::{
    Accuracy, EssCertIdV2, GenTime, HashAlgorithm, IssuerSerial, PkiFailureInfo,
    SigningCertificateV2, TimeStampReq, TimeStampResp, TstInfo,
};
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};

/// The TSA policy of `--dev` and of a `[tsa]` section that names none: an arc under
/// the private-enterprise number sigstore's Fulcio extensions use, kept apart from
/// anything a production TSA would publish.
pub const DEV_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// Accuracy announced by default: one second, what NTP-disciplined hosts keep with
/// margin. genTime itself carries milliseconds.
pub const DEFAULT_ACCURACY_MS: u64 = 1000;

/// Lifetime of the `--dev` root and TSA certificate.
const EPHEMERAL_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Errors of setting the TSA up (never of answering a request: those are
/// [`Rejection`]s inside a response).
#[derive(Debug, Error)]
pub enum TsaError {
    #[error("TSA certificate chain is empty")]
    EmptyChain,
    #[error("TSA certificate: {0}")]
    Certificate(String),
    #[error(
        "the TSA certificate must carry a critical extendedKeyUsage with only \
         id-kp-timeStamping (RFC 3161 §2.3): {0}"
    )]
    NotTimeStamping(String),
    #[error("the TSA key does not match the public key of the TSA certificate")]
    KeyMismatch,
    #[error("unsupported TSA signature algorithm {0}: ECDSA P-256 or P-384")]
    UnsupportedAlgorithm(ObjectIdentifier),
    #[error("generating the ephemeral TSA: {0}")]
    Ephemeral(String),
}

/// A request the TSA answers with a rejection, and which PKIFailureInfo bit says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub failure: PkiFailureInfo,
    pub reason: String,
}

impl Rejection {
    fn new(failure: PkiFailureInfo, reason: impl Into<String>) -> Self {
        Self {
            failure,
            reason: reason.into(),
        }
    }
}

/// What the operator chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsaSettings {
    /// The TSA policy written into every TSTInfo; a request naming another is refused.
    pub policy: ObjectIdentifier,
    /// The accuracy announced in every TSTInfo, in milliseconds (0: none announced).
    pub accuracy_ms: u64,
}

impl Default for TsaSettings {
    fn default() -> Self {
        Self {
            policy: DEV_POLICY,
            accuracy_ms: DEFAULT_ACCURACY_MS,
        }
    }
}

/// The time-stamp authority: a signing key, its certificate chain, the policy, a clock
/// and a source of serial numbers.
pub struct TimeStampAuthority {
    signer: Arc<dyn CaSigner>,
    /// `[TSA certificate, …, root]`, DER.
    chain: Vec<Vec<u8>>,
    certificate: Certificate,
    digest: HashAlgorithm,
    /// The signingCertificateV2 attribute: the same for every token.
    signing_certificate: Attribute,
    settings: TsaSettings,
    clock: Arc<dyn Clock>,
    serials: Arc<dyn SerialSource>,
}

impl std::fmt::Debug for TimeStampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimeStampAuthority")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Checks RFC 3161 §2.3 on the TSA certificate: "only one instance of the extended key
/// usage field extension ... with KeyPurposeID having value: id-kp-timeStamping. The
/// extension MUST be critical." OpenSSL refuses tokens from any other certificate.
fn check_timestamping(certificate: &Certificate) -> Result<(), TsaError> {
    let tbs = certificate.tbs_certificate();
    let eku = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|e| TsaError::NotTimeStamping(e.to_string()))?;
    match eku {
        Some((true, ExtendedKeyUsage(purposes))) if purposes == [rfc5280::ID_KP_TIME_STAMPING] => {}
        Some((false, _)) => return Err(TsaError::NotTimeStamping("it is not critical".into())),
        Some((_, ExtendedKeyUsage(purposes))) => {
            return Err(TsaError::NotTimeStamping(format!("it names {purposes:?}")));
        }
        None => return Err(TsaError::NotTimeStamping("there is none".into())),
    }
    if let Some((_, KeyUsage(usages))) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|e| TsaError::Certificate(e.to_string()))?
        && !usages.contains(KeyUsages::DigitalSignature)
    {
        return Err(TsaError::Certificate(
            "keyUsage does not allow digitalSignature".into(),
        ));
    }
    Ok(())
}

impl TimeStampAuthority {
    /// A TSA signing with `signer`, whose certificate is `chain[0]` (the rest of the
    /// chain is published, not used). Refuses a certificate RFC 3161 §2.3 forbids, or
    /// one whose key is not the signer's.
    pub fn new(
        signer: Arc<dyn CaSigner>,
        chain: Vec<Vec<u8>>,
        settings: TsaSettings,
        clock: Arc<dyn Clock>,
        serials: Arc<dyn SerialSource>,
    ) -> Result<Self, TsaError> {
        let leaf = chain.first().ok_or(TsaError::EmptyChain)?;
        let certificate =
            Certificate::from_der(leaf).map_err(|e| TsaError::Certificate(e.to_string()))?;
        check_timestamping(&certificate)?;
        let spki =
            ca::cert::certificate_spki(leaf).map_err(|e| TsaError::Certificate(e.to_string()))?;
        if spki != signer.spki_der() {
            return Err(TsaError::KeyMismatch);
        }
        // RFC 5753 §2.1.1: the message digest is the one the signature algorithm uses.
        let digest = match signer.algorithm().oid {
            rfc5912::ECDSA_WITH_SHA_256 => HashAlgorithm::Sha256,
            rfc5912::ECDSA_WITH_SHA_384 => HashAlgorithm::Sha384,
            other => return Err(TsaError::UnsupportedAlgorithm(other)),
        };
        let signing_certificate = signing_certificate_attribute(leaf, &certificate)
            .map_err(|e| TsaError::Certificate(e.to_string()))?;
        Ok(Self {
            signer,
            chain,
            certificate,
            digest,
            signing_certificate,
            settings,
            clock,
            serials,
        })
    }

    /// `[TSA certificate, …, root]`, DER.
    pub fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The settings in force.
    pub fn settings(&self) -> TsaSettings {
        self.settings
    }

    /// Answers a DER request: a granted response, or a rejection saying why. The bytes
    /// are the DER `TimeStampResp`.
    pub fn respond_der(&self, request: &[u8]) -> Result<Vec<u8>, der::Error> {
        let response = match TimeStampReq::from_der_canonical(request) {
            Ok(req) => self.respond(&req),
            Err(e) => TimeStampResp::rejection(
                PkiFailureInfo::BadDataFormat,
                &format!("the request is not a DER TimeStampReq: {e}"),
            ),
        };
        response.to_der()
    }

    /// Answers a decoded request.
    pub fn respond(&self, request: &TimeStampReq) -> TimeStampResp {
        match self.timestamp(request) {
            Ok(token) => TimeStampResp::granted(token),
            Err(rejection) => TimeStampResp::rejection(rejection.failure, &rejection.reason),
        }
    }

    /// The token for `request`, or why there is none.
    pub fn timestamp(&self, request: &TimeStampReq) -> Result<ContentInfo, Rejection> {
        let imprint = &request.message_imprint;
        self.check(request)?;
        let system = |e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "time-stamping failed");
            Rejection::new(PkiFailureInfo::SystemFailure, "the TSA could not sign")
        };
        let serial = self.serials.next_serial().map_err(|e| system(&e))?;
        let serial_number = Uint::new(&serial_from_random(serial)).map_err(|e| system(&e))?;
        let gen_time = GenTime::from_unix_ms(self.clock.now_ms()).map_err(|_| {
            Rejection::new(
                PkiFailureInfo::TimeNotAvailable,
                "the TSA clock is out of range",
            )
        })?;
        let info = TstInfo {
            version: 1,
            policy: self.settings.policy,
            message_imprint: imprint.clone(),
            serial_number,
            gen_time,
            accuracy: Accuracy::from_millis(self.settings.accuracy_ms),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        self.sign(&info, request.cert_req).map_err(|e| system(&e))
    }

    /// The checks RFC 3161 §2.4.1 leaves to the TSA, each answered with its own bit.
    fn check(&self, request: &TimeStampReq) -> Result<(), Rejection> {
        if request.version != 1 {
            return Err(Rejection::new(
                PkiFailureInfo::BadRequest,
                format!("version {} is not v1", request.version),
            ));
        }
        let algorithm = &request.message_imprint.hash_algorithm;
        let hash = HashAlgorithm::from_oid(algorithm.oid).ok_or_else(|| {
            Rejection::new(
                PkiFailureInfo::BadAlg,
                format!(
                    "hash algorithm {} is not accepted: SHA-256, SHA-384 or SHA-512",
                    algorithm.oid
                ),
            )
        })?;
        // RFC 5754 §2: parameters absent, or NULL as some implementations write.
        if algorithm
            .parameters
            .as_ref()
            .is_some_and(|p| p.to_der().ok().as_deref() != Some(&[0x05, 0x00]))
        {
            return Err(Rejection::new(
                PkiFailureInfo::BadAlg,
                "hash algorithm parameters must be absent or NULL",
            ));
        }
        let len = request.message_imprint.hashed_message.as_bytes().len();
        if len != hash.digest_len() {
            return Err(Rejection::new(
                PkiFailureInfo::BadDataFormat,
                format!(
                    "a {} digest is {} bytes, not {len}",
                    hash.name(),
                    hash.digest_len()
                ),
            ));
        }
        if let Some(policy) = request.req_policy
            && policy != self.settings.policy
        {
            return Err(Rejection::new(
                PkiFailureInfo::UnacceptedPolicy,
                format!(
                    "policy {policy} is not this TSA's ({})",
                    self.settings.policy
                ),
            ));
        }
        if request.extensions.is_some() {
            return Err(Rejection::new(
                PkiFailureInfo::UnacceptedExtension,
                "this TSA accepts no request extensions",
            ));
        }
        Ok(())
    }

    fn sign(&self, info: &TstInfo, cert_req: bool) -> Result<ContentInfo, der::Error> {
        let content = info.to_der()?;
        let algorithm = match self.digest {
            HashAlgorithm::Sha384 => &digest::SHA384,
            _ => &digest::SHA256,
        };
        let message_digest = digest::digest(algorithm, &content);
        let mut attributes = vec![
            attribute(rfc6268::ID_CONTENT_TYPE, &rfc3161::ID_CT_TST_INFO)?,
            attribute(
                rfc6268::ID_MESSAGE_DIGEST,
                &OctetString::new(message_digest.as_ref())?,
            )?,
            self.signing_certificate.clone(),
        ];
        // signingTime is UTCTime until 2049 (RFC 5652 §11.3); past that it is left out,
        // genTime being the time that counts.
        if let Ok(time) =
            der::DateTime::from_unix_duration(Duration::from_secs(info.gen_time.unix_ms() / 1000))
                .and_then(UtcTime::from_date_time)
        {
            attributes.push(attribute(rfc6268::ID_SIGNING_TIME, &time)?);
        }
        // SetOfVec sorts by DER encoding: the order X.690 §11.6 requires for SET OF.
        let signed_attrs = SetOfVec::try_from(attributes)?;
        // RFC 5652 §5.4: the signature covers the attributes' DER with the SET OF tag.
        let signature = self
            .signer
            .sign(&signed_attrs.to_der()?)
            .map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
        let tbs = self.certificate.tbs_certificate();
        let digest_algorithm = self.digest.identifier();
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg: digest_algorithm.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: self.signer.algorithm(),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        // RFC 3161 §2.4.1: with certReq "the TSA's public key certificate that is
        // referenced by the ESSCertID identifier ... MUST be provided"; without it the
        // certificates field "MUST not be present".
        let certificates = if cert_req {
            Some(CertificateSet(SetOfVec::try_from(vec![
                CertificateChoices::Certificate(self.certificate.clone()),
            ])?))
        } else {
            None
        };
        let signed_data = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![digest_algorithm])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: rfc3161::ID_CT_TST_INFO,
                econtent: Some(Any::encode_from(&OctetString::new(content)?)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        Ok(ContentInfo {
            content_type: rfc6268::ID_SIGNED_DATA,
            content: Any::encode_from(&signed_data)?,
        })
    }
}

fn attribute(
    oid: ObjectIdentifier,
    value: &(impl der::EncodeValue + der::Tagged),
) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![Any::encode_from(value)?])?,
    })
}

/// RFC 5816 §2.2.1: the signingCertificateV2 attribute naming the TSA certificate by
/// its SHA-256 hash (the default hashAlgorithm, so left out) and its issuer and serial.
fn signing_certificate_attribute(der: &[u8], certificate: &Certificate) -> der::Result<Attribute> {
    let tbs = certificate.tbs_certificate();
    let value = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(digest::digest(&digest::SHA256, der).as_ref())?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
        policies: None,
    };
    attribute(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, &value)
}

/// A TSA for `--dev` and tests: a root and a time-stamping certificate under it,
/// generated in memory with the CA's ephemeral signer backend.
pub struct EphemeralTsa {
    /// The TSA key.
    pub signer: Arc<dyn CaSigner>,
    /// `[TSA certificate, root]`, DER.
    pub chain: Vec<Vec<u8>>,
}

impl EphemeralTsa {
    /// Generates both keys (P-256) and certificates valid from `now` for a year.
    pub fn generate(now: SystemTime) -> Result<Self, TsaError> {
        use ca::signer::{EcCurve, EcdsaCaSigner};
        let failed = |e: &dyn std::fmt::Display| TsaError::Ephemeral(e.to_string());
        let not_after = now + EPHEMERAL_LIFETIME;
        let root_key = EcdsaCaSigner::generate(EcCurve::P256).map_err(|e| failed(&e))?;
        let serial = || ca::cert::random_serial().map_err(|e| failed(&e));
        let root = ca::cert::self_signed_ca(
            "certcentral ephemeral TSA root",
            serial()?,
            now,
            not_after,
            &root_key,
        )
        .map_err(|e| failed(&e))?;
        let tsa_key = EcdsaCaSigner::generate(EcCurve::P256).map_err(|e| failed(&e))?;
        let leaf = ca::cert::timestamping_certificate(
            "certcentral ephemeral TSA",
            serial()?,
            now,
            not_after,
            &tsa_key.spki_der(),
            &root,
            &root_key,
        )
        .map_err(|e| failed(&e))?;
        Ok(Self {
            signer: Arc::new(tsa_key),
            chain: vec![leaf, root],
        })
    }
}

#[cfg(test)]
mod tests;
