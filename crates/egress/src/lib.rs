//! Where the server's own outbound HTTP requests may go.
//!
//! Some URLs the server fetches are chosen by people outside it: webhook URLs come from
//! registry accounts, and a meta-issuer (`https://oidc.eks.*.amazonaws.com/id/*`) lets
//! a token name the identity provider whose keys the server then fetches. Unchecked,
//! either could aim the server at its cloud metadata endpoint (169.254.169.254), the
//! database, or an admin port on loopback. So, by default, such a request must reach a
//! public address: IP literals are checked before the request ([`check_url`]), and
//! host names go through a [`Resolver`] that drops non-public answers at connect time
//! — a name that resolved to a public address when it was checked and to loopback
//! later (DNS rebinding) gains nothing. Redirects are not followed (a 3xx could point
//! anywhere) and no proxy is used (a proxy would resolve the name itself).
//!
//! Name look-ups run on threads of their own, a bounded number per client, and not on
//! the async runtime's blocking pool: a burst of look-ups for names whose DNS never
//! answers must not take the threads that token checks, signing and database calls
//! need.

mod address;
mod resolve;

pub use address::{is_public, non_public_reason};
pub use resolve::{LOOKUP_TIMEOUT, LookupError, MAX_LOOKUPS, Resolver, Saturated};

use reqwest::Url;

/// Which addresses requests may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destinations {
    /// Only globally routable unicast addresses (the default for a server).
    PublicOnly,
    /// Anything, loopback and private networks included (`--dev`, or a deployment
    /// whose receivers or identity providers live on its own network).
    Any,
}

/// A request refused because of where it points.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("host {host} is {reason}, not a public address")]
    NotPublic { host: String, reason: &'static str },
    #[error("host {host} does not resolve: {error}")]
    Unresolvable { host: String, error: String },
    #[error("the URL has no host")]
    NoHost,
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
        url::Host::Ipv4(ip) => non_public_reason(ip.into()).map_or(Ok(()), |r| Err(refused(r))),
        url::Host::Ipv6(ip) => non_public_reason(ip.into()).map_or(Ok(()), |r| Err(refused(r))),
        url::Host::Domain(name) => {
            if address::is_localhost(name) {
                Err(refused("localhost"))
            } else {
                Ok(())
            }
        }
    }
}

/// A client builder with the policy of `resolver` applied: no redirects, look-ups
/// through it (sharing its threads), and under [`Destinations::PublicOnly`] no proxy.
/// Callers add their timeouts and user agent.
pub fn client_builder(resolver: &Resolver) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(resolver.clone());
    match resolver.destinations() {
        Destinations::Any => builder,
        Destinations::PublicOnly => builder.no_proxy(),
    }
}

/// The refusal behind a failed request, if the failure was one: retrying such a
/// request cannot help.
pub fn refusal(error: &reqwest::Error) -> Option<&Refused> {
    find_in_chain(error)
}

/// Whether a failed request failed because this process had no look-up thread free in
/// time ([`Saturated`]): not the destination's fault, and not to be held against it.
pub fn saturated(error: &reqwest::Error) -> bool {
    find_in_chain::<Saturated>(error).is_some()
}

fn find_in_chain<T: std::error::Error + 'static>(error: &reqwest::Error) -> Option<&T> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests;
