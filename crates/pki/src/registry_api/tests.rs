use super::*;

fn view() -> CertView {
    CertView {
        checkpoint: None,
        download_url: "/api/cert/getusercert?username=alice&thumbprint=AB".into(),
        inclusion_proof: None,
        log_index: 3,
        not_after: "2027-01-01T00:00:00Z".into(),
        not_before: "2026-01-01T00:00:00Z".into(),
        pem: None,
        pushed_at: "2026-02-01T00:00:00Z".into(),
        revoke_log_index: None,
        revoked: false,
        sha256: "00ff".into(),
        storage_key: "alice/AB".into(),
        subject: "CN=alice".into(),
        thumbprint: "AB".into(),
        username: "alice".into(),
    }
}

/// What the registry answered before these types: `serde_json` maps (sorted keys).
fn as_map(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::to_value(value).unwrap()).unwrap()
}

#[test]
fn answers_are_written_with_sorted_keys_as_the_registry_always_wrote_them() {
    let mut logged = view();
    logged.checkpoint = Some("registry\n4\nroot\n".into());
    logged.inclusion_proof = Some(vec![[1; 32], [2; 32]]);
    logged.revoke_log_index = Some(4);
    let mut with_pem = view();
    with_pem.pem = Some("-----BEGIN CERTIFICATE-----\n".into());
    for v in [view(), logged, with_pem] {
        assert_eq!(serde_json::to_vec(&v).unwrap(), as_map(&v));
    }
    let search = SearchResponse {
        page: 1,
        per_page: 50,
        q: "alice".into(),
        results: vec![view()],
    };
    assert_eq!(serde_json::to_vec(&search).unwrap(), as_map(&search));
    let user = UserCertsResponse {
        certs: vec![view()],
        username: "alice".into(),
    };
    assert_eq!(serde_json::to_vec(&user).unwrap(), as_map(&user));
    let proof = InclusionProofResponse {
        inclusion_proof: vec![[3; 32]],
        index: 1,
        root: [4; 32],
        size: 2,
    };
    assert_eq!(serde_json::to_vec(&proof).unwrap(), as_map(&proof));
    let consistency = ConsistencyProofResponse {
        old: 1,
        proof: vec![[5; 32]],
        size: 2,
    };
    assert_eq!(
        serde_json::to_vec(&consistency).unwrap(),
        as_map(&consistency)
    );
    let challenge = ChallengeResponse {
        challenge_id: "c".into(),
        expires_at: "2026-01-01T00:05:00Z".into(),
        nonce: [6; 32],
    };
    assert_eq!(serde_json::to_vec(&challenge).unwrap(), as_map(&challenge));
    let key = ApiKeyResponse {
        api_key: "k".into(),
        username: "alice".into(),
    };
    assert_eq!(serde_json::to_vec(&key).unwrap(), as_map(&key));
}

#[test]
fn the_logged_view_carries_the_proof_as_base64_hashes() {
    let mut logged = view();
    logged.checkpoint = Some("cp".into());
    logged.inclusion_proof = Some(vec![[0xfb; 32]]);
    let json: serde_json::Value = serde_json::to_value(&logged).unwrap();
    assert_eq!(json["inclusion_proof"][0], b64::encode([0xfb; 32]));
    assert_eq!(json["checkpoint"], "cp");
    assert!(json.get("pem").is_none());
    assert!(json.get("revoke_log_index").is_none());
    let read: CertView = serde_json::from_value(json).unwrap();
    assert_eq!(read, logged);
    // A plain view reads back without the optional fields.
    let plain: CertView = serde_json::from_slice(&serde_json::to_vec(&view()).unwrap()).unwrap();
    assert_eq!(plain, view());
}

#[test]
fn proof_hashes_that_are_not_32_bytes_are_refused() {
    let short = format!(
        r#"{{"index":0,"size":1,"root":"{}","inclusion_proof":["{}"]}}"#,
        b64::encode([0; 32]),
        b64::encode([0; 31])
    );
    assert!(serde_json::from_str::<InclusionProofResponse>(&short).is_err());
    let bad = r#"{"old":1,"size":2,"proof":["!!"]}"#;
    assert!(serde_json::from_str::<ConsistencyProofResponse>(bad).is_err());
}

#[test]
fn push_cms_decodes_in_any_common_base64_alphabet() {
    let der = vec![0xfb, 0xff, 0x01];
    let request = PushRequest::new("c", &der);
    assert_eq!(
        serde_json::to_string(&request).unwrap(),
        r#"{"challenge_id":"c","cms":"+/8B"}"#
    );
    for cms in ["+/8B", "-_8B", " +/8B\n"] {
        let r = PushRequest {
            challenge_id: "c".into(),
            cms: cms.into(),
        };
        assert_eq!(r.cms_der().unwrap(), der, "{cms:?}");
    }
    let bad = PushRequest {
        challenge_id: "c".into(),
        cms: "!!".into(),
    };
    assert_eq!(
        bad.cms_der().unwrap_err().to_string(),
        "cms is not valid base64"
    );
}

#[test]
fn thumbprint_is_upper_case_hex_sha1() {
    // FIPS 180-2 appendix A.1: SHA-1("abc").
    assert_eq!(
        thumbprint(b"abc"),
        "A9993E364706816ABA3E25717850C26C9CD0D89D"
    );
}

#[test]
fn thumbprints_are_normalized_or_refused() {
    assert_eq!(
        normalize_thumbprint("01:23 456789abcdef0123456789abcdef01234567").as_deref(),
        Some("0123456789ABCDEF0123456789ABCDEF01234567")
    );
    assert_eq!(normalize_thumbprint("abc"), None);
    assert_eq!(normalize_thumbprint(&"g".repeat(40)), None);
    assert_eq!(normalize_thumbprint(&" ".repeat(200)), None);
}
