//! Watch rules: `email:`, `domain:`, `uri:`, `issuer:`, `san-regex:`.
//!
//! A rule is text a person types on a command line or stores in a subscription, so the
//! parser is strict (unknown kinds and empty values are errors, not rules that silently
//! never match) and every rule prints back as the text that parses to it.

use std::fmt;
use std::str::FromStr;

use crate::identity::Identity;

/// Longest rule accepted, in bytes: rules come from users and subscriptions.
pub const MAX_RULE_LEN: usize = 1024;
/// Compiled-size limit for `san-regex:` rules, so a hostile pattern cannot take the
/// monitor's memory (the `regex` crate guarantees linear-time matching already).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a rule was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    #[error("watch rule is longer than {MAX_RULE_LEN} bytes")]
    TooLong,
    #[error("watch rule {0:?} has no kind: use email:, domain:, uri:, issuer: or san-regex:")]
    NoKind(String),
    #[error("unknown watch rule kind {0:?}: use email:, domain:, uri:, issuer: or san-regex:")]
    UnknownKind(String),
    #[error("watch rule {0:?} has an empty value")]
    Empty(String),
    #[error(
        "domain rule {0:?}: a wildcard is only allowed as the whole first label (*.example.com)"
    )]
    BadWildcard(String),
    #[error("san-regex rule: {0}")]
    BadRegex(String),
}

/// One watch rule.
#[derive(Debug, Clone)]
pub enum WatchRule {
    /// An `rfc822Name` SAN, compared ASCII-case-insensitively (mail systems treat
    /// the domain part that way, and a monitor should err towards reporting).
    Email(String),
    /// A `dNSName` SAN. `wildcard`: `*.suffix` matches every name strictly below
    /// `suffix`, at any depth, including SANs that are themselves wildcards;
    /// otherwise the name must equal `suffix`. Case-insensitive, trailing dot ignored.
    Domain { suffix: String, wildcard: bool },
    /// A `uniformResourceIdentifier` SAN, byte-exact (SPIFFE IDs, CI workflow URIs).
    Uri(String),
    /// The Fulcio OIDC issuer extension, byte-exact.
    Issuer(String),
    /// A regular expression searched in every SAN value.
    SanRegex(regex::Regex),
}

fn normalize_dns(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl FromStr for WatchRule {
    type Err = RuleError;

    fn from_str(s: &str) -> Result<Self, RuleError> {
        if s.len() > MAX_RULE_LEN {
            return Err(RuleError::TooLong);
        }
        let (kind, value) = s
            .split_once(':')
            .ok_or_else(|| RuleError::NoKind(s.to_owned()))?;
        if value.is_empty() {
            return Err(RuleError::Empty(s.to_owned()));
        }
        match kind {
            "email" => Ok(Self::Email(value.to_owned())),
            "uri" => Ok(Self::Uri(value.to_owned())),
            "issuer" => Ok(Self::Issuer(value.to_owned())),
            "domain" => {
                let (suffix, wildcard) = match value.strip_prefix("*.") {
                    Some(rest) => (rest, true),
                    None => (value, false),
                };
                let suffix = normalize_dns(suffix);
                if suffix.is_empty() || suffix.contains('*') {
                    return Err(RuleError::BadWildcard(s.to_owned()));
                }
                Ok(Self::Domain { suffix, wildcard })
            }
            "san-regex" => regex::RegexBuilder::new(value)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map(Self::SanRegex)
                .map_err(|e| RuleError::BadRegex(e.to_string())),
            other => Err(RuleError::UnknownKind(other.to_owned())),
        }
    }
}

impl fmt::Display for WatchRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email(v) => write!(f, "email:{v}"),
            Self::Uri(v) => write!(f, "uri:{v}"),
            Self::Issuer(v) => write!(f, "issuer:{v}"),
            Self::Domain { suffix, wildcard } => {
                write!(f, "domain:{}{suffix}", if *wildcard { "*." } else { "" })
            }
            Self::SanRegex(r) => write!(f, "san-regex:{}", r.as_str()),
        }
    }
}

impl WatchRule {
    /// The identity value this rule matched, if any.
    pub fn matches<'a>(&self, id: &'a Identity) -> Option<&'a str> {
        match self {
            Self::Email(want) => id
                .emails
                .iter()
                .find(|e| e.eq_ignore_ascii_case(want))
                .map(String::as_str),
            Self::Uri(want) => id.uris.iter().find(|u| *u == want).map(String::as_str),
            Self::Issuer(want) => id.oidc_issuer.as_deref().filter(|i| i == want),
            Self::Domain { suffix, wildcard } => id
                .dns_names
                .iter()
                .find(|name| {
                    let name = normalize_dns(name);
                    if *wildcard {
                        name.len() > suffix.len() + 1
                            && name.ends_with(suffix.as_str())
                            && name.as_bytes()[name.len() - suffix.len() - 1] == b'.'
                    } else {
                        name == *suffix
                    }
                })
                .map(String::as_str),
            Self::SanRegex(re) => id.san_values().find(|v| re.is_match(v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity {
            emails: vec!["Alice@Example.com".into()],
            dns_names: vec!["www.example.com".into(), "*.api.example.com".into()],
            uris: vec!["spiffe://example.org/ns/prod".into()],
            oidc_issuer: Some("https://accounts.example.com".into()),
            serial: "01".into(),
        }
    }

    fn rule(s: &str) -> WatchRule {
        s.parse().unwrap()
    }

    #[test]
    fn email_rule_matches_case_insensitively() {
        assert_eq!(
            rule("email:alice@example.com").matches(&id()),
            Some("Alice@Example.com")
        );
        assert_eq!(rule("email:bob@example.com").matches(&id()), None);
    }

    #[test]
    fn exact_domain_rule_does_not_match_subdomains() {
        assert_eq!(rule("domain:example.com").matches(&id()), None);
        assert_eq!(
            rule("domain:WWW.example.com.").matches(&id()),
            Some("www.example.com")
        );
    }

    #[test]
    fn wildcard_domain_rule_matches_names_below_at_any_depth() {
        assert_eq!(
            rule("domain:*.example.com").matches(&id()),
            Some("www.example.com")
        );
        assert_eq!(
            rule("domain:*.api.example.com").matches(&id()),
            Some("*.api.example.com")
        );
        // A name that merely ends with the same characters is not below the suffix.
        let other = Identity {
            dns_names: vec!["badexample.com".into(), "example.com".into()],
            ..Identity::default()
        };
        assert_eq!(rule("domain:*.example.com").matches(&other), None);
    }

    #[test]
    fn uri_issuer_and_regex_rules() {
        assert!(
            rule("uri:spiffe://example.org/ns/prod")
                .matches(&id())
                .is_some()
        );
        assert!(rule("uri:spiffe://example.org/ns").matches(&id()).is_none());
        assert!(
            rule("issuer:https://accounts.example.com")
                .matches(&id())
                .is_some()
        );
        assert!(
            rule("issuer:https://accounts.example.co")
                .matches(&id())
                .is_none()
        );
        assert_eq!(
            rule("san-regex:^spiffe://.*/prod$").matches(&id()),
            Some("spiffe://example.org/ns/prod")
        );
    }

    #[test]
    fn malformed_rules_are_errors_not_rules_that_never_match() {
        assert!(matches!(
            "alice".parse::<WatchRule>(),
            Err(RuleError::NoKind(_))
        ));
        assert!(matches!(
            "mail:a@b".parse::<WatchRule>(),
            Err(RuleError::UnknownKind(_))
        ));
        assert!(matches!(
            "email:".parse::<WatchRule>(),
            Err(RuleError::Empty(_))
        ));
        assert!(matches!(
            "domain:a.*.com".parse::<WatchRule>(),
            Err(RuleError::BadWildcard(_))
        ));
        assert!(matches!(
            "domain:*.".parse::<WatchRule>(),
            Err(RuleError::BadWildcard(_))
        ));
        assert!(matches!(
            "san-regex:(".parse::<WatchRule>(),
            Err(RuleError::BadRegex(_))
        ));
        let long = format!("email:{}", "a".repeat(MAX_RULE_LEN));
        assert_eq!(long.parse::<WatchRule>().unwrap_err(), RuleError::TooLong);
    }

    proptest::proptest! {
        #[test]
        fn parser_never_panics_and_rules_print_back(s in "\\PC{0,80}") {
            if let Ok(r) = s.parse::<WatchRule>() {
                let again: WatchRule = r.to_string().parse().unwrap();
                proptest::prop_assert_eq!(again.to_string(), r.to_string());
            }
        }

        #[test]
        fn wildcard_matches_exactly_the_names_below(label in "[a-z0-9-]{1,20}", suffix in "[a-z]{1,10}\\.[a-z]{2,5}") {
            let r: WatchRule = format!("domain:*.{suffix}").parse().unwrap();
            let below = Identity { dns_names: vec![format!("{label}.{suffix}")], ..Identity::default() };
            let glued = Identity { dns_names: vec![format!("{label}{suffix}")], ..Identity::default() };
            proptest::prop_assert!(r.matches(&below).is_some());
            proptest::prop_assert!(r.matches(&glued).is_none());
        }
    }
}
