//! An artifact's digest, read in chunks so a large file never sits in memory.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use pki::verify::HashAlgorithm;

/// The digest of the file at `path`.
pub fn file_digest(path: &Path, algorithm: HashAlgorithm) -> anyhow::Result<Vec<u8>> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut context = aws_lc_rs::digest::Context::new(algorithm.digest_algorithm());
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        let n = file
            .read(&mut buffer)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        context.update(&buffer[..n]);
    }
    Ok(context.finish().as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_of_a_file_is_the_digest_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        for algorithm in [HashAlgorithm::Sha256, HashAlgorithm::Sha384] {
            let want = aws_lc_rs::digest::digest(algorithm.digest_algorithm(), &bytes);
            assert_eq!(file_digest(&path, algorithm).unwrap(), want.as_ref());
        }
        assert!(file_digest(&dir.path().join("missing"), HashAlgorithm::Sha256).is_err());
    }
}
