//! The services a signature goes through — the CA, an artifact log, a time-stamp
//! authority — chosen from the trust config's signing config, and the calls `ccc sign`
//! and `ccc verify-blob` make to them. Every answer is checked against what was asked
//! before it is used; what it proves is checked again, offline, by
//! `pki::sigstore_verify` before a bundle is written or believed.

use anyhow::{Context, bail, ensure};
use der::{Decode, Encode};
use pki::rekor::tle::TransparencyLogEntry;
use pki::rekor::v2::{CreateEntryRequest, HashedRekordRequest};
use pki::rekor::{HashedRekord, LogEntryAnswer, entry_uuid};
use pki::sigstore_trust::{Service, SigningConfig};
use pki::tsp::{MessageImprint, TimeStampReq, TimeStampResp};
use pki::verify::HashAlgorithm;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

use crate::fulcio::error_message;
use crate::http::{exchange, send_async};

/// The artifact-log API versions this client speaks.
pub const REKOR_VERSIONS: [u32; 2] = [1, 2];

/// An artifact log to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekorEndpoint {
    /// The log's base URL: `/api/v1/…` or `/api/v2/…` is appended.
    pub url: String,
    /// 1 or 2.
    pub version: u32,
}

/// What one signature goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The CA's root URL (Fulcio API v2 under it).
    pub ca_url: Option<String>,
    /// The artifact log.
    pub rekor: RekorEndpoint,
    /// The time-stamp URL, when the config lists a TSA.
    pub tsa_url: Option<String>,
}

fn valid_at(service: &Service, now_ms: u64) -> bool {
    service
        .valid_for
        .is_none_or(|v| v.start_ms <= now_ms && v.end_ms.is_none_or(|end| now_ms < end))
}

/// Chooses, among the services valid at `now_ms`: the first CA, the artifact log of the
/// highest API version this client speaks (or of `rekor_version`), the first TSA.
pub fn choose(
    config: &SigningConfig,
    now_ms: u64,
    rekor_version: Option<u32>,
) -> anyhow::Result<Endpoints> {
    let ca_url = config
        .ca_urls
        .iter()
        .find(|s| s.major_api_version == 1 && valid_at(s, now_ms))
        .map(|s| s.url.trim_end_matches('/').to_owned());
    let logs = config.rekor_tlog_urls.iter().filter(|s| {
        valid_at(s, now_ms)
            && REKOR_VERSIONS.contains(&s.major_api_version)
            && rekor_version.is_none_or(|v| v == s.major_api_version)
    });
    let rekor = logs
        .max_by_key(|s| s.major_api_version)
        .map(|s| RekorEndpoint {
            url: s.url.trim_end_matches('/').to_owned(),
            version: s.major_api_version,
        });
    let Some(rekor) = rekor else {
        match rekor_version {
            Some(v) => bail!("the trust config lists no artifact log with API v{v} valid now"),
            None => bail!("the trust config lists no artifact log (Rekor v1 or v2) valid now"),
        }
    };
    let tsa_url = config
        .tsa_urls
        .iter()
        .find(|s| s.major_api_version == 1 && valid_at(s, now_ms))
        .map(|s| s.url.clone());
    Ok(Endpoints {
        ca_url,
        rekor,
        tsa_url,
    })
}

/// Logs a signature over `digest` by the key of `certificate_der` and returns the
/// entry as a bundle holds it. A log that has the entry already (Rekor v1's 409)
/// answers with it.
pub async fn log_signature(
    client: &reqwest::Client,
    rekor: &RekorEndpoint,
    certificate_der: &[u8],
    algorithm: HashAlgorithm,
    digest: &[u8],
    signature: &[u8],
) -> anyhow::Result<TransparencyLogEntry> {
    match rekor.version {
        1 => {
            let entry = HashedRekord::for_certificate(
                certificate_der,
                signature.to_vec(),
                algorithm,
                digest,
            )?;
            let url = format!("{}/api/v1/log/entries", rekor.url);
            let what = format!("POST {url}");
            let (status, _, body) = exchange(
                client
                    .post(&url)
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(entry.to_proposed_json()?),
                &what,
            )
            .await?;
            match status {
                StatusCode::CREATED => entry_of_v1_answer(&body, &what),
                StatusCode::CONFLICT => {
                    let uuid = entry_uuid(&entry.canonical_body()?);
                    v1_entry(client, &rekor.url, &uuid)
                        .await?
                        .with_context(|| format!("{what}: 409, but entry {uuid} is not found"))
                }
                _ => bail!(
                    "{what}: the log answered {status}: {}",
                    error_message(&body)
                ),
            }
        }
        2 => {
            let request = CreateEntryRequest::HashedRekord(HashedRekordRequest::for_certificate(
                certificate_der,
                signature.to_vec(),
                digest.to_vec(),
            )?);
            let url = format!("{}/api/v2/log/entries", rekor.url);
            let (_, body) = send_async(
                client
                    .post(&url)
                    .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                    .body(request.to_json()?),
                &format!("POST {url}"),
            )
            .await?;
            TransparencyLogEntry::from_json(&body)
                .with_context(|| format!("POST {url}: the answer"))
        }
        other => bail!("artifact-log API v{other} is not supported"),
    }
}

/// The entry `GET /api/v1/log/entries/{uuid}` answers, as a bundle holds it, or `None`
/// when the log has no such entry.
pub async fn v1_entry(
    client: &reqwest::Client,
    base_url: &str,
    uuid: &str,
) -> anyhow::Result<Option<TransparencyLogEntry>> {
    let url = format!("{base_url}/api/v1/log/entries/{uuid}");
    let what = format!("GET {url}");
    let (status, _, body) = exchange(client.get(&url), &what).await?;
    match status {
        StatusCode::OK => entry_of_v1_answer(&body, &what).map(Some),
        StatusCode::NOT_FOUND => Ok(None),
        _ => bail!(
            "{what}: the log answered {status}: {}",
            error_message(&body)
        ),
    }
}

/// The one entry of a Rekor v1 `LogEntryAnswer` (`{uuid: entry}`), as a bundle holds it.
fn entry_of_v1_answer(body: &[u8], what: &str) -> anyhow::Result<TransparencyLogEntry> {
    let answer: LogEntryAnswer =
        serde_json::from_slice(body).with_context(|| format!("{what}: the answer"))?;
    let [(_, entry)] = <[_; 1]>::try_from(answer.into_iter().collect::<Vec<_>>())
        .map_err(|a| anyhow::anyhow!("{what}: {} entries in the answer, not one", a.len()))?;
    Ok(TransparencyLogEntry::from_v1(&entry)?)
}

/// An RFC 3161 time-stamp over `signature` (SHA-256 imprint, a fresh nonce, the TSA's
/// certificate asked for), as sigstore clients get one: the DER `TimeStampResp`,
/// checked to be granted, for this imprint and this nonce.
pub async fn timestamp(
    client: &reqwest::Client,
    tsa_url: &str,
    signature: &[u8],
) -> anyhow::Result<Vec<u8>> {
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| anyhow::anyhow!("the system RNG failed"))?;
    // Positive: the top bit cleared.
    let nonce = u64::from_be_bytes(nonce) >> 1;
    let nonce = der::asn1::Int::from_der(&nonce.to_der()?)?;
    let imprint = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, signature);
    let request = TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: HashAlgorithm::Sha256.identifier(),
            hashed_message: der::asn1::OctetString::new(imprint.as_ref())?,
        },
        req_policy: None,
        nonce: Some(nonce.clone()),
        cert_req: true,
        extensions: None,
    };
    let what = format!("POST {tsa_url}");
    let (_, body) = send_async(
        client
            .post(tsa_url)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/timestamp-query"),
            )
            .body(request.to_der()?),
        &what,
    )
    .await?;
    let response =
        TimeStampResp::from_der(&body).with_context(|| format!("{what}: not a TimeStampResp"))?;
    ensure!(
        response.status.status == 0,
        "{what}: the time-stamp was not granted (PKIStatus {})",
        response.status.status
    );
    let info = response
        .tst_info()
        .with_context(|| format!("{what}: the token"))?;
    ensure!(
        info.message_imprint == request.message_imprint,
        "{what}: the token is for another message"
    );
    ensure!(
        info.nonce.as_ref() == Some(&nonce),
        "{what}: the token does not carry our nonce"
    );
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pki::sigstore_trust::{SigningConfigMediaType, TimeRange};

    fn service(url: &str, version: u32, valid_for: Option<TimeRange>) -> Service {
        Service {
            url: url.into(),
            major_api_version: version,
            valid_for,
            operator: "op".into(),
        }
    }

    fn config(rekor: Vec<Service>) -> SigningConfig {
        SigningConfig {
            media_type: SigningConfigMediaType,
            ca_urls: vec![service("http://ca/", 1, None)],
            oidc_urls: Vec::new(),
            rekor_tlog_urls: rekor,
            rekor_tlog_config: None,
            tsa_urls: vec![
                service(
                    "http://old-tsa",
                    1,
                    Some(TimeRange {
                        start_ms: 0,
                        end_ms: Some(10),
                    }),
                ),
                service("http://tsa", 1, None),
            ],
            tsa_config: None,
        }
    }

    #[test]
    fn the_highest_version_valid_now_is_chosen_unless_one_is_asked_for() {
        let c = config(vec![
            service("http://v1/", 1, None),
            service("http://v2", 2, Some(TimeRange::since(100))),
            service("http://v3", 3, None),
        ]);
        let e = choose(&c, 200, None).unwrap();
        assert_eq!(e.ca_url.as_deref(), Some("http://ca"));
        assert_eq!(
            e.rekor,
            RekorEndpoint {
                url: "http://v2".into(),
                version: 2
            }
        );
        assert_eq!(e.tsa_url.as_deref(), Some("http://tsa"));
        // v2 not valid yet: v1.
        assert_eq!(choose(&c, 50, None).unwrap().rekor.version, 1);
        assert_eq!(choose(&c, 200, Some(1)).unwrap().rekor.url, "http://v1");
        let err = choose(&c, 50, Some(2)).unwrap_err().to_string();
        assert!(err.contains("API v2"), "{err}");
        let err = choose(&config(Vec::new()), 0, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no artifact log"), "{err}");
    }
}
