use super::*;
use crate::ct::{leaf_index_extension, parse_leaf_index_extension};

fn ds(signature: Vec<u8>) -> DigitallySigned {
    DigitallySigned {
        hash: DigitallySigned::HASH_SHA256,
        signature_algorithm: DigitallySigned::SIG_ECDSA,
        signature,
    }
}

#[test]
fn add_chain_response_decodes_to_sct() {
    let ds = ds(vec![9; 70]);
    let raw = encode_digitally_signed(&ds);
    let ext = leaf_index_extension(3).unwrap();
    let json = format!(
        r#"{{"sct_version":0,"id":"{}","timestamp":99,"extensions":"{}","signature":"{}","future":1}}"#,
        b64::encode([5u8; 32]),
        b64::encode(&ext),
        b64::encode(&raw)
    );
    let resp: AddChainResponse = serde_json::from_str(&json).unwrap();
    let s = resp.into_sct().unwrap();
    assert_eq!(s.log_id, [5; 32]);
    assert_eq!(s.timestamp, 99);
    assert_eq!(parse_leaf_index_extension(&s.extensions).unwrap(), 3);
    assert_eq!(s.signature, ds);
}

#[test]
fn add_chain_response_rejects_trailing_signature_bytes_and_short_id() {
    let mut raw = encode_digitally_signed(&ds(vec![1]));
    raw.push(0);
    let resp = AddChainResponse {
        sct_version: 0,
        id: [5; 32],
        timestamp: 1,
        extensions: Vec::new(),
        signature: raw,
    };
    assert!(resp.into_sct().is_err());
    let json = format!(
        r#"{{"sct_version":0,"id":"{}","timestamp":1,"extensions":"","signature":"BAMAAA=="}}"#,
        b64::encode([5u8; 31]),
    );
    assert!(matches!(
        from_json::<AddChainResponse>(json.as_bytes()),
        Err(JsonError::Field(_))
    ));
}

#[test]
fn add_chain_response_of_an_sct_is_the_rfc6962_json_and_decodes_back() {
    let sct = SignedCertificateTimestamp {
        log_id: [7; 32],
        timestamp: 1_700_000_000_123,
        extensions: leaf_index_extension(42).unwrap(),
        signature: ds(vec![1, 2, 3]),
    };
    let json = serde_json::to_value(AddChainResponse::from_sct(&sct)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "sct_version": 0,
            "id": b64::encode([7u8; 32]),
            "timestamp": 1_700_000_000_123u64,
            "extensions": b64::encode(&sct.extensions),
            "signature": b64::encode(encode_digitally_signed(&sct.signature)),
        })
    );
    let back: AddChainResponse = serde_json::from_value(json).unwrap();
    assert_eq!(back.into_sct().unwrap(), sct);
}

#[test]
fn sct_version_other_than_v1_is_refused() {
    let mut resp = AddChainResponse::from_sct(&SignedCertificateTimestamp {
        log_id: [1; 32],
        timestamp: 1,
        extensions: Vec::new(),
        signature: ds(vec![1]),
    });
    resp.sct_version = 1;
    assert_eq!(resp.into_sct(), Err(CtApiError::SctVersion(1)));
}

#[test]
fn tree_head_round_trips_through_get_sth_json() {
    let head = SignedTreeHead {
        tree_size: 9,
        timestamp: 77,
        root_hash: [3; 32],
        signature: ds(vec![4; 71]),
    };
    let json = serde_json::to_vec(&head.to_response()).unwrap();
    let back: GetSthResponse = from_json(&json).unwrap();
    assert_eq!(back.into_tree_head().unwrap(), head);
}

#[test]
fn malformed_binary_fields_are_field_errors_and_wrong_shapes_are_not() {
    let sth = |root: &str| {
        format!(
            r#"{{"tree_size":1,"timestamp":2,"sha256_root_hash":"{root}","tree_head_signature":"BAMAAA=="}}"#
        )
    };
    for bad_root in ["%%%", &b64::encode([0u8; 31])] {
        assert!(matches!(
            from_json::<GetSthResponse>(sth(bad_root).as_bytes()),
            Err(JsonError::Field(_))
        ));
    }
    assert!(from_json::<GetSthResponse>(sth(&b64::encode([0u8; 32])).as_bytes()).is_ok());
    for shape in [&b"{"[..], br#"{"tree_size":1}"#, br#"{"tree_size":"x"}"#] {
        assert!(matches!(
            from_json::<GetSthResponse>(shape),
            Err(JsonError::Shape(_))
        ));
    }
    let entries = br#"{"entries":[{"leaf_input":"AA=="},{"leaf_input":"*"}]}"#;
    assert!(matches!(
        from_json::<GetEntriesResponse>(entries),
        Err(JsonError::Field(_))
    ));
}

#[test]
fn entries_without_extra_data_read_as_empty() {
    let page: GetEntriesResponse = from_json(br#"{"entries":[{"leaf_input":"AAE="}]}"#).unwrap();
    assert_eq!(page.entries[0].leaf_input, [0, 1]);
    assert!(page.entries[0].extra_data.is_empty());
}

#[test]
fn proofs_are_lists_of_base64_hashes() {
    let proof = GetProofByHashResponse {
        leaf_index: 3,
        audit_path: vec![[1; 32], [2; 32]],
    };
    let json = serde_json::to_value(&proof).unwrap();
    assert_eq!(json["audit_path"][1], b64::encode([2u8; 32]));
    assert_eq!(
        serde_json::from_value::<GetProofByHashResponse>(json).unwrap(),
        proof
    );
    let consistency: GetSthConsistencyResponse = from_json(br#"{"consistency":[]}"#).unwrap();
    assert!(consistency.consistency.is_empty());
}

#[test]
fn add_chain_request_checks_length_before_base64_and_names_the_bad_element() {
    let ok = AddChainRequest {
        chain: vec![vec![0x30, 0], vec![0x30, 1, 0]],
    };
    let body = serde_json::to_vec(&ok).unwrap();
    assert_eq!(body, br#"{"chain":["MAA=","MAEA"]}"#);
    assert_eq!(AddChainRequest::from_json(&body).unwrap(), ok);
    assert_eq!(
        serde_json::from_slice::<AddChainRequest>(&body).unwrap(),
        ok
    );

    let err = |body: &[u8]| AddChainRequest::from_json(body).unwrap_err().to_string();
    assert_eq!(err(br#"{"chain":[]}"#), "chain is empty");
    let seventeen = format!(r#"{{"chain":[{}"%"]}}"#, r#""%","#.repeat(16));
    assert_eq!(
        err(seventeen.as_bytes()),
        "chain has 17 certificates, at most 16 are accepted"
    );
    assert!(err(br#"{"chain":["MAA=","%%"]}"#).starts_with("chain[1] is not valid base64: "));
    assert!(err(b"{").starts_with("malformed JSON body: "));
}

#[test]
fn proof_by_hash_query_takes_a_space_for_plus() {
    let hash = [0xfb; 32];
    let text = b64::encode(hash);
    assert!(text.contains('+'));
    let query = GetProofByHashRequest {
        hash: text.replace('+', " "),
        tree_size: 1,
    };
    assert_eq!(query.leaf_hash().unwrap(), hash);
    let short = GetProofByHashRequest {
        hash: b64::encode([1u8; 31]),
        tree_size: 1,
    };
    assert_eq!(
        short.leaf_hash().unwrap_err().to_string(),
        "hash has 31 bytes, not 32"
    );
}
