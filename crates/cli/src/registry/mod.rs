//! `ccc` for the developer-certificate registry (the Cert Central protocol): account
//! (`register`, `login`, `rotate-api-key`), publishing (`push`, `revoke`), reading
//! (`search`, `get`) and trusting (`trust`, `trusted`) with the registry log's proofs
//! checked on the client. Trust means ccc's own trust directory, for code signing;
//! nothing is installed where TLS clients look (see [`TRUST_HELP`]). Client state is kept per registry URL
//! ([`config`]); which certificate `push` publishes is [`candidates`]' business.
//!
//! The client trusts the registry operator for nothing it can check: a certificate is
//! only added to the trust directory once its push leaf is proven included in a
//! checkpoint signed by the pinned log key, and that checkpoint is proven to extend
//! the last one this client saw — so a registry that swapped or deleted a published
//! certificate is caught, not believed.

pub mod candidates;
pub mod config;
pub mod log;
pub mod signing;
pub mod system_ca;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use merkle::checkpoint::Checkpoint;
use pki::registry_api::{
    self, ApiKeyResponse, CertView, ChallengeResponse, ConsistencyProofResponse,
    InclusionProofResponse, PushRequest, RegisterRequest, SearchResponse,
};
use pki::registry_log::{RegistryAction, RegistryLogEntry};

use crate::http::Http;
use crate::oidc;
use config::{ConfigDir, normalize_registry_url};

/// `ccc register`: create a registry account for an OIDC identity.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Server root URL, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Account name: 1–39 of a-z, 0-9 and '-'.
    #[arg(long)]
    pub username: String,
    /// File holding an OIDC identity token ('-' = stdin).
    #[arg(
        long,
        conflicts_with = "dev_email",
        required_unless_present = "dev_email"
    )]
    pub token: Option<PathBuf>,
    /// Get a token for this email from a `serve --dev` server's development issuer.
    #[arg(long)]
    pub dev_email: Option<String>,
    /// The audience to ask the development issuer for: the registry's (registry
    /// tokens are never the CA's, and each is accepted once, at most minutes old).
    #[arg(long, requires = "dev_email", default_value = registry_api::DEFAULT_REGISTRY_AUDIENCE)]
    pub audience: String,
}

/// `ccc login`: save an existing API key.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Server root URL.
    #[arg(long)]
    pub url: String,
    /// The API key `ccc register` printed.
    #[arg(long)]
    pub api_key: String,
}

/// How `ccc push` finds the certificate to publish (shown under `ccc push --help`).
const PUSH_HELP: &str = "\
Candidates are the code-signing certificates (codeSigning EKU) whose private key is at
hand: those given with --cert/--key and --p12; when neither is given, those in the local
store directory, <config dir>/certs/ (or --store DIR), where each NAME.pem, .crt, .cer
or .der certificate file has its PEM key in the same file or in NAME.key beside it.
The config dir is $CCC_CONFIG_DIR, else $XDG_CONFIG_HOME/certcentral, else
~/.config/certcentral. With several candidates, --thumbprint chooses; without it a
numbered list is offered when stdin and stderr are a terminal, and otherwise the
command fails, listing them.";

/// `ccc push`: publish a code-signing certificate, proving possession of its key.
/// Which one: see [`PUSH_HELP`] and [`candidates`].
#[derive(Debug, Args)]
#[command(after_help = PUSH_HELP)]
pub struct PushArgs {
    #[command(flatten)]
    pub source: CertificateSource,
    /// Sign with RSASSA-PSS (SHA-256, salt 32) instead of PKCS#1 v1.5 (RSA keys only;
    /// keys restricted to PSS always use it).
    #[arg(long)]
    pub rsa_pss: bool,
    /// Registry URL (default: the one last registered with or logged in to).
    #[arg(long)]
    pub url: Option<String>,
}

/// Where `ccc push` and `ccc sign` find a developer certificate with its private key.
#[derive(Debug, Args)]
pub struct CertificateSource {
    /// A certificate (PEM or DER) to offer.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// Its private key (PEM: PKCS#8, SEC1 or PKCS#1); default: a key block in the
    /// --cert file, else `<cert stem>.key` beside it.
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// A PKCS#12 file (`openssl pkcs12 -export`) whose code-signing certificates with
    /// their keys are offered.
    #[arg(long)]
    pub p12: Option<PathBuf>,
    /// The environment variable holding the --p12 password; without it the password
    /// is asked on the terminal. Never given on the command line.
    #[arg(long, requires = "p12", value_name = "VAR")]
    pub p12_password_env: Option<String>,
    /// The local store directory searched when neither --cert nor --p12 is given
    /// [default: <config dir>/certs].
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Use the candidate with this SHA-1 thumbprint (for scripts).
    #[arg(long)]
    pub thumbprint: Option<String>,
}

impl CertificateSource {
    /// Whether any of its flags was given.
    pub fn given(&self) -> bool {
        self.cert.is_some()
            || self.p12.is_some()
            || self.store.is_some()
            || self.thumbprint.is_some()
    }

    /// The one certificate the flags, the store and (on a terminal) the user choose.
    pub fn choose(&self, config: &ConfigDir) -> anyhow::Result<candidates::Candidate> {
        use std::io::IsTerminal;
        let (found, looked) = self.candidates(config)?;
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        candidates::choose(found, self.thumbprint.as_deref(), interactive, &looked)
    }

    /// The candidates, and where they were looked for (for messages).
    fn candidates(
        &self,
        config: &ConfigDir,
    ) -> anyhow::Result<(Vec<candidates::Candidate>, String)> {
        let mut found = Vec::new();
        let mut looked = Vec::new();
        if let Some(cert) = &self.cert {
            found.push(candidates::from_pem_files(cert, self.key.as_deref())?);
            looked.push(cert.display().to_string());
        }
        if let Some(p12) = &self.p12 {
            let password = match &self.p12_password_env {
                Some(var) => candidates::P12Password::Env(var.clone()),
                None => candidates::P12Password::Prompt,
            };
            found.extend(candidates::from_p12(p12, &password)?);
            looked.push(p12.display().to_string());
        }
        if self.cert.is_none() && self.p12.is_none() {
            let store = self
                .store
                .clone()
                .unwrap_or_else(|| config.cert_store_dir());
            let (in_store, notes) = candidates::scan_store(&store)?;
            for note in notes {
                eprintln!("ccc: {note}");
            }
            found.extend(in_store);
            looked.push(format!("the store {}", store.display()));
        }
        Ok((candidates::dedup(found), looked.join(" and ")))
    }
}

/// `ccc revoke`: revoke one of your published certificates (appends a revoke leaf to
/// the registry log; the certificate stays downloadable, marked revoked).
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// SHA-1 thumbprint of the certificate (40 hex digits; colons allowed).
    #[arg(short, long)]
    pub thumbprint: String,
    /// Registry URL (default: the saved one).
    #[arg(long)]
    pub url: Option<String>,
}

/// `ccc rotate-api-key`: replace the saved API key with a new one; the old one stops
/// working at once. With `--token` or `--dev-email` the account's OIDC identity
/// stands in for a lost key.
#[derive(Debug, Args)]
pub struct RotateApiKeyArgs {
    /// Registry URL (default: the saved one).
    #[arg(long)]
    pub url: Option<String>,
    /// The key is lost: prove the account's identity with this OIDC token file ('-' =
    /// stdin) instead; it must be for the registry's audience, fresh, and unused.
    #[arg(long, conflicts_with = "dev_email")]
    pub token: Option<PathBuf>,
    /// The key is lost: get a token for this email from a `serve --dev` server's
    /// development issuer.
    #[arg(long)]
    pub dev_email: Option<String>,
    /// The audience to ask the development issuer for.
    #[arg(long, requires = "dev_email", default_value = registry_api::DEFAULT_REGISTRY_AUDIENCE)]
    pub audience: String,
}

/// `ccc search`: find certificates by username prefix, subject text, thumbprint or
/// SHA-256 prefix.
#[derive(Debug, Args)]
pub struct SearchArgs {
    pub query: String,
    /// Server root URL (default: the saved one).
    #[arg(long)]
    pub url: Option<String>,
    /// Print the JSON answer instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `ccc get`: download a certificate's PEM.
#[derive(Debug, Args)]
pub struct GetArgs {
    #[arg(short, long)]
    pub username: String,
    #[arg(short, long)]
    pub thumbprint: String,
    /// Write the PEM here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Server root URL (default: the saved one).
    #[arg(long)]
    pub url: Option<String>,
}

/// Where `ccc trust` puts a certificate, and where it never does (shown under
/// `ccc trust --help`).
pub const TRUST_HELP: &str = "\
A trusted certificate goes into ccc's trust directory, <config dir>/trusted/, which
ccc reads for code signing only. There is no --system: the operating system's CA
store (/etc/ssl/certs, update-ca-certificates) is where TLS clients find their roots,
for every purpose, and a developer's certificate placed there would let its key vouch
for any web site. Copies an older ccc installed there with `trust --system` are
listed by `ccc trusted list` and taken out by `ccc trusted remove <THUMBPRINT>`.";

/// `ccc trust`: download, check the registry log's proofs, add to the trust directory.
#[derive(Debug, Args)]
#[command(after_help = TRUST_HELP)]
pub struct TrustArgs {
    #[arg(short, long)]
    pub username: String,
    #[arg(short, long)]
    pub thumbprint: String,
    /// Server root URL (default: the saved one).
    #[arg(long)]
    pub url: Option<String>,
    /// Removed (see below); refused with an explanation rather than as an unknown
    /// option, for scripts written against an older ccc.
    #[arg(long, hide = true)]
    pub system: bool,
}

/// `ccc trusted`: the user's trust directory.
#[derive(Debug, Subcommand)]
pub enum TrustedCommand {
    /// List trusted certificates (and copies an older `trust --system` installed in
    /// the system CA store).
    List,
    /// Remove a trusted certificate by thumbprint, and any copy an older
    /// `trust --system` installed in the system CA store.
    Remove {
        /// SHA-1 thumbprint (40 hex digits; colons allowed).
        thumbprint: String,
    },
}

fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The 40 upper-case hex digits of a thumbprint as the user typed it (colons and
/// spaces as certificate viewers show them are dropped).
fn normalize_thumbprint(input: &str) -> anyhow::Result<String> {
    registry_api::normalize_thumbprint(input)
        .with_context(|| format!("thumbprint {input:?} is not the 40 hex digits of a SHA-1"))
}

pub fn register(args: &RegisterArgs) -> anyhow::Result<ExitCode> {
    let url = normalize_registry_url(&args.url)?;
    let http = Http::new(&url, "registry")?;
    let token = match (&args.token, &args.dev_email) {
        (Some(path), _) => oidc::read_token(path)?,
        (None, Some(email)) => http.runtime.block_on(oidc::mint_dev_token_for(
            &http.client,
            &http.base,
            email,
            Some(&args.audience),
        ))?,
        (None, None) => bail!("pass --token FILE or --dev-email EMAIL"),
    };
    let answer: ApiKeyResponse = http.send_json(
        http.client
            .post(format!("{}/api/v1/accounts", http.base))
            .bearer_auth(token)
            .json(&RegisterRequest {
                username: args.username.clone(),
            }),
        "registering",
    )?;
    let config = ConfigDir::from_env()?;
    let path = config.update(&url, true, |state| {
        state.username = Some(answer.username.clone());
        state.api_key = Some(answer.api_key.clone());
    })?;
    println!("username   {}", answer.username);
    println!("api key    {}", answer.api_key);
    eprintln!(
        "the API key is shown only this once; saved to {} (mode 0600)",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn login(args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let url = normalize_registry_url(&args.url)?;
    let api_key = args.api_key.trim();
    if api_key.is_empty() {
        bail!("--api-key is empty");
    }
    let config = ConfigDir::from_env()?;
    let path = config.update(&url, true, |state| {
        state.username = None;
        state.api_key = Some(api_key.to_owned());
    })?;
    eprintln!("API key saved to {} (mode 0600)", path.display());
    Ok(ExitCode::SUCCESS)
}

pub fn push(args: &PushArgs) -> anyhow::Result<ExitCode> {
    let config = ConfigDir::from_env()?;
    // Logged in? Asked first, so nobody picks a certificate or types a password in vain.
    let url = config.registry_url(args.url.as_deref())?;
    let api_key = config.api_key(&url)?;
    let chosen = args.source.choose(&config)?;
    let mut signer = chosen.signer;
    if args.rsa_pss {
        signer.use_rsa_pss()?;
    }
    eprintln!(
        "pushing {} ({}, signing with {})",
        chosen.thumbprint,
        signer.subject(),
        signer.algorithm()
    );
    let http = Http::new(&url, "registry")?;
    let challenge: ChallengeResponse = http.send_json(
        http.client
            .post(format!("{}/api/v1/challenges", http.base))
            .bearer_auth(&api_key),
        "asking for a challenge",
    )?;
    let cms = signer.sign_cms(&challenge.nonce)?;
    let answer: CertView = http.send_json(
        http.client
            .post(format!("{}/api/v1/certs", http.base))
            .bearer_auth(&api_key)
            .json(&PushRequest::new(challenge.challenge_id, &cms)),
        "pushing",
    )?;
    println!("username     {}", answer.username);
    println!("subject      {}", answer.subject);
    println!("thumbprint   {}", answer.thumbprint);
    println!("storage key  {}", answer.storage_key);
    println!("log index    {}", answer.log_index);
    Ok(ExitCode::SUCCESS)
}

pub fn revoke(args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let thumbprint = normalize_thumbprint(&args.thumbprint)?;
    let config = ConfigDir::from_env()?;
    let url = config.registry_url(args.url.as_deref())?;
    let api_key = config.api_key(&url)?;
    let http = Http::new(&url, "registry")?;
    let answer: CertView = http.send_json(
        http.client
            .delete(format!("{}/api/v1/certs/{thumbprint}", http.base))
            .bearer_auth(&api_key),
        "revoking",
    )?;
    if !answer.revoked || answer.thumbprint != thumbprint {
        bail!("revoking: the registry did not confirm the revocation of {thumbprint}");
    }
    println!("revoked      {}", answer.thumbprint);
    if let Some(index) = answer.revoke_log_index {
        println!("log index    {index}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rotate_api_key(args: &RotateApiKeyArgs) -> anyhow::Result<ExitCode> {
    let config = ConfigDir::from_env()?;
    let url = match &args.url {
        Some(url) => normalize_registry_url(url)?,
        None => config.registry_url(None)?,
    };
    let http = Http::new(&url, "registry")?;
    // The saved key, or for a lost one a token of the account's identity.
    let (credential, lost_key) = match (&args.token, &args.dev_email) {
        (Some(path), _) => (oidc::read_token(path)?, true),
        (None, Some(email)) => (
            http.runtime.block_on(oidc::mint_dev_token_for(
                &http.client,
                &http.base,
                email,
                Some(&args.audience),
            ))?,
            true,
        ),
        (None, None) => (config.api_key(&url)?, false),
    };
    let answer: ApiKeyResponse = http.send_json(
        http.client
            .post(format!("{}/api/v1/api-keys/rotate", http.base))
            .bearer_auth(&credential),
        "rotating the API key",
    )?;
    // Shown before saving: the old key is already dead, so a failed save must not
    // lose the new one.
    println!("username   {}", answer.username);
    println!("api key    {}", answer.api_key);
    let path = config.update(&url, lost_key, |state| {
        state.username = Some(answer.username.clone());
        state.api_key = Some(answer.api_key.clone());
    })?;
    eprintln!(
        "the old API key no longer works; the new one is saved to {} (mode 0600)",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn search(args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let config = ConfigDir::from_env()?;
    let http = Http::new(&config.registry_url(args.url.as_deref())?, "registry")?;
    let path = format!("/api/v1/search?q={}", encode_query(&args.query));
    if args.json {
        println!("{}", http.get_text(&path, "searching")?);
        return Ok(ExitCode::SUCCESS);
    }
    let answer: SearchResponse = http.get_json(&path, "searching")?;
    if answer.results.is_empty() {
        eprintln!("no certificate matches {:?}", args.query);
    }
    for c in &answer.results {
        println!(
            "{}  {:<20} {}{}  (until {})",
            c.thumbprint,
            c.username,
            c.subject,
            if c.revoked { "  REVOKED" } else { "" },
            c.not_after
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Downloads a certificate's PEM and checks it is the certificate asked for: the
/// thumbprint is the SHA-1 of the DER, so a server answering with another one is
/// caught here.
fn download(http: &Http, username: &str, thumbprint: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let pem = http.get_text(
        &format!(
            "/api/cert/getusercert?username={}&thumbprint={thumbprint}",
            encode_query(username)
        ),
        "downloading the certificate",
    )?;
    let der = pki::chain::pem_certificates(&pem)
        .ok()
        .and_then(|c| c.into_iter().next())
        .context("the server's answer holds no PEM certificate")?;
    let got = signing::thumbprint(&der);
    if got != thumbprint {
        bail!("the server sent a certificate with thumbprint {got}, not {thumbprint}");
    }
    Ok((pem, der))
}

pub fn get(args: &GetArgs) -> anyhow::Result<ExitCode> {
    let thumbprint = normalize_thumbprint(&args.thumbprint)?;
    let config = ConfigDir::from_env()?;
    let http = Http::new(&config.registry_url(args.url.as_deref())?, "registry")?;
    let (pem, _) = download(&http, &args.username, &thumbprint)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &pem).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("written to {}", path.display());
        }
        None => print!("{pem}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A certificate proven published by its owner in the registry log: its push leaf —
/// and its revocation leaf, if it was revoked — included in a checkpoint signed by the
/// pinned log key and consistent with every checkpoint this client saw before.
pub struct Published {
    pub pem: String,
    pub der: Vec<u8>,
    pub view: CertView,
    /// The push leaf (its `timestamp_ms` is when it was pushed).
    pub push: RegistryLogEntry,
    /// The revocation leaf, once revoked (its `timestamp_ms` is when).
    pub revocation: Option<RegistryLogEntry>,
    /// The verified checkpoint both proofs lead to.
    pub checkpoint: Checkpoint,
    /// Whether that checkpoint is newer than the one saved before (and replaced it).
    pub saved_newer: bool,
}

/// Downloads `username`'s certificate `thumbprint` from the registry at `url` and
/// proves it published (see [`Published`]); pins the log key on first use and saves
/// the newer checkpoint.
pub fn prove_published(
    config: &ConfigDir,
    url: &str,
    username: &str,
    thumbprint: &str,
) -> anyhow::Result<Published> {
    let http = Http::new(url, "registry")?;
    let (pem, der) = download(&http, username, thumbprint)?;

    // Where the leaves are: the search view names their indexes.
    let answer: SearchResponse = http.get_json(
        &format!("/api/v1/search?q={thumbprint}"),
        "looking up the certificate",
    )?;
    let view = answer
        .results
        .into_iter()
        .find(|c| c.thumbprint == thumbprint && c.username == username)
        .with_context(|| format!("the registry lists no {thumbprint} for {username}"))?;

    // The log key: pinned on first use (per registry URL), so a later server at that
    // URL cannot swap it.
    let vkey = match config.registry(url)?.log_key {
        Some(key) => key,
        None => {
            let key = http
                .get_text("/registry/log/key", "fetching the registry log key")?
                .trim()
                .to_owned();
            if config.adopt_unbound(url, &key)? {
                eprintln!(
                    "using the registry log key and checkpoint an older ccc saved for log {}",
                    key.split('+').next().unwrap_or_default()
                );
                config
                    .registry(url)?
                    .log_key
                    .context("the adopted state has no log key")?
            } else {
                log::verify_checkpoint(
                    &http.get_text("/registry/log/checkpoint", "fetching the checkpoint")?,
                    &key,
                )?;
                config.update(url, false, |state| state.log_key = Some(key.clone()))?;
                eprintln!("pinned the registry log key {key} for {url}");
                key
            }
        }
    };
    let note = http.get_text("/registry/log/checkpoint", "fetching the checkpoint")?;
    let checkpoint = log::verify_checkpoint(&note, &vkey)?;

    // History first: a registry that rewrote what this client saw is not asked
    // anything further.
    let saved_note = config.registry(url)?.checkpoint;
    if let Some(old_note) = &saved_note {
        let old = log::verify_checkpoint(old_note, &vkey)
            .context("the saved checkpoint does not verify with the pinned key")?;
        // An empty tree is a prefix of every tree: nothing to prove.
        let proof = if old.size == 0 || old.size >= checkpoint.size {
            Vec::new()
        } else {
            let answer: ConsistencyProofResponse = http.get_json(
                &format!(
                    "/registry/log/consistency?old={}&size={}",
                    old.size, checkpoint.size
                ),
                "fetching the consistency proof",
            )?;
            answer.proof
        };
        if old.size > 0 {
            log::verify_extends(&old, &checkpoint, &proof)?;
        }
    }

    let leaf = |index: u64, action: RegistryAction| -> anyhow::Result<RegistryLogEntry> {
        if index >= checkpoint.size {
            bail!(
                "the registry log leaf {index} is not in the registry's checkpoint (size {})",
                checkpoint.size
            );
        }
        let tile = index / merkle::tiles::TILE_WIDTH;
        let width =
            (checkpoint.size - tile * merkle::tiles::TILE_WIDTH).min(merkle::tiles::TILE_WIDTH);
        let width = u16::try_from(width).context("tile width")?;
        let bundle = http.get(
            &format!(
                "/registry/log/{}",
                merkle::tiles::data_tile_path("entries", tile, width)
            ),
            "fetching the log entries",
        )?;
        let offset = usize::try_from(index % merkle::tiles::TILE_WIDTH).context("tile offset")?;
        let entry = log::bundle_entry(&bundle, offset)?;
        let proof: InclusionProofResponse = http.get_json(
            &format!("/registry/log/proof?index={index}&size={}", checkpoint.size),
            "fetching the inclusion proof",
        )?;
        Ok(log::verify_leaf_inclusion(
            &entry,
            index,
            action,
            username,
            &der,
            &proof.inclusion_proof,
            &checkpoint,
        )?)
    };
    let push = leaf(view.log_index, RegistryAction::Push)?;
    let revocation = match (view.revoked, view.revoke_log_index) {
        (false, _) => None,
        (true, Some(index)) => Some(leaf(index, RegistryAction::Revoke)?),
        (true, None) => {
            bail!("the registry marks {thumbprint} revoked but names no revocation leaf")
        }
    };

    // Only a newer verified head replaces the saved one.
    let saved_newer = match &saved_note {
        Some(old) => log::verify_checkpoint(old, &vkey)?.size < checkpoint.size,
        None => true,
    };
    if saved_newer {
        config.update(url, false, |state| state.checkpoint = Some(note.clone()))?;
    }
    Ok(Published {
        pem,
        der,
        view,
        push,
        revocation,
        checkpoint,
        saved_newer,
    })
}

pub fn trust(args: &TrustArgs) -> anyhow::Result<ExitCode> {
    if args.system {
        bail!(
            "--system is gone: the operating system's CA store is trusted by TLS clients for \
             every purpose, so a registry certificate there could vouch for any web site. \
             `ccc trust` without it trusts the certificate for code signing, in ccc's trust \
             directory; `ccc trusted remove <THUMBPRINT>` takes out a copy an older ccc installed"
        );
    }
    let thumbprint = normalize_thumbprint(&args.thumbprint)?;
    let config = ConfigDir::from_env()?;
    let url = config.registry_url(args.url.as_deref())?;
    let published = prove_published(&config, &url, &args.username, &thumbprint)?;
    if published.revocation.is_some() {
        bail!(
            "{thumbprint} was revoked by {}: not trusting it",
            args.username
        );
    }
    let Published {
        pem,
        view,
        push: leaf,
        checkpoint,
        saved_newer: newer,
        ..
    } = published;
    let index = view.log_index;

    let dir = config.trusted_dir();
    let path = dir.join(format!("{thumbprint}.pem"));
    config::write_private(&path, pem.as_bytes())?;
    println!("trusted    {thumbprint} ({})", view.subject);
    println!("owner      {}", args.username);
    println!(
        "pushed     {}",
        der::DateTime::from_unix_duration(Duration::from_millis(leaf.timestamp_ms))
            .map_or_else(|_| format!("{} ms", leaf.timestamp_ms), |t| t.to_string())
    );
    println!(
        "log        leaf {index} included in checkpoint size {}{}",
        checkpoint.size,
        if newer { " (saved)" } else { "" }
    );
    println!("written    {}", path.display());
    Ok(ExitCode::SUCCESS)
}

pub fn trusted(command: &TrustedCommand) -> anyhow::Result<ExitCode> {
    let config = ConfigDir::from_env()?;
    let dir = config.trusted_dir();
    match command {
        TrustedCommand::List => {
            let mut names: Vec<String> = match std::fs::read_dir(&dir) {
                Ok(entries) => entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter_map(|n| n.strip_suffix(".pem").map(str::to_owned))
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
            };
            names.sort();
            let system = system_ca::SystemStore::from_env()?.list()?;
            if names.is_empty() && system.is_empty() {
                eprintln!("no trusted certificates ({} is empty)", dir.display());
            }
            for name in names {
                println!("{name}  {}", dir.join(format!("{name}.pem")).display());
            }
            for (thumbprint, path) in system {
                println!(
                    "{thumbprint}  {}  (system CA store, from an older ccc: remove it)",
                    path.display()
                );
            }
        }
        TrustedCommand::Remove { thumbprint } => {
            let thumbprint = normalize_thumbprint(thumbprint)?;
            // The system store first: it is what fails without root, and then the
            // user's own trust is left as it was.
            let store = system_ca::SystemStore::from_env()?;
            let removed = store.remove(&thumbprint)?;
            for path in &removed {
                eprintln!("removed {} from the system CA store", path.display());
            }
            if !removed.is_empty() {
                store.refresh()?;
                eprintln!("ran {}", store.refresh.join(" "));
            }
            let path = dir.join(format!("{thumbprint}.pem"));
            let user = match std::fs::remove_file(&path) {
                Ok(()) => {
                    eprintln!("removed {}", path.display());
                    true
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
            };
            if !user && removed.is_empty() {
                bail!(
                    "{thumbprint} is not trusted ({} is absent, and nothing in {})",
                    path.display(),
                    store.dir.display()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_normalized_or_refused() {
        assert_eq!(
            normalize_thumbprint("01:23 456789abcdef0123456789abcdef01234567").unwrap(),
            "0123456789ABCDEF0123456789ABCDEF01234567"
        );
        assert!(normalize_thumbprint("abc").is_err());
        assert!(normalize_thumbprint(&"g".repeat(40)).is_err());
    }

    #[test]
    fn register_needs_exactly_one_token_source() {
        use clap::Parser;
        let base = [
            "ccc",
            "register",
            "--url",
            "http://h",
            "--username",
            "alice",
        ];
        assert!(crate::Cli::try_parse_from(base).is_err(), "no token source");
        let both = [&base[..], &["--token", "t", "--dev-email", "a@b"]].concat();
        assert!(
            crate::Cli::try_parse_from(both).is_err(),
            "two token sources"
        );
        let dev = [&base[..], &["--dev-email", "a@b"]].concat();
        assert!(crate::Cli::try_parse_from(dev).is_ok());
    }

    #[test]
    fn get_and_trust_take_short_flags() {
        use clap::Parser;
        let t = "0123456789ABCDEF0123456789ABCDEF01234567";
        for cmd in ["get", "trust"] {
            assert!(
                crate::Cli::try_parse_from(["ccc", cmd, "-u", "alice", "-t", t]).is_ok(),
                "{cmd}"
            );
        }
        assert!(crate::Cli::try_parse_from(["ccc", "trusted", "remove", t]).is_ok());
        // Parsed, so that `trust` can refuse it with an explanation.
        assert!(
            crate::Cli::try_parse_from(["ccc", "trust", "-u", "a", "-t", t, "--system"]).is_ok()
        );
        assert!(crate::Cli::try_parse_from(["ccc", "revoke", "-t", t]).is_ok());
        assert!(crate::Cli::try_parse_from(["ccc", "rotate-api-key", "--url", "http://h"]).is_ok());
    }

    #[test]
    fn push_sources_parse_and_a_key_or_password_needs_its_file() {
        use clap::Parser;
        let parse = |args: &[&str]| crate::Cli::try_parse_from([&["ccc", "push"], args].concat());
        assert!(parse(&[]).is_ok(), "the store alone");
        assert!(parse(&["--cert", "c.pem"]).is_ok(), "key beside or inside");
        assert!(parse(&["--cert", "c.pem", "--key", "k.pem", "--rsa-pss"]).is_ok());
        assert!(parse(&["--p12", "b.p12", "--p12-password-env", "PW"]).is_ok());
        assert!(parse(&["--store", "d", "--thumbprint", "AB", "--url", "http://h"]).is_ok());
        assert!(parse(&["--key", "k.pem"]).is_err(), "--key without --cert");
        assert!(parse(&["--p12-password-env", "PW"]).is_err(), "no --p12");
        assert!(parse(&["--p12-password", "x"]).is_err(), "no password flag");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query("CN=a b&c"), "CN%3Da%20b%26c");
    }
}
