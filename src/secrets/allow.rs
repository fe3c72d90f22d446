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

/// Words that mark a value as a placeholder wherever they occur in it, even inside a longer token
/// (lowercase, matched against the value with separators removed). Each is six letters or more
/// (or a telling compound), so a random token contains one by chance less than once in a million
/// (a 40-character base62 token holds a given six-letter word with odds of about 1e-7).
const PLACEHOLDER_INFIXES: &[&str] = &[
    "example",
    "placeholder",
    "changeme",
    "replaceme",
    "redacted",
    "notareal",
    "notreal",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "yourapi",
    "yourpass",
    "insertyour",
    "secrethere",
    "keyhere",
    "tokenhere",
    "passwordhere",
    "xxxxxx",
];

/// Whole segments (runs of letters and digits between separators) that mark a placeholder:
/// `your-api-key-here`, `sk_test_dummy`, `my-secret`, `<token>` words.
const PLACEHOLDER_SEGMENTS: &[&str] = &[
    "your",
    "yours",
    "my",
    "here",
    "example",
    "sample",
    "placeholder",
    "dummy",
    "fake",
    "mock",
    "todo",
    "tbd",
    "fixme",
    "insert",
    "replace",
    "redacted",
    "changeme",
    "foo",
    "bar",
    "baz",
    "foobar",
    "lorem",
    "ipsum",
    "xxx",
    "none",
    "null",
    "undefined",
];

/// Whole values (separators removed) that are known dummies.
const PLACEHOLDER_VALUES: &[&str] = &[
    "secret",
    "mysecret",
    "supersecret",
    "topsecret",
    "secretkey",
    "mysecretkey",
    "yoursecretkey",
    "password",
    "mypassword",
    "changeme",
    "changethis",
    "test",
    "testing",
    "token",
    "apikey",
    "mytoken",
];

/// Keys that vendors publish in their documentation for local emulators and samples, or ship to
/// every user: anyone can read them, they open nothing real (Azurite's storage account key, in
/// Microsoft's docs and every emulator setup; a public search-only key).
const PUBLISHED_VALUES: &[&str] = &[
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    // Algolia's search-only key of the public `npm-search` index (app `OFCNCOG2CU`), shipped in
    // Yarn and many package-search pages (yarnpkg/berry#6201; a gitleaks stop word)
    "6fe4476ee5a1832882e326b506d14126",
];

/// Tokens that vendors print in their own documentation, copied into tutorials and generated
/// code by the thousand: Stripe's test key of its API reference, Slack's OAuth response example,
/// and the random part GitHub's docs give every token prefix (`ghp_16C7e42F…`, `gho_16C7e42F…`).
/// Public samples, not credentials (issue 17).
const DOCUMENTED_SAMPLES: &[&str] = &[
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "pk_test_TYooMQauvdEDq54NiTphI7jx",
    "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
];

/// The random part of the token in GitHub's documentation, after any `gh?_` prefix.
const GITHUB_DOCS_TOKEN_BODY: &str = "_16C7e42F292c6912E7710c838347Ae178B4a";

/// Whether the value is a sample token from a vendor's documentation ([`DOCUMENTED_SAMPLES`]).
pub fn is_documented_sample(value: &str) -> bool {
    DOCUMENTED_SAMPLES.contains(&value)
        || (value.len() == 40 && value.starts_with("gh") && value.ends_with(GITHUB_DOCS_TOKEN_BODY))
}

/// Whether the value is a placeholder: a template (`${VAR}`, `{{ var }}`, `{password}`,
/// `[PASSWORD]`, `<your-key>`, `%VAR%`), a known dummy as the whole value or a whole segment
/// (`your-api-key-here`, `sk_test_xxxxxxxx`), a telling word anywhere (`...EXAMPLE`), or a value
/// too regular to be random (`1234567890abcdef`, `aaaaaaaa`, `abcabcabc`). Never a mere substring
/// such as `aaaaaa` or `abcdef` inside a random token: OpenSSH keys hold runs of `A`.
pub fn is_placeholder(value: &str) -> bool {
    if PUBLISHED_VALUES.contains(&value) || is_documented_sample(value) {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    if is_template(value, &lower) || has_typed_sequence(value) {
        return true;
    }
    let squashed: String = lower.chars().filter(char::is_ascii_alphanumeric).collect();
    if squashed.is_empty()
        || PLACEHOLDER_VALUES.contains(&squashed.as_str())
        || PLACEHOLDER_INFIXES.iter().any(|w| squashed.contains(w))
    {
        return true;
    }
    let segments: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|seg| !seg.is_empty())
        .collect();
    // a short word (`my`, `foo`, `xxx`) is also what a base64url token's separators cut out of
    // it by chance (`SG.A1_7…-my-…`): it marks a placeholder only in a value with no random part
    let has_random = segments.iter().any(|seg| looks_random(seg));
    if segments
        .iter()
        .any(|seg| PLACEHOLDER_SEGMENTS.contains(seg) && (seg.len() > 3 || !has_random))
    {
        return true;
    }
    // a regular segment is padding in a value that also holds a random one: a Twitter/X bearer
    // token opens with a run of `A`s before its URL-encoded random part (`AAAA…%2F…%3D…`)
    // (but hand-typed sequences with one odd segment, `abc123xyz-456def789-…`, stay placeholders)
    let regular = segments.iter().filter(|seg| is_regular(seg)).count();
    (regular > 0 && regular >= segments.iter().filter(|seg| looks_random(seg)).count())
        || is_regular(&squashed)
}

/// A segment long and varied enough to be generated: 16+ characters, not regular, 3.5+ bits of
/// entropy per character.
fn looks_random(seg: &str) -> bool {
    seg.len() >= 16 && entropy(seg) >= 3.5 && !is_regular(seg)
}

/// Template syntax of the common tools, masks, and references to the environment.
fn is_template(value: &str, lower: &str) -> bool {
    let wrapped = |open: char, close: char| {
        value.len() > 2 && value.starts_with(open) && value.ends_with(close)
    };
    [
        "${",
        "{{",
        "$(",
        "#{",
        "<%",
        "****",
        "...",
        "####",
        "•••",
        "…",
    ]
    .iter()
    .any(|m| value.contains(m))
        || value.find('<').is_some_and(|i| value[i..].contains('>'))
        || wrapped('{', '}')
        || wrapped('[', ']')
        || wrapped('%', '%')
        || (value.starts_with("__") && value.ends_with("__") && value.len() > 4)
        || value.starts_with('$')
        || lower.starts_with("process.env")
        || lower.starts_with("import.meta.env")
}

/// A segment of 6+ characters too regular to be random: few distinct characters, a short
/// pattern repeated, or mostly runs of one character or of consecutive ones (`123456`, `abcdef`).
fn is_regular(seg: &str) -> bool {
    let b = seg.as_bytes();
    if b.len() < 6 {
        return false;
    }
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &c in b {
        if !seen[usize::from(c)] {
            seen[usize::from(c)] = true;
            distinct += 1;
        }
    }
    if distinct <= 2 || (b.len() >= 8 && distinct <= 3) {
        return true;
    }
    // a pattern of up to six characters repeated over the whole segment
    if (1..=6.min(b.len() / 2)).any(|p| b.iter().enumerate().all(|(i, &c)| c == b[i % p])) {
        return true;
    }
    // characters inside runs (4+) of one character or of consecutive ones (`0123`, `dcba`)
    chars_in_runs(b, 4, |step| step.abs() <= 1) * 10 >= b.len() * 6
        || is_interleaved_count(b)
        || is_typed_triples(b)
}

/// How many characters of `b` sit in runs of `min_run` or more whose neighbours differ by one
/// constant step that `is_run_step` accepts (0: one character repeated, 1 or -1: counting).
fn chars_in_runs(b: &[u8], min_run: usize, is_run_step: impl Fn(i16) -> bool) -> usize {
    let mut in_runs = 0;
    let mut i = 0;
    while i < b.len() {
        let mut j = i + 1;
        if j < b.len() {
            let step = i16::from(b[j]) - i16::from(b[i]);
            if is_run_step(step) {
                while j < b.len() && i16::from(b[j]) - i16::from(b[j - 1]) == step {
                    j += 1;
                }
            }
        }
        if j - i >= min_run {
            in_runs += j - i;
            i = j;
        } else {
            i += 1;
        }
    }
    in_runs
}

/// Short counting runs typed one after another (`123abcDEF456ghi`): in a segment of 12+
/// characters, three in four sit in runs of 3+ consecutive characters (up or down). A random
/// base62 token has such a run at a given place about once in two thousand.
fn is_typed_triples(b: &[u8]) -> bool {
    b.len() >= 12 && chars_in_runs(b, 3, |step| step.abs() == 1) * 4 >= b.len() * 3
}

/// A run of ten or more consecutive characters (`abcdefghij`, `0123456789`, `ABCDEFGHIJ`)
/// anywhere in the value: the alphabet typed as filler, never a random draw.
fn has_typed_sequence(value: &str) -> bool {
    let b = value.as_bytes();
    let mut run = 1;
    for w in b.windows(2) {
        if w[0].is_ascii_alphanumeric() && w[1] == w[0].wrapping_add(1) {
            run += 1;
            if run >= 10 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

/// Two counting sequences woven together, as typed by hand (`a1b2c3d4e5f6`): at least 12
/// characters whose even and odd positions each step by one almost everywhere.
fn is_interleaved_count(b: &[u8]) -> bool {
    if b.len() < 12 {
        return false;
    }
    let counting = |start: usize| {
        let seq: Vec<u8> = b.iter().skip(start).step_by(2).copied().collect();
        let steps = seq
            .windows(2)
            .filter(|w| w[1] == w[0].wrapping_add(1))
            .count();
        steps * 4 >= (seq.len() - 1) * 3
    };
    counting(0) && counting(1)
}

/// Words of the default secrets that tutorials, generated code and `.env.example` files use
/// (`your-secret-key`, `supersecretjwtkey`, `change-this-in-production`, `keyboard cat`).
const DEFAULT_SECRET_WORDS: &[&str] = &[
    "your",
    "my",
    "a",
    "the",
    "some",
    "super",
    "top",
    "very",
    "default",
    "dev",
    "development",
    "test",
    "testing",
    "fallback",
    "temp",
    "local",
    "insecure",
    "unsafe",
    "jwt",
    "session",
    "cookie",
    "app",
    "auth",
    "signing",
    "sign",
    "api",
    "token",
    "access",
    "refresh",
    "secret",
    "secrets",
    "s3cr3t",
    "key",
    "here",
    "value",
    "string",
    "change",
    "changeme",
    "me",
    "this",
    "it",
    "in",
    "prod",
    "production",
    "for",
    "please",
    "replace",
    "keyboard",
    "cat",
    "password",
    "long",
    "random",
    "bit",
    "characters",
    "chars",
    "min",
    "at",
    "least",
    "shh",
    "private",
    "hush",
    "not",
    "so",
    "real",
    "example",
    "sample",
    "demo",
    "do",
    "use",
    "should",
    "be",
];

/// Words of which a default secret must contain one.
const DEFAULT_SECRET_ANCHORS: &[&str] = &[
    "secret", "secrets", "s3cr3t", "key", "keyboard", "changeme", "change", "replace", "password",
    "shh", "hush",
];

/// Whether the value is a well-known default secret: made only of the words such defaults use
/// (split on separators and camelCase; numbers allowed), one of them naming a secret, or one of
/// the bare defaults (`dev`, `secret`, `changeme`). Public knowledge, so as good as no secret.
pub fn is_default_secret(value: &str) -> bool {
    let lower = value.trim().to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "dev" | "development" | "secret" | "changeme" | "default" | "password" | "test"
    ) {
        return true;
    }
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in value.trim().chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    if words.is_empty() || words.len() > 12 {
        return false;
    }
    let mut parts: Vec<&str> = Vec::new();
    for w in &words {
        let w = w.trim_end_matches(|c: char| c.is_ascii_digit());
        if w.is_empty() {
            continue;
        }
        if is_default_word(w) {
            parts.push(w);
        } else if !split_default_compound(w, &mut parts) {
            return false;
        }
    }
    // one word names a secret, and one says it is a stand-in (`your`, `super`, `change`, ...):
    // `token_secret` alone is a field name (OAuth 1), `your-secret-key` a default
    parts.iter().any(|p| DEFAULT_SECRET_ANCHORS.contains(p))
        && parts.iter().any(|p| !SECRET_NOUNS.contains(p))
}

/// Words that name a credential rather than qualify it.
const SECRET_NOUNS: &[&str] = &[
    "jwt", "session", "cookie", "app", "auth", "signing", "sign", "api", "token", "access",
    "refresh", "secret", "secrets", "key", "private", "password",
];

fn is_default_word(w: &str) -> bool {
    DEFAULT_SECRET_WORDS.contains(&w) || DEFAULT_SECRET_ANCHORS.contains(&w)
}

/// Splits a run of default-secret words written together (`supersecretjwtkey`) into `parts`.
fn split_default_compound<'a>(w: &'a str, parts: &mut Vec<&'a str>) -> bool {
    if w.is_empty() {
        return true;
    }
    if w.len() > 40 {
        return false;
    }
    for d in DEFAULT_SECRET_WORDS.iter().chain(DEFAULT_SECRET_ANCHORS) {
        if d.len() > 1 && w.starts_with(*d) {
            let len = parts.len();
            parts.push(&w[..d.len()]);
            if split_default_compound(&w[d.len()..], parts) {
                return true;
            }
            parts.truncate(len);
        }
    }
    false
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
            "{password}",
            "[PASSWORD]",
            "sk_live_1234567890abcdefghijklmn",
            "xoxb-1234567890-1234567890-abcdefghijklmnopqrstuvwx",
            "my-secret",
            "mysecret",
            "sk_test_abcabcabcabcabcabcabcabc",
            "sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzAA",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
            // elided in a document, masked in a log
            "ops_eyJzaWduSW5BZGRyZXNzIjoiaHR0cHM6...",
            "xoxp-572370529330-573807301142-####################",
            // vendors' documentation samples (issue 17)
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        for v in [
            "q8Vb3kQ9zT1mR7xW2pL5nH8c",
            // real tokens that merely contain a dummy-looking run (issue 17)
            "ghp_q8Vb3kQaaaaaaT1mR7xW2pL5nH8cJ4dF6gS0",
            "9f3c1b2a7e5d4abcdef0b6c8d2e1f4a3",
            "Zk3Jq123456pL0vX9mWq2TbR",
            "sk_live_51HxxxxQ9zT1mR7xW2pL5nH8cmysecretQ",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn",
            // base64url separators cut a short word out of a random token by chance
            "SG.A1_7Kq2vX9mWq2TbR-my-pL0vX9.Zk3Jq8VbnH8cJ4dF6gS0T1mR7xW2pL5nH8cJ4dF6gS0aQ",
            // a run of `A`s before a random part (Twitter/X bearer token)
            "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F",
        ] {
            assert!(!is_placeholder(v), "{v}");
        }
    }

    #[test]
    fn default_secrets_are_recognised() {
        for v in [
            "your-secret-key",
            "supersecretjwtkey",
            "change-this-in-production",
            "keyboard cat",
            "mySuperSecretKey123",
            "your_jwt_secret_here",
            "dev",
            "secret",
        ] {
            assert!(is_default_secret(v), "{v}");
        }
        for v in [
            "q8Vb3kQ9zT1mR7xW2pL5nH8c",
            "oauth_token_secret",
            "token_secret",
            "correct horse battery",
        ] {
            assert!(!is_default_secret(v), "{v}");
        }
    }

    #[test]
    fn redacted_form_hides_the_secret() {
        let r = redacted("sk_live_q8Vb3kQ9zT1mR7xW2pL5nH8c");
        assert!(r.starts_with("sk_l…(32 chars, sha256:"));
        assert!(!r.contains("q8Vb"));
    }

    #[test]
    fn interleaved_counting_is_a_placeholder() {
        assert!(is_placeholder("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"));
        assert!(!is_placeholder("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"));
    }

    #[test]
    fn typed_runs_are_placeholders() {
        // short counting runs one after another, and the alphabet pasted as filler
        assert!(is_placeholder("ATBB123abcDEF456ghiJKL789mnoPQR"));
        assert!(is_placeholder(
            "fm2_AD1shwGbLSpZSPEXM1vhcbPZowurCDkXySOOJj0w4G2abcdefghijklmnopqrstuvwxyz"
        ));
        assert!(is_placeholder("tok_q8Vb3kQ9zT10123456789"));
        // random tokens hold a short run here and there
        assert!(!is_placeholder("ATBBq8Vb3kQabcT1mR7xW2pL5nH8cJ4dF6g"));
        assert!(!is_placeholder("9f3c1b2a7e5d4abcdef0b6c8d2e1f4a3"));
    }

    #[test]
    fn entropy_orders_random_above_words() {
        assert!(entropy("q8Vb3kQ9zT1mR7xW2pL5nH8c") > entropy("passwordpassword"));
    }
}
