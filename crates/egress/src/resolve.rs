//! Name look-ups on threads of their own, bounded per client, filtered by the
//! destination policy.
//!
//! The system resolver (`getaddrinfo`) blocks, so async clients run it on the
//! runtime's blocking pool by default — the pool the server's token checks, signers and
//! database calls share. A flood of names whose DNS never answers (made-up
//! meta-issuer hosts, webhook hosts behind a black-hole name server) would then hold
//! those threads for the resolver's whole timeout. Here each look-up gets its own
//! short-lived thread, at most [`MAX_LOOKUPS`] at once per [`Resolver`]; a look-up
//! waits at most [`LOOKUP_TIMEOUT`] for a free thread and as long for the answer.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::Semaphore;

use crate::address::{is_localhost, is_public, non_public_reason};
use crate::{Destinations, Refused, check_url};

/// Look-ups one [`Resolver`] runs at once (each on a thread of its own).
pub const MAX_LOOKUPS: usize = 8;
/// How long a look-up waits for a free thread, and then for its answer.
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Every look-up thread of this process's resolver was busy for [`LOOKUP_TIMEOUT`]:
/// this process's own saturation, not the destination's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("all {MAX_LOOKUPS} name look-up threads are busy")]
pub struct Saturated;

/// Why a look-up gave no usable address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Saturated(#[from] Saturated),
}

/// A resolver for one client (cheap to clone; clones share the threads' bound).
#[derive(Debug, Clone)]
pub struct Resolver {
    destinations: Destinations,
    slots: Arc<Semaphore>,
}

impl Resolver {
    /// A resolver answering only with addresses `destinations` allows.
    pub fn new(destinations: Destinations) -> Self {
        Self {
            destinations,
            slots: Arc::new(Semaphore::new(MAX_LOOKUPS)),
        }
    }

    /// The policy it applies.
    pub fn destinations(&self) -> Destinations {
        self.destinations
    }

    /// The addresses of `name` the policy allows; an error if there are none.
    pub async fn lookup(&self, name: &str) -> Result<Vec<SocketAddr>, LookupError> {
        let public_only = self.destinations == Destinations::PublicOnly;
        if public_only && is_localhost(name) {
            return Err(Refused::NotPublic {
                host: name.to_owned(),
                reason: "localhost",
            }
            .into());
        }
        let found = self.system_lookup(name).await?;
        if !public_only {
            return if found.is_empty() {
                Err(no_addresses(name).into())
            } else {
                Ok(found)
            };
        }
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
            }
            .into()),
            (true, None) => Err(no_addresses(name).into()),
        }
    }

    /// [`check_url`] plus, for a host name under [`Destinations::PublicOnly`], a
    /// look-up that must find a public address: the early, friendly answer when a URL
    /// is registered. Requests are still checked at connect time.
    pub async fn check(&self, url: &Url) -> Result<(), Refused> {
        check_url(url, self.destinations)?;
        if self.destinations == Destinations::Any {
            return Ok(());
        }
        let Some(url::Host::Domain(name)) = url.host() else {
            return Ok(());
        };
        match self.lookup(name).await {
            Ok(_) => Ok(()),
            Err(LookupError::Refused(refused)) => Err(refused),
            Err(LookupError::Saturated(busy)) => Err(Refused::Unresolvable {
                host: name.to_owned(),
                error: busy.to_string(),
            }),
        }
    }

    /// `getaddrinfo` on a thread of its own, holding one of the resolver's slots until
    /// it returns — also when the caller stopped waiting — so that the bound is real.
    async fn system_lookup(&self, name: &str) -> Result<Vec<SocketAddr>, LookupError> {
        let slot = tokio::time::timeout(LOOKUP_TIMEOUT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Saturated)?
            .map_err(|_| Saturated)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let host = name.to_owned();
        std::thread::Builder::new()
            .name("egress-lookup".into())
            .spawn(move || {
                let answer = (host.as_str(), 0)
                    .to_socket_addrs()
                    .map(Iterator::collect::<Vec<_>>);
                drop(slot);
                let _ = tx.send(answer);
            })
            .map_err(|_| Saturated)?;
        let unresolvable = |error: String| Refused::Unresolvable {
            host: name.to_owned(),
            error,
        };
        match tokio::time::timeout(LOOKUP_TIMEOUT, rx).await {
            Ok(Ok(Ok(addrs))) => Ok(addrs),
            Ok(Ok(Err(e))) => Err(unresolvable(e.to_string()).into()),
            Ok(Err(_)) => Err(unresolvable("the look-up thread failed".into()).into()),
            Err(_) => Err(unresolvable(format!("no answer within {LOOKUP_TIMEOUT:?}")).into()),
        }
    }
}

fn no_addresses(name: &str) -> Refused {
    Refused::Unresolvable {
        host: name.to_owned(),
        error: "no addresses".to_owned(),
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = this.lookup(&name).await.map_err(
                |e| -> Box<dyn std::error::Error + Send + Sync> {
                    match e {
                        LookupError::Refused(r) => Box::new(r),
                        LookupError::Saturated(s) => Box::new(s),
                    }
                },
            )?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
