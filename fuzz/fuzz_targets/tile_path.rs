#![no_main]
//! Tile paths come straight from request URLs: every accepted path is canonical.
use libfuzzer_sys::fuzz_target;
use merkle::tiles::{TilePath, data_tile_path, parse_tile_path};

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    match parse_tile_path(path) {
        Ok(TilePath::Hashes(id)) => assert_eq!(id.path(), path),
        Ok(TilePath::Data { index, width }) => {
            let kind = if path.starts_with("tile/data/") { "data" } else { "entries" };
            assert_eq!(data_tile_path(kind, index, width), path);
        }
        Err(_) => {}
    }
});
