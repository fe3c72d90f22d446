//! `supabase/config.toml`, read whole with the `toml` crate (values keep their byte spans):
//! which schemas `PostgREST` exposes (`[api] schemas`), which edge functions skip JWT
//! verification (`[functions.<name>] verify_jwt = false`), and the auth settings that weaken
//! sign-up (`supabase.auth-config-weakens-sign-up`).
//!
//! Tables in every exposed schema are reachable with the public anon key, so they need RLS as
//! much as `public` does. The file is found beside the migrations folder (`supabase/config.toml`
//! next to `supabase/migrations/`) or beside the SQL file itself (`supabase/schema.sql`).
//! [`SupabaseConfig::for_function`] is the entry point for code that judges an edge function.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::platform::{Check, Sink};
use crate::rules::Severity;

/// Schemas exposed by the Supabase API, lowercased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposedSchemas(BTreeSet<String>);

impl Default for ExposedSchemas {
    /// `public` only: what `PostgREST` exposes when no config says otherwise.
    fn default() -> Self {
        ExposedSchemas(BTreeSet::from(["public".to_string()]))
    }
}

impl ExposedSchemas {
    /// Whether `schema.name` (as [`super::sql::qualified`] writes it) lies in an exposed schema.
    pub fn contains(&self, qualified_name: &str) -> bool {
        qualified_name
            .split_once('.')
            .is_some_and(|(schema, _)| self.0.contains(schema))
    }

    /// The exposed schemas for the SQL file at `sql_path`: read from the nearest
    /// `config.toml` in its folder or the folder above (the `supabase/` folder of
    /// `supabase/migrations/*.sql`); `public` alone when there is none.
    pub fn for_sql_file(sql_path: &Path) -> Self {
        crate::engine::not_cacheable(); // reads other files
        let Some(dir) = sql_path.parent() else {
            return Self::default();
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        [Some(dir), dir.parent()]
            .into_iter()
            .flatten()
            .find_map(|d| {
                let path = d.join("config.toml");
                crate::engine::depends_on(&path);
                std::fs::read_to_string(path).ok()
            })
            .and_then(|text| SupabaseConfig::parse(&text))
            .and_then(|c| c.schemas)
            .unwrap_or_default()
    }
}

/// The parts of `config.toml` the checks read.
#[derive(Debug, Default)]
pub struct SupabaseConfig {
    /// `[api] schemas`, when set.
    pub schemas: Option<ExposedSchemas>,
    /// `verify_jwt` per function name, with the span of its value.
    pub verify_jwt: BTreeMap<String, (bool, Range<usize>)>,
    /// Auth settings that weaken sign-up: (span, what it does, severity).
    pub weak_auth: Vec<(Range<usize>, String, Severity)>,
}

#[derive(Deserialize, Default)]
struct RawConfig {
    api: Option<RawApi>,
    functions: Option<BTreeMap<String, RawFunction>>,
    auth: Option<RawAuth>,
}

#[derive(Deserialize, Default)]
struct RawApi {
    schemas: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
struct RawFunction {
    verify_jwt: Option<Spanned<bool>>,
}

#[derive(Deserialize, Default)]
struct RawAuth {
    enable_anonymous_sign_ins: Option<Spanned<bool>>,
    minimum_password_length: Option<Spanned<i64>>,
    rate_limit: Option<BTreeMap<String, Spanned<toml::Value>>>,
}

impl SupabaseConfig {
    /// Reads a `config.toml`; `None` when it is not valid TOML of the expected shape.
    pub fn parse(text: &str) -> Option<Self> {
        let raw: RawConfig = toml::from_str(text).ok()?;
        let mut config = SupabaseConfig {
            schemas: raw
                .api
                .and_then(|a| a.schemas)
                .map(|s| ExposedSchemas(s.into_iter().map(|x| x.to_ascii_lowercase()).collect())),
            ..SupabaseConfig::default()
        };
        for (name, f) in raw.functions.unwrap_or_default() {
            if let Some(v) = f.verify_jwt {
                config.verify_jwt.insert(name, (*v.get_ref(), v.span()));
            }
        }
        if let Some(auth) = raw.auth {
            config.weak_auth = weak_auth(&auth);
        }
        Some(config)
    }

    /// The config of the Supabase project an edge function at `function_path` belongs to
    /// (`supabase/functions/<name>/index.ts` → `supabase/config.toml`), and the function's name.
    pub fn for_function(function_path: &Path) -> Option<(Self, String)> {
        crate::engine::not_cacheable(); // reads other files
        let mut dir = function_path.parent()?;
        let name = dir.file_name()?.to_string_lossy().into_owned();
        while let Some(parent) = dir.parent() {
            if dir.file_name().is_some_and(|n| n == "functions") {
                let path = parent.join("config.toml");
                crate::engine::depends_on(&path);
                let text = std::fs::read_to_string(path).ok()?;
                return Self::parse(&text).map(|c| (c, name));
            }
            dir = parent;
        }
        None
    }

    /// Whether the function `name` is deployed without JWT verification (`verify_jwt = false`).
    pub fn skips_jwt(&self, name: &str) -> bool {
        self.verify_jwt.get(name).is_some_and(|(v, _)| !v)
    }
}

/// The auth settings of `[auth]` that let anyone in more easily than Supabase's defaults.
fn weak_auth(auth: &RawAuth) -> Vec<(Range<usize>, String, Severity)> {
    // `enable_confirmations = false` and `minimum_password_length = 6` are what `supabase init`
    // writes for local development: reporting them would flag every project
    let mut out = Vec::new();
    if let Some(v) = &auth.enable_anonymous_sign_ins
        && *v.get_ref()
    {
        out.push((
            v.span(),
            "`enable_anonymous_sign_ins = true`: anyone can get a signed-in session without an account, so every policy `to authenticated` also admits anonymous visitors unless it checks `is_anonymous`".into(),
            Severity::Medium,
        ));
    }
    if let Some(v) = &auth.minimum_password_length
        && *v.get_ref() < 6
    {
        out.push((
            v.span(),
            format!(
                "`minimum_password_length = {}`: even Supabase's default of 6 characters is lowered",
                v.get_ref()
            ),
            Severity::Low,
        ));
    }
    for (key, v) in auth.rate_limit.iter().flatten() {
        let unlimited = match v.get_ref() {
            toml::Value::Integer(n) => *n == 0 || *n >= 10_000,
            _ => false,
        };
        if unlimited && (key.contains("sign") || key.contains("email") || key.contains("verif")) {
            out.push((
                v.span(),
                format!("`[auth.rate_limit] {key}` is unlimited: sign-up and sign-in can be brute-forced or abused for spam"),
                Severity::Low,
            ));
        }
    }
    out
}

/// `supabase.auth-config-weakens-sign-up` over a `supabase/config.toml`.
pub fn check_file(sink: &mut Sink<'_, '_>) {
    if sink.active(Check::AuthConfigWeakensSignUp).is_none() {
        return;
    }
    let file = sink.ctx().file;
    if !file.display.ends_with("config.toml") || !file.text.contains("[auth") {
        return;
    }
    let Some(config) = SupabaseConfig::parse(&file.text) else {
        return;
    };
    for (range, message, severity) in config.weak_auth {
        sink.report(Check::AuthConfigWeakensSignUp, range, Some(message), |f| {
            f.severity = severity;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{ExposedSchemas, SupabaseConfig};

    #[test]
    fn reads_the_api_schemas() {
        let toml = "project_id = \"x\"\n[api]\nenabled = true\n# schemas = [\"nope\"]\nschemas = [\"public\", \"graphql_public\",\n  \"api\"] # exposed\n[db]\nschemas = [\"other\"]\n";
        let s = SupabaseConfig::parse(toml)
            .and_then(|c| c.schemas)
            .expect("has schemas");
        assert!(s.contains("api.orders"));
        assert!(s.contains("public.notes"));
        assert!(!s.contains("private.keys"));
        assert!(!s.contains("other.t"));
    }

    #[test]
    fn defaults_to_public() {
        let c = SupabaseConfig::parse("[api]\nport = 54321\n").expect("valid");
        assert_eq!(c.schemas, None);
        assert!(ExposedSchemas::default().contains("public.t"));
    }

    #[test]
    fn reads_verify_jwt_per_function_with_its_span() {
        let text = "[functions.stripe-webhook]\nverify_jwt = false\n\n[functions.chat]\nverify_jwt = true\n";
        let c = SupabaseConfig::parse(text).expect("valid");
        assert!(c.skips_jwt("stripe-webhook"));
        assert!(!c.skips_jwt("chat"));
        assert!(!c.skips_jwt("other"));
        let (_, span) = &c.verify_jwt["stripe-webhook"];
        assert_eq!(&text[span.clone()], "false");
    }
}
