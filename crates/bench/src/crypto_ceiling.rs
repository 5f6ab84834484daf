//! The crypto ceiling of certificate issuance, measured on this machine in the same run:
//! what the CA could issue per second if it did nothing but the public-key operations a
//! certificate requires. Stating the achieved rate as a fraction of it tells whether the
//! CA's overhead (HTTP, JSON, DER, storage, batching) or the arithmetic is the limit.
//!
//! Per certificate the server does, with L the number of SCTs embedded in the leaf:
//! - `2 + L` ECDSA P-256 signatures: the precertificate, the final certificate, and one
//!   SCT per log (RFC 6962 §3.2);
//! - `1 + L` ECDSA P-256 verifications: the proof of possession, and each log checking
//!   the precertificate's signature before it promises to include it;
//! - 1 RSA-2048 PKCS#1 v1.5 SHA-256 verification: the identity token (RS256).

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use serde::Serialize;

/// Bytes signed and verified per operation: about the size of a leaf's TBSCertificate
/// (hashing is a few percent of an ECDSA operation, so the exact size hardly matters).
const MESSAGE_LEN: usize = 1024;

/// Single-thread cost of each primitive, microseconds per operation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PrimitiveCosts {
    /// ECDSA P-256 SHA-256 sign (DER signature).
    pub ecdsa_p256_sign_us: f64,
    /// ECDSA P-256 SHA-256 verify.
    pub ecdsa_p256_verify_us: f64,
    /// RSA-2048 PKCS#1 v1.5 SHA-256 verify (RS256).
    pub rsa2048_verify_us: f64,
}

/// Times each primitive on the calling thread for about `budget`.
pub fn measure(budget: Duration) -> anyhow::Result<PrimitiveCosts> {
    let rng = SystemRandom::new();
    let mut message = vec![0u8; MESSAGE_LEN];
    aws_lc_rs::rand::fill(&mut message).map_err(|_| anyhow::anyhow!("system RNG failed"))?;

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| anyhow::anyhow!("generating a P-256 key"))?;
    let ecdsa = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
        .map_err(|_| anyhow::anyhow!("loading the P-256 key"))?;
    let ecdsa_sig = ecdsa
        .sign(&rng, &message)
        .map_err(|_| anyhow::anyhow!("ECDSA sign"))?;
    let ecdsa_public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, ecdsa.public_key().as_ref());
    ecdsa_public
        .verify(&message, ecdsa_sig.as_ref())
        .map_err(|_| anyhow::anyhow!("ECDSA self-check failed"))?;

    let rsa = RsaKeyPair::generate(KeySize::Rsa2048)
        .map_err(|_| anyhow::anyhow!("generating an RSA-2048 key"))?;
    let mut rsa_sig = vec![0u8; rsa.public_modulus_len()];
    rsa.sign(&RSA_PKCS1_SHA256, &rng, &message, &mut rsa_sig)
        .map_err(|_| anyhow::anyhow!("RSA sign"))?;
    let rsa_public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa.public_key().as_ref());
    rsa_public
        .verify(&message, &rsa_sig)
        .map_err(|_| anyhow::anyhow!("RSA self-check failed"))?;

    let sign = time_per_op(budget, || {
        black_box(ecdsa.sign(&rng, black_box(&message)).is_ok());
    });
    let verify = time_per_op(budget, || {
        black_box(
            ecdsa_public
                .verify(black_box(&message), ecdsa_sig.as_ref())
                .is_ok(),
        );
    });
    let rsa_verify = time_per_op(budget, || {
        black_box(rsa_public.verify(black_box(&message), &rsa_sig).is_ok());
    });
    Ok(PrimitiveCosts {
        ecdsa_p256_sign_us: sign,
        ecdsa_p256_verify_us: verify,
        rsa2048_verify_us: rsa_verify,
    })
}

/// Mean microseconds per call of `op`, run in batches until `budget` has passed (the
/// clock is read once per batch so that reading it does not weigh on cheap operations).
fn time_per_op(budget: Duration, mut op: impl FnMut()) -> f64 {
    const BATCH: u64 = 16;
    op(); // warm caches and lazy initialisation outside the timed loop
    let started = Instant::now();
    let mut ops = 0u64;
    loop {
        for _ in 0..BATCH {
            op();
        }
        ops += BATCH;
        let elapsed = started.elapsed();
        if elapsed >= budget {
            return elapsed.as_secs_f64() * 1e6 / ops as f64;
        }
    }
}

/// The ceiling for certificates carrying `embedded_scts` SCTs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ceiling {
    /// The measured primitive costs.
    pub primitives: PrimitiveCosts,
    /// L: SCTs embedded in an issued leaf.
    pub embedded_scts: usize,
    /// ECDSA P-256 signatures per certificate: 2 + L.
    pub signs_per_cert: usize,
    /// ECDSA P-256 verifications per certificate: 1 + L.
    pub ecdsa_verifies_per_cert: usize,
    /// RSA-2048 verifications per certificate: 1.
    pub rsa_verifies_per_cert: usize,
    /// Crypto time per certificate on one core, microseconds.
    pub cost_us_per_cert: f64,
    /// 1 / cost.
    pub per_core_certs_per_sec: f64,
    /// Cores the ceiling is scaled to.
    pub cores: usize,
    /// `cores` / cost: perfect scaling, no other work.
    pub all_cores_certs_per_sec: f64,
    /// The formula with the numbers filled in, for quoting.
    pub formula: String,
}

impl Ceiling {
    /// Applies the per-certificate operation counts to measured costs.
    pub fn new(primitives: PrimitiveCosts, embedded_scts: usize, cores: usize) -> Self {
        let signs = 2 + embedded_scts;
        let verifies = 1 + embedded_scts;
        let rsa = 1;
        let cost = signs as f64 * primitives.ecdsa_p256_sign_us
            + verifies as f64 * primitives.ecdsa_p256_verify_us
            + rsa as f64 * primitives.rsa2048_verify_us;
        let per_core = if cost > 0.0 { 1e6 / cost } else { 0.0 };
        let formula = format!(
            "cost/cert = (2 + L) × P-256 sign + (1 + L) × P-256 verify + 1 × RSA-2048 verify \
             = {signs} × {:.1} µs + {verifies} × {:.1} µs + {rsa} × {:.1} µs = {cost:.1} µs \
             (L = {embedded_scts} embedded SCTs; signs: precert, cert, one SCT per log; \
             verifies: proof of possession, each log checking the precert; RSA: the RS256 token)",
            primitives.ecdsa_p256_sign_us,
            primitives.ecdsa_p256_verify_us,
            primitives.rsa2048_verify_us,
        );
        Self {
            primitives,
            embedded_scts,
            signs_per_cert: signs,
            ecdsa_verifies_per_cert: verifies,
            rsa_verifies_per_cert: rsa,
            cost_us_per_cert: cost,
            per_core_certs_per_sec: per_core,
            cores,
            all_cores_certs_per_sec: per_core * cores as f64,
            formula,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_counts_two_plus_l_signs_and_one_plus_l_verifies() {
        let costs = PrimitiveCosts {
            ecdsa_p256_sign_us: 20.0,
            ecdsa_p256_verify_us: 50.0,
            rsa2048_verify_us: 10.0,
        };
        let c = Ceiling::new(costs, 2, 2);
        assert_eq!((c.signs_per_cert, c.ecdsa_verifies_per_cert), (4, 3));
        // 4 × 20 + 3 × 50 + 10 = 240 µs → 4166.7/s per core.
        assert!((c.cost_us_per_cert - 240.0).abs() < 1e-9);
        assert!((c.per_core_certs_per_sec - 1e6 / 240.0).abs() < 1e-6);
        assert!((c.all_cores_certs_per_sec - 2e6 / 240.0).abs() < 1e-6);
        assert!(
            c.formula
                .contains("4 × 20.0 µs + 3 × 50.0 µs + 1 × 10.0 µs = 240.0 µs")
        );

        let no_logs = Ceiling::new(costs, 0, 1);
        assert!((no_logs.cost_us_per_cert - (2.0 * 20.0 + 50.0 + 10.0)).abs() < 1e-9);
    }

    #[test]
    fn measurement_is_positive_and_ordered_sensibly() {
        let c = measure(Duration::from_millis(20)).unwrap();
        assert!(c.ecdsa_p256_sign_us > 0.0);
        assert!(c.ecdsa_p256_verify_us > 0.0);
        assert!(c.rsa2048_verify_us > 0.0);
    }
}
