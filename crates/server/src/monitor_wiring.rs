//! Wiring of the server-side monitor (`monitor::service`): its store, this server's
//! logs and the `[[monitor.logs]]` to follow, and subscribers authenticated as
//! registry accounts.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use clock::SystemClock;
use monitor::service::{MonitorService, OwnLog, RemoteLog, ServiceConfig, SubscriberAuth};
use registry::Registry;
use webapi::ApiError;

use crate::{app, config};

/// Subscribers are registry accounts, authenticated by their API key.
struct RegistrySubscribers(Arc<Registry>);

impl SubscriberAuth for RegistrySubscribers {
    fn subscriber(&self, headers: &HeaderMap) -> Result<i64, ApiError> {
        let key = registry::http::credential(headers)?;
        let account = self.0.authenticate(&key).map_err(ApiError::from)?;
        Ok(account.id)
    }
}

/// Opens the monitor's database and starts following this server's logs (over the
/// loopback address it listens on: `public_url` may name a proxy this host cannot
/// reach) and the configured remote ones.
pub fn start_monitor(
    section: &config::MonitorSection,
    storage: &app::Storage,
    registry: Arc<Registry>,
    logs: &[app::OpenedLog],
    address: SocketAddr,
) -> anyhow::Result<Arc<MonitorService>> {
    let store = storage.monitor()?;
    let mut local = address;
    if local.ip().is_unspecified() {
        local.set_ip(if local.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let own = logs
        .iter()
        .map(|l| OwnLog {
            name: l.log.name().to_owned(),
            url: format!("http://{local}/logs/{}/", l.log.name()),
            spki_der: l.log.public_key_der().to_vec(),
        })
        .collect();
    let mut remote = Vec::new();
    for l in &section.logs {
        let spki_der = BASE64
            .decode(l.public_key.trim())
            .with_context(|| format!("[[monitor.logs]] {}: public_key is not base64", l.url))?;
        remote.push(RemoteLog {
            url: l.url.clone(),
            spki_der,
        });
    }
    let config = ServiceConfig {
        interval: section.interval,
        webhook_give_up: section.webhook_give_up,
        allow_private_webhooks: section.allow_private_webhooks,
    };
    let auth = Arc::new(RegistrySubscribers(registry));
    let service = MonitorService::new(&config, store, auth, own, remote, Arc::new(SystemClock));
    service.spawn()?;
    println!(
        "monitor: {} own log(s), {} remote; subscriptions at /api/v1/subscriptions, status at /api/v1/monitor/status",
        logs.len(),
        section.logs.len()
    );
    Ok(service)
}
