//! Hostile and malformed input against the real server: every case gets a 4xx with a
//! JSON `{code, message}` body, nothing is logged, and the server keeps serving.

mod common;

use common::*;
use serde_json::Value;

fn expect_error(response: reqwest::blocking::Response, status: u16, what: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{what}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json", "{what}");
    let body: Value = response.json().unwrap();
    assert!(body["code"].is_string(), "{what}: {body}");
    assert!(
        !body["message"].as_str().unwrap().is_empty(),
        "{what}: {body}"
    );
    body
}

#[test]
fn malformed_and_hostile_requests_get_json_4xx_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();

    let expired = root("Expired Root", 2000, 2010);
    let future = root("Future Root", 2090, 2099);
    let foreign = root("Foreign Root", 2020, 2045);
    let root = common::root("Bad Input Root", 2020, 2045);
    let inter = intermediate("Bad Input Intermediate", &root);
    let roots_pem = dir.path().join("roots.pem");
    write_roots(&roots_pem, &[&root, &expired, &future]);
    let server = Server::with_log(&dir.path().join("data"), &roots_pem, "20ms", "127.0.0.1:0");
    let client = client();
    let add_chain = server.log_url("ct/v1/add-chain");
    let add_pre_chain = server.log_url("ct/v1/add-pre-chain");
    let post_raw = |url: &str, body: Vec<u8>| {
        client
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .unwrap()
    };
    let post = |url: &str, chain: &[Vec<u8>]| {
        let body = serde_json::json!({ "chain": chain.iter().map(|c| b64(c)).collect::<Vec<_>>() });
        post_raw(url, serde_json::to_vec(&body).unwrap())
    };

    // Bodies that are not the JSON we expect.
    for (body, what) in [
        (b"{".to_vec(), "truncated JSON"),
        (b"".to_vec(), "empty body"),
        (b"{\"chain\": \"abc\"}".to_vec(), "chain is not a list"),
        (b"{\"chain\": [1, 2]}".to_vec(), "chain of numbers"),
        (b"{\"cert\": []}".to_vec(), "no chain field"),
        (b"{\"chain\": []}".to_vec(), "empty chain"),
        (
            b"{\"chain\": [\"%%%not base64%%%\"]}".to_vec(),
            "bad base64",
        ),
        (b"{\"chain\": [\"AAEC\"]}".to_vec(), "broken DER"),
        (
            [b"[".repeat(100_000), b"]".repeat(100_000)].concat(),
            "deeply nested JSON",
        ),
        (vec![0xff, 0xfe, 0x00, 0x01], "binary garbage"),
    ] {
        expect_error(post_raw(&add_chain, body), 400, what);
    }
    let too_long: Vec<Vec<u8>> = (0..17).map(|_| root.der().to_vec()).collect();
    expect_error(post(&add_chain, &too_long), 400, "17 certificates");
    let huge = format!("{{\"chain\": [\"{}\"]}}", "A".repeat(1_100_000));
    let body = expect_error(
        post_raw(&add_chain, huge.into_bytes()),
        413,
        "body over 1 MiB",
    );
    assert_eq!(body["code"], "body_too_large");

    // Chains that are well-formed but must not be logged.
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        (
            &add_chain,
            vec![leaf("x.test", &foreign, false), foreign.der().to_vec()],
            "chain to an unaccepted root",
        ),
        (
            &add_chain,
            vec![leaf("x.test", &foreign, false)],
            "leaf of an unknown issuer",
        ),
        (
            &add_chain,
            vec![leaf("x.test", &expired, false), expired.der().to_vec()],
            "expired root",
        ),
        (
            &add_chain,
            vec![leaf("x.test", &future, false), future.der().to_vec()],
            "not-yet-valid root",
        ),
        (
            &add_chain,
            vec![leaf("x.test", &root, true), root.der().to_vec()],
            "poisoned certificate on add-chain",
        ),
        (
            &add_pre_chain,
            vec![leaf("plain.test", &root, false), root.der().to_vec()],
            "precert without poison",
        ),
        (
            &add_pre_chain,
            vec![leaf("x.test", &inter, true)],
            "precert without its intermediate",
        ),
        (
            &add_chain,
            vec![leaf("x.test", &root, false), foreign.der().to_vec()],
            "wrong issuer in chain",
        ),
    ];
    for (url, chain, what) in cases {
        let body = expect_error(post(url, &chain), 400, what);
        assert_eq!(body["code"], "invalid_chain", "{what}: {body}");
    }

    // One entry so that read parameters have something to be out of range of.
    let (status, sct) = post_chain(
        &client,
        &add_chain,
        &[leaf("ok.test", &root, false), root.der().to_vec()],
    );
    assert_eq!(status, 200, "{sct}");

    for (path, status, what) in [
        ("ct/v1/get-entries?start=1&end=0", 400, "start > end"),
        (
            "ct/v1/get-entries?start=1&end=5",
            400,
            "start beyond the tree",
        ),
        ("ct/v1/get-entries?start=-1&end=5", 400, "negative start"),
        ("ct/v1/get-entries?start=a&end=5", 400, "non-numeric start"),
        ("ct/v1/get-entries?start=0", 400, "missing end"),
        (
            "ct/v1/get-entries?start=18446744073709551615&end=18446744073709551615",
            400,
            "huge start",
        ),
        (
            "ct/v1/get-entries?start=0&end=99999999999999999999999",
            400,
            "end overflows u64",
        ),
        (
            "ct/v1/get-proof-by-hash?hash=AAAA&tree_size=1",
            400,
            "short hash",
        ),
        (
            "ct/v1/get-proof-by-hash?hash=%%%&tree_size=1",
            400,
            "bad base64 hash",
        ),
        (
            "ct/v1/get-proof-by-hash?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&tree_size=0",
            400,
            "tree_size 0",
        ),
        (
            "ct/v1/get-proof-by-hash?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&tree_size=2",
            400,
            "tree_size beyond the tree",
        ),
        (
            "ct/v1/get-proof-by-hash?hash=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D&tree_size=1",
            404,
            "unknown hash",
        ),
        (
            "ct/v1/get-sth-consistency?first=2&second=1",
            400,
            "first > second",
        ),
        (
            "ct/v1/get-sth-consistency?first=1&second=2",
            400,
            "second beyond the tree",
        ),
        (
            "ct/v1/get-sth-consistency?first=0&second=1",
            400,
            "first = 0",
        ),
        ("ct/v1/get-sth-consistency?first=1", 400, "missing second"),
        (
            "ct/v1/get-entry-and-proof?leaf_index=1&tree_size=1",
            400,
            "leaf_index >= tree_size",
        ),
        (
            "ct/v1/get-entry-and-proof?leaf_index=0&tree_size=2",
            400,
            "tree_size beyond the tree",
        ),
        ("ct/v1/no-such-endpoint", 404, "unknown endpoint"),
        ("tile/0/000.p/2", 404, "partial tile wider than the tree"),
        ("tile/0/000", 404, "full tile of a small tree"),
        ("tile/0/0000", 404, "non-canonical tile index"),
        ("tile/9/000", 404, "tile level out of range"),
        ("tile/data/x001", 404, "malformed data tile path"),
        ("issuer/zz", 404, "malformed fingerprint"),
        (
            "issuer/0000000000000000000000000000000000000000000000000000000000000000",
            404,
            "unknown issuer",
        ),
    ] {
        let response = client.get(server.log_url(path)).send().unwrap();
        expect_error(response, status, what);
    }
    let response = client.get(&add_chain).send().unwrap();
    expect_error(response, 405, "GET on add-chain");
    let response = client
        .get(format!("{}/nothing/here", server.base))
        .send()
        .unwrap();
    expect_error(response, 404, "unknown path");

    // Nothing of the above was logged, and the log still works.
    let sth = get_json(&client, &server.log_url("ct/v1/get-sth"));
    assert_eq!(sth["tree_size"], 1);
    let (status, sct) = post_chain(&client, &add_chain, &[leaf("ok2.test", &root, false)]);
    assert_eq!(status, 200, "{sct}");
}
