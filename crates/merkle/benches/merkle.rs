//! `cargo bench -p merkle`: criterion micro-benchmarks, then a summary that measures
//! in one run the raw SHA-256 rate, append throughput over 10^7 leaves and inclusion
//! proof generation from tiles, and states append as a ratio of the hash ceiling.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput};
use merkle::proof::HashSource;
use merkle::proof::inclusion_proof;
use merkle::tiles::{EdgeTiles, ExpandedTile, TileHashSource, TileId, TileSource};
use merkle::{CompactTree, verify_inclusion};
use merkle::{Hash, NodeId};
use sha2::{Digest, Sha256};

const SUMMARY_LEAVES: u64 = 10_000_000;

struct MemoryTiles(HashMap<TileId, Vec<u8>>);

impl TileSource for &MemoryTiles {
    type Error = String;
    fn read_tile(&mut self, tile: TileId) -> Result<Vec<u8>, String> {
        self.0
            .get(&tile)
            .cloned()
            .ok_or_else(|| format!("missing {}", tile.path()))
    }
}

/// Proof hashes from expanded tiles cached across calls, as a log server would keep
/// them: each node becomes a look-up.
struct ExpandedCache<'a> {
    tiles: &'a MemoryTiles,
    size: u64,
    cache: HashMap<(u8, u64), ExpandedTile>,
}

impl HashSource for ExpandedCache<'_> {
    type Error = String;
    fn hashes(&mut self, nodes: &[NodeId]) -> Result<Vec<Hash>, String> {
        nodes
            .iter()
            .map(|node| {
                let (tile_level, sub_level) = (node.level / 8, node.level % 8);
                let base = node.index << sub_level;
                let key = (tile_level, base / 256);
                if !self.cache.contains_key(&key) {
                    let id = TileId::in_tree(key.0, key.1, self.size).ok_or("beyond tree")?;
                    let bytes = self.tiles.0.get(&id).ok_or("missing tile")?;
                    let expanded = ExpandedTile::new(bytes).map_err(|e| e.to_string())?;
                    self.cache.insert(key, expanded);
                }
                self.cache[&key]
                    .node(sub_level, ((base % 256) >> sub_level) as usize)
                    .ok_or_else(|| "incomplete node".to_owned())
            })
            .collect()
    }
}

/// A cheap deterministic 64-byte leaf, so leaf hashing costs the same as a node hash.
fn leaf_data(i: u64) -> [u8; 64] {
    let mut data = [0x5au8; 64];
    data[..8].copy_from_slice(&i.to_le_bytes());
    data
}

fn build_tiles(leaves: u64) -> (CompactTree, MemoryTiles) {
    let mut tree = CompactTree::new();
    let mut edges = EdgeTiles::new();
    let mut tiles = HashMap::new();
    for i in 0..leaves {
        tree.append_data(&leaf_data(i), |id, h| edges.observe(id, h))
            .expect("tree not full");
        if i % 4096 == 4095 {
            tiles.extend(edges.flush());
        }
    }
    tiles.extend(edges.flush());
    (tree, MemoryTiles(tiles))
}

fn criterion_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("hash");
    group.throughput(Throughput::Elements(1));
    let input = [7u8; 65];
    group.bench_function("sha256_65B", |b| {
        b.iter(|| Sha256::digest(black_box(input)))
    });
    group.finish();

    let mut group = c.benchmark_group("tree");
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("append_100k", |b| {
        b.iter_batched(
            CompactTree::new,
            |mut tree| {
                for i in 0..100_000 {
                    tree.append_data(&leaf_data(i), |_, _| {}).unwrap();
                }
                tree.root()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let (tree, tiles) = build_tiles(1 << 20);
    let size = tree.size();
    let mut group = c.benchmark_group("proofs_from_tiles_2^20");
    group.throughput(Throughput::Elements(1));
    let mut i = 0u64;
    group.bench_function("inclusion", |b| {
        b.iter(|| {
            i = (i + 7919) % size;
            let mut source = TileHashSource::new(&tiles, size);
            inclusion_proof(i, size, &mut source).unwrap()
        })
    });
    group.bench_function("consistency", |b| {
        b.iter(|| {
            i = (i + 7919) % size;
            let mut source = TileHashSource::new(&tiles, size);
            merkle::consistency_proof(i.max(1), size, &mut source).unwrap()
        })
    });
    group.finish();
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn summary() {
    println!("\n== merkle summary (one run, this machine) ==");
    let n = SUMMARY_LEAVES;

    let start = Instant::now();
    let mut acc = [0u8; 65];
    for i in 0..n {
        acc[0] = i as u8;
        let digest: [u8; 32] = Sha256::digest(acc).into();
        acc[1..33].copy_from_slice(&digest);
    }
    black_box(acc);
    let raw = n as f64 / start.elapsed().as_secs_f64();
    println!("raw SHA-256 (65-byte inputs):  {:>12.0} hashes/s", raw);

    let rss_before = peak_rss_kib();
    let start = Instant::now();
    let mut tree = CompactTree::new();
    for i in 0..n {
        tree.append_data(&leaf_data(i), |_, _| {}).unwrap();
    }
    let root = tree.root();
    let append = n as f64 / start.elapsed().as_secs_f64();
    black_box(root);
    let ceiling = raw / 2.0;
    println!(
        "append {n} leaves:         {:>12.0} leaves/s = {:.0}% of raw/2 ({:.0}/s)",
        append,
        100.0 * append / ceiling,
        ceiling
    );
    println!(
        "tree state after {n} leaves: {} peaks, {} bytes of hashes (O(log n)); peak RSS {} -> {} KiB",
        tree.peaks().len(),
        std::mem::size_of_val(tree.peaks()),
        rss_before.unwrap_or(0),
        peak_rss_kib().unwrap_or(0)
    );

    let start = Instant::now();
    let (tree, tiles) = build_tiles(n);
    println!(
        "append + tile emission:       {:>12.0} leaves/s ({} tiles)",
        n as f64 / start.elapsed().as_secs_f64(),
        tiles.0.len()
    );
    let size = tree.size();
    let root = tree.root();
    let proofs = 50_000u64;
    let start = Instant::now();
    let mut index = 12345u64;
    let mut checked = None;
    for _ in 0..proofs {
        index = (index
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
            % size;
        let mut source = TileHashSource::new(&tiles, size);
        let proof = inclusion_proof(index, size, &mut source).unwrap();
        checked = Some((index, proof));
    }
    let rate = proofs as f64 / start.elapsed().as_secs_f64();
    let (last, proof) = checked.take().expect("ran");
    verify_inclusion(
        &merkle::leaf_hash(&leaf_data(last)),
        last,
        size,
        &proof,
        &root,
    )
    .expect("proof from tiles verifies");
    println!(
        "inclusion proofs from tiles ({size} leaves): {:>8.0} proofs/s (tiles read and hashed per proof)",
        rate
    );

    let mut cached = ExpandedCache {
        tiles: &tiles,
        size,
        cache: HashMap::new(),
    };
    let proofs = 400_000u64;
    let start = Instant::now();
    for _ in 0..proofs {
        index = (index
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407))
            % size;
        let proof = inclusion_proof(index, size, &mut cached).unwrap();
        checked = Some((index, proof));
    }
    let cached_rate = proofs as f64 / start.elapsed().as_secs_f64();
    let (index, proof) = checked.expect("ran");
    verify_inclusion(
        &merkle::leaf_hash(&leaf_data(index)),
        index,
        size,
        &proof,
        &root,
    )
    .expect("proof from expanded tiles verifies");
    println!(
        "inclusion proofs, expanded-tile cache ({} tiles cached): {:>8.0} proofs/s = {:.1}x uncached",
        cached.cache.len(),
        cached_rate,
        cached_rate / rate
    );
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    summary();
}
