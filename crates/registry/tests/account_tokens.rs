//! The OIDC tokens that open an account or replace its API key: the registry's own
//! audience, at most a few minutes old, accepted once — also after a restart.
//!
//! The tokens come from the real development issuer (RS256, published JWKS) and are
//! verified by the real verifier; time is a manual clock shared by both.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clock::ManualClock;
use oidc::dev::DevIssuer;
use oidc::{Destinations, Fetch, FetchError, FetchFuture, OidcError, Verifier};
use registry::service::{DEFAULT_TOKEN_MAX_AGE, IssuedKey, RotateWith, TokenRules};
use registry::{Registry, RegistryError, SystemEntropy};
use store::SqliteRegistryStore;

const NOW_SECS: u64 = 1_700_000_000;
const REGISTRY_AUDIENCE: &str = pki::registry_api::DEFAULT_REGISTRY_AUDIENCE;

/// Serves the dev issuer's discovery document and JWKS from memory.
struct Local(Arc<DevIssuer>);

impl Fetch for Local {
    fn get<'a>(&'a self, url: &'a str, _: Destinations) -> FetchFuture<'a> {
        let base = self.0.issuer_url();
        let answer = if url == format!("{base}/.well-known/openid-configuration") {
            let doc = serde_json::json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") });
            Ok(doc.to_string().into_bytes())
        } else if url == format!("{base}/jwks") {
            Ok(self.0.jwks().to_string().into_bytes())
        } else {
            Err(FetchError::Provider(format!("no {url}")))
        };
        Box::pin(std::future::ready(answer))
    }
}

/// A registry over the SQLite file in `dir`, sharing a verifier with a CA (the issuer
/// is configured with the CA's audience `sigstore`), as `serve` wires it.
struct Fixture {
    issuer: Arc<DevIssuer>,
    clock: Arc<ManualClock>,
    registry: Registry,
}

impl Fixture {
    fn open(dir: &Path, issuer: Arc<DevIssuer>, clock: Arc<ManualClock>) -> Self {
        let verifier = Verifier::new(
            vec![issuer.issuer_config()],
            Arc::new(Local(issuer.clone())),
            clock.clone(),
        )
        .unwrap();
        let store = SqliteRegistryStore::open(&dir.join("registry.db")).unwrap();
        let registry = Registry::open(
            Arc::new(store),
            Arc::new(verifier),
            "example.com/registry",
            &[7; 32],
            clock.clone(),
            Arc::new(SystemEntropy),
        )
        .unwrap()
        .with_token_rules(TokenRules {
            audience: Some(REGISTRY_AUDIENCE.to_owned()),
            max_age: DEFAULT_TOKEN_MAX_AGE,
        });
        Self {
            issuer,
            clock,
            registry,
        }
    }

    fn new(dir: &Path) -> Self {
        let issuer = Arc::new(DevIssuer::generate("https://dev.example").unwrap());
        Self::open(dir, issuer, Arc::new(ManualClock::new(NOW_SECS * 1000)))
    }

    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(clock::Clock::now_ms(self.clock.as_ref()))
    }

    /// A registry token for `email`, issued `age` ago.
    fn token_aged(&self, email: &str, age: Duration) -> String {
        self.issuer
            .mint_for(email, REGISTRY_AUDIENCE, self.now() - age)
            .unwrap()
    }

    fn token(&self, email: &str) -> String {
        self.token_aged(email, Duration::ZERO)
    }

    /// A token for the CA, as any sigstore client sends one to a Fulcio.
    fn ca_token(&self, email: &str) -> String {
        self.issuer.mint(email, self.now()).unwrap()
    }

    /// `POST /api/v1/accounts`: the token verified (async), then the account made.
    fn register(&self, token: &str, username: &str) -> Result<IssuedKey, RegistryError> {
        self.registry
            .register(block_on(self.registry.verify_token(token))?, username)
    }

    /// `POST /api/v1/api-keys/rotate` with a token (a lost key).
    fn rotate(&self, token: &str) -> Result<IssuedKey, RegistryError> {
        let identity = block_on(self.registry.verify_token(token))?;
        self.registry.rotate_key(&RotateWith::Identity(identity))
    }
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// The account takeover: a token the victim sent to a CA (audience `sigstore`)
/// neither registers nor rotates the victim's key, which keeps working.
#[test]
fn a_token_minted_for_the_ca_opens_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new(dir.path());
    let key = f
        .register(&f.token("victim@example.com"), "victim")
        .unwrap()
        .api_key;
    let stolen = f.ca_token("victim@example.com");
    for attempt in [
        f.rotate(&stolen).map(drop),
        f.register(&stolen, "victim-two").map(drop),
    ] {
        assert!(
            matches!(
                attempt,
                Err(RegistryError::InvalidToken(OidcError::WrongAudience { .. }))
            ),
            "{attempt:?}"
        );
    }
    assert_eq!(f.registry.authenticate(&key).unwrap().username, "victim");
}

/// A token is accepted once: its second use — to rotate after registering, or to
/// rotate again — is refused, and the key it rotated to stays the live one.
#[test]
fn a_replayed_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new(dir.path());
    let token = f.token("alice@example.com");
    f.register(&token, "alice").unwrap();
    assert!(matches!(f.rotate(&token), Err(RegistryError::TokenUsed)));

    let lost_key = f.token("alice@example.com");
    f.clock.advance_ms(1000);
    let rotated = f.rotate(&lost_key).unwrap();
    assert_eq!(rotated.username, "alice");
    let replay = f.rotate(&lost_key);
    assert!(
        matches!(replay, Err(RegistryError::TokenUsed)),
        "{replay:?}"
    );
    assert_eq!(
        f.registry.authenticate(&rotated.api_key).unwrap().username,
        "alice",
        "the replay did not replace the key"
    );
    let status = RegistryError::TokenUsed.status();
    assert_eq!(status, (401, "token_used"));
}

/// A token issued longer ago than the maximum age is refused, though unexpired.
#[test]
fn a_stale_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new(dir.path());
    let max = DEFAULT_TOKEN_MAX_AGE;
    let stale = f.token_aged("bob@example.com", max + Duration::from_secs(1));
    let refused = f.register(&stale, "bob");
    assert!(
        matches!(refused, Err(RegistryError::TokenTooOld { .. })),
        "{refused:?}"
    );
    let fresh_enough = f.token_aged("bob@example.com", max);
    f.register(&fresh_enough, "bob").unwrap();

    let aged_in_hand = f.token("bob@example.com");
    f.clock
        .advance_ms((max + Duration::from_secs(1)).as_millis() as u64);
    let late = f.rotate(&aged_in_hand);
    assert!(
        matches!(late, Err(RegistryError::TokenTooOld { .. })),
        "{late:?}"
    );
}

/// Used tokens are remembered in storage: a restart does not reopen the window.
#[test]
fn a_restart_does_not_forget_used_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let f = Fixture::new(dir.path());
    let token = f.token("carol@example.com");
    f.register(&token, "carol").unwrap();
    let Fixture { issuer, clock, .. } = f;

    let restarted = Fixture::open(dir.path(), issuer, clock);
    let replay = restarted.rotate(&token);
    assert!(
        matches!(replay, Err(RegistryError::TokenUsed)),
        "{replay:?}"
    );
}

/// With no audience of its own (a verifier built for the registry), the issuers'
/// configured client ids apply.
#[test]
fn without_an_audience_override_the_issuers_client_id_applies() {
    let dir = tempfile::tempdir().unwrap();
    let mut f = Fixture::new(dir.path());
    f.registry = f.registry.with_token_rules(TokenRules {
        audience: None,
        max_age: DEFAULT_TOKEN_MAX_AGE,
    });
    f.register(&f.ca_token("dan@example.com"), "dan").unwrap();
    let refused = f.register(&f.token("erin@example.com"), "erin");
    assert!(
        matches!(
            refused,
            Err(RegistryError::InvalidToken(OidcError::WrongAudience { .. }))
        ),
        "{refused:?}"
    );
}
