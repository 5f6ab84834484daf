//! JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037 §2): the keys of an issuer's JWKS,
//! validated when parsed, and signature verification with them.

use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::error::printable;
use crate::jws::{JwsAlg, parse_json_object};

/// Smallest RSA modulus accepted, in bits (RFC 7518 §3.3: "2048 bits or larger").
pub const MIN_RSA_BITS: usize = 2048;

/// A public key from a JWK (RFC 7518 §6, RFC 8037 §2), already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// Uncompressed SEC1 point `04 || x || y`.
    P256(Vec<u8>),
    P384(Vec<u8>),
    Ed25519(Vec<u8>),
}

impl PublicKey {
    pub(crate) fn description(&self) -> &'static str {
        match self {
            Self::Rsa { .. } => "an RSA key",
            Self::P256(_) => "an EC P-256 key",
            Self::P384(_) => "an EC P-384 key",
            Self::Ed25519(_) => "an Ed25519 key",
        }
    }

    pub(crate) fn fits(&self, alg: JwsAlg) -> bool {
        use JwsAlg::*;
        matches!(
            (self, alg),
            (Self::Rsa { .. }, Rs256 | Rs384 | Rs512 | Ps256)
                | (Self::P256(_), Es256)
                | (Self::P384(_), Es384)
                | (Self::Ed25519(_), EdDsa)
        )
    }

    /// Verifies `sig` over `msg`. The caller has checked [`Self::fits`].
    pub(crate) fn verify(&self, alg: JwsAlg, msg: &[u8], sig: &[u8]) -> bool {
        use JwsAlg::*;
        match self {
            Self::Rsa { n, e } => {
                let params = match alg {
                    Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                    _ => return false,
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, msg, sig)
                    .is_ok()
            }
            // RFC 7518 §3.4: the JWS ECDSA signature is the fixed-size R || S.
            Self::P256(point) if alg == Es256 && sig.len() == 64 => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(msg, sig)
                    .is_ok()
            }
            Self::P384(point) if alg == Es384 && sig.len() == 96 => {
                UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(msg, sig)
                    .is_ok()
            }
            Self::Ed25519(x) if alg == EdDsa => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(msg, sig)
                .is_ok(),
            _ => false,
        }
    }
}

/// One JWKS entry. Entries that fail to parse are kept with their error, so that a
/// token naming one gets the precise reason rather than "unknown key id".
#[derive(Debug, Clone)]
pub(crate) struct Jwk {
    pub(crate) kid: Option<String>,
    /// The JWK's optional `alg` (RFC 7517 §4.4); if present, it must equal the header's.
    alg: Option<String>,
    key: Result<PublicKey, String>,
}

impl Jwk {
    /// Whether `alg` may be used with this key; `Err` names what the key is instead.
    pub(crate) fn check_alg(&self, alg: JwsAlg) -> Result<&PublicKey, Result<String, String>> {
        let key = self.key.as_ref().map_err(|e| Err(e.clone()))?;
        if let Some(declared) = &self.alg
            && declared != alg.name()
        {
            return Err(Ok(format!("the key declares alg {}", printable(declared))));
        }
        if !key.fits(alg) {
            return Err(Ok(key.description().to_string()));
        }
        Ok(key)
    }
}

/// RFC 7517 §5: `{"keys": [JWK, …]}`. Keys with `use` other than `sig` are dropped
/// (RFC 7517 §4.2), as are key types we never verify with (`oct` above all: a
/// symmetric JWKS entry must never become an HMAC secret).
pub(crate) fn parse_jwks(bytes: &[u8]) -> Result<Vec<Jwk>, String> {
    let doc = parse_json_object(bytes)?;
    let Some(Value::Array(keys)) = doc.get("keys") else {
        return Err("the JWKS has no keys array".into());
    };
    let mut out = Vec::new();
    for k in keys {
        let Value::Object(k) = k else { continue };
        let str_member = |name: &str| match k.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        if str_member("use").is_some_and(|u| u != "sig") {
            continue;
        }
        let kty = str_member("kty").unwrap_or_default();
        if !matches!(kty.as_str(), "RSA" | "EC" | "OKP") {
            continue;
        }
        out.push(Jwk {
            kid: str_member("kid"),
            alg: str_member("alg"),
            key: parse_public_key(&kty, k),
        });
    }
    Ok(out)
}

fn parse_public_key(kty: &str, k: &Map<String, Value>) -> Result<PublicKey, String> {
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        match k.get(name) {
            Some(Value::String(s)) => URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|_| format!("member {name} is not unpadded base64url")),
            _ => Err(format!("member {name} is missing")),
        }
    };
    let crv = match k.get("crv") {
        Some(Value::String(s)) => s.as_str(),
        _ => "",
    };
    match kty {
        "RSA" => {
            // RFC 7518 §6.3.1.1 forbids leading zeros, but some providers emit one;
            // it does not change the value.
            let strip = |v: Vec<u8>| match v.iter().position(|&b| b != 0) {
                Some(i) => Ok(v[i..].to_vec()),
                None => Err("RSA component is zero".to_string()),
            };
            let n = strip(bytes("n")?)?;
            let e = strip(bytes("e")?)?;
            let bits = n.len() * 8 - n[0].leading_zeros() as usize;
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "RSA key of {bits} bits is too small (minimum {MIN_RSA_BITS})"
                ));
            }
            Ok(PublicKey::Rsa { n, e })
        }
        "EC" => {
            let len = match crv {
                "P-256" => 32,
                "P-384" => 48,
                other => return Err(format!("EC curve {} is not supported", printable(other))),
            };
            let (x, y) = (bytes("x")?, bytes("y")?);
            // RFC 7518 §6.2.1.2: coordinates MUST be the full field size.
            if x.len() != len || y.len() != len {
                return Err(format!("{crv} coordinates must be {len} bytes each"));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok(if len == 32 {
                PublicKey::P256(point)
            } else {
                PublicKey::P384(point)
            })
        }
        _ => {
            if crv != "Ed25519" {
                return Err(format!("OKP curve {} is not supported", printable(crv)));
            }
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err("an Ed25519 key is 32 bytes".into());
            }
            Ok(PublicKey::Ed25519(x))
        }
    }
}
