use super::*;

#[test]
fn garbage_der_is_malformed_not_panic() {
    for junk in [
        &b""[..],
        b"\x30",
        b"\x30\x00",
        b"\x30\x84\xff\xff\xff\xff",
        b"hello",
    ] {
        assert!(matches!(
            validate_chain(
                &[junk.to_vec()],
                &RootStore::new(),
                0,
                SubmissionKind::Certificate
            ),
            Err(ChainError::Malformed { index: 0, .. })
        ));
        assert!(precert_tbs_from_certificate(junk).is_err());
        assert!(embedded_scts(junk).is_err());
    }
}

#[test]
fn bounds_are_enforced_before_parsing() {
    let roots = RootStore::new();
    assert_eq!(
        validate_chain(&[], &roots, 0, SubmissionKind::Certificate).unwrap_err(),
        ChainError::EmptyChain
    );
    let chain = vec![vec![0u8; 10]; MAX_CHAIN_LEN + 1];
    assert_eq!(
        validate_chain(&chain, &roots, 0, SubmissionKind::Certificate).unwrap_err(),
        ChainError::ChainTooLong(MAX_CHAIN_LEN + 1)
    );
    let big = vec![vec![0x30; 10], vec![0u8; MAX_CERT_LEN + 1]];
    assert_eq!(
        validate_chain(&big, &roots, 0, SubmissionKind::Certificate).unwrap_err(),
        ChainError::CertTooLarge {
            index: 1,
            len: MAX_CERT_LEN + 1
        }
    );
}

#[test]
fn rewrite_tbs_drops_extensions_and_replaces_issuer() {
    // Minimal synthetic TBS: [0]{INT 2}, INT 1, SEQ{}, issuer SEQ{a}, SEQ{}, subject SEQ{}, SEQ{}, [3]{SEQ{ext poison, ext other}}
    let poison = hex::decode("3013060a2b06010401d6790204030101ff04020500").unwrap();
    let other = hex::decode("300806032a03040401aa").unwrap();
    let mut exts = Vec::new();
    der_util::put_tlv(&mut exts, TAG_SEQUENCE, &[poison, other.clone()].concat());
    let mut ctx3 = Vec::new();
    der_util::put_tlv(&mut ctx3, TAG_CTX_3, &exts);
    let head = hex::decode("a003020102020101300030020500300030003000").unwrap();
    let mut tbs = Vec::new();
    der_util::put_tlv(&mut tbs, TAG_SEQUENCE, &[head.clone(), ctx3].concat());

    let out = rewrite_tbs(&tbs, &TbsEdit::default()).unwrap();
    let mut ctx3 = Vec::new();
    let mut seq = Vec::new();
    der_util::put_tlv(&mut seq, TAG_SEQUENCE, &other);
    der_util::put_tlv(&mut ctx3, TAG_CTX_3, &seq);
    let mut expected = Vec::new();
    der_util::put_tlv(
        &mut expected,
        TAG_SEQUENCE,
        &[head.clone(), ctx3.clone()].concat(),
    );
    assert_eq!(hex::encode(&out), hex::encode(&expected));

    let edit = TbsEdit {
        new_issuer: Some(&[0x30, 0x01, 0x07]),
        aki: None,
    };
    let out = rewrite_tbs(&tbs, &edit).unwrap();
    let head2 = hex::decode("a0030201020201013000300107300030003000").unwrap();
    let mut expected = Vec::new();
    der_util::put_tlv(&mut expected, TAG_SEQUENCE, &[head2, ctx3].concat());
    assert_eq!(hex::encode(&out), hex::encode(&expected));
}

#[test]
fn root_store_rejects_garbage_pem_and_skips_other_blocks() {
    let mut store = RootStore::new();
    assert_eq!(
        store
            .add_pem_bundle("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .unwrap(),
        0
    );
    assert!(
        store
            .add_pem_bundle("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")
            .is_err()
    );
    assert!(
        store
            .add_pem_bundle("-----BEGIN CERTIFICATE-----\nAAAA\n")
            .is_err()
    );
    assert!(store.is_empty());
}
