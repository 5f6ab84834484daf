//! Where server-side webhooks may point.
//!
//! A webhook URL is chosen by whoever holds a registry account, but the POST leaves
//! from inside the operator's network. Unchecked, a subscription could aim the server
//! at its cloud metadata endpoint (169.254.169.254), the database, or an admin port on
//! loopback. So, by default, a webhook must reach a public address: IP literals are
//! checked when the subscription is made and before every delivery, and host names go
//! through a resolver that drops non-public answers at connect time — a name that
//! resolved to a public address when the subscription was made and to loopback later
//! (DNS rebinding) gains nothing. Redirects are not followed (a 3xx could point
//! anywhere) and no proxy is used (a proxy would resolve the name itself).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hmac::{KeyInit, Mac};
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Header that signs a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256>` of
/// `"<t>.<body>"` under the subscription's secret. The timestamp is signed so a
/// receiver can refuse replays of old deliveries.
pub const SIGNATURE_HEADER: &str = "certcentral-signature";
/// Header naming a delivery: the same on every retry, and after a failover to another
/// process, so a receiver can drop the repeats that at-least-once delivery allows.
pub const DELIVERY_HEADER: &str = "certcentral-delivery";
/// Prefix of subscription secrets, so a leaked one is recognisable in a scan.
pub const SECRET_PREFIX: &str = "ccwh_";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// A subscription secret from 32 random bytes: [`SECRET_PREFIX`] and their unpadded
/// base64url. The whole string is the HMAC key.
pub fn secret_from(random: &[u8; 32]) -> String {
    use base64::Engine;
    format!(
        "{SECRET_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random)
    )
}

fn mac(secret: &str, timestamp: u64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The [`SIGNATURE_HEADER`] value for `body` sent at `timestamp` (unix seconds).
pub fn signature_header(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Why a receiver refused a delivery's signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadSignature {
    #[error("signature header is not `t=<seconds>,v1=<hex>`")]
    Malformed,
    #[error("signed {age} s away from now, more than the {tolerance} s allowed")]
    Stale { age: u64, tolerance: u64 },
    #[error("signature does not match the body")]
    Mismatch,
}

/// What a receiver does with a delivery: checks [`SIGNATURE_HEADER`] `header` over
/// `body` with the subscription's `secret` (in constant time), and that it was signed
/// within `tolerance_secs` of `now` (unix seconds).
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: u64,
    tolerance_secs: u64,
) -> Result<(), BadSignature> {
    let mut timestamp = None;
    let mut tag = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<u64>().ok(),
            Some(("v1", v)) => tag = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(timestamp), Some(tag)) = (timestamp, tag) else {
        return Err(BadSignature::Malformed);
    };
    let age = now.abs_diff(timestamp);
    if age > tolerance_secs {
        return Err(BadSignature::Stale {
            age,
            tolerance: tolerance_secs,
        });
    }
    mac(secret, timestamp, body)
        .verify_slice(&tag)
        .map_err(|_| BadSignature::Mismatch)
}

/// Which addresses webhooks may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations {
    /// Only globally routable unicast addresses (the default for a server).
    PublicOnly,
    /// Anything, loopback and private networks included (`--dev`, or a deployment
    /// whose webhook receivers live on its own network).
    Any,
}

/// A webhook refused because of where it points.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("webhook host {host} is {reason}, not a public address")]
    NotPublic { host: String, reason: &'static str },
    #[error("webhook host {host} does not resolve: {error}")]
    Unresolvable { host: String, error: String },
    #[error("webhook URL has no host")]
    NoHost,
}

/// Why `ip` is not a public unicast address, or `None` if it is one.
///
/// IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that
/// address, so `::ffff:127.0.0.1` is loopback like `127.0.0.1`.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    non_public_reason(ip).is_none()
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        (0, _, _) => "in 0.0.0.0/8 (this network)",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "a private address (RFC 1918)",
        (100, 64..=127, _) => "in the shared address space 100.64.0.0/10",
        (127, _, _) => "a loopback address",
        (169, 254, _) => "a link-local address",
        (192, 0, 0) => "in 192.0.0.0/24 (IETF protocol assignments)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (192, 88, 99) => "a 6to4 relay anycast address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    };
    Some(reason)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let reason = match s {
        [0, 0, 0, 0, 0, 0, 0, 0] => "the unspecified address",
        [0, 0, 0, 0, 0, 0, 0, 1] => "a loopback address",
        [0, 0, 0, 0, 0, 0, _, _] => "an IPv4-compatible address (deprecated)",
        // NAT64 well-known prefix: the IPv4 address decides.
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => return v4_reason(embedded_v4(hi, lo)),
        [0x64, 0xff9b, 1, ..] => "a local-use NAT64 address",
        [0x100, 0, 0, 0, ..] => "a discard-only address",
        [0x2001, 0xdb8, ..] | [0x3fff, 0..=0x0fff, ..] => "a documentation address",
        [0x2001, 0..=0x01ff, ..] => "in 2001::/23 (IETF protocol assignments, Teredo)",
        // 6to4: the IPv4 address decides.
        [0x2002, hi, lo, ..] => return v4_reason(embedded_v4(hi, lo)),
        [first, ..] if first & 0xfe00 == 0xfc00 => "a unique local address",
        [first, ..] if first & 0xffc0 == 0xfe80 => "a link-local address",
        [first, ..] if first & 0xffc0 == 0xfec0 => "a site-local address (deprecated)",
        [first, ..] if first & 0xff00 == 0xff00 => "a multicast address",
        // Global unicast is 2000::/3; everything else is unassigned.
        [first, ..] if first & 0xe000 != 0x2000 => "outside global unicast (2000::/3)",
        _ => return None,
    };
    Some(reason)
}

/// Checks what can be checked without DNS: `url` has a host, and under
/// [`Destinations::PublicOnly`] an IP literal is public and the name is not
/// `localhost` (RFC 6761: always loopback).
pub fn check_url(url: &Url, destinations: Destinations) -> Result<(), Refused> {
    let host = url.host().ok_or(Refused::NoHost)?;
    if destinations == Destinations::Any {
        return Ok(());
    }
    let refused = |reason| Refused::NotPublic {
        host: host.to_string(),
        reason,
    };
    match host {
        url::Host::Ipv4(ip) => v4_reason(ip).map_or(Ok(()), |r| Err(refused(r))),
        url::Host::Ipv6(ip) => v6_reason(ip).map_or(Ok(()), |r| Err(refused(r))),
        url::Host::Domain(name) => {
            if is_localhost(name) {
                Err(refused("localhost"))
            } else {
                Ok(())
            }
        }
    }
}

fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// [`check_url`] plus, for a host name under [`Destinations::PublicOnly`], a DNS
/// lookup that must find at least one public address: the early, friendly answer
/// when a subscription is made. Deliveries are still checked at connect time.
pub async fn check_url_resolving(url: &Url, destinations: Destinations) -> Result<(), Refused> {
    check_url(url, destinations)?;
    if destinations == Destinations::Any {
        return Ok(());
    }
    let Some(url::Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    public_addresses(name).await.map(drop)
}

/// The public addresses `name` resolves to; an error if there are none.
async fn public_addresses(name: &str) -> Result<Vec<SocketAddr>, Refused> {
    if is_localhost(name) {
        return Err(Refused::NotPublic {
            host: name.to_owned(),
            reason: "localhost",
        });
    }
    let lookup = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((name, 0)));
    let found: Vec<SocketAddr> = match lookup.await {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            return Err(Refused::Unresolvable {
                host: name.to_owned(),
                error: e.to_string(),
            });
        }
        Err(_) => {
            return Err(Refused::Unresolvable {
                host: name.to_owned(),
                error: format!("no answer within {LOOKUP_TIMEOUT:?}"),
            });
        }
    };
    let public: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|a| is_public(a.ip()))
        .collect();
    match (public.is_empty(), found.first()) {
        (false, _) => Ok(public),
        (true, Some(first)) => Err(Refused::NotPublic {
            host: format!("{name} ({})", first.ip()),
            reason: non_public_reason(first.ip()).unwrap_or("not public"),
        }),
        (true, None) => Err(Refused::Unresolvable {
            host: name.to_owned(),
            error: "no addresses".to_owned(),
        }),
    }
}

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A resolver that answers only with public addresses.
struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = public_addresses(&name).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for webhook deliveries: no redirects, and under
/// [`Destinations::PublicOnly`] no proxy and the public-only resolver.
pub fn client(destinations: Destinations) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("certcentral-webhooks/", env!("CARGO_PKG_VERSION")));
    match destinations {
        Destinations::Any => builder.build(),
        Destinations::PublicOnly => builder.no_proxy().dns_resolver(PublicResolver).build(),
    }
}

/// The refusal behind a failed delivery, if the failure was one: such a delivery is
/// given up at once instead of being retried.
pub fn refusal(error: &reqwest::Error) -> Option<&Refused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<Refused>() {
            return Some(refused);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn signatures_verify_and_any_change_is_refused() {
        let secret = secret_from(&[7; 32]);
        assert!(secret.starts_with(SECRET_PREFIX));
        assert_eq!(secret.len(), SECRET_PREFIX.len() + 43);
        let body = br#"{"leaf_index":3}"#;
        let header = signature_header(&secret, 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="), "{header}");
        verify_signature(&secret, &header, body, 1_700_000_100, 300).unwrap();

        let other = secret_from(&[8; 32]);
        let err = |secret: &str, header: &str, body: &[u8], now| {
            verify_signature(secret, header, body, now, 300).unwrap_err()
        };
        assert_eq!(
            err(&other, &header, body, 1_700_000_000),
            BadSignature::Mismatch
        );
        assert_eq!(
            err(&secret, &header, br#"{"leaf_index":4}"#, 1_700_000_000),
            BadSignature::Mismatch
        );
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(
            err(&secret, &moved, body, 1_700_000_000),
            BadSignature::Mismatch
        );
        assert!(matches!(
            err(&secret, &header, body, 1_700_001_000),
            BadSignature::Stale { age: 1000, .. }
        ));
        for malformed in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz"] {
            assert_eq!(err(&secret, malformed, body, 1), BadSignature::Malformed);
        }
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for s in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.9",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.1",
            "198.51.100.7",
            "203.0.113.7",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "2002:0a00:0001::1",
            "3fff::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "4000::1",
        ] {
            assert!(!is_public(ip(s)), "{s} counted as public");
        }
    }

    #[test]
    fn ordinary_internet_addresses_are_public() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.215.14",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.3.1",
            "192.169.0.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert!(is_public(ip(s)), "{s}: {:?}", non_public_reason(ip(s)));
        }
    }

    proptest! {
        /// An IPv4 address and every IPv6 form carrying it are judged alike.
        #[test]
        fn ipv6_wrappers_of_an_ipv4_address_agree_with_it(raw: u32) {
            let v4 = Ipv4Addr::from(raw);
            let (hi, lo) = ((raw >> 16) as u16, raw as u16);
            let expected = is_public(IpAddr::V4(v4));
            let mapped = v4.to_ipv6_mapped();
            let nat64 = Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo);
            let six_to_four = Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1);
            for v6 in [mapped, nat64, six_to_four] {
                prop_assert_eq!(is_public(IpAddr::V6(v6)), expected, "{} for {}", v6, v4);
            }
        }
    }

    #[test]
    fn url_checks_refuse_literals_and_localhost_but_not_under_any() {
        for bad in [
            "http://127.0.0.1:8080/hook",
            "http://2130706433/hook",
            "http://0x7f.1/hook",
            "http://[::1]/hook",
            "http://[::ffff:10.0.0.1]/",
            "https://169.254.169.254/latest/meta-data",
            "http://localhost:9/",
            "http://LOCALHOST./",
            "http://api.localhost/",
        ] {
            let url = Url::parse(bad).unwrap();
            let refused = check_url(&url, Destinations::PublicOnly).unwrap_err();
            assert!(
                matches!(refused, Refused::NotPublic { .. }),
                "{bad}: {refused}"
            );
            assert!(refused.to_string().contains("not a public address"));
            check_url(&url, Destinations::Any).unwrap();
        }
        for good in ["https://hooks.example.com/x", "http://93.184.215.14/hook"] {
            check_url(&Url::parse(good).unwrap(), Destinations::PublicOnly).unwrap();
        }
    }

    #[tokio::test]
    async fn names_resolving_only_to_private_addresses_are_refused() {
        // `localhost` and its subdomains are refused by name, before any lookup.
        let url = Url::parse("http://localhost:1/").unwrap();
        let refused = check_url_resolving(&url, Destinations::PublicOnly)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("localhost"), "{refused}");
        let unknown = Url::parse("http://no-such-host.invalid/").unwrap();
        let refused = check_url_resolving(&unknown, Destinations::PublicOnly)
            .await
            .unwrap_err();
        assert!(matches!(refused, Refused::Unresolvable { .. }), "{refused}");
        check_url_resolving(&unknown, Destinations::Any)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_client_refuses_to_connect_to_a_name_for_loopback() {
        // A listener on loopback that would accept the connection if it were made.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = client(Destinations::PublicOnly).unwrap();
        let error = client
            .post(format!("http://localhost:{port}/hook"))
            .send()
            .await
            .unwrap_err();
        let refused = refusal(&error).expect("the refusal is found in the error chain");
        assert!(matches!(refused, Refused::NotPublic { .. }), "{refused}");

        // The same request is made under `Any`.
        let accept = tokio::spawn(async move { listener.accept().await.is_ok() });
        let permissive = super::client(Destinations::Any).unwrap();
        let _ = permissive
            .post(format!("http://localhost:{port}/hook"))
            .timeout(Duration::from_millis(500))
            .send()
            .await;
        assert!(accept.await.unwrap());
    }
}
