//! Tests of the `TransparencyLogEntry` codec: protobuf JSON rules, the checks on read,
//! and the conversion of a v1 answer.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::rekor::log_entry::{self, Verification};
use crate::rekor::tests::arb_json;

const BODY: &[u8] = br#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}}"#;

fn v2_entry() -> TransparencyLogEntry {
    TransparencyLogEntry {
        log_index: 0,
        log_id: LogId { key_id: [7; 32] },
        kind_version: KindVersion {
            kind: "hashedrekord".into(),
            version: "0.0.2".into(),
        },
        integrated_time: None,
        inclusion_promise: None,
        inclusion_proof: InclusionProof {
            log_index: 0,
            root_hash: [9; 32],
            tree_size: 1,
            hashes: vec![],
            checkpoint: Checkpoint {
                envelope: "log.example\n1\nCQkJ\n\n— log.example AAAA\n".into(),
            },
        },
        canonicalized_body: BODY.to_vec(),
    }
}

fn json_of(entry: &TransparencyLogEntry) -> Value {
    serde_json::from_slice(&entry.to_json().unwrap()).unwrap()
}

fn read(value: &Value) -> Result<TransparencyLogEntry, RekorError> {
    TransparencyLogEntry::from_json(&serde_json::to_vec(value).unwrap())
}

fn b64(bytes: &[u8]) -> String {
    crate::ct_api::b64::encode(bytes)
}

/// A v2 entry: 64-bit integers as strings, `logIndex` "0" and an empty `hashes`
/// written, no integrated time or promise, members in field-number order.
#[test]
fn v2_entry_is_written_as_protobuf_json_with_zero_index_and_empty_hashes() {
    let text = String::from_utf8(v2_entry().to_json().unwrap()).unwrap();
    let expected = format!(
        concat!(
            r#"{{"logIndex":"0","logId":{{"keyId":"{}"}},"#,
            r#""kindVersion":{{"kind":"hashedrekord","version":"0.0.2"}},"#,
            r#""inclusionProof":{{"logIndex":"0","rootHash":"{}","treeSize":"1","hashes":[],"#,
            r#""checkpoint":{{"envelope":{}}}}},"canonicalizedBody":"{}"}}"#
        ),
        b64(&[7; 32]),
        b64(&[9; 32]),
        serde_json::to_string(&v2_entry().inclusion_proof.checkpoint.envelope).unwrap(),
        b64(BODY),
    );
    assert_eq!(text, expected);
}

#[test]
fn entry_round_trips() {
    let mut entry = v2_entry();
    assert_eq!(
        TransparencyLogEntry::from_json(&entry.to_json().unwrap()).unwrap(),
        entry
    );
    entry.integrated_time = Some(1_772_216_383);
    entry.inclusion_promise = Some(InclusionPromise {
        signed_entry_timestamp: vec![1, 2, 3],
    });
    entry.log_index = 1_004_096_275;
    entry.inclusion_proof.log_index = 5;
    entry.inclusion_proof.tree_size = 6;
    entry.inclusion_proof.hashes = vec![[1; 32], [2; 32]];
    let value = json_of(&entry);
    assert_eq!(value["integratedTime"], "1772216383");
    assert_eq!(value["inclusionPromise"]["signedEntryTimestamp"], "AQID");
    assert_eq!(read(&value).unwrap(), entry);
}

/// proto3 JSON: "Either numbers or strings are accepted" for 64-bit integers.
#[test]
fn integers_are_read_from_strings_or_numbers() {
    let value = json_of(&v2_entry());
    let mut numbers = value.clone();
    numbers["logIndex"] = json!(0);
    numbers["inclusionProof"]["treeSize"] = json!(1);
    assert_eq!(read(&numbers).unwrap(), v2_entry());
    for bad in [
        json!(-1),
        json!("-1"),
        json!("+1"),
        json!("1.0"),
        json!(1.5),
        json!(""),
        json!(" 1"),
        json!("9223372036854775808"),
        json!(9_223_372_036_854_775_808_u64),
        json!("99999999999999999999"),
        json!(true),
    ] {
        let mut doc = value.clone();
        doc["logIndex"] = bad.clone();
        assert!(
            matches!(read(&doc), Err(RekorError::Malformed { .. })),
            "{bad}"
        );
    }
    let mut max = value;
    max["logIndex"] = json!(i64::MAX.to_string());
    assert_eq!(read(&max).unwrap().log_index, i64::MAX as u64);
}

/// proto3 scalars have no presence: an absent index is 0, an integrated time of 0 is
/// none; a `null` message is absent.
#[test]
fn zero_and_absent_scalars_are_the_same() {
    let mut value = json_of(&v2_entry());
    value.as_object_mut().unwrap().remove("logIndex");
    value["inclusionProof"]
        .as_object_mut()
        .unwrap()
        .remove("hashes");
    value["integratedTime"] = json!("0");
    value["inclusionPromise"] = Value::Null;
    assert_eq!(read(&value).unwrap(), v2_entry());
}

#[test]
fn snake_case_field_names_are_accepted() {
    let entry = {
        let mut e = v2_entry();
        e.integrated_time = Some(5);
        e.inclusion_promise = Some(InclusionPromise {
            signed_entry_timestamp: vec![4],
        });
        e
    };
    let value = json_of(&entry);
    let snake = json!({
        "log_index": value["logIndex"],
        "log_id": {"key_id": value["logId"]["keyId"]},
        "kind_version": value["kindVersion"],
        "integrated_time": value["integratedTime"],
        "inclusion_promise": {"signed_entry_timestamp": value["inclusionPromise"]["signedEntryTimestamp"]},
        "inclusion_proof": {
            "log_index": "0",
            "root_hash": value["inclusionProof"]["rootHash"],
            "tree_size": "1",
            "hashes": [],
            "checkpoint": value["inclusionProof"]["checkpoint"],
        },
        "canonicalized_body": value["canonicalizedBody"],
    });
    assert_eq!(read(&snake).unwrap(), entry);
    let mut twice = value;
    twice["log_index"] = json!("0");
    assert!(matches!(read(&twice), Err(RekorError::Malformed { .. })));
}

#[test]
fn unknown_fields_are_refused() {
    let value = json_of(&v2_entry());
    for path in [
        &[][..],
        &["logId"][..],
        &["kindVersion"][..],
        &["inclusionProof"][..],
        &["inclusionProof", "checkpoint"][..],
    ] {
        let mut doc = value.clone();
        let mut at = &mut doc;
        for p in path {
            at = &mut at[*p];
        }
        at["extra"] = json!(1);
        assert!(
            matches!(read(&doc), Err(RekorError::Malformed { .. })),
            "{path:?}"
        );
    }
}

/// What sigstore-python requires of an entry (a checkpoint; `logIndex < treeSize`)
/// and what an RFC 6962 tree allows (32-byte hashes, at most 63 of them).
#[test]
fn unusable_entries_are_refused() {
    let value = json_of(&v2_entry());
    let invalid = |doc: Value| {
        assert!(
            matches!(
                read(&doc),
                Err(RekorError::Invalid(_) | RekorError::Malformed { .. })
            ),
            "{doc}"
        );
    };
    let mut outside = value.clone();
    outside["inclusionProof"]["logIndex"] = json!("1");
    assert!(matches!(read(&outside), Err(RekorError::Invalid(_))));
    let mut long = value.clone();
    long["inclusionProof"]["treeSize"] = json!(u64::MAX / 2);
    long["inclusionProof"]["hashes"] = json!(vec![b64(&[0; 32]); MAX_PROOF_HASHES + 1]);
    assert!(matches!(read(&long), Err(RekorError::Invalid(_))));
    let mut short_hash = value.clone();
    short_hash["inclusionProof"]["hashes"] = json!([b64(&[0; 31])]);
    invalid(short_hash);
    let mut no_checkpoint = value.clone();
    no_checkpoint["inclusionProof"]
        .as_object_mut()
        .unwrap()
        .remove("checkpoint");
    invalid(no_checkpoint);
    let mut empty_checkpoint = value.clone();
    empty_checkpoint["inclusionProof"]["checkpoint"]["envelope"] = json!("");
    invalid(empty_checkpoint);
    let mut no_body = value.clone();
    no_body.as_object_mut().unwrap().remove("canonicalizedBody");
    invalid(no_body);
    let mut empty_body = value.clone();
    empty_body["canonicalizedBody"] = json!("");
    invalid(empty_body);
    let mut no_kind = value.clone();
    no_kind["kindVersion"]["kind"] = json!("");
    invalid(no_kind);
    let mut short_id = value;
    short_id["logId"]["keyId"] = json!(b64(&[1; 20]));
    invalid(short_id);
    let huge = vec![b' '; MAX_TLE_BYTES + 1];
    assert!(matches!(
        TransparencyLogEntry::from_json(&huge),
        Err(RekorError::TooLarge { .. })
    ));
}

fn v1_entry(body: &[u8]) -> LogEntry {
    LogEntry {
        body: body.to_vec(),
        integrated_time: 1_772_216_383,
        log_id: [3; 32],
        log_index: 1_004_096_275,
        verification: Verification {
            inclusion_proof: log_entry::InclusionProof {
                checkpoint: "rekor.example - 1\n10\nCQkJ\n\n— rekor.example AAAA\n".into(),
                hashes: vec![[4; 32], [5; 32]],
                log_index: 7,
                root_hash: [6; 32],
                tree_size: 10,
            },
            signed_entry_timestamp: vec![8, 9],
        },
    }
}

/// sigstore-python's `_from_v1_response`: kind and version from the body, the SET as
/// the inclusion promise, hex values as bytes, every index as it was.
#[test]
fn v1_answer_becomes_an_entry_with_its_promise() {
    let body = br#"{"apiVersion":"0.0.1","kind":"dsse","spec":{"payloadHash":{}}}"#;
    let v1 = v1_entry(body);
    let tle = TransparencyLogEntry::from_v1(&v1).unwrap();
    assert_eq!(
        tle,
        TransparencyLogEntry {
            log_index: 1_004_096_275,
            log_id: LogId { key_id: [3; 32] },
            kind_version: KindVersion {
                kind: "dsse".into(),
                version: "0.0.1".into(),
            },
            integrated_time: Some(1_772_216_383),
            inclusion_promise: Some(InclusionPromise {
                signed_entry_timestamp: vec![8, 9],
            }),
            inclusion_proof: InclusionProof {
                log_index: 7,
                root_hash: [6; 32],
                tree_size: 10,
                hashes: vec![[4; 32], [5; 32]],
                checkpoint: Checkpoint {
                    envelope: v1.verification.inclusion_proof.checkpoint.clone(),
                },
            },
            canonicalized_body: body.to_vec(),
        }
    );
    assert_eq!(
        TransparencyLogEntry::from_json(&tle.to_json().unwrap()).unwrap(),
        tle
    );
}

#[test]
fn v1_answer_of_another_kind_is_refused() {
    for body in [
        &br#"{"apiVersion":"0.0.1","kind":"rekord","spec":{}}"#[..],
        br#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{}}"#,
    ] {
        assert!(matches!(
            TransparencyLogEntry::from_v1(&v1_entry(body)),
            Err(RekorError::UnsupportedKind { .. })
        ));
    }
    assert!(matches!(
        TransparencyLogEntry::from_v1(&v1_entry(b"not json")),
        Err(RekorError::Malformed { .. })
    ));
}

proptest! {
    #[test]
    fn entry_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = TransparencyLogEntry::from_json(&bytes);
    }

    #[test]
    fn entry_parser_never_panics_on_json(value in arb_json()) {
        let mut doc = json_of(&v2_entry());
        doc["inclusionProof"] = value.clone();
        let _ = read(&doc);
        let _ = read(&value);
    }
}
