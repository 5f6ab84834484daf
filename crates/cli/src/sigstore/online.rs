//! `ccc verify-blob --online`: the entry's checkpoint must be a prefix of what the log
//! publishes now. The log's latest tlog-tiles checkpoint is fetched and verified with
//! the trusted key of the entry's log; the consistency proof between the two trees is
//! computed here from the log's hash tiles (so it works for Rekor v1 and v2 logs
//! alike) and verified against both roots — tiles that lie make a proof that fails.

use anyhow::{Context, bail};
use merkle::checkpoint::Checkpoint;
use merkle::note::{NoteVerifier, SignedNote};
use merkle::tiles::{TileHashSource, TileId, TileSource};
use pki::rekor::checkpoint::EcdsaNoteVerifier;
use pki::rekor::tle::TransparencyLogEntry;
use pki::sigstore_trust::TrustedRoot;

use crate::http::Http;

/// What the online check established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fresh {
    /// The log's URL.
    pub log_url: String,
    /// The size of the tree the bundle's proof is for.
    pub bundle_size: u64,
    /// The size the log publishes now.
    pub current_size: u64,
}

/// Checks the entry's checkpoint against the log's current one.
pub fn check(entry: &TransparencyLogEntry, trusted_root: &TrustedRoot) -> anyhow::Result<Fresh> {
    let log = trusted_root
        .tlogs
        .iter()
        .find(|l| {
            l.log_id == entry.log_id.key_id
                || pki::ct::log_id(&l.public_key.raw_bytes) == entry.log_id.key_id
        })
        .context("the trust config has no artifact log with the entry's log ID")?;
    let http = Http::new(&log.base_url, "verify-blob")?;
    let note_text = http.get_text("/checkpoint", "fetching the log's checkpoint")?;
    let note = SignedNote::parse(&note_text).context("the log's checkpoint")?;
    let origin = note.text.lines().next().unwrap_or_default().to_owned();
    let verifier = EcdsaNoteVerifier::new(&origin, &log.public_key.raw_bytes)
        .context("the trusted log key")?;
    let verifiers: [&dyn NoteVerifier; 1] = [&verifier];
    note.verify(&verifiers)
        .context("the log's checkpoint is not signed by its trusted key")?;
    let current = Checkpoint::parse(&note.text).context("the log's checkpoint")?;

    let proof = &entry.inclusion_proof;
    if current.size < proof.tree_size {
        bail!(
            "the log now publishes a tree of {} entries, smaller than the bundle's {}: it \
             rolled back",
            current.size,
            proof.tree_size
        );
    }
    let mut tiles = TileHashSource::new(HttpTiles { http: &http }, current.size);
    let consistency = if proof.tree_size == current.size {
        Vec::new()
    } else {
        merkle::proof::consistency_proof(proof.tree_size, current.size, &mut tiles)
            .map_err(|e| anyhow::anyhow!("computing the consistency proof from tiles: {e}"))?
    };
    merkle::verify_consistency(
        proof.tree_size,
        current.size,
        &proof.root_hash,
        &current.root,
        &consistency,
    )
    .with_context(|| {
        format!(
            "the bundle's checkpoint (size {}) is not a prefix of the log's current tree \
             (size {}): the log forked or rewrote history",
            proof.tree_size, current.size
        )
    })?;
    Ok(Fresh {
        log_url: log.base_url.clone(),
        bundle_size: proof.tree_size,
        current_size: current.size,
    })
}

/// Hash tiles fetched over HTTP (the tile source asks for each at the width its tree
/// gives it).
struct HttpTiles<'a> {
    http: &'a Http,
}

impl TileSource for HttpTiles<'_> {
    type Error = String;

    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, String> {
        self.http
            .get(&format!("/{}", tile.path()), "fetching a hash tile")
            .map_err(|e| format!("{e:#}"))
    }
}
