//! The name under which the store keeps a followed log's state, its queued deliveries
//! and its alerts.

use std::fmt;
use std::str::FromStr;

/// A followed log as the store names it: `local:NAME` for this server's own logs,
/// `remote:URL` for the logs of other operators. Own logs are keyed by name, not URL:
/// the URL changes with the listen port, the log (and its pinned key) does not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FollowedLog {
    /// One of this server's logs, by name.
    Local(String),
    /// Another operator's log, by its URL as the follower normalises it (with its
    /// final slash).
    Remote(String),
}

impl FollowedLog {
    /// Whether `stored`, a log key read from the store, names this log.
    pub fn is(&self, stored: &str) -> bool {
        stored.parse::<Self>().is_ok_and(|key| key == *self)
    }
}

impl fmt::Display for FollowedLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(name) => write!(f, "local:{name}"),
            Self::Remote(url) => write!(f, "remote:{url}"),
        }
    }
}

/// A stored log key that is neither `local:…` nor `remote:…`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a followed log (local:NAME or remote:URL)")]
pub struct FollowedLogError(pub String);

impl FromStr for FollowedLog {
    type Err = FollowedLogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix("local:") {
            Ok(Self::Local(name.to_owned()))
        } else if let Some(url) = s.strip_prefix("remote:") {
            Ok(Self::Remote(url.to_owned()))
        } else {
            Err(FollowedLogError(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_stored_strings() {
        let local = FollowedLog::Local("a2026".into());
        let remote = FollowedLog::Remote("https://ct.example.com/logs/b/".into());
        assert_eq!(local.to_string(), "local:a2026");
        assert_eq!(remote.to_string(), "remote:https://ct.example.com/logs/b/");
        assert_eq!("local:a2026".parse(), Ok(local.clone()));
        assert_eq!(
            "remote:https://ct.example.com/logs/b/".parse(),
            Ok(remote.clone())
        );
        assert!(local.is("local:a2026"));
        assert!(!local.is("remote:a2026"));
        assert!(!remote.is("https://ct.example.com/logs/b/"));
        assert!("a2026".parse::<FollowedLog>().is_err());
    }
}
