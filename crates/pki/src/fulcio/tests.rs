use super::*;
use proptest::prelude::*;

fn ext(oid: &str, value: &[u8]) -> Extension {
    Extension {
        extn_id: oid.parse().unwrap(),
        critical: false,
        extn_value: OctetString::new(value).unwrap(),
    }
}

fn utf8(s: &str) -> Vec<u8> {
    Utf8StringRef::new(s).unwrap().to_der().unwrap()
}

/// Every field set to a value naming it.
fn all_fields() -> FulcioExtensions {
    let v = |s: &str| Some(s.to_owned());
    FulcioExtensions {
        issuer: v("issuer"),
        github_workflow_trigger: v("trigger"),
        github_workflow_sha: v("sha"),
        github_workflow_name: v("name"),
        github_workflow_repository: v("repository"),
        github_workflow_ref: v("ref"),
        build_signer_uri: v("build-signer-uri"),
        build_signer_digest: v("build-signer-digest"),
        runner_environment: v("runner-environment"),
        source_repository_uri: v("source-repository-uri"),
        source_repository_digest: v("source-repository-digest"),
        source_repository_ref: v("source-repository-ref"),
        source_repository_identifier: v("source-repository-identifier"),
        source_repository_owner_uri: v("source-repository-owner-uri"),
        source_repository_owner_identifier: v("source-repository-owner-identifier"),
        build_config_uri: v("build-config-uri"),
        build_config_digest: v("build-config-digest"),
        build_trigger: v("build-trigger"),
        run_invocation_uri: v("run-invocation-uri"),
        source_repository_visibility_at_signing: v("source-repository-visibility"),
    }
}

#[test]
fn render_writes_fulcio_oids_in_fulcio_order_with_their_encodings() {
    // The arcs of docs/oid-info.md, in the order of Fulcio's `Extensions.Render`.
    let expected: [(&str, &str, bool); 21] = [
        ("1", "issuer", false),
        ("8", "issuer", true),
        ("2", "trigger", false),
        ("3", "sha", false),
        ("4", "name", false),
        ("5", "repository", false),
        ("6", "ref", false),
        ("9", "build-signer-uri", true),
        ("10", "build-signer-digest", true),
        ("11", "runner-environment", true),
        ("12", "source-repository-uri", true),
        ("13", "source-repository-digest", true),
        ("14", "source-repository-ref", true),
        ("15", "source-repository-identifier", true),
        ("16", "source-repository-owner-uri", true),
        ("17", "source-repository-owner-identifier", true),
        ("18", "build-config-uri", true),
        ("19", "build-config-digest", true),
        ("20", "build-trigger", true),
        ("21", "run-invocation-uri", true),
        ("22", "source-repository-visibility", true),
    ];
    let rendered = all_fields().render().unwrap();
    assert_eq!(rendered.len(), expected.len());
    for (got, (arc, value, der)) in rendered.iter().zip(expected) {
        assert_eq!(
            got.extn_id.to_string(),
            format!("1.3.6.1.4.1.57264.1.{arc}")
        );
        assert!(!got.critical);
        let want = if der {
            utf8(value)
        } else {
            value.as_bytes().to_vec()
        };
        assert_eq!(got.extn_value.as_bytes(), want, "arc {arc}");
    }
}

#[test]
fn absent_fields_render_nothing() {
    assert!(FulcioExtensions::default().render().unwrap().is_empty());
    let issuer_only = FulcioExtensions {
        issuer: Some("https://accounts.example.com".into()),
        ..FulcioExtensions::default()
    };
    let ids: Vec<String> = issuer_only
        .render()
        .unwrap()
        .iter()
        .map(|e| e.extn_id.to_string())
        .collect();
    assert_eq!(ids, ["1.3.6.1.4.1.57264.1.1", "1.3.6.1.4.1.57264.1.8"]);
}

#[test]
fn render_then_parse_round_trips() {
    let all = all_fields();
    let rendered = all.render().unwrap();
    assert_eq!(FulcioExtensions::parse(&rendered).unwrap(), all);
    assert_eq!(FulcioExtensions::parse_best_effort(&rendered), all);
}

#[test]
fn other_extensions_and_unknown_fulcio_arcs_are_ignored() {
    let mut exts = all_fields().render().unwrap();
    exts.insert(0, ext("2.5.29.19", &[0x30, 0x00]));
    // .7 is the username otherName type; .99 a future arc.
    exts.push(ext("1.3.6.1.4.1.57264.1.7", b"\xff"));
    exts.push(ext("1.3.6.1.4.1.57264.1.99", b"\xff"));
    assert_eq!(FulcioExtensions::parse(&exts).unwrap(), all_fields());
}

#[test]
fn utf8string_with_the_wrong_inner_tag_is_an_error() {
    // An OCTET STRING (0x04) where .8 must hold a UTF8String (0x0c).
    let exts = [ext("1.3.6.1.4.1.57264.1.8", b"\x04\x01a")];
    assert!(matches!(
        FulcioExtensions::parse(&exts),
        Err(FulcioError::NotUtf8String { oid, .. }) if oid == oids::FULCIO_ISSUER_V2
    ));
    // Raw text where DER is expected.
    let exts = [ext("1.3.6.1.4.1.57264.1.12", b"https://github.com/x")];
    assert!(matches!(
        FulcioExtensions::parse(&exts),
        Err(FulcioError::NotUtf8String { .. })
    ));
}

#[test]
fn utf8string_with_trailing_bytes_is_an_error() {
    let mut value = utf8("https://github.com/x");
    value.push(0);
    let exts = [ext("1.3.6.1.4.1.57264.1.21", &value)];
    assert!(matches!(
        FulcioExtensions::parse(&exts),
        Err(FulcioError::NotUtf8String { oid, .. }) if oid == oids::FULCIO_RUN_INVOCATION_URI
    ));
}

#[test]
fn utf8string_that_is_not_utf8_is_an_error() {
    let exts = [ext("1.3.6.1.4.1.57264.1.13", b"\x0c\x02\xc3\x28")];
    assert!(FulcioExtensions::parse(&exts).is_err());
}

#[test]
fn raw_value_that_is_not_utf8_is_an_error() {
    let exts = [ext("1.3.6.1.4.1.57264.1.3", b"\xff\xfe")];
    assert_eq!(
        FulcioExtensions::parse(&exts),
        Err(FulcioError::NotUtf8(oids::FULCIO_GITHUB_WORKFLOW_SHA))
    );
}

#[test]
fn an_extension_must_not_appear_twice() {
    let exts = [
        ext("1.3.6.1.4.1.57264.1.14", &utf8("refs/heads/main")),
        ext("1.3.6.1.4.1.57264.1.14", &utf8("refs/heads/evil")),
    ];
    assert_eq!(
        FulcioExtensions::parse(&exts),
        Err(FulcioError::Duplicate(oids::FULCIO_SOURCE_REPOSITORY_REF))
    );
    assert_eq!(
        FulcioExtensions::parse_best_effort(&exts).source_repository_ref,
        Some("refs/heads/main".into())
    );
}

#[test]
fn issuers_that_disagree_are_an_error() {
    let exts = [
        ext("1.3.6.1.4.1.57264.1.1", b"https://old.example"),
        ext("1.3.6.1.4.1.57264.1.8", &utf8("https://new.example")),
    ];
    assert!(matches!(
        FulcioExtensions::parse(&exts),
        Err(FulcioError::IssuerMismatch { .. })
    ));
    // Best effort reads the current form.
    assert_eq!(
        FulcioExtensions::parse_best_effort(&exts).issuer.as_deref(),
        Some("https://new.example")
    );
}

#[test]
fn either_issuer_extension_alone_is_the_issuer() {
    let v1 = [ext("1.3.6.1.4.1.57264.1.1", b"https://old.example")];
    assert_eq!(
        FulcioExtensions::parse(&v1).unwrap().issuer.as_deref(),
        Some("https://old.example")
    );
    let v2 = [ext("1.3.6.1.4.1.57264.1.8", &utf8("https://new.example"))];
    assert_eq!(
        FulcioExtensions::parse(&v2).unwrap().issuer.as_deref(),
        Some("https://new.example")
    );
}

#[test]
fn best_effort_skips_what_does_not_decode() {
    let exts = [
        ext("1.3.6.1.4.1.57264.1.8", b"\x04\x01a"),
        ext("1.3.6.1.4.1.57264.1.1", b"https://old.example"),
        ext("1.3.6.1.4.1.57264.1.21", b"\x0c\x01ab"),
        ext("1.3.6.1.4.1.57264.1.20", &utf8("push")),
    ];
    let found = FulcioExtensions::parse_best_effort(&exts);
    assert_eq!(found.issuer.as_deref(), Some("https://old.example"));
    assert_eq!(found.run_invocation_uri, None);
    assert_eq!(found.build_trigger.as_deref(), Some("push"));
}

fn arb_extensions() -> impl Strategy<Value = FulcioExtensions> {
    proptest::collection::vec(proptest::option::of(any::<String>()), 20).prop_map(|v| {
        let mut v = v.into_iter();
        let mut next = || v.next().flatten();
        FulcioExtensions {
            issuer: next(),
            github_workflow_trigger: next(),
            github_workflow_sha: next(),
            github_workflow_name: next(),
            github_workflow_repository: next(),
            github_workflow_ref: next(),
            build_signer_uri: next(),
            build_signer_digest: next(),
            runner_environment: next(),
            source_repository_uri: next(),
            source_repository_digest: next(),
            source_repository_ref: next(),
            source_repository_identifier: next(),
            source_repository_owner_uri: next(),
            source_repository_owner_identifier: next(),
            build_config_uri: next(),
            build_config_digest: next(),
            build_trigger: next(),
            run_invocation_uri: next(),
            source_repository_visibility_at_signing: next(),
        }
    })
}

proptest! {
    #[test]
    fn prop_render_parse_round_trip(extensions in arb_extensions()) {
        let rendered = extensions.render().unwrap();
        prop_assert_eq!(FulcioExtensions::parse(&rendered).unwrap(), extensions.clone());
        prop_assert_eq!(FulcioExtensions::parse_best_effort(&rendered), extensions);
    }

    #[test]
    fn prop_parse_of_arbitrary_values_never_panics(
        values in proptest::collection::vec((1u32..24, proptest::collection::vec(any::<u8>(), 0..40)), 0..8)
    ) {
        let exts: Vec<Extension> = values
            .iter()
            .map(|(arc, value)| ext(&format!("1.3.6.1.4.1.57264.1.{arc}"), value))
            .collect();
        let _ = FulcioExtensions::parse(&exts);
        let _ = FulcioExtensions::parse_best_effort(&exts);
    }
}
