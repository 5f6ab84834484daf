use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use reqwest::Url;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
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
    let public = Resolver::new(Destinations::PublicOnly);
    let url = Url::parse("http://localhost:1/").unwrap();
    let refused = public.check(&url).await.unwrap_err();
    assert!(refused.to_string().contains("localhost"), "{refused}");
    let unknown = Url::parse("http://no-such-host.invalid/").unwrap();
    let refused = public.check(&unknown).await.unwrap_err();
    assert!(matches!(refused, Refused::Unresolvable { .. }), "{refused}");
    Resolver::new(Destinations::Any)
        .check(&unknown)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_client_refuses_to_connect_to_a_name_for_loopback() {
    // A listener on loopback that would accept the connection if it were made.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = client_builder(&Resolver::new(Destinations::PublicOnly))
        .build()
        .unwrap();
    let error = client
        .post(format!("http://localhost:{port}/hook"))
        .send()
        .await
        .unwrap_err();
    let refused = refusal(&error).expect("the refusal is found in the error chain");
    assert!(matches!(refused, Refused::NotPublic { .. }), "{refused}");
    assert!(!saturated(&error));

    // The same request is made under `Any`.
    let accept = tokio::spawn(async move { listener.accept().await.is_ok() });
    let permissive = client_builder(&Resolver::new(Destinations::Any))
        .build()
        .unwrap();
    let _ = permissive
        .post(format!("http://localhost:{port}/hook"))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(accept.await.unwrap());
}

#[test]
fn redirects_are_not_followed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut requests = 0;
            while let Ok(Ok((mut conn, _))) =
                tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
            {
                requests += 1;
                let mut buf = [0u8; 1024];
                let _ = conn.read(&mut buf).await;
                let _ = conn
                    .write_all(
                        b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    )
                    .await;
            }
            requests
        });
        let client = client_builder(&Resolver::new(Destinations::Any))
            .build()
            .unwrap();
        let resp = client
            .get(format!("http://127.0.0.1:{port}/start"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 302);
        assert_eq!(server.await.unwrap(), 1, "the redirect was followed");
    });
}

/// The resolver does not need the runtime's blocking pool: with its only blocking
/// thread taken, a look-up still answers at once.
#[test]
fn lookups_do_not_wait_for_the_blocking_pool() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let busy = tokio::task::spawn_blocking(move || held.recv_timeout(Duration::from_secs(30)));
        let started = Instant::now();
        let addrs = Resolver::new(Destinations::Any)
            .lookup("localhost")
            .await
            .unwrap();
        assert!(!addrs.is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
    });
}
