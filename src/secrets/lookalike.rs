//! Values that look like a vendor's token but cannot be one: a vendor prefix on a stub shorter
//! than any token the vendor issues, a Slack- or Telegram-shaped value the vendor's own rule
//! rejected, and values that say they are made up (`fake`, `dummy`, `invalid`). The generic
//! detector reads these; the vendor rules have their own exact formats (issue 17).

/// Vendor prefixes and the shortest token (prefix included) the vendor issues with each, from
/// the vendors' documented formats. A shorter value under that prefix is a stub or a test
/// double's name (`ghp_4iVg2y`, `sm_pat_pqyabp1p73`), never a credential.
const VENDOR_MIN_LEN: &[(&str, usize)] = &[
    ("AKIA", 20),
    ("ASIA", 20),
    ("ghp_", 40),
    ("gho_", 40),
    ("ghu_", 40),
    ("ghs_", 40),
    ("ghr_", 40),
    ("github_pat_", 82),
    ("glpat-", 26),
    ("npm_", 40),
    ("sk_live_", 32),
    ("sk_test_", 32),
    ("rk_live_", 32),
    ("rk_test_", 32),
    ("whsec_", 38),
    ("shpat_", 38),
    ("shpca_", 38),
    ("shppa_", 38),
    ("shpss_", 38),
    ("dapi", 36),
    ("hvs.", 28),
    ("hvb.", 28),
    ("hvr.", 28),
    ("lin_api_", 48),
    ("lin_oauth_", 74),
    ("figd_", 40),
    ("pul-", 44),
    ("sntrys_", 60),
    ("sntryu_", 71),
    ("dp.pt.", 49),
    ("dp.st.", 49),
    ("dp.sa.", 49),
    ("dp.ct.", 49),
    ("tskey-", 30),
    ("sk-ant-", 60),
    ("sk-proj-", 40),
    ("xapp-", 40),
    ("SG.", 69),
    ("sm_pat_", 23),
    ("sm_aat_", 23),
    ("sm_sat_", 23),
];

/// Prefixes whose vendor rule knows the token's exact length and alphabet (Cloudflare's
/// self-identifying tokens, `OpenAI` admin keys, GitLab tokens): a value under one that the rule
/// did not report is truncated or mangled.
const EXACT_FORMAT_PREFIXES: &[&str] = &[
    "cfut_",
    "cfat_",
    "cfk_",
    "sk-admin-",
    "glpat-",
    "gloas-",
    "sqco_",
];

/// Words that say a value is made up, as a whole segment or `camelCase` word of it.
const MADE_UP_WORDS: &[&str] = &[
    "fake",
    "dummy",
    "invalid",
    "example",
    "sample",
    "bogus",
    "mock",
    "placeholder",
];

/// Whether `value` carries a vendor prefix but is shorter than any token of that vendor.
pub fn is_vendor_stub(value: &str) -> bool {
    VENDOR_MIN_LEN
        .iter()
        .any(|(prefix, min)| value.starts_with(prefix) && value.len() < *min)
}

/// Whether `value` has the shape of a Slack token (`xoxb-`, `xoxp-`, ...), a Telegram bot token
/// (`<bot id>:<secret>`) or a token of [`EXACT_FORMAT_PREFIXES`]: the vendor rules know their
/// exact formats, so one they did not report is malformed (too few digits in its ids, a bot id of
/// the wrong length, characters appended) and the generic detector leaves it alone too.
pub fn is_vendor_shaped(value: &str) -> bool {
    let b = value.as_bytes();
    let slack = b.len() > 5 && b.starts_with(b"xox") && b[3].is_ascii_lowercase() && b[4] == b'-';
    let telegram = value.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.bytes().all(|c| c.is_ascii_digit())
            && secret.len() >= 20
            && secret
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    });
    slack || telegram || EXACT_FORMAT_PREFIXES.iter().any(|p| value.starts_with(p))
}

/// Whether a word of `value` (split on separators, case changes and digits) says it is made up:
/// `fake-token-123`, `sk_dummyKey`, `INVALID_SECRET_VALUE`. Only whole words count: a random
/// token holding `fake` inside a longer run of letters (`xFakeq`) is not one.
pub fn is_made_up(value: &str) -> bool {
    words(value)
        .into_iter()
        .any(|w| MADE_UP_WORDS.iter().any(|m| w.eq_ignore_ascii_case(m)))
}

/// The words of `value`: runs of letters, cut at separators, digits and lower-to-upper changes
/// (`myFakeToken` gives `my`, `Fake`, `Token`; `FAKE_KEY` gives `FAKE`, `KEY`).
fn words(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut prev = ' ';
    for (i, c) in value.char_indices() {
        let is_letter = c.is_ascii_alphabetic();
        let starts_word = is_letter && prev.is_ascii_lowercase() && c.is_ascii_uppercase();
        if let Some(s) = start
            && (!is_letter || starts_word)
        {
            out.push(&value[s..i]);
            start = None;
        }
        if is_letter && start.is_none() {
            start = Some(i);
        }
        prev = c;
    }
    if let Some(s) = start {
        out.push(&value[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_stubs_are_shorter_than_real_tokens() {
        assert!(is_vendor_stub("ghp_4iVg2yVgiTJWLh"));
        assert!(is_vendor_stub("sm_pat_pqyabp1p73"));
        assert!(is_vendor_stub("AKIA1234"));
        assert!(!is_vendor_stub("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"));
        assert!(!is_vendor_stub("akia-lookalike-but-lowercase"));
    }

    #[test]
    fn slack_and_telegram_shapes() {
        assert!(is_vendor_shaped(
            "xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"
        ));
        assert!(is_vendor_shaped("3790:Aabqf0bz7hr3x-q4i8ectgm8jp2vl0175gr"));
        assert!(!is_vendor_shaped("Xw937qtWSXJss1lFaKe9f8a7"));
        assert!(!is_vendor_shaped("user:pass"));
        assert!(is_vendor_shaped(
            "cfut_ZE4CrcFhEIDXk9vL2sTLeARsFp2ZZYbydVDhhIUq8573bbfeEXTRA"
        ));
    }

    #[test]
    fn made_up_words_are_whole_words() {
        assert!(is_made_up("fake-token-1234567890"));
        assert!(is_made_up("sk_dummyKey_9a8b7c6d5e"));
        assert!(is_made_up("INVALID_SECRET_VALUE_42"));
        assert!(is_made_up("myFakeApiToken2024"));
        assert!(!is_made_up("k7JXtY3WBtUqthisisfakeZDqVcjZxYI"));
        assert!(!is_made_up("Xw937qtWSXJss1lFaKe"));
        // non-ASCII characters cut words and never split one
        assert!(!is_made_up("0Y8rMnww$*9VFYE§59-!Fg1L6t&6lB"));
        assert!(is_made_up("fake§token"));
    }
}
