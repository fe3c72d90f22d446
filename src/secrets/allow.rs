//! Value checks shared by every detector: placeholders, fake test values, entropy, and the
//! redacted form that output shows instead of a secret.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark a value as a placeholder, a documented example or an obvious fake
/// (lowercase; matched case-insensitively anywhere in the value).
const PLACEHOLDER_WORDS: &[&str] = &[
    "xxxx",
    "****",
    "....",
    "your",
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "replace",
    "insert",
    "dummy",
    "redacted",
    "sample",
    "fake",
    "mock",
    "<",
    ">",
    "${",
    "{{",
    "$(",
    "todo",
    "secret_here",
    "key_here",
    "token_here",
    "here_",
    "_here",
    "abcdef",
    "123456",
    "000000",
    "aaaaaa",
    "zzzzzz",
    "lorem",
    "foobar",
    "not_a_real",
    "notarealkey",
    "not-a-real",
    "my_secret",
    "mysecret",
    "my-secret",
];

/// Whether the value is a placeholder, template variable, documented example or obvious fake.
pub fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // %VAR% (Windows-style and many templating tools), $VAR, process.env-style references
    if (value.starts_with('%') && value.ends_with('%') && value.len() > 2)
        || value.starts_with('$')
        || lower.starts_with("process.env")
        || lower.starts_with("import.meta.env")
    {
        return true;
    }
    is_low_variety(value)
}

/// A value made of very few distinct characters (`aaaa...`, `abababab`) or one long run.
fn is_low_variety(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.len() < 8 {
        return false;
    }
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in bytes {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
    }
    distinct <= 3
}

/// Whether the value looks like a UUID (ids, not secrets, unless a rule says otherwise).
pub fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The form shown instead of a secret: first four characters, length and a short SHA-256
/// prefix, e.g. `sk_l…(32 chars, sha256:1a2b3c4d)`. Two findings of one secret share it.
pub fn redacted(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    let digest = Sha256::digest(secret.as_bytes());
    let hash = digest[..4].iter().fold(String::new(), |mut acc, b| {
        let _ = write!(acc, "{b:02x}");
        acc
    });
    format!("{head}…({} chars, sha256:{hash})", secret.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for v in [
            "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "your-api-key-here",
            "<YOUR_TOKEN>",
            "${STRIPE_KEY}",
            "{{ secret }}",
            "%API_KEY%",
            "changeme",
            "AKIAIOSFODNN7EXAMPLE",
            "aaaaaaaaaaaaaaaa",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        assert!(!is_placeholder("q8Vb3kQ9zT1mR7xW2pL5nH8c"));
    }

    #[test]
    fn redacted_form_hides_the_secret() {
        let r = redacted("sk_live_q8Vb3kQ9zT1mR7xW2pL5nH8c");
        assert!(r.starts_with("sk_l…(32 chars, sha256:"));
        assert!(!r.contains("q8Vb"));
    }

    #[test]
    fn entropy_orders_random_above_words() {
        assert!(entropy("q8Vb3kQ9zT1mR7xW2pL5nH8c") > entropy("passwordpassword"));
    }
}
