#![no_main]
//! Proof-of-possession inputs (public keys, CSRs, challenge signatures) as sent to
//! `signingCert`: arbitrary bytes must be refused with an error, never panic.
use ca::pop::{SubjectKey, parse_csr, verify_challenge};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_csr(data);
    if let Ok(key) = SubjectKey::parse(data) {
        let (message, signature) = data.split_at(data.len() / 2);
        let _ = verify_challenge(&key, message, signature);
    }
});
