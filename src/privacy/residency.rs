//! Data residency: region settings fixed in code and deployment config, compared with the
//! allowed regions of `[compliance] regions` (globs such as `eu-*`).
//!
//! It owns finding the settings ([`region_settings`]) and judging them ([`judge`]); the findings
//! are made by [`super::PrivacyAnalyzer`] and the data map lists the same settings. A value the
//! scan cannot resolve (an environment variable, a parameter) is [`Status::Unknown`], never
//! allowed. The scan reads text only: nothing is looked up on the network.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::discover::FileKind;

/// One region setting found in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegionSetting {
    /// What the setting configures: "AWS SDK client", "Firebase Functions", "Vercel functions",
    /// `PostHog`, ...
    pub service: String,
    /// The region as written (`eu-west-1`, `fra1`, `us`), or `None` when not resolvable.
    pub region: Option<String>,
    /// The expression when the region is not a literal (`process.env.AWS_REGION`).
    pub expression: Option<String>,
    /// Byte range of the value in the file.
    #[serde(skip)]
    pub range: Range<usize>,
}

/// A setting judged against the allowed regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Inside the allowed regions.
    Allowed,
    /// Outside them.
    Outside,
    /// Not resolvable by a static scan.
    Unknown,
}

/// Regions written with the provider's own codes that also have a standard name: Vercel
/// function regions are AWS regions; third-party hosts name a jurisdiction.
const ALIASES: &[(&str, &str)] = &[
    ("arn1", "eu-north-1"),
    ("bom1", "ap-south-1"),
    ("cdg1", "eu-west-3"),
    ("cle1", "us-east-2"),
    ("cpt1", "af-south-1"),
    ("dub1", "eu-west-1"),
    ("fra1", "eu-central-1"),
    ("gru1", "sa-east-1"),
    ("hkg1", "ap-east-1"),
    ("hnd1", "ap-northeast-1"),
    ("iad1", "us-east-1"),
    ("icn1", "ap-northeast-2"),
    ("kix1", "ap-northeast-3"),
    ("lhr1", "eu-west-2"),
    ("pdx1", "us-west-2"),
    ("sfo1", "us-west-1"),
    ("sin1", "ap-southeast-1"),
    ("syd1", "ap-southeast-2"),
];

/// Whether `region` (or its standard alias) matches one of the allowed globs.
pub fn judge(setting: &RegionSetting, allowed: &[String]) -> Status {
    let Some(region) = &setting.region else {
        return Status::Unknown;
    };
    let region = region.to_ascii_lowercase();
    let alias = ALIASES
        .iter()
        .find(|(code, _)| *code == region)
        .map(|(_, std)| *std);
    let fits = |r: &str| allowed.iter().any(|g| glob(&g.to_ascii_lowercase(), r));
    // vendor hosts name a jurisdiction only (`eu`, `us`): `eu` fits `eu-*` and `europe-*`
    let jurisdiction = match region.as_str() {
        "eu" => fits("eu-") || fits("europe-"),
        "us" => fits("us-"),
        _ => false,
    };
    if jurisdiction || fits(&region) || alias.is_some_and(fits) {
        Status::Allowed
    } else {
        Status::Outside
    }
}

/// `*` matches any run of characters, `?` one; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn re(s: &str) -> Regex {
    Regex::new(s).expect("residency regexes are valid (unit-tested)")
}

/// `region: X` / `.region(X)` in code, with the value captured.
static CODE_REGION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?:\bregion\s*:\s*|\.region\(\s*)(?P<v>"[^"\n]*"|'[^'\n]*'|`[^`\n]*`|[A-Za-z_$][\w$.?]*(?:\[[^\]\n]*\])?)"#,
    )
});
/// Files whose `region:` keys configure a cloud provider.
static CLOUD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"@aws-sdk/|aws-sdk|\bAWS\.config|firebase-functions|setGlobalOptions|@google-cloud/")
});
/// `const REGION = "eu-west-1"`: a same-file constant a setting may name.
static CONSTANT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?m)\b(?:const|let|var)\s+(?P<n>[A-Za-z_$][\w$]*)\s*(?::\s*\w+\s*)?=\s*["'`](?P<v>[a-z]{2,}[a-z0-9-]*\d?)["'`]"#,
    )
});
/// Third-party hosts whose name says where data is processed.
static HOSTS: LazyLock<Vec<(Regex, &'static str, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"\b(?:us|us-assets)\.i\.posthog\.com|\bapp\.posthog\.com",
            "PostHog",
            "us",
        ),
        (
            r"\b(?:eu|eu-assets)\.i\.posthog\.com|\beu\.posthog\.com",
            "PostHog",
            "eu",
        ),
        (r"\bapi\.mixpanel\.com", "Mixpanel", "us"),
        (
            r"\bapi-eu\.mixpanel\.com|\bapi\.eu\.mixpanel\.com",
            "Mixpanel",
            "eu",
        ),
        (r"\bingest\.(?:us\.)?sentry\.io", "Sentry", "us"),
        (r"\bingest\.de\.sentry\.io", "Sentry", "eu-de"),
        (r"\bapi\.eu\.amplitude\.com", "Amplitude", "eu"),
        (r"\bapi2?\.amplitude\.com", "Amplitude", "us"),
        (r"\beu\.api\.openai\.com", "OpenAI", "eu"),
        (
            r"\bapi\.eu\.segment\.io|\bevents\.eu1\.segmentapis\.com",
            "Segment",
            "eu",
        ),
    ]
    .into_iter()
    .map(|(r, s, region)| (re(r), s, region))
    .collect()
});
/// Supabase connection-pooler hosts name the project's AWS region.
static SUPABASE_POOLER: LazyLock<Regex> =
    LazyLock::new(|| re(r"\baws-\d+-(?P<v>[a-z]{2}-[a-z]+-\d)\.pooler\.supabase\.com"));
/// `"regions": ["iad1", ...]` in vercel.json.
static VERCEL_REGIONS: LazyLock<Regex> =
    LazyLock::new(|| re(r#""regions"\s*:\s*\[(?P<v>[^\]]*)\]"#));
static QUOTED: LazyLock<Regex> = LazyLock::new(|| re(r#""(?P<v>[^"]*)""#));
/// `region: x` (YAML) or `region = "x"` (TOML).
static CONFIG_REGION: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?m)^[ \t]*region[ \t]*[:=][ \t]*(?P<v>"[^"\n]*"|'[^'\n]*'|[^\s#]+)"#));
/// `AWS_REGION=eu-west-1` in dotenv files.
static ENV_REGION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?m)^(?:export\s+)?(?P<k>[A-Z0-9_]*REGION)\s*=\s*["']?(?P<v>[a-z]{2}[a-z0-9-]*\d)["']?\s*$"#,
    )
});

/// Every region setting in one file.
pub fn region_settings(kind: FileKind, display: &str, text: &str) -> Vec<RegionSetting> {
    let name = display.rsplit('/').next().unwrap_or(display);
    let mut out = Vec::new();
    match kind {
        FileKind::Js | FileKind::Ts | FileKind::Tsx => code_settings(text, &mut out),
        FileKind::Json if name == "vercel.json" => vercel(text, &mut out),
        FileKind::Toml if name == "netlify.toml" => config(text, "Netlify", &mut out),
        FileKind::Yaml if name.starts_with("serverless.") => {
            config(text, "Serverless Framework provider", &mut out);
        }
        FileKind::Dotenv => {
            for c in ENV_REGION.captures_iter(text) {
                let v = &c["v"];
                let m = c.name("v").expect("group v is in the pattern");
                out.push(literal(&format!("environment `{}`", &c["k"]), v, m.range()));
            }
        }
        _ => {}
    }
    if !matches!(
        kind,
        FileKind::Lockfile | FileKind::Sql | FileKind::FirebaseRules
    ) {
        for (pattern, service, region) in HOSTS.iter() {
            if let Some(m) = pattern.find(text) {
                out.push(literal(&format!("{service} host"), region, m.range()));
            }
        }
        if let Some(c) = SUPABASE_POOLER.captures(text) {
            let m = c.name("v").expect("group v is in the pattern");
            out.push(literal("Supabase project", m.as_str(), m.range()));
        }
    }
    out.sort_by_key(|s| s.range.start);
    out
}

fn literal(service: &str, region: &str, range: Range<usize>) -> RegionSetting {
    RegionSetting {
        service: service.to_string(),
        region: Some(region.to_string()),
        expression: None,
        range,
    }
}

fn code_settings(text: &str, out: &mut Vec<RegionSetting>) {
    if !CLOUD_MARKER.is_match(text) {
        return;
    }
    let service = if text.contains("firebase-functions") || text.contains("setGlobalOptions") {
        "Firebase / Cloud Functions"
    } else if text.contains("@google-cloud/") {
        "Google Cloud client"
    } else {
        "AWS SDK client"
    };
    for c in CODE_REGION.captures_iter(text) {
        let m = c.name("v").expect("group v is in the pattern");
        // the call the setting sits in names the service better than the file's imports
        let mut from = m.start().saturating_sub(80);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let before = &text[from..m.start()];
        let service = if before.contains("Client(") || before.contains("AWS.") {
            "AWS SDK client"
        } else if before.contains("setGlobalOptions") || before.contains("functions.region") {
            "Firebase / Cloud Functions"
        } else {
            service
        };
        let value = m.as_str();
        let quoted = value.starts_with(['"', '\'', '`']);
        let inner = value.trim_matches(['"', '\'', '`']);
        let setting = if quoted && !inner.contains("${") {
            literal(service, inner, m.range())
        } else if let Some(v) = constant(text, value) {
            literal(service, &v, m.range())
        } else {
            RegionSetting {
                service: service.to_string(),
                region: None,
                expression: Some(value.to_string()),
                range: m.range(),
            }
        };
        out.push(setting);
    }
}

/// The literal a same-file constant holds.
fn constant(text: &str, name: &str) -> Option<String> {
    CONSTANT
        .captures_iter(text)
        .find(|c| &c["n"] == name)
        .map(|c| c["v"].to_string())
}

fn vercel(text: &str, out: &mut Vec<RegionSetting>) {
    for c in VERCEL_REGIONS.captures_iter(text) {
        let list = c.name("v").expect("group v is in the pattern");
        for q in QUOTED.captures_iter(list.as_str()) {
            let m = q.name("v").expect("group v is in the pattern");
            let range = list.start() + m.start()..list.start() + m.end();
            out.push(literal("Vercel functions", m.as_str(), range));
        }
    }
}

fn config(text: &str, service: &str, out: &mut Vec<RegionSetting>) {
    for c in CONFIG_REGION.captures_iter(text) {
        let m = c.name("v").expect("group v is in the pattern");
        let value = m.as_str().trim_matches(['"', '\'']);
        if value.contains("${") || value.contains("env") {
            out.push(RegionSetting {
                service: service.to_string(),
                region: None,
                expression: Some(value.to_string()),
                range: m.range(),
            });
        } else {
            out.push(literal(service, value, m.range()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eu() -> Vec<String> {
        vec!["eu-*".into(), "europe-*".into()]
    }

    fn found(kind: FileKind, name: &str, text: &str) -> Vec<(Option<String>, Status)> {
        region_settings(kind, name, text)
            .iter()
            .map(|s| (s.region.clone(), judge(s, &eu())))
            .collect()
    }

    #[test]
    fn globs_match_regions() {
        assert!(glob("eu-*", "eu-west-1"));
        assert!(glob("europe-*", "europe-west1"));
        assert!(!glob("eu-*", "us-east-1"));
        assert!(glob("*", ""));
    }

    #[test]
    fn judges_aws_clients_constants_and_env() {
        let text = "import { S3Client } from '@aws-sdk/client-s3';\nconst REGION = 'us-east-1';\nnew S3Client({ region: 'eu-west-1' });\nnew S3Client({ region: REGION });\nnew S3Client({ region: process.env.AWS_REGION });";
        let got = found(FileKind::Ts, "a.ts", text);
        assert_eq!(
            got,
            [
                (Some("eu-west-1".into()), Status::Allowed),
                (Some("us-east-1".into()), Status::Outside),
                (None, Status::Unknown),
            ]
        );
    }

    #[test]
    fn vercel_codes_map_to_aws_regions() {
        let got = found(
            FileKind::Json,
            "vercel.json",
            r#"{"regions": ["fra1", "iad1"]}"#,
        );
        assert_eq!(got[0].1, Status::Allowed);
        assert_eq!(got[1].1, Status::Outside);
    }

    #[test]
    fn third_party_hosts_name_their_region() {
        let got = found(
            FileKind::Ts,
            "a.ts",
            "posthog.init(k, { api_host: 'https://us.i.posthog.com' })",
        );
        assert_eq!(got, [(Some("us".into()), Status::Outside)]);
        let got = found(
            FileKind::Ts,
            "a.ts",
            "const dsn = 'https://k@o1.ingest.de.sentry.io/1'",
        );
        assert_eq!(got, [(Some("eu-de".into()), Status::Allowed)]);
    }
}
