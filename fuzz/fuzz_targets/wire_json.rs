#![no_main]
//! The JSON messages every client and server of ours decodes with the one set of types
//! in `pki`: RFC 6962 §4 answers and requests, the CT log list, the registry's bodies.
//! Arbitrary bytes must come back as an error, never a panic.
use libfuzzer_sys::fuzz_target;
use pki::{ct_api, loglist, registry_api};

fuzz_target!(|data: &[u8]| {
    let _ = ct_api::AddChainRequest::from_json(data);
    if let Ok(r) = ct_api::from_json::<ct_api::AddChainResponse>(data) {
        let _ = r.into_sct();
    }
    if let Ok(r) = ct_api::from_json::<ct_api::GetSthResponse>(data) {
        let _ = r.into_tree_head();
    }
    let _ = ct_api::from_json::<ct_api::GetEntriesResponse>(data);
    let _ = ct_api::from_json::<ct_api::GetProofByHashResponse>(data);
    let _ = ct_api::from_json::<ct_api::GetSthConsistencyResponse>(data);
    let _ = ct_api::from_json::<ct_api::GetEntryAndProofResponse>(data);
    if let Ok(list) = serde_json::from_slice::<loglist::LogList>(data) {
        for log in list.logs() {
            let _ = log.checked_key();
        }
    }
    let _ = serde_json::from_slice::<registry_api::ChallengeResponse>(data);
    let _ = serde_json::from_slice::<registry_api::PushRequest>(data);
    let _ = serde_json::from_slice::<registry_api::CertView>(data);
    let _ = serde_json::from_slice::<registry_api::SearchResponse>(data);
    let _ = serde_json::from_slice::<registry_api::InclusionProofResponse>(data);
});
