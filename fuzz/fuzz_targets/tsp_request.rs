#![no_main]
//! What a client hands the TSA: a DER TimeStampReq, or the JSON form. Arbitrary bytes
//! must be refused with an error, never a panic; a request that decodes must encode
//! back to the same bytes (the decoder accepts DER only).
use der::Encode;
use libfuzzer_sys::fuzz_target;
use pki::tsp::{JsonTimeStampRequest, TimeStampReq, TimeStampResp};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = TimeStampReq::from_der_canonical(data) {
        assert_eq!(req.to_der().expect("a decoded request encodes"), data);
    }
    if let Ok(json) = serde_json::from_slice::<JsonTimeStampRequest>(data) {
        let _ = json.to_request();
    }
    if let Ok(resp) = <TimeStampResp as der::Decode>::from_der(data) {
        let _ = resp.tst_info();
    }
});
