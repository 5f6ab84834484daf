//! The throw-away certificates a CT benchmark submits: a bench root CA (kept on disk so
//! the server can be started with it as an accepted root) and N distinct leaves.
//!
//! Leaves are built before the clock starts: the benchmark measures the log, not rcgen.
//! They share one key pair — a log checks only that the chain ends at an accepted root,
//! i.e. the issuer's signature on each leaf, so a per-leaf key would add nothing but
//! key-generation time.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use der::{Decode, DecodePem, Encode};
use indicatif::ProgressBar;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SerialNumber,
};
use time::OffsetDateTime;

/// Common name of a root created by `certcentral-bench` (short: the issuer name is
/// repeated in every leaf, and a million leaves are held in memory).
const ROOT_COMMON_NAME: &str = "ccc bench root";
/// How long a created root is valid.
const ROOT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// Back-dating of notBefore, so a server whose clock is slightly behind accepts the chain.
const BACKDATE: Duration = Duration::from_secs(3600);
/// Upper bound on a leaf's validity (clamped to the root's notAfter).
const LEAF_VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);

/// The bench root CA: its certificate and the means to sign leaves under it.
pub struct BenchRoot {
    /// DER of the root certificate (the last element of every submitted chain).
    pub cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
    not_before: SystemTime,
    not_after: SystemTime,
    /// Whether this run created the root files (the server does not know the root yet).
    pub created: bool,
}

impl BenchRoot {
    /// Loads the root from `cert_path` and `key_path`, or, if neither exists, creates an
    /// ECDSA P-256 root valid for one year (back-dated one hour) and writes it there (the
    /// key file with mode 0600). One file without the other is an error: overwriting a
    /// root the server already trusts would silently break the run.
    pub fn load_or_create(cert_path: &Path, key_path: &Path) -> anyhow::Result<Self> {
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Self::load(cert_path, key_path),
            (false, false) => Self::create(cert_path, key_path),
            (true, false) => bail!(
                "{} exists but {} does not; remove the certificate or pass --root-key",
                cert_path.display(),
                key_path.display()
            ),
            (false, true) => bail!(
                "{} exists but {} does not; remove the key or pass --root-cert",
                key_path.display(),
                cert_path.display()
            ),
        }
    }

    fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<Self> {
        let cert_pem = fs::read_to_string(cert_path)
            .with_context(|| format!("reading {}", cert_path.display()))?;
        let key_pem = fs::read_to_string(key_path)
            .with_context(|| format!("reading {}", key_path.display()))?;
        let key = KeyPair::from_pem(&key_pem)
            .with_context(|| format!("parsing private key {}", key_path.display()))?;
        let cert = x509_cert::Certificate::from_pem(cert_pem.as_bytes())
            .with_context(|| format!("parsing certificate {}", cert_path.display()))?;
        let spki = cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .context("encoding root SubjectPublicKeyInfo")?;
        ensure!(
            spki == key.subject_public_key_info(),
            "{} is not the key of {}",
            key_path.display(),
            cert_path.display()
        );
        let validity = cert.tbs_certificate().validity();
        let not_before = UNIX_EPOCH + validity.not_before.to_unix_duration();
        let not_after = UNIX_EPOCH + validity.not_after.to_unix_duration();
        ensure!(
            not_after > SystemTime::now() + Duration::from_secs(600),
            "bench root {} has expired or expires within 10 minutes; delete it and its key",
            cert_path.display()
        );
        let cert_der = cert.to_der().context("encoding root certificate")?;
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)
            .with_context(|| format!("using {} as an issuer", cert_path.display()))?;
        // Decoding the DER we just encoded proves the PEM held exactly one certificate.
        x509_cert::Certificate::from_der(&cert_der).context("re-decoding root")?;
        Ok(Self {
            cert_der,
            issuer,
            not_before,
            not_after,
            created: false,
        })
    }

    fn create(cert_path: &Path, key_path: &Path) -> anyhow::Result<Self> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating root key")?;
        let now = SystemTime::now();
        let not_before = now - BACKDATE;
        let not_after = not_before + ROOT_VALIDITY;

        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, ROOT_COMMON_NAME);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "certcentral bench (throw-away)");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(SerialNumber::from_slice(&random_serial_prefix()?));
        params.not_before = OffsetDateTime::from(not_before);
        params.not_after = OffsetDateTime::from(not_after);
        let cert = params.self_signed(&key).context("self-signing root")?;

        write_new_certificate(cert_path, cert.pem().as_bytes())?;
        keyfile::create_new(key_path, key.serialize_pem().as_bytes())?;
        Ok(Self {
            cert_der: cert.der().to_vec(),
            issuer: Issuer::new(params, key),
            not_before,
            not_after,
            created: true,
        })
    }
}

/// Creates `path` (failing if it exists), mode 0644 on Unix: a certificate is public.
fn write_new_certificate(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o644);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Eight random bytes, positive and without a leading zero byte, so that `prefix ||
/// index` is a valid 16-byte DER INTEGER serial (RFC 5280 §4.1.2.2: positive, ≤ 20 octets)
/// that differs between runs — the log deduplicates resubmissions, and a rerun must
/// not be answered from the dedup cache.
fn random_serial_prefix() -> anyhow::Result<[u8; 8]> {
    let mut p = [0u8; 8];
    aws_lc_rs::rand::fill(&mut p).map_err(|_| anyhow::anyhow!("system RNG failed"))?;
    p[0] = (p[0] & 0x7f) | 0x40;
    Ok(p)
}

/// N leaf certificates in DER, stored in a few large per-thread buffers rather than a
/// `Vec` each (a million leaves would otherwise cost a million allocations).
pub struct LeafSet {
    per_chunk: usize,
    chunks: Vec<LeafChunk>,
    len: usize,
}

struct LeafChunk {
    der: Vec<u8>,
    /// `ends[k]` is the end offset in `der` of the chunk's k-th certificate.
    ends: Vec<u32>,
}

impl LeafChunk {
    fn get(&self, k: usize) -> &[u8] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.der[start..self.ends[k] as usize]
    }
}

impl LeafSet {
    /// Number of certificates.
    pub fn len(&self) -> usize {
        self.len
    }

    /// DER of certificate `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn get(&self, i: usize) -> &[u8] {
        assert!(i < self.len, "leaf {i} out of range (have {})", self.len);
        self.chunks[i / self.per_chunk].get(i % self.per_chunk)
    }

    /// Total DER bytes.
    pub fn total_bytes(&self) -> usize {
        self.chunks.iter().map(|c| c.der.len()).sum()
    }

    /// Builds `n` distinct leaves signed by `root` on `threads` OS threads, advancing
    /// `progress` as they complete.
    pub fn build(
        root: &BenchRoot,
        n: usize,
        threads: usize,
        progress: &ProgressBar,
    ) -> anyhow::Result<Self> {
        let leaf_key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).context("generating leaf key")?;
        let prefix = random_serial_prefix()?;
        let now = SystemTime::now();
        let not_before = (now - BACKDATE).max(root.not_before);
        let not_after = (now + LEAF_VALIDITY).min(root.not_after);

        let threads = threads.clamp(1, n.max(1));
        let per_chunk = n.div_ceil(threads).max(1);
        let chunks = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .step_by(per_chunk)
                .map(|start| {
                    let end = (start + per_chunk).min(n);
                    let leaf_key = &leaf_key;
                    s.spawn(move || {
                        build_chunk(
                            root,
                            leaf_key,
                            &prefix,
                            not_before,
                            not_after,
                            start..end,
                            progress,
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| match h.join() {
                    Ok(r) => r,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })?;
        Ok(Self {
            per_chunk,
            chunks,
            len: n,
        })
    }
}

fn build_chunk(
    root: &BenchRoot,
    leaf_key: &KeyPair,
    prefix: &[u8; 8],
    not_before: SystemTime,
    not_after: SystemTime,
    range: std::ops::Range<usize>,
    progress: &ProgressBar,
) -> anyhow::Result<LeafChunk> {
    const PROGRESS_STEP: usize = 256;
    let count = range.len();
    let mut chunk = LeafChunk {
        // A P-256 leaf under a P-256 root with this profile is ~330–360 bytes.
        der: Vec::with_capacity(count * 360),
        ends: Vec::with_capacity(count),
    };
    let mut params = CertificateParams::default();
    params.not_before = OffsetDateTime::from(not_before);
    params.not_after = OffsetDateTime::from(not_after);
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];

    let mut serial = [0u8; 16];
    serial[..8].copy_from_slice(prefix);
    for (done, i) in range.enumerate() {
        serial[8..].copy_from_slice(&(i as u64).to_be_bytes());
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("ccc-bench-{i}"));
        params.distinguished_name = dn;
        let cert = params
            .signed_by(leaf_key, &root.issuer)
            .with_context(|| format!("signing leaf {i}"))?;
        chunk.der.extend_from_slice(cert.der());
        chunk.ends.push(
            u32::try_from(chunk.der.len()).context("leaf chunk exceeds 4 GiB; use more threads")?,
        );
        if (done + 1) % PROGRESS_STEP == 0 {
            progress.inc(PROGRESS_STEP as u64);
        }
    }
    progress.inc((count % PROGRESS_STEP) as u64);
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_cert::Certificate;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let mut nonce = [0u8; 8];
        aws_lc_rs::rand::fill(&mut nonce).unwrap();
        let d = std::env::temp_dir().join(format!("ccc-test-{tag}-{}", u64::from_be_bytes(nonce)));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn created_root_is_reloaded_with_same_der_and_leaves_chain_to_it() {
        let dir = temp_dir("root");
        let (cp, kp) = (dir.join("root.pem"), dir.join("root.key"));
        let created = BenchRoot::load_or_create(&cp, &kp).unwrap();
        assert!(created.created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&kp).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let loaded = BenchRoot::load_or_create(&cp, &kp).unwrap();
        assert!(!loaded.created);
        assert_eq!(loaded.cert_der, created.cert_der);

        let root = Certificate::from_der(&loaded.cert_der).unwrap();
        let leaves = LeafSet::build(&loaded, 37, 4, &ProgressBar::hidden()).unwrap();
        assert_eq!(leaves.len(), 37);
        let mut serials = std::collections::HashSet::new();
        for i in 0..leaves.len() {
            let leaf = Certificate::from_der(leaves.get(i)).unwrap();
            assert_eq!(
                leaf.tbs_certificate().issuer(),
                root.tbs_certificate().subject()
            );
            assert!(serials.insert(leaf.tbs_certificate().serial_number().as_bytes().to_vec()));
            // The root's signature over the leaf verifies with the root key.
            let tbs = leaf.tbs_certificate().to_der().unwrap();
            let spki = root
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .unwrap();
            pki::verify_signature(
                &spki,
                leaf.signature_algorithm(),
                &tbs,
                leaf.signature().raw_bytes(),
            )
            .unwrap();
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn one_root_file_without_the_other_is_an_error() {
        let dir = temp_dir("half");
        let (cp, kp) = (dir.join("root.pem"), dir.join("root.key"));
        fs::write(&cp, "x").unwrap();
        assert!(BenchRoot::load_or_create(&cp, &kp).is_err());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn leaf_set_indexing_across_uneven_chunks() {
        let dir = temp_dir("chunks");
        let root = BenchRoot::load_or_create(&dir.join("r.pem"), &dir.join("r.key")).unwrap();
        let progress = ProgressBar::hidden();
        let leaves = LeafSet::build(&root, 10, 3, &progress).unwrap();
        assert_eq!(progress.position(), 10);
        let all: Vec<&[u8]> = (0..10).map(|i| leaves.get(i)).collect();
        assert_eq!(
            leaves.total_bytes(),
            all.iter().map(|d| d.len()).sum::<usize>()
        );
        for (i, der) in all.iter().enumerate() {
            let cert = Certificate::from_der(der).unwrap();
            let cn = cert.tbs_certificate().subject().to_string();
            assert!(cn.ends_with(&format!("ccc-bench-{i}")), "{cn}");
        }
        fs::remove_dir_all(dir).unwrap();
    }
}
