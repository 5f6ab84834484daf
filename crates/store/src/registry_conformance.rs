//! The [`RegistryStore`] contract as executable checks, shared by every backend
//! (SQLite today; a PostgreSQL backend runs the same [`run_all`] with its factory).
//!
//! Each check takes a fresh, empty store and panics with the contract sentence it
//! enforces when the backend breaks it.

use crate::TileWrite;
use crate::registry::{
    Account, CertRecord, Challenge, ChallengeOutcome, CommitOutcome, CreateAccount, LogAppend,
    NewAccount, Page, Push, RegistryStore, Revoke, StoredCheckpoint,
};

/// Runs every contract check, each on a fresh store from `make`.
pub fn run_all<S: RegistryStore>(make: impl Fn() -> S) {
    accounts_are_unique_per_identity_and_username(&make());
    api_keys_resolve_until_rotated(&make());
    push_commits_certificate_challenge_and_leaf_together(&make());
    a_challenge_is_consumed_once(&make());
    expired_and_foreign_challenges_are_unusable(&make());
    open_challenges_are_capped_per_account(&make());
    expired_challenges_are_deleted(&make());
    a_token_is_accepted_once_until_forgotten(&make());
    a_duplicate_certificate_changes_nothing(&make());
    an_append_at_the_wrong_index_changes_nothing(&make());
    revocation_flags_the_certificate_and_appends_a_leaf(&make());
    reads_find_certificates_by_user_key_and_search(&make());
    tiles_only_widen(&make());
}

const T0: u64 = 1_700_000_000_000;
const PAGE: Page = Page {
    offset: 0,
    limit: 100,
};

const ISSUER: &str = "https://issuer.example";

/// Asks `store` to create an account for identity `subject` at [`ISSUER`].
fn try_create_account<S: RegistryStore>(
    store: &S,
    subject: &str,
    username: &str,
    api_key_hash: [u8; 32],
) -> CreateAccount {
    store
        .create_account(&NewAccount {
            issuer: ISSUER.into(),
            subject: subject.into(),
            username: username.into(),
            api_key_hash,
            created_ms: T0,
        })
        .expect("create account")
}

/// Creates account `n` (`user-n`, identity `sub-n`) with API key hash `[n; 32]`.
pub fn sample_account<S: RegistryStore>(store: &S, n: u8) -> Account {
    match try_create_account(store, &format!("sub-{n}"), &format!("user-{n}"), [n; 32]) {
        CreateAccount::Created(account) => account,
        other => panic!("account {n} not created: {other:?}"),
    }
}

/// The account of identity `subject` at [`ISSUER`], if any.
fn account_of<S: RegistryStore>(store: &S, subject: &str) -> Option<Account> {
    store.account_by_identity(ISSUER, subject).expect("lookup")
}

/// Account 1, which [`push_sample`] registers.
fn sample_owner<S: RegistryStore>(store: &S) -> Account {
    account_of(store, "sub-1").expect("account")
}

/// A challenge for `account`, expiring at `T0 + 300 s`.
pub fn sample_challenge<S: RegistryStore>(store: &S, account: &Account, n: u8) -> Challenge {
    let challenge = Challenge {
        id: format!("challenge-{}-{n}", account.id),
        account_id: account.id,
        nonce: [n; 32],
        expires_ms: T0 + 300_000,
        used: false,
    };
    assert_eq!(
        store
            .create_challenge(&challenge, T0, SAMPLE_MAX_OPEN)
            .expect("create challenge"),
        ChallengeOutcome::Created
    );
    challenge
}

/// The open-challenge cap the samples create challenges under.
const SAMPLE_MAX_OPEN: u32 = 64;

/// A certificate record numbered `n` for `account`.
pub fn sample_cert(account: &Account, n: u64) -> CertRecord {
    CertRecord {
        storage_key: format!("key{n:04}"),
        account_id: account.id,
        username: account.username.clone(),
        der: vec![0x30, 0x03, 0x02, 0x01, n as u8],
        thumbprint: format!("{:02X}{n:038X}", n + 0xA0),
        sha256: format!("{:02x}{n:062x}", n + 0x10),
        subject: format!("CN=Developer {n},O=Example"),
        not_before_ms: T0,
        not_after_ms: T0 + 86_400_000,
        pushed_ms: T0 + n,
        log_index: 0,
        revoked: false,
        revoke_log_index: None,
    }
}

/// A log append at `index` (tiles and checkpoint are placeholders of the right shape).
pub fn sample_append(index: u64) -> LogAppend {
    let size = index + 1;
    LogAppend {
        index,
        leaf: format!("leaf {index}").into_bytes(),
        hash_tiles: vec![TileWrite {
            level: 0,
            index: 0,
            width: size as u16,
            bytes: (0..size).flat_map(|i| [i as u8; 32]).collect(),
        }],
        checkpoint: StoredCheckpoint {
            size,
            root: [size as u8; 32],
            note: format!("example/registry\n{size}\nroot\n\n— example sig\n"),
        },
    }
}

/// Commits the push of `cert` with `challenge_id` at [`T0`], appending
/// `sample_append(index)`.
fn push_at<S: RegistryStore>(
    store: &S,
    cert: CertRecord,
    challenge_id: &str,
    index: u64,
) -> CommitOutcome {
    store
        .commit_push(&Push {
            cert,
            challenge_id: challenge_id.into(),
            now_ms: T0,
            log: sample_append(index),
        })
        .expect("push")
}

/// Commits the revocation of `account_id`'s `thumbprint`, appending
/// `sample_append(index)`.
fn revoke_at<S: RegistryStore>(
    store: &S,
    account_id: i64,
    thumbprint: &str,
    index: u64,
) -> CommitOutcome {
    store
        .commit_revoke(&Revoke {
            account_id,
            thumbprint: thumbprint.into(),
            log: sample_append(index),
        })
        .expect("revoke")
}

/// Registers account 1 (if needed) and pushes `count` certificates; for tests that
/// only need a non-empty store.
pub fn push_sample<S: RegistryStore>(store: &S, count: u64) {
    let account = account_of(store, "sub-1").unwrap_or_else(|| sample_account(store, 1));
    for n in 0..count {
        let challenge = sample_challenge(store, &account, n as u8);
        let outcome = push_at(
            store,
            sample_cert(&account, n),
            &challenge.id,
            log_size(store),
        );
        assert_eq!(outcome, CommitOutcome::Committed);
    }
}

fn log_size<S: RegistryStore>(store: &S) -> u64 {
    store.log_checkpoint().expect("head").map_or(0, |c| c.size)
}

/// Whether the challenge `id` (which must still be stored) has been consumed.
fn challenge_used<S: RegistryStore>(store: &S, id: &str) -> bool {
    store.challenge(id).expect("read").expect("kept").used
}

/// Whether a certificate with `storage_key` is stored.
fn cert_stored<S: RegistryStore>(store: &S, storage_key: &str) -> bool {
    store
        .cert_by_storage_key(storage_key)
        .expect("read")
        .is_some()
}

/// One account per (issuer, subject); usernames are unique.
pub fn accounts_are_unique_per_identity_and_username<S: RegistryStore>(store: &S) {
    let first = sample_account(store, 1);
    assert_eq!(first.username, "user-1");
    let again = try_create_account(store, "sub-1", "other-name", [9; 32]);
    assert_eq!(again, CreateAccount::IdentityHasAccount(first.clone()));
    let taken = try_create_account(store, "sub-2", "user-1", [10; 32]);
    assert_eq!(taken, CreateAccount::UsernameTaken);
    // The refused attempts must not have left their API keys behind.
    assert!(store.account_by_api_key(&[9; 32]).expect("key").is_none());
    assert!(store.account_by_api_key(&[10; 32]).expect("key").is_none());
    assert_eq!(account_of(store, "sub-1"), Some(first));
    assert_eq!(
        store
            .account_by_identity("https://other.example", "sub-1")
            .expect("lookup"),
        None
    );
}

/// An API key resolves to its account until rotated; the new key then does.
pub fn api_keys_resolve_until_rotated<S: RegistryStore>(store: &S) {
    let account = sample_account(store, 3);
    let (found, hash) = store
        .account_by_api_key(&[3; 32])
        .expect("key")
        .expect("key known");
    assert_eq!((found, hash), (account.clone(), [3; 32]));
    store
        .rotate_api_key(account.id, &[33; 32], T0 + 1)
        .expect("rotate");
    assert!(
        store.account_by_api_key(&[3; 32]).expect("key").is_none(),
        "a rotated-out key must stop working"
    );
    assert_eq!(
        store
            .account_by_api_key(&[33; 32])
            .expect("key")
            .map(|a| a.0),
        Some(account)
    );
}

/// A committed push stores the certificate, consumes the challenge and appends the
/// leaf with its checkpoint — all visible together.
pub fn push_commits_certificate_challenge_and_leaf_together<S: RegistryStore>(store: &S) {
    let account = sample_account(store, 1);
    let challenge = sample_challenge(store, &account, 1);
    let cert = sample_cert(&account, 1);
    let append = sample_append(0);
    let outcome = push_at(store, cert.clone(), &challenge.id, 0);
    assert_eq!(outcome, CommitOutcome::Committed);
    assert!(challenge_used(store, &challenge.id));
    let stored = store
        .cert_by_thumbprint(&account.username, &cert.thumbprint)
        .expect("read")
        .expect("stored");
    assert_eq!(stored, cert);
    assert_eq!(
        store.log_checkpoint().expect("head"),
        Some(append.checkpoint)
    );
    assert_eq!(store.log_leaves(0, 10).expect("leaves"), vec![append.leaf]);
    let tile = store.log_hash_tile(0, 0).expect("tile").expect("stored");
    assert_eq!(tile.width, 1);
}

/// A challenge is consumed by exactly one push; a replay changes nothing.
pub fn a_challenge_is_consumed_once<S: RegistryStore>(store: &S) {
    push_sample(store, 1);
    let account = sample_owner(store);
    let replayed = format!("challenge-{}-0", account.id);
    let replay = push_at(store, sample_cert(&account, 7), &replayed, 1);
    assert_eq!(replay, CommitOutcome::ChallengeUnusable);
    assert_eq!(log_size(store), 1, "a refused push must not append a leaf");
    assert!(
        !cert_stored(store, &sample_cert(&account, 7).storage_key),
        "a refused push must not store the certificate"
    );
}

/// Expired challenges and challenges of another account are unusable.
pub fn expired_and_foreign_challenges_are_unusable<S: RegistryStore>(store: &S) {
    let alice = sample_account(store, 1);
    let bob = sample_account(store, 2);
    let challenge = sample_challenge(store, &alice, 1);
    let foreign = push_at(store, sample_cert(&bob, 1), &challenge.id, 0);
    assert_eq!(foreign, CommitOutcome::ChallengeUnusable);
    let expired = store
        .commit_push(&Push {
            cert: sample_cert(&alice, 1),
            challenge_id: challenge.id.clone(),
            now_ms: challenge.expires_ms,
            log: sample_append(0),
        })
        .expect("push");
    assert_eq!(expired, CommitOutcome::ChallengeUnusable);
    let unknown = push_at(store, sample_cert(&alice, 1), "no-such-challenge", 0);
    assert_eq!(unknown, CommitOutcome::ChallengeUnusable);
    assert_eq!(log_size(store), 0);
    assert!(!challenge_used(store, &challenge.id));
}

/// An account cannot hold more than `max_open` unused, unexpired challenges; used
/// ones and other accounts' do not count.
pub fn open_challenges_are_capped_per_account<S: RegistryStore>(store: &S) {
    let alice = sample_account(store, 1);
    let bob = sample_account(store, 2);
    let challenge = |account: &Account, n: u8| Challenge {
        id: format!("cap-{}-{n}", account.id),
        account_id: account.id,
        nonce: [n; 32],
        expires_ms: T0 + 300_000,
        used: false,
    };
    let create = |c: &Challenge| store.create_challenge(c, T0, 3).expect("create challenge");
    for n in 0..3 {
        assert_eq!(create(&challenge(&alice, n)), ChallengeOutcome::Created);
    }
    assert_eq!(
        create(&challenge(&alice, 3)),
        ChallengeOutcome::TooMany,
        "a fourth open challenge is refused"
    );
    assert_eq!(
        store.challenge(&challenge(&alice, 3).id).expect("lookup"),
        None,
        "a refused challenge is not stored"
    );
    assert_eq!(create(&challenge(&bob, 0)), ChallengeOutcome::Created);
    // Answering one frees its place.
    let pushed = push_at(store, sample_cert(&alice, 1), &challenge(&alice, 0).id, 0);
    assert_eq!(pushed, CommitOutcome::Committed);
    assert_eq!(create(&challenge(&alice, 3)), ChallengeOutcome::Created);
}

/// Creating a challenge deletes every challenge expired by then, used or not.
pub fn expired_challenges_are_deleted<S: RegistryStore>(store: &S) {
    let alice = sample_account(store, 1);
    let bob = sample_account(store, 2);
    let old = sample_challenge(store, &alice, 1);
    let later = Challenge {
        id: "later".into(),
        account_id: bob.id,
        nonce: [9; 32],
        expires_ms: old.expires_ms + 300_000,
        used: false,
    };
    let outcome = store
        .create_challenge(&later, old.expires_ms, SAMPLE_MAX_OPEN)
        .expect("create challenge");
    assert_eq!(outcome, ChallengeOutcome::Created);
    assert_eq!(store.challenge(&old.id).expect("lookup"), None);
    assert_eq!(store.challenge(&later.id).expect("lookup"), Some(later));
}

/// A token is consumed once: a second use is refused, also of a token another use
/// remembered with a different lifetime; forgotten tokens are deleted.
pub fn a_token_is_accepted_once_until_forgotten<S: RegistryStore>(store: &S) {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    let until = T0 + 300_000;
    assert!(
        store.consume_token(&a, until, T0).expect("consume"),
        "first use"
    );
    assert!(
        !store.consume_token(&a, until, T0).expect("consume"),
        "replay"
    );
    assert!(
        !store.consume_token(&a, until + 1, T0 + 1).expect("consume"),
        "replay later"
    );
    assert!(
        store.consume_token(&b, until, T0).expect("consume"),
        "another token"
    );
    // Once forgotten (the caller refuses the token by then anyway) the row is gone.
    assert!(
        store
            .consume_token(&a, until + 300_000, until)
            .expect("consume"),
        "forgotten at its remember-until time"
    );
}

/// Pushing a certificate already registered (by anyone) refuses and does not even
/// consume the challenge.
pub fn a_duplicate_certificate_changes_nothing<S: RegistryStore>(store: &S) {
    push_sample(store, 1);
    let account = sample_owner(store);
    let challenge = sample_challenge(store, &account, 50);
    let mut cert = sample_cert(&account, 0);
    cert.storage_key = "another-key".into();
    let outcome = push_at(store, cert, &challenge.id, 1);
    assert_eq!(outcome, CommitOutcome::AlreadyRegistered);
    assert_eq!(log_size(store), 1);
    assert!(!challenge_used(store, &challenge.id));
}

/// The log only grows by one leaf at its end; anything else is refused whole.
pub fn an_append_at_the_wrong_index_changes_nothing<S: RegistryStore>(store: &S) {
    push_sample(store, 2);
    let account = sample_owner(store);
    let challenge = sample_challenge(store, &account, 60);
    for index in [0, 1, 3] {
        let outcome = push_at(store, sample_cert(&account, 60), &challenge.id, index);
        assert_eq!(
            outcome,
            CommitOutcome::LogConflict { size: 2 },
            "append at index {index}"
        );
    }
    assert_eq!(log_size(store), 2);
    assert_eq!(store.log_leaves(0, 10).expect("leaves").len(), 2);
    assert!(!challenge_used(store, &challenge.id));
    assert!(!cert_stored(store, &sample_cert(&account, 60).storage_key));
}

/// Revocation marks the certificate (which stays readable) and appends a leaf; only
/// the owner's certificates can be revoked, and only once.
pub fn revocation_flags_the_certificate_and_appends_a_leaf<S: RegistryStore>(store: &S) {
    push_sample(store, 1);
    let owner = sample_owner(store);
    let other = sample_account(store, 2);
    let cert = sample_cert(&owner, 0);
    let foreign = revoke_at(store, other.id, &cert.thumbprint, 1);
    assert_eq!(foreign, CommitOutcome::NotFound);
    assert_eq!(log_size(store), 1);
    let outcome = revoke_at(store, owner.id, &cert.thumbprint, 1);
    assert_eq!(outcome, CommitOutcome::Committed);
    let stored = store
        .cert_by_storage_key(&cert.storage_key)
        .expect("read")
        .expect("still there");
    assert!(stored.revoked);
    assert_eq!(stored.revoke_log_index, Some(1));
    assert_eq!(log_size(store), 2);
    let again = revoke_at(store, owner.id, &cert.thumbprint, 2);
    assert_eq!(again, CommitOutcome::AlreadyRevoked);
    assert_eq!(log_size(store), 2);
}

/// Users' listings, storage-key reads and search by username prefix, subject text,
/// thumbprint prefix and SHA-256 prefix, paged.
pub fn reads_find_certificates_by_user_key_and_search<S: RegistryStore>(store: &S) {
    push_sample(store, 5);
    let account = sample_owner(store);
    let all = store.certs_of_user("user-1", PAGE).expect("list");
    assert_eq!(all.len(), 5);
    assert!(all.windows(2).all(|w| w[0].log_index < w[1].log_index));
    assert!(
        store
            .certs_of_user("user-2", PAGE)
            .expect("list")
            .is_empty()
    );
    let paged = store
        .certs_of_user(
            "user-1",
            Page {
                offset: 1,
                limit: 2,
            },
        )
        .expect("page");
    assert_eq!(paged, all[1..3].to_vec());
    let by_key = store.cert_by_storage_key("key0003").expect("read");
    assert_eq!(by_key, Some(all[3].clone()));
    assert!(!cert_stored(store, "nope"));
    let search = |query: &str| store.search(query, PAGE).expect("search");
    assert_eq!(search("user-").len(), 5);
    let thumb = &sample_cert(&account, 4).thumbprint;
    let sha = &sample_cert(&account, 1).sha256;
    for (query, found) in [
        ("developer 2".to_owned(), vec![all[2].clone()]),
        (thumb[..4].to_ascii_lowercase(), vec![all[4].clone()]),
        (sha[..4].to_ascii_uppercase(), vec![all[1].clone()]),
        ("%".to_owned(), vec![]),
        ("zzz-nothing".to_owned(), vec![]),
    ] {
        assert_eq!(search(&query), found, "search {query:?}");
    }
}

/// A stored tile is only ever replaced by a wider one extending it.
pub fn tiles_only_widen<S: RegistryStore>(store: &S) {
    push_sample(store, 2);
    let account = sample_owner(store);
    let challenge = sample_challenge(store, &account, 70);
    let mut append = sample_append(2);
    append.hash_tiles[0].bytes[0] ^= 1; // disagrees with what was published
    let result = store.commit_push(&Push {
        cert: sample_cert(&account, 70),
        challenge_id: challenge.id.clone(),
        now_ms: T0,
        log: append,
    });
    assert!(result.is_err(), "rewriting a published tile must fail");
    assert_eq!(log_size(store), 2);
    assert!(!challenge_used(store, &challenge.id));
    assert_eq!(
        store
            .log_hash_tile(0, 0)
            .expect("tile")
            .expect("stored")
            .width,
        2
    );
}
