//! The [`LogStore`] contract as executable checks, shared by every backend.
//!
//! A backend's test calls [`run_all`] with a factory that returns a fresh, empty
//! store each time. Every check panics (with the contract sentence it enforces) on
//! failure. The sample-data helpers are public so backend-specific tests build
//! batches the same way.

use crate::{Batch, DedupRecord, LogStore, NewEntry, StoreError, StoredTreeHead, TileWrite};

/// Runs every contract check, each on a fresh store from `make`.
///
/// Not included, because it needs two handles on one store (which a factory of fresh
/// stores cannot give): [`second_handle_cannot_shrink_or_fork_the_tree`]. Every backend
/// test calls it too, with two handles opened on the same database or file the way
/// two processes would open them.
pub fn run_all<S: LogStore>(make: impl Fn() -> S) {
    empty_store_has_nothing(&make());
    batch_round_trips(&make());
    entries_without_tree_head_are_stored(&make());
    latest_tree_head_is_the_largest(&make());
    tree_head_must_not_shrink(&make());
    same_size_tree_head_replaces_the_older_one(&make());
    tiles_are_widened(&make());
    tiles_are_never_narrowed(&make());
    tile_content_must_extend_the_stored_tile(&make());
    hash_tile_levels_and_data_tiles_are_distinct(&make());
    issuers_are_inserted_once(&make());
    duplicate_dedup_key_fails_the_batch(&make());
    duplicate_dedup_key_within_a_batch_fails_it(&make());
    failed_batch_leaves_nothing_of_itself(&make());
    dedup_many_answers_in_request_order(&make());
}

/// Batched dedup look-ups agree with single ones, in the order asked, unknown keys
/// included.
pub fn dedup_many_answers_in_request_order<S: LogStore>(store: &S) {
    let batch = sample_batch(0..50, 1_000);
    store.commit_batch(&batch).expect("commit");
    let keys: Vec<[u8; 32]> = [49u64, 3, 1000, 0, 17, 3]
        .iter()
        .map(|&n| {
            if n < 50 {
                batch.entries[n as usize].dedup_key
            } else {
                hash_of(9, n)
            }
        })
        .collect();
    let many = store.dedup_many(&keys).expect("dedup_many");
    assert_eq!(many.len(), keys.len());
    for (key, answer) in keys.iter().zip(&many) {
        assert_eq!(answer, &store.dedup(key).expect("dedup"));
    }
    assert_eq!(many[2], None);
    assert_eq!(many[1], Some(batch.entries[3].record.clone()));
    assert_eq!(store.dedup_many(&[]).expect("empty"), Vec::new());
}

/// A deterministic 32-byte value derived from a domain tag and a number.
pub fn hash_of(tag: u8, n: u64) -> [u8; 32] {
    let mut out = [tag; 32];
    out[..8].copy_from_slice(&n.to_be_bytes());
    // Spread `n` over the rest so keys are not all sharing a long common suffix,
    // which would make B-tree tests unrepresentative.
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(tag);
    for chunk in out[8..].chunks_mut(8) {
        x ^= x >> 29;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        chunk.copy_from_slice(&x.to_be_bytes()[..chunk.len()]);
    }
    out
}

/// The sample entry at leaf index `index`.
pub fn sample_entry(index: u64) -> NewEntry {
    NewEntry {
        dedup_key: hash_of(1, index),
        leaf_hash: hash_of(2, index),
        record: DedupRecord {
            leaf_index: index,
            timestamp_ms: 1_700_000_000_000 + index,
            sct_signature: [&[4u8, 3, 0, 72][..], &hash_of(3, index), &hash_of(4, index)].concat(),
        },
    }
}

/// Sample entries for leaf indexes `range`.
pub fn sample_entries(range: std::ops::Range<u64>) -> Vec<NewEntry> {
    range.map(sample_entry).collect()
}

/// A sample tree head of `tree_size`, distinguishable by `timestamp_ms`.
pub fn sample_head(tree_size: u64, timestamp_ms: u64) -> StoredTreeHead {
    StoredTreeHead {
        tree_size,
        timestamp_ms,
        root: hash_of(5, tree_size),
        signature: [&[4u8, 3, 0, 32][..], &hash_of(6, timestamp_ms)].concat(),
        checkpoint: format!("example.com/log\n{tree_size}\nroot\n\n— example.com sig\n"),
    }
}

/// The content of a tile `width` entries wide whose entries are each `entry_len`
/// bytes: entry `i` is filled with a byte derived from `seed` and `i`, so a wider
/// tile always extends a narrower one with the same seed.
pub fn sample_tile(level: u8, index: u64, width: u16, entry_len: usize, seed: u8) -> TileWrite {
    let mut bytes = Vec::with_capacity(usize::from(width) * entry_len);
    for i in 0..usize::from(width) {
        let fill = seed
            .wrapping_add(i as u8)
            .wrapping_mul(31)
            .wrapping_add(index as u8);
        bytes.extend(std::iter::repeat_n(fill, entry_len));
    }
    TileWrite {
        level,
        index,
        width,
        bytes,
    }
}

/// A hash tile: 32 bytes per entry.
pub fn sample_hash_tile(level: u8, index: u64, width: u16) -> TileWrite {
    sample_tile(level, index, width, 32, level)
}

/// A data tile with `entry_len` bytes per entry (`level` is 0 and ignored).
pub fn sample_data_tile(index: u64, width: u16, entry_len: usize) -> TileWrite {
    sample_tile(0, index, width, entry_len, 200)
}

/// Asserts that every row and tile of `batch` reads back as written (tiles at least
/// as wide as written).
pub fn assert_batch_stored<S: LogStore>(store: &S, batch: &Batch) {
    for entry in &batch.entries {
        assert_eq!(
            store.dedup(&entry.dedup_key).expect("dedup"),
            Some(entry.record.clone()),
            "dedup record of leaf {}",
            entry.record.leaf_index
        );
        assert_eq!(
            store.leaf_index(&entry.leaf_hash).expect("leaf_index"),
            Some(entry.record.leaf_index),
            "leaf index of leaf {}",
            entry.record.leaf_index
        );
    }
    for tile in &batch.hash_tiles {
        let stored = store
            .hash_tile(tile.level, tile.index)
            .expect("hash_tile")
            .unwrap_or_else(|| panic!("hash tile {}/{} missing", tile.level, tile.index));
        assert!(
            stored.width >= tile.width,
            "hash tile {}/{} narrowed",
            tile.level,
            tile.index
        );
        assert!(
            stored.bytes.starts_with(&tile.bytes),
            "hash tile {}/{} content",
            tile.level,
            tile.index
        );
    }
    for tile in &batch.data_tiles {
        let stored = store
            .data_tile(tile.index)
            .expect("data_tile")
            .unwrap_or_else(|| panic!("data tile {} missing", tile.index));
        assert!(
            stored.width >= tile.width,
            "data tile {} narrowed",
            tile.index
        );
        assert!(
            stored.bytes.starts_with(&tile.bytes),
            "data tile {} content",
            tile.index
        );
    }
    for (fingerprint, der) in &batch.issuers {
        assert_eq!(
            store.issuer(fingerprint).expect("issuer"),
            Some(der.clone())
        );
    }
    if let Some(head) = &batch.tree_head {
        let stored = store.tree_head().expect("tree_head").expect("a tree head");
        assert!(
            stored.tree_size >= head.tree_size,
            "tree head went backwards"
        );
    }
}

/// Asserts that nothing of `batch` that was not already stored is visible.
pub fn assert_batch_absent<S: LogStore>(store: &S, batch: &Batch) {
    for entry in &batch.entries {
        assert_eq!(store.dedup(&entry.dedup_key).expect("dedup"), None);
        assert_eq!(
            store.leaf_index(&entry.leaf_hash).expect("leaf_index"),
            None
        );
    }
    for tile in &batch.hash_tiles {
        assert_eq!(
            store.hash_tile(tile.level, tile.index).expect("hash_tile"),
            None
        );
    }
    for tile in &batch.data_tiles {
        assert_eq!(store.data_tile(tile.index).expect("data_tile"), None);
    }
    for (fingerprint, _) in &batch.issuers {
        assert_eq!(store.issuer(fingerprint).expect("issuer"), None);
    }
}

/// A batch sequencing `start..start + n` the way the sequencer does: full tiles for
/// every completed 256-entry stretch, partial tiles at the right edge, one head.
pub fn realistic_batch(start: u64, n: u64, data_entry_len: usize) -> Batch {
    let end = start + n;
    let mut hash_tiles = Vec::new();
    let mut data_tiles = Vec::new();
    for tile in start / 256..end.div_ceil(256) {
        let width = (end - tile * 256).min(256) as u16;
        hash_tiles.push(sample_hash_tile(0, tile, width));
        data_tiles.push(sample_data_tile(tile, width, data_entry_len));
    }
    // Right-edge tiles of the upper levels.
    for level in 1..3u8 {
        let per_tile = 256u64.pow(u32::from(level) + 1);
        let width = ((end % per_tile) / 256u64.pow(u32::from(level))).max(1) as u16;
        hash_tiles.push(sample_hash_tile(level, end / per_tile, width));
    }
    Batch {
        entries: sample_entries(start..end),
        hash_tiles,
        data_tiles,
        issuers: vec![(hash_of(7, end % 5), vec![0x30; 1200])],
        tree_head: Some(sample_head(end, 1_700_000_000_000 + end)),
    }
}

/// A small batch sequencing `range` (the previous size is `range.start`): its
/// entries, the right-edge hash and data tiles, one issuer and the new head.
pub fn sample_batch(range: std::ops::Range<u64>, timestamp_ms: u64) -> Batch {
    let end = range.end;
    let tile = end / 256;
    let width = (end % 256).max(1) as u16;
    Batch {
        entries: sample_entries(range),
        hash_tiles: vec![sample_hash_tile(0, tile, width), sample_hash_tile(1, 0, 1)],
        data_tiles: vec![sample_data_tile(tile, width, 40)],
        issuers: vec![(hash_of(7, end), vec![0x30, 0x82, 1, 2, end as u8])],
        tree_head: Some(sample_head(end, timestamp_ms)),
    }
}

/// A store never written has no tree head and answers every look-up with `None`.
pub fn empty_store_has_nothing<S: LogStore>(store: &S) {
    assert_eq!(store.tree_head().expect("tree_head"), None);
    assert_eq!(store.hash_tile(0, 0).expect("hash_tile"), None);
    assert_eq!(store.data_tile(0).expect("data_tile"), None);
    assert_eq!(store.dedup(&hash_of(1, 0)).expect("dedup"), None);
    assert_eq!(store.leaf_index(&hash_of(2, 0)).expect("leaf_index"), None);
    assert_eq!(store.issuer(&hash_of(7, 0)).expect("issuer"), None);
    store
        .commit_batch(&Batch::default())
        .expect("an empty batch commits");
    assert_eq!(store.tree_head().expect("tree_head"), None);
}

/// Everything a committed batch holds reads back exactly.
pub fn batch_round_trips<S: LogStore>(store: &S) {
    let batch = sample_batch(0..10, 1_000);
    store.commit_batch(&batch).expect("commit");
    assert_batch_stored(store, &batch);
    assert_eq!(store.tree_head().expect("tree_head"), batch.tree_head);
    let tile = &batch.hash_tiles[0];
    assert_eq!(
        store.hash_tile(tile.level, tile.index).expect("hash_tile"),
        Some(crate::StoredTile {
            width: tile.width,
            bytes: tile.bytes.clone()
        })
    );
    let tile = &batch.data_tiles[0];
    assert_eq!(
        store.data_tile(tile.index).expect("data_tile"),
        Some(crate::StoredTile {
            width: tile.width,
            bytes: tile.bytes.clone()
        })
    );
    // Look-ups of neighbours that were never written stay empty.
    assert_eq!(store.dedup(&hash_of(1, 10)).expect("dedup"), None);
    assert_eq!(store.leaf_index(&hash_of(2, 10)).expect("leaf_index"), None);
    assert_eq!(store.hash_tile(0, 1).expect("hash_tile"), None);
    assert_eq!(store.data_tile(1).expect("data_tile"), None);
}

/// A batch without a tree head still stores its rows and tiles.
pub fn entries_without_tree_head_are_stored<S: LogStore>(store: &S) {
    let mut batch = sample_batch(0..5, 1_000);
    batch.tree_head = None;
    store.commit_batch(&batch).expect("commit");
    assert_batch_stored(store, &batch);
    assert_eq!(store.tree_head().expect("tree_head"), None);
}

/// The tree head served is the one with the largest size.
pub fn latest_tree_head_is_the_largest<S: LogStore>(store: &S) {
    for (end, ts) in [(3, 10), (7, 20), (20, 30)] {
        let batch = sample_batch(end - 3..end, ts);
        store.commit_batch(&batch).expect("commit");
        assert_eq!(store.tree_head().expect("tree_head"), batch.tree_head);
    }
}

/// A tree head smaller than the stored one is refused, and its batch rolled back:
/// publishing it would be a fatal log split.
pub fn tree_head_must_not_shrink<S: LogStore>(store: &S) {
    let first = sample_batch(0..10, 1_000);
    store.commit_batch(&first).expect("commit");
    let mut shrinking = sample_batch(10..12, 2_000);
    shrinking.hash_tiles = vec![sample_hash_tile(2, 9, 4)];
    shrinking.data_tiles = vec![sample_data_tile(9, 4, 40)];
    shrinking.tree_head = Some(sample_head(9, 2_000));
    let err = store
        .commit_batch(&shrinking)
        .expect_err("shrinking head must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(store.tree_head().expect("tree_head"), first.tree_head);
    assert_batch_absent(store, &shrinking);
}

/// Re-signing the same size (a fresh timestamp at the same tree size) is allowed and
/// the newer head is served.
pub fn same_size_tree_head_replaces_the_older_one<S: LogStore>(store: &S) {
    store
        .commit_batch(&sample_batch(0..4, 1_000))
        .expect("commit");
    let resigned = Batch {
        tree_head: Some(sample_head(4, 2_000)),
        ..Batch::default()
    };
    store
        .commit_batch(&resigned)
        .expect("re-signed head commits");
    assert_eq!(store.tree_head().expect("tree_head"), resigned.tree_head);
}

/// Writing a wider version of a tile replaces the narrower one; re-writing the same
/// width and content is a no-op.
pub fn tiles_are_widened<S: LogStore>(store: &S) {
    for width in [1u16, 2, 2, 100, 256] {
        let batch = Batch {
            hash_tiles: vec![sample_hash_tile(0, 3, width)],
            data_tiles: vec![sample_data_tile(3, width, 100)],
            ..Batch::default()
        };
        store.commit_batch(&batch).expect("widening commits");
        let hash = store.hash_tile(0, 3).expect("hash_tile").expect("stored");
        assert_eq!(
            (hash.width, hash.bytes),
            (width, batch.hash_tiles[0].bytes.clone())
        );
        let data = store.data_tile(3).expect("data_tile").expect("stored");
        assert_eq!(
            (data.width, data.bytes),
            (width, batch.data_tiles[0].bytes.clone())
        );
    }
}

/// A narrower write of a stored tile is refused (`Corrupt`) with its whole batch.
pub fn tiles_are_never_narrowed<S: LogStore>(store: &S) {
    let wide = Batch {
        hash_tiles: vec![sample_hash_tile(1, 0, 8)],
        data_tiles: vec![sample_data_tile(0, 8, 50)],
        ..Batch::default()
    };
    store.commit_batch(&wide).expect("commit");
    let narrow_hash = Batch {
        entries: sample_entries(0..2),
        hash_tiles: vec![sample_hash_tile(1, 0, 7)],
        ..Batch::default()
    };
    let err = store
        .commit_batch(&narrow_hash)
        .expect_err("narrowing must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    let narrow_data = Batch {
        entries: sample_entries(0..2),
        data_tiles: vec![sample_data_tile(0, 3, 50)],
        tree_head: Some(sample_head(2, 1)),
        ..Batch::default()
    };
    let err = store
        .commit_batch(&narrow_data)
        .expect_err("narrowing must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(
        store.hash_tile(1, 0).expect("hash_tile").map(|t| t.width),
        Some(8)
    );
    assert_eq!(
        store.data_tile(0).expect("data_tile").map(|t| t.width),
        Some(8)
    );
    assert_eq!(store.tree_head().expect("tree_head"), None);
    for entry in sample_entries(0..2) {
        assert_eq!(store.dedup(&entry.dedup_key).expect("dedup"), None);
    }
}

/// A tile whose content does not extend the stored one (a different tree) is
/// refused even when it is as wide or wider.
pub fn tile_content_must_extend_the_stored_tile<S: LogStore>(store: &S) {
    store
        .commit_batch(&Batch {
            hash_tiles: vec![sample_hash_tile(0, 0, 4)],
            data_tiles: vec![sample_data_tile(0, 4, 10)],
            ..Batch::default()
        })
        .expect("commit");
    let mut same_width = sample_hash_tile(0, 0, 4);
    same_width.bytes[0] ^= 1;
    let mut wider = sample_hash_tile(0, 0, 5);
    wider.bytes[40] ^= 1;
    for tile in [same_width, wider] {
        let err = store
            .commit_batch(&Batch {
                hash_tiles: vec![tile],
                ..Batch::default()
            })
            .expect_err("rewriting a tile's content must fail");
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }
    let other_data = sample_tile(0, 0, 6, 10, 99);
    let err = store
        .commit_batch(&Batch {
            data_tiles: vec![other_data],
            ..Batch::default()
        })
        .expect_err("rewriting a data tile's content must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(
        store.hash_tile(0, 0).expect("hash_tile"),
        Some(stored(&sample_hash_tile(0, 0, 4)))
    );
    assert_eq!(
        store.data_tile(0).expect("data_tile"),
        Some(stored(&sample_data_tile(0, 4, 10)))
    );
}

fn stored(tile: &TileWrite) -> crate::StoredTile {
    crate::StoredTile {
        width: tile.width,
        bytes: tile.bytes.clone(),
    }
}

/// Tile `(level, index)` coordinates are independent per level, and data tiles are
/// a separate namespace from hash tiles.
pub fn hash_tile_levels_and_data_tiles_are_distinct<S: LogStore>(store: &S) {
    let tiles: Vec<TileWrite> = (0..8)
        .map(|level| sample_tile(level, 5, 3, 32, level * 10))
        .collect();
    let data = sample_tile(0, 5, 2, 32, 250);
    store
        .commit_batch(&Batch {
            hash_tiles: tiles.clone(),
            data_tiles: vec![data.clone()],
            ..Batch::default()
        })
        .expect("commit");
    for tile in &tiles {
        assert_eq!(
            store.hash_tile(tile.level, 5).expect("hash_tile"),
            Some(stored(tile))
        );
    }
    assert_eq!(store.data_tile(5).expect("data_tile"), Some(stored(&data)));
}

/// Re-inserting an issuer is a no-op that does not fail the batch.
pub fn issuers_are_inserted_once<S: LogStore>(store: &S) {
    let issuer = (hash_of(7, 1), b"issuer der".to_vec());
    for _ in 0..2 {
        store
            .commit_batch(&Batch {
                issuers: vec![issuer.clone(), issuer.clone()],
                ..Batch::default()
            })
            .expect("issuer re-insert commits");
    }
    assert_eq!(store.issuer(&issuer.0).expect("issuer"), Some(issuer.1));
}

/// Logging a submission whose dedup key is already stored is a sequencer bug: the
/// batch fails and leaves nothing.
pub fn duplicate_dedup_key_fails_the_batch<S: LogStore>(store: &S) {
    let first = sample_batch(0..3, 1_000);
    store.commit_batch(&first).expect("commit");
    let mut again = sample_batch(3..6, 2_000);
    let mut duplicate = sample_entry(5);
    duplicate.dedup_key = first.entries[1].dedup_key;
    again.entries[2] = duplicate;
    again.hash_tiles = vec![sample_hash_tile(3, 3, 3)];
    again.data_tiles = vec![sample_data_tile(7, 3, 40)];
    store
        .commit_batch(&again)
        .expect_err("duplicate dedup key must fail");
    assert_eq!(store.tree_head().expect("tree_head"), first.tree_head);
    assert_batch_stored(store, &first);
    // Nothing of the failed batch, including the entries before the duplicate.
    let mut fresh = again.clone();
    fresh.entries.truncate(2);
    assert_batch_absent(store, &fresh);
    assert_eq!(
        store
            .leaf_index(&again.entries[2].leaf_hash)
            .expect("leaf_index"),
        None
    );
}

/// Two entries with the same dedup key in one batch fail it.
pub fn duplicate_dedup_key_within_a_batch_fails_it<S: LogStore>(store: &S) {
    let mut batch = sample_batch(0..4, 1_000);
    batch.entries[3].dedup_key = batch.entries[0].dedup_key;
    store
        .commit_batch(&batch)
        .expect_err("duplicate dedup key must fail");
    assert_eq!(store.tree_head().expect("tree_head"), None);
    batch.entries.truncate(3);
    assert_batch_absent(store, &batch);
}

/// The contract's atomicity: a batch that fails after most of its writes (here, at
/// its very last tile) leaves no tile, row, issuer or tree head behind.
pub fn failed_batch_leaves_nothing_of_itself<S: LogStore>(store: &S) {
    store
        .commit_batch(&Batch {
            data_tiles: vec![sample_data_tile(1000, 10, 8)],
            ..Batch::default()
        })
        .expect("commit");
    let mut batch = sample_batch(0..300, 1_000);
    batch.hash_tiles = (0..8)
        .map(|level| sample_hash_tile(level, 0, 200))
        .collect();
    batch.data_tiles = vec![sample_data_tile(0, 256, 64), sample_data_tile(1000, 9, 8)];
    store
        .commit_batch(&batch)
        .expect_err("narrowing the last tile must fail");
    assert_eq!(store.tree_head().expect("tree_head"), None);
    batch.data_tiles.pop();
    assert_batch_absent(store, &batch);
    assert_eq!(
        store.data_tile(1000).expect("data_tile").map(|t| t.width),
        Some(10)
    );
}

/// Two writers of one log (two handles on the same database, as two processes would
/// have, e.g. a sequencer that lost its lease and the one that took over): each sees
/// the other's commits, and neither can publish a head smaller than the stored one,
/// a head of the stored size with another root (a fork), or a tile that does not
/// extend the stored one. Every refusal leaves the other's state intact.
pub fn second_handle_cannot_shrink_or_fork_the_tree<S: LogStore>(a: &S, b: &S) {
    let first = sample_batch(0..10, 1_000);
    a.commit_batch(&first)
        .expect("commit through the first handle");
    assert_eq!(b.tree_head().expect("tree_head"), first.tree_head);
    assert_batch_stored(b, &first);

    let mut shrinking = sample_batch(10..12, 2_000);
    shrinking.hash_tiles = vec![sample_hash_tile(3, 9, 4)];
    shrinking.data_tiles = vec![sample_data_tile(9, 4, 40)];
    shrinking.tree_head = Some(sample_head(9, 2_000));
    let err = b
        .commit_batch(&shrinking)
        .expect_err("a smaller head from the second handle must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_batch_absent(a, &shrinking);

    let mut fork = sample_head(10, 3_000);
    fork.root = hash_of(8, 10);
    let err = b
        .commit_batch(&Batch {
            tree_head: Some(fork),
            ..Batch::default()
        })
        .expect_err("another root at the stored size must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(a.tree_head().expect("tree_head"), first.tree_head);

    let mut other_tile = first.hash_tiles[0].clone();
    other_tile.bytes[0] ^= 1;
    let err = b
        .commit_batch(&Batch {
            hash_tiles: vec![other_tile],
            ..Batch::default()
        })
        .expect_err("rewriting the other handle's tile must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(
        a.hash_tile(first.hash_tiles[0].level, first.hash_tiles[0].index)
            .expect("hash_tile"),
        Some(stored(&first.hash_tiles[0]))
    );

    // Re-signing the stored size (same root) and growing work from either handle,
    // after which the first handle is the one behind.
    let resigned = Batch {
        tree_head: Some(sample_head(10, 4_000)),
        ..Batch::default()
    };
    b.commit_batch(&resigned).expect("re-signed head commits");
    assert_eq!(a.tree_head().expect("tree_head"), resigned.tree_head);
    let second = sample_batch(10..20, 5_000);
    b.commit_batch(&second).expect("growing commits");
    assert_eq!(a.tree_head().expect("tree_head"), second.tree_head);
    let stale = Batch {
        tree_head: Some(sample_head(15, 6_000)),
        ..Batch::default()
    };
    let err = a
        .commit_batch(&stale)
        .expect_err("the first handle's stale head must fail");
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert_eq!(b.tree_head().expect("tree_head"), second.tree_head);
}
