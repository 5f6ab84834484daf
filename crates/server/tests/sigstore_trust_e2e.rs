//! The sigstore trust documents of `serve --dev` (`/sigstore/*.json`), checked against
//! what the server's other routes serve (the CA's trust bundle, the log list, the TSA
//! chain), and used by a real sigstore client: sigstore-python's
//! `sigstore --trust-config T sign` (in the virtualenv `.ci/run` installs, named by
//! `CERTCENTRAL_SIGSTORE_PYTHON`; skipped without it).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{Server, answer, b64, client, dev_token, get_json, unb64};
use pki::sigstore_trust::{ClientTrustConfig, SigningConfig, TimeRange, TrustedRoot};
use serde_json::{Value, json};

const OPERATOR: &str = "certcentral-dev";

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// GETs a trust document: 200, `application/json`, the body.
fn document(server: &Server, path: &str) -> Vec<u8> {
    let response = client()
        .get(format!("{}{path}", server.base))
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{path}"
    );
    response.bytes().unwrap().to_vec()
}

fn pem_chain(pems: &[Value]) -> Vec<Vec<u8>> {
    pems.iter()
        .flat_map(|p| pki::pem_certificates(p.as_str().unwrap()).unwrap())
        .collect()
}

fn file_time_ms(path: &std::path::Path) -> u64 {
    let modified = std::fs::metadata(path).unwrap().modified().unwrap();
    u64::try_from(modified.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

#[test]
fn trust_documents_describe_the_running_services() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::dev(&data, &[]);
    let base = server.base.as_str();
    let http = client();

    let root = TrustedRoot::from_json(&document(&server, "/sigstore/trusted_root.json")).unwrap();
    let config =
        SigningConfig::from_json(&document(&server, "/sigstore/signing_config.v0.2.json")).unwrap();
    let both =
        ClientTrustConfig::from_json(&document(&server, "/sigstore/client_trust_config.json"))
            .unwrap();
    assert_eq!(both.trusted_root, root);
    assert_eq!(both.signing_config, config);

    // The CA: its chain is the trust bundle's (intermediate, root), from its start on.
    let bundle = get_json(&http, &format!("{base}/api/v2/trustBundle"));
    let bundle = pem_chain(bundle["chains"][0]["certificates"].as_array().unwrap());
    assert_eq!(bundle.len(), 2);
    assert_eq!(root.certificate_authorities.len(), 1);
    let ca = &root.certificate_authorities[0];
    assert_eq!(ca.cert_chain, bundle);
    assert_eq!(ca.uri.as_deref(), Some(base));
    assert_eq!(ca.subject.common_name, "certcentral ephemeral root");
    assert!(ca.valid_for.start_ms <= now_ms() && ca.valid_for.end_ms.is_none());

    // The CT logs: the log list's keys and log IDs; a generated key's period starts
    // when its file was written.
    let list = get_json(&http, &format!("{base}/logs/log_list.json"));
    let listed = list["operators"][0]["logs"].as_array().unwrap();
    assert_eq!(root.ctlogs.len(), listed.len());
    for (log, entry) in root.ctlogs.iter().zip(listed) {
        let name = entry["description"]
            .as_str()
            .unwrap()
            .trim_start_matches("certcentral log ");
        assert_eq!(log.base_url, format!("{base}/logs/{name}"));
        assert_eq!(
            log.public_key.raw_bytes,
            unb64(entry["key"].as_str().unwrap())
        );
        assert_eq!(
            log.log_id.to_vec(),
            unb64(entry["log_id"].as_str().unwrap())
        );
        let key_file = data.join("keys").join(format!("{name}.pem"));
        assert_eq!(
            log.public_key.valid_for,
            Some(TimeRange::since(file_time_ms(&key_file)))
        );
        // The log answers at its base URL.
        get_json(&http, &format!("{}/ct/v1/get-sth", log.base_url));
    }

    // The TSA: its chain is the certchain route's (TSA certificate, root).
    let certchain = http
        .get(format!("{base}/api/v1/timestamp/certchain"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let tsa_url = format!("{base}/api/v1/timestamp");
    assert_eq!(root.timestamp_authorities.len(), 1);
    let tsa = &root.timestamp_authorities[0];
    assert_eq!(tsa.cert_chain, pki::pem_certificates(&certchain).unwrap());
    assert_eq!(tsa.uri.as_deref(), Some(tsa_url.as_str()));

    // The artifact logs: dev-v1 (Rekor v1) and dev-v2 (Rekor v2), each listed with the
    // key its checkpoints verify with, and offered for signing under its API version.
    assert_eq!(root.tlogs.len(), 2);
    for (log, (name, version)) in root.tlogs.iter().zip([("dev-v1", 1), ("dev-v2", 2)]) {
        assert_eq!(log.base_url, format!("{base}/rekor/{name}"));
        let key_file = data.join("keys").join(format!("rekor-{name}.pem"));
        let pem = std::fs::read_to_string(&key_file).unwrap();
        let spki = pki::keys::EcdsaP256Signer::from_pkcs8_pem(&pem)
            .unwrap()
            .spki_der();
        assert_eq!(log.public_key.raw_bytes, spki);
        assert_eq!(log.log_id.to_vec(), pki::ct::log_id(&spki).to_vec());
        // Trusted from the second the key was written: a Rekor v1 integratedTime is
        // whole seconds, and sigstore-js wants validFor.start <= integratedTime.
        let written_ms = file_time_ms(&key_file);
        assert_eq!(
            log.public_key.valid_for,
            Some(TimeRange::since(written_ms - written_ms % 1000))
        );
        let service = config
            .rekor_tlog_urls
            .iter()
            .find(|s| s.url == log.base_url)
            .unwrap();
        assert_eq!(service.major_api_version, version);
    }
    assert_eq!(config.rekor_tlog_urls.len(), 2);

    // The services, one operator for all.
    let urls = |services: &[pki::sigstore_trust::Service]| -> Vec<(String, u32)> {
        services
            .iter()
            .map(|s| {
                assert_eq!(s.operator, OPERATOR);
                (s.url.clone(), s.major_api_version)
            })
            .collect()
    };
    assert_eq!(urls(&config.ca_urls), [(base.to_owned(), 1)]);
    assert_eq!(urls(&config.oidc_urls), [(format!("{base}/dev/oidc"), 1)]);
    assert_eq!(urls(&config.tsa_urls), [(tsa_url, 1)]);
    assert_eq!(config.ca_urls[0].valid_for, Some(ca.valid_for));
    assert_eq!(config.tsa_urls[0].valid_for, Some(tsa.valid_for));
    assert!(
        root.ctlogs
            .iter()
            .chain(&root.tlogs)
            .all(|l| l.operator.as_deref() == Some(OPERATOR))
    );
}

/// sigstore clients refuse a certificate without exactly one embedded SCT: in `--dev`
/// the CA asks `dev-a` only.
#[test]
fn dev_certificates_carry_exactly_one_sct() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::dev(&dir.path().join("data"), &[]);
    let http = client();
    let token = dev_token(&http, &server, "one-sct@example.com");
    let key = rcgen::KeyPair::generate().unwrap();
    let csr = rcgen::CertificateParams::default()
        .serialize_request(&key)
        .unwrap()
        .pem()
        .unwrap();
    let (status, issued) = answer(
        http.post(format!("{}/api/v2/signingCert", server.base))
            .bearer_auth(&token)
            .json(&json!({ "certificateSigningRequest": b64(csr.as_bytes()) }))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{issued}");
    let chain = pem_chain(
        issued["signedCertificateEmbeddedSct"]["chain"]["certificates"]
            .as_array()
            .unwrap(),
    );
    let scts = pki::embedded_scts(&chain[0]).unwrap();
    assert_eq!(scts.len(), 1, "one SCT");
    let list = get_json(&http, &format!("{}/logs/log_list.json", server.base));
    let dev_a = list["operators"][0]["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["description"] == "certcentral log dev-a")
        .unwrap();
    assert_eq!(
        scts[0].log_id.to_vec(),
        unb64(dev_a["log_id"].as_str().unwrap())
    );
}
