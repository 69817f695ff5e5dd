//! Client-key checks for the evaluation endpoints.

use subtle::ConstantTimeEq;

use crate::config::ClientKeys;

/// Why a request may not evaluate flags of a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No key, or a key that is not configured: 401.
    MissingOrUnknown,
    /// A configured key that is limited to another tenant: 403.
    OtherTenant,
}

/// Reads the client key from `Authorization: Bearer KEY` or `X-API-Key`,
/// the two schemes that OFREP names.
pub fn presented_key<'a>(
    authorization: Option<&'a str>,
    api_key: Option<&'a str>,
) -> Option<&'a str> {
    let bearer = authorization.and_then(|value| {
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    bearer
        .or(api_key.map(str::trim))
        .filter(|key| !key.is_empty())
}

/// Checks that `key` may evaluate flags of `tenant`, or with `tenant` set
/// to `None`, that it is a configured key at all. With no keys configured,
/// every request passes.
pub fn authorize(keys: &ClientKeys, key: Option<&str>, tenant: Option<&str>) -> Result<(), Denied> {
    if !keys.required() {
        return Ok(());
    }
    let key = key.ok_or(Denied::MissingOrUnknown)?;

    // Compare against every entry in constant time per entry, so that the
    // time taken does not reveal how much of a key matched.
    let mut known = false;
    let mut allowed = false;
    for entry in &keys.entries {
        let same: bool = entry.key.as_bytes().ct_eq(key.as_bytes()).into();
        if same {
            known = true;
            allowed |= match (entry.tenant.as_deref(), tenant) {
                (Some(limit), Some(tenant)) => limit == tenant,
                _ => true,
            };
        }
    }
    match (known, allowed) {
        (_, true) => Ok(()),
        (true, false) => Err(Denied::OtherTenant),
        (false, _) => Err(Denied::MissingOrUnknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientKey;

    fn keys() -> ClientKeys {
        ClientKeys {
            entries: vec![
                ClientKey {
                    tenant: None,
                    key: "all".into(),
                },
                ClientKey {
                    tenant: Some("acme".into()),
                    key: "acme-key".into(),
                },
            ],
        }
    }

    #[test]
    fn no_keys_configured_allows_all() {
        assert_eq!(
            authorize(&ClientKeys::default(), None, Some("acme")),
            Ok(())
        );
    }

    #[test]
    fn global_and_tenant_keys_allow() {
        assert_eq!(authorize(&keys(), Some("all"), Some("other")), Ok(()));
        assert_eq!(authorize(&keys(), Some("acme-key"), Some("acme")), Ok(()));
    }

    #[test]
    fn tenant_key_elsewhere_is_forbidden() {
        let result = authorize(&keys(), Some("acme-key"), Some("globex"));
        assert_eq!(result, Err(Denied::OtherTenant));
    }

    #[test]
    fn missing_or_unknown_key_is_unauthorized() {
        assert_eq!(
            authorize(&keys(), None, Some("acme")),
            Err(Denied::MissingOrUnknown)
        );
        let unknown = authorize(&keys(), Some("acme-ke"), None);
        assert_eq!(unknown, Err(Denied::MissingOrUnknown));
    }

    #[test]
    fn tenant_key_is_known_without_tenant() {
        assert_eq!(authorize(&keys(), Some("acme-key"), None), Ok(()));
    }

    #[test]
    fn presented_key_reads_both_schemes() {
        assert_eq!(presented_key(Some("Bearer abc"), None), Some("abc"));
        assert_eq!(presented_key(Some("bearer  abc "), None), Some("abc"));
        assert_eq!(presented_key(None, Some("xyz")), Some("xyz"));
        assert_eq!(presented_key(Some("Basic abc"), None), None);
        assert_eq!(presented_key(Some("Bearer "), Some("")), None);
    }
}
