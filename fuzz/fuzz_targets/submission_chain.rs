#![no_main]
//! `add-chain` bodies after base64: arbitrary DER must be rejected, never panic.
use libfuzzer_sys::fuzz_target;
use pki::{RootStore, SubmissionKind, embedded_scts, precert_tbs_from_certificate, validate_chain};

fuzz_target!(|data: &[u8]| {
    let roots = RootStore::new();
    let chain: Vec<Vec<u8>> = data.split(|b| *b == 0xff).map(<[u8]>::to_vec).take(4).collect();
    for kind in [SubmissionKind::Certificate, SubmissionKind::Precertificate] {
        let _ = validate_chain(&chain, &roots, 1_700_000_000_000, kind);
    }
    let _ = precert_tbs_from_certificate(data);
    let _ = embedded_scts(data);
});
