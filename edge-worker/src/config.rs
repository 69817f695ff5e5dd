//! The worker's configuration, read from `[vars]` and secrets once per
//! isolate.

use std::time::Duration;

/// Default for `REFRESH_INTERVAL_SECONDS`. Short enough that a change
/// reaches the edge in under a second while traffic flows; each refresh is
/// a conditional request that the control plane answers from memory.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_millis(500);
/// Default for `SNAPSHOT_TIMEOUT_SECONDS`.
pub const DEFAULT_SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default for `CACHE_MAX_AGE_SECONDS`.
pub const DEFAULT_CACHE_MAX_AGE_SECONDS: u32 = 5;

const MAX_INTERVAL_SECONDS: f64 = 3600.0;
const MIN_INTERVAL_SECONDS: f64 = 0.05;

/// Settings of one worker deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Base URL of the control plane, without a trailing slash.
    pub control_plane_url: String,
    /// The edge token sent as a bearer token when fetching snapshots.
    pub edge_token: String,
    /// How old a snapshot check may get before a request starts a refresh.
    pub refresh_interval: Duration,
    /// Bound on one snapshot fetch, including the wait of a cold isolate.
    pub snapshot_timeout: Duration,
    /// `max-age` of evaluation responses, in seconds.
    pub cache_max_age_seconds: u32,
    /// Origins that browsers may call the evaluation endpoints from.
    pub allowed_origins: AllowedOrigins,
    /// Client keys that evaluation requests must present, if any.
    pub client_keys: ClientKeys,
}

/// The `ALLOWED_ORIGINS` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `*`: every origin.
    Any,
    /// Exact origins such as `https://app.example.com`.
    List(Vec<String>),
}

/// The `CLIENT_KEYS` secret: keys that evaluation requests carry as
/// `Authorization: Bearer KEY` or `X-API-Key: KEY`.
///
/// Each comma-separated entry is either `KEY`, valid for every tenant, or
/// `TENANT=KEY`, valid for that tenant only. With no entries, evaluation
/// needs no key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientKeys {
    pub entries: Vec<ClientKey>,
}

impl ClientKeys {
    /// Returns true when evaluation requests must present a key.
    pub fn required(&self) -> bool {
        !self.entries.is_empty()
    }
}

/// One accepted client key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    /// The tenant this key is limited to, or `None` for every tenant.
    pub tenant: Option<String>,
    pub key: String,
}

/// A configuration value that is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("missing {name}: {fix}")]
    Missing {
        name: &'static str,
        fix: &'static str,
    },
    #[error("invalid {name} {value:?}: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// Raw configuration strings, as the runtime hands them over.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawConfig<'a> {
    pub control_plane_url: Option<&'a str>,
    pub edge_token: Option<&'a str>,
    pub refresh_interval_seconds: Option<&'a str>,
    pub snapshot_timeout_seconds: Option<&'a str>,
    pub cache_max_age_seconds: Option<&'a str>,
    pub allowed_origins: Option<&'a str>,
    pub client_keys: Option<&'a str>,
}

impl Config {
    /// Validates raw settings. Empty strings count as unset.
    pub fn parse(raw: RawConfig<'_>) -> Result<Config, ConfigError> {
        let raw_url = non_empty(raw.control_plane_url).ok_or(ConfigError::Missing {
            name: "CONTROL_PLANE_URL",
            fix: "set it in [vars] of wrangler.toml, e.g. \"http://127.0.0.1:8080\"",
        })?;
        let control_plane_url = parse_url(raw_url)?;
        let edge_token = non_empty(raw.edge_token).ok_or(ConfigError::Missing {
            name: "EDGE_TOKEN",
            fix: "put an edge token of the control plane in .dev.vars for local runs, \
                  or run `wrangler secret put EDGE_TOKEN`",
        })?;

        let refresh_interval = match non_empty(raw.refresh_interval_seconds) {
            Some(text) => parse_seconds("REFRESH_INTERVAL_SECONDS", text)?,
            None => DEFAULT_REFRESH_INTERVAL,
        };
        let snapshot_timeout = match non_empty(raw.snapshot_timeout_seconds) {
            Some(text) => parse_seconds("SNAPSHOT_TIMEOUT_SECONDS", text)?,
            None => DEFAULT_SNAPSHOT_TIMEOUT,
        };
        let cache_max_age_seconds = match non_empty(raw.cache_max_age_seconds) {
            Some(text) => text
                .trim()
                .parse::<u32>()
                .map_err(|_| ConfigError::Invalid {
                    name: "CACHE_MAX_AGE_SECONDS",
                    value: text.to_owned(),
                    expected: "a whole number of seconds, such as 5",
                })?,
            None => DEFAULT_CACHE_MAX_AGE_SECONDS,
        };

        Ok(Config {
            control_plane_url,
            edge_token: edge_token.to_owned(),
            refresh_interval,
            snapshot_timeout,
            cache_max_age_seconds,
            allowed_origins: parse_origins(non_empty(raw.allowed_origins))?,
            client_keys: parse_client_keys(non_empty(raw.client_keys))?,
        })
    }

    /// The URL of the snapshot endpoint.
    pub fn snapshot_url(&self) -> String {
        format!("{}/v1/snapshot", self.control_plane_url)
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn parse_url(text: &str) -> Result<String, ConfigError> {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
    if !host_ok || text.contains(['?', '#', ' ']) {
        return Err(ConfigError::Invalid {
            name: "CONTROL_PLANE_URL",
            value: text.to_owned(),
            expected: "an http:// or https:// URL with a host and no query, \
                       such as http://127.0.0.1:8080",
        });
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn parse_seconds(name: &'static str, text: &str) -> Result<Duration, ConfigError> {
    let invalid = || ConfigError::Invalid {
        name,
        value: text.to_owned(),
        expected: "a number of seconds from 0.05 to 3600, such as 0.5 or 10",
    };
    let seconds: f64 = text.trim().parse().map_err(|_| invalid())?;
    if !(MIN_INTERVAL_SECONDS..=MAX_INTERVAL_SECONDS).contains(&seconds) {
        return Err(invalid());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_origins(text: Option<&str>) -> Result<AllowedOrigins, ConfigError> {
    let Some(text) = text else {
        return Ok(AllowedOrigins::Any);
    };
    if text == "*" {
        return Ok(AllowedOrigins::Any);
    }
    let mut origins = Vec::new();
    for origin in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let valid = (origin.starts_with("https://") || origin.starts_with("http://"))
            && !origin.ends_with('/')
            && !origin.contains([' ', '*']);
        if !valid {
            return Err(ConfigError::Invalid {
                name: "ALLOWED_ORIGINS",
                value: origin.to_owned(),
                expected: "\"*\" or comma-separated origins such as \
                           https://app.example.com (scheme and host, no path or trailing slash)",
            });
        }
        origins.push(origin.to_owned());
    }
    Ok(AllowedOrigins::List(origins))
}

fn parse_client_keys(text: Option<&str>) -> Result<ClientKeys, ConfigError> {
    let mut entries = Vec::new();
    for entry in text.unwrap_or("").split(',').map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        let (tenant, key) = match entry.split_once('=') {
            Some((tenant, key)) => (Some(tenant.trim()), key.trim()),
            None => (None, entry),
        };
        let tenant_ok = tenant.is_none_or(|t| {
            cascade_shared::id::validate_slug(cascade_shared::IdKind::Tenant, t).is_ok()
        });
        // Browsers send header values outside visible ASCII as Latin-1,
        // not UTF-8, so such a key could never match.
        let key_ok = !key.is_empty() && key.bytes().all(|byte| byte.is_ascii_graphic());
        if !key_ok || !tenant_ok {
            // The entry holds a secret, so the error names its position only.
            return Err(ConfigError::Invalid {
                name: "CLIENT_KEYS",
                value: format!("entry {}", entries.len() + 1),
                expected: "comma-separated entries of KEY or TENANT=KEY with a valid tenant slug \
                           and a key of visible ASCII characters",
            });
        }
        entries.push(ClientKey {
            tenant: tenant.map(str::to_owned),
            key: key.to_owned(),
        });
    }
    if entries.is_empty()
        && let Some(text) = text
    {
        // A value of separators only would otherwise leave every tenant
        // open while the operator believes that keys are required.
        return Err(ConfigError::Invalid {
            name: "CLIENT_KEYS",
            value: text.to_owned(),
            expected: "at least one entry of KEY or TENANT=KEY; unset CLIENT_KEYS to accept \
                       requests without a key",
        });
    }
    Ok(ClientKeys { entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> RawConfig<'static> {
        RawConfig {
            control_plane_url: Some("http://127.0.0.1:8080/"),
            edge_token: Some("edge-secret"),
            ..RawConfig::default()
        }
    }

    #[test]
    fn parse_applies_defaults() {
        let config = Config::parse(minimal()).unwrap();
        assert_eq!(config.control_plane_url, "http://127.0.0.1:8080");
        assert_eq!(config.snapshot_url(), "http://127.0.0.1:8080/v1/snapshot");
        assert_eq!(config.refresh_interval, DEFAULT_REFRESH_INTERVAL);
        assert_eq!(config.snapshot_timeout, DEFAULT_SNAPSHOT_TIMEOUT);
        assert_eq!(config.allowed_origins, AllowedOrigins::Any);
        assert!(config.client_keys.entries.is_empty());
    }

    #[test]
    fn parse_reads_fractional_interval() {
        let raw = RawConfig {
            refresh_interval_seconds: Some("0.25"),
            ..minimal()
        };
        let config = Config::parse(raw).unwrap();
        assert_eq!(config.refresh_interval, Duration::from_millis(250));
    }

    #[test]
    fn parse_rejects_missing_url_and_token() {
        let no_url = RawConfig {
            control_plane_url: Some(" "),
            ..minimal()
        };
        let err = Config::parse(no_url).unwrap_err();
        assert!(err.to_string().contains("CONTROL_PLANE_URL"), "{err}");
        let no_token = RawConfig {
            edge_token: None,
            ..minimal()
        };
        let err = Config::parse(no_token).unwrap_err();
        assert!(err.to_string().contains("EDGE_TOKEN"), "{err}");
    }

    #[test]
    fn parse_rejects_bad_values_by_name() {
        let cases = [
            (
                RawConfig {
                    control_plane_url: Some("ftp://host"),
                    ..minimal()
                },
                "CONTROL_PLANE_URL",
            ),
            (
                RawConfig {
                    refresh_interval_seconds: Some("0"),
                    ..minimal()
                },
                "REFRESH_INTERVAL_SECONDS",
            ),
            (
                RawConfig {
                    snapshot_timeout_seconds: Some("soon"),
                    ..minimal()
                },
                "SNAPSHOT_TIMEOUT_SECONDS",
            ),
            (
                RawConfig {
                    cache_max_age_seconds: Some("-1"),
                    ..minimal()
                },
                "CACHE_MAX_AGE_SECONDS",
            ),
            (
                RawConfig {
                    allowed_origins: Some("https://a.example/"),
                    ..minimal()
                },
                "ALLOWED_ORIGINS",
            ),
        ];
        for (raw, name) in cases {
            let err = Config::parse(raw).unwrap_err();
            assert!(err.to_string().contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn origins_list_is_split_and_trimmed() {
        let raw = RawConfig {
            allowed_origins: Some("https://a.example, http://127.0.0.1:3000"),
            ..minimal()
        };
        let config = Config::parse(raw).unwrap();
        let expected = vec![
            "https://a.example".to_owned(),
            "http://127.0.0.1:3000".to_owned(),
        ];
        assert_eq!(config.allowed_origins, AllowedOrigins::List(expected));
    }

    #[test]
    fn client_keys_accept_global_and_tenant_entries() {
        let raw = RawConfig {
            client_keys: Some("k-all, acme=k-acme"),
            ..minimal()
        };
        let keys = Config::parse(raw).unwrap().client_keys.entries;
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].tenant, None);
        assert_eq!(keys[1].tenant.as_deref(), Some("acme"));
        assert_eq!(keys[1].key, "k-acme");
    }

    #[test]
    fn client_keys_error_hides_key() {
        let raw = RawConfig {
            client_keys: Some("Bad Tenant=secret-value"),
            ..minimal()
        };
        let err = Config::parse(raw).unwrap_err().to_string();
        assert!(err.contains("entry 1"), "{err}");
        assert!(!err.contains("secret-value"), "{err}");
    }

    #[test]
    fn client_keys_reject_value_without_entries() {
        for keys in [",", " , ,"] {
            let raw = RawConfig {
                client_keys: Some(keys),
                ..minimal()
            };
            let err = Config::parse(raw).unwrap_err().to_string();
            assert!(err.contains("CLIENT_KEYS"), "{err}");
            assert!(err.contains("at least one entry"), "{err}");
        }
    }

    #[test]
    fn client_keys_reject_non_ascii_keys() {
        for keys in ["acme=k\u{e9}", "ok, with space", "tab\tkey"] {
            let raw = RawConfig {
                client_keys: Some(keys),
                ..minimal()
            };
            let err = Config::parse(raw).unwrap_err().to_string();
            assert!(err.contains("visible ASCII"), "{keys:?}: {err}");
        }
    }
}
