//! Values that are public by design: keys a vendor tells you to ship to browsers, a Sentry DSN
//! without its secret part, a URL that carries no credential. One check shared by the generic
//! detector and `secrets.env-file-committed`, so both agree on what is not a secret (issue 17).

/// Prefixes of keys meant for clients: Firebase/Google browser keys, Stripe and Mapbox
/// publishable keys, Supabase publishable keys, `PostHog` project keys, Langfuse public keys, and
/// Salesforce connected-app consumer keys (`3MVG9…`: the OAuth client id; its consumer secret is
/// the credential), and Lob's publishable keys (`live_pub_…`, `test_pub_…`, for address
/// autocompletion in the browser; its secret keys are `live_…`/`test_…` without `pub`).
const PUBLIC_PREFIXES: &[&str] = &[
    "AIza",
    "pk_",
    "pk.",
    "sb_publishable_",
    "phc_",
    "pk-lf-",
    "3MVG9",
    "live_pub_",
    "test_pub_",
];

/// Whether the value under `name` is public by design: a client key by its prefix, an Algolia
/// search-only key, a Sentry DSN without a secret, or a URL without credentials.
pub fn is_public_value(name: &str, value: &str) -> bool {
    PUBLIC_PREFIXES.iter().any(|p| value.starts_with(p))
        || is_algolia_search_key(name)
        || is_credential_less_url(value)
}

/// An Algolia key named for search (`ALGOLIA_SEARCH_KEY`, `algoliaSearchOnlyApiKey`): Algolia
/// documents the search-only key as safe to ship in front-end code; the admin key is another name.
fn is_algolia_search_key(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.contains("algolia") && lower.contains("search") && !lower.contains("admin")
}

/// A URL whose user-info part holds no password and whose query names no credential:
/// `https://api.example.com/v1`, `redis://cache:6379`, a Sentry DSN `https://<key>@o1.ingest.sentry.io/2`
/// (its public key alone only sends events; the legacy `<key>:<secret>@` form keeps its secret).
fn is_credential_less_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else {
        return false;
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-'))
    {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if let Some((userinfo, _host)) = authority.rsplit_once('@')
        && userinfo.contains(':')
    {
        return false;
    }
    let query = rest
        .split_once('?')
        .map_or("", |(_, q)| q)
        .to_ascii_lowercase();
    !["token", "key", "secret", "password", "pwd", "sig", "auth"]
        .iter()
        .any(|w| query.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_values() {
        assert!(is_public_value(
            "SENTRY_DSN",
            "https://3f2c5a9b8e7d4c1fa0b9c8d7e6f5a4b3@o450123.ingest.sentry.io/5512345"
        ));
        assert!(is_public_value("REDIS_URL", "redis://cache:6379"));
        assert!(is_public_value(
            "ALGOLIA_SEARCH_KEY",
            "2f8a1c9e0b7d6f5a4c3b2a1908f7e6d5"
        ));
        assert!(is_public_value("key", "pk_live_51H8abcdefGHIJ"));
    }

    #[test]
    fn credentials_are_not_public() {
        assert!(!is_public_value(
            "SENTRY_DSN",
            "https://3f2c5a9b8e7d4c1f:a0b9c8d7e6f5a4b3@sentry.io/55"
        ));
        assert!(!is_public_value(
            "DATABASE_URL",
            "postgres://app:S3cr3tPw@db.internal/app"
        ));
        assert!(!is_public_value(
            "ALGOLIA_ADMIN_KEY",
            "2f8a1c9e0b7d6f5a4c3b2a1908f7e6d5"
        ));
        assert!(!is_public_value(
            "URL",
            "https://x.blob.core.windows.net/c?sv=2020&sig=abc"
        ));
    }
}
