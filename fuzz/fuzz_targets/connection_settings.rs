#![no_main]
//! Operator-supplied text: PostgreSQL connection strings (URL and key=value forms, with
//! our TLS options taken out) and webhook signature headers as a receiver checks them.
//! Both must answer with an error, never a panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = store::PgConfig::parse(text);
    let _ = monitor::webhook::verify_signature("ccwh_secret", text, data, 1_700_000_000, 300);
});
