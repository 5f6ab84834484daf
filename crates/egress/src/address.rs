//! Which IP addresses are public: globally routable unicast, as the IANA special-purpose
//! address registries (RFC 6890 and its updates) leave them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// `localhost` and its subdomains: loopback by definition (RFC 6761 §6.3), whatever a
/// resolver says.
pub(crate) fn is_localhost(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}
