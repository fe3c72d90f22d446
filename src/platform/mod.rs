//! The `platform` capability: access control on backend-as-a-service platforms (issue 5).
//!
//! It owns the `builtin:` and `config:` rules of the `parse`, `supabase` and `firebase` families;
//! their pattern rules that a tree-sitter query expresses are plain `match:` rules run by the
//! engine. Each platform is a folder, with one file per check or tight group of checks; each
//! folder's `mod.rs` maps rule ids to files:
//!
//! - [`parse`]: Cloud Code handlers, objects and ACLs, server options, class-level permissions;
//! - [`supabase`]: migrations, `config.toml`, storage buckets, service-role clients;
//! - [`firebase`]: security rules, `database.rules.json`, `firebase-admin` in client code.
//!
//! Shared by all three: [`client_side`] decides whether a file ships to browsers or phones, and
//! [`js`] holds small helpers over JavaScript syntax trees. This file maps rule files to
//! [`Check`]s and runs them on each file and on the project.

pub mod client_side;
pub mod firebase;
pub mod js;
pub mod parse;
pub mod payments;
pub mod supabase;
pub mod user_search;

use parse::cloud_code;

use std::cell::OnceCell;
use std::ops::Range;
use std::rc::Rc;

use crate::discover::FileKind;
use crate::engine::{Analyzer, FileContext, ProjectContext};
use crate::finding::Finding;
use crate::rules::{RuleError, RuleSet};

/// The Rust checks behind this capability's rules, named by the rule's `builtin:`/`config:` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    /// A `Parse.Cloud.define` callable without authentication that uses the master key.
    UnauthenticatedMasterKey,
    /// An object loaded by a client-supplied id and used with the master key, unrelated to the user.
    MasterKeyIdor,
    /// A `Parse.User` query with the master key whose whole result is returned.
    UserQueryReturnsUsers,
    /// A `beforeSave` trigger reading privileged fields the client may have set.
    BeforeSaveTrustsClientFields,
    /// Master key in client-side Parse code.
    MasterKeyInClient,
    /// A Parse object saved without an ACL.
    ObjectWithoutAcl,
    /// A hard-coded or empty master key in Parse Server config.
    HardcodedMasterKey,
    /// Insecure Parse Server options.
    InsecureServerOption,
    /// Parse Dashboard over HTTP or with plain-text passwords.
    InsecureDashboard,
    /// Parse Server without password policy, account lockout or rate limits.
    ServerWithoutAbuseProtection,
    /// Any Cloud Code operation run with the master key (review marker).
    MasterKeyOption,
    /// Parse Server logging request and response bodies (`verbose`, `logLevel: 'verbose'`).
    VerboseRequestLogging,
    /// Live queries enabled on `_User`, `_Session` or `_Installation`.
    LiveQueryPrivateClass,
    /// Class-level permissions open to everyone.
    PublicClassLevelPermission,
    /// A Supabase table in an exposed schema without row level security.
    TableWithoutRls,
    /// A policy that lets everyone write, or read personal data.
    PermissivePolicy,
    /// A policy trusting `user_metadata` from the JWT.
    PolicyTrustsUserMetadata,
    /// A `security definer` function without a fixed `search_path` or callable by `anon`.
    SecurityDefinerFunction,
    /// A view without `security_invoker` that bypasses RLS.
    ViewBypassesRls,
    /// Write privileges granted to `anon`.
    GrantToAnon,
    /// A storage bucket created public.
    PublicStorageBucket,
    /// `createClient` with the service-role key in client-side code.
    ServiceRoleKeyInClient,
    /// A service-role query whose rows are chosen by request input in an unverified handler.
    ServiceRoleQueryFromRequest,
    /// Firebase rules that let everyone in.
    RulesAllowEveryone,
    /// Firebase rules in test mode (open until a date).
    RulesTestMode,
    /// Firebase rules that let any signed-in user read or write every document.
    RulesAnySignedInUser,
    /// `database.rules.json` open at the root.
    DatabaseRulesPublic,
    /// `firebase-admin` imported by client-side code.
    AdminSdkInClient,
    /// A Supabase table with RLS enabled and no policy.
    RlsEnabledWithoutPolicy,
    /// A materialized view readable through the Supabase API.
    MaterializedViewExposed,
    /// A view exposing `auth.users` through the Supabase API.
    AuthUsersExposed,
    /// An own-row UPDATE policy leaving privileged columns open.
    SelfUpdatePrivilegedColumn,
    /// A sign-up trigger that copies a role or entitlement from `raw_user_meta_data`.
    SignupTriggerTrustsUserMetadata,
    /// `supabase/config.toml` auth settings that weaken sign-up.
    AuthConfigWeakensSignUp,
    /// Firestore updates that check the new owner field but not the stored one.
    RulesUpdateIgnoresOwner,
    /// Users may change every field of their own user document.
    RulesOwnerWritesAnyField,
    /// A Postgres extension installed in the exposed `public` schema.
    ExtensionInPublic,
    /// A Firestore write condition mixing `&&` and `||` so a branch skips the caller check.
    RulesAndOrWithoutParentheses,
    /// A function running with the caller's rights without a fixed `search_path`.
    FunctionSearchPathMutable,
    /// A `select` policy on `storage.objects` that lets clients list a public bucket.
    PublicBucketAllowsListing,
    /// A foreign table in a schema the API exposes.
    ForeignTableExposed,
    /// `pg_graphql` installed with tables `anon` can select from.
    GraphqlExposesSchema,
    /// A share-link table whose `select` policy never checks the token.
    ShareTokenNotChecked,
    /// A `pgmq` queue without RLS while the API exposes the queue schema.
    QueueExposedInApi,
    /// A user search by request input that returns e-mail addresses or phone numbers.
    UserSearchReturnsEmails,
    /// A payment or wallet credit whose amount comes from the request.
    PaymentAmountFromRequest,
}

impl Check {
    /// Every check with the name rule files use.
    pub const ALL: [(&'static str, Check); 46] = [
        (
            "parse-unauthenticated-master-key",
            Check::UnauthenticatedMasterKey,
        ),
        ("parse-master-key-idor", Check::MasterKeyIdor),
        (
            "parse-user-query-returns-users",
            Check::UserQueryReturnsUsers,
        ),
        (
            "parse-before-save-trusts-client-fields",
            Check::BeforeSaveTrustsClientFields,
        ),
        ("parse-master-key-in-client", Check::MasterKeyInClient),
        ("parse-object-without-acl", Check::ObjectWithoutAcl),
        ("parse-hardcoded-master-key", Check::HardcodedMasterKey),
        ("parse-insecure-server-option", Check::InsecureServerOption),
        ("parse-insecure-dashboard", Check::InsecureDashboard),
        (
            "parse-server-without-abuse-protection",
            Check::ServerWithoutAbuseProtection,
        ),
        ("parse-master-key-option", Check::MasterKeyOption),
        (
            "parse-verbose-request-logging",
            Check::VerboseRequestLogging,
        ),
        (
            "parse-live-query-private-class",
            Check::LiveQueryPrivateClass,
        ),
        (
            "parse-public-class-level-permission",
            Check::PublicClassLevelPermission,
        ),
        ("supabase-table-without-rls", Check::TableWithoutRls),
        ("supabase-permissive-policy", Check::PermissivePolicy),
        (
            "supabase-policy-trusts-user-metadata",
            Check::PolicyTrustsUserMetadata,
        ),
        (
            "supabase-security-definer-function",
            Check::SecurityDefinerFunction,
        ),
        ("supabase-view-bypasses-rls", Check::ViewBypassesRls),
        ("supabase-grant-to-anon", Check::GrantToAnon),
        ("supabase-public-storage-bucket", Check::PublicStorageBucket),
        (
            "supabase-service-role-key-in-client",
            Check::ServiceRoleKeyInClient,
        ),
        (
            "supabase-service-role-query-from-request",
            Check::ServiceRoleQueryFromRequest,
        ),
        ("firebase-rules-allow-everyone", Check::RulesAllowEveryone),
        ("firebase-rules-test-mode", Check::RulesTestMode),
        (
            "firebase-rules-any-signed-in-user",
            Check::RulesAnySignedInUser,
        ),
        ("firebase-database-rules-public", Check::DatabaseRulesPublic),
        ("firebase-admin-sdk-in-client", Check::AdminSdkInClient),
        (
            "platform-user-search-returns-emails",
            Check::UserSearchReturnsEmails,
        ),
        (
            "platform-payment-amount-from-request",
            Check::PaymentAmountFromRequest,
        ),
        (
            "supabase-rls-enabled-without-policy",
            Check::RlsEnabledWithoutPolicy,
        ),
        (
            "supabase-materialized-view-exposed",
            Check::MaterializedViewExposed,
        ),
        ("supabase-auth-users-exposed", Check::AuthUsersExposed),
        (
            "supabase-self-update-privileged-column",
            Check::SelfUpdatePrivilegedColumn,
        ),
        (
            "supabase-signup-trigger-trusts-user-metadata",
            Check::SignupTriggerTrustsUserMetadata,
        ),
        (
            "supabase-auth-config-weakens-sign-up",
            Check::AuthConfigWeakensSignUp,
        ),
        (
            "firebase-rules-update-ignores-owner",
            Check::RulesUpdateIgnoresOwner,
        ),
        (
            "firebase-rules-owner-writes-any-field",
            Check::RulesOwnerWritesAnyField,
        ),
        ("supabase-extension-in-public", Check::ExtensionInPublic),
        (
            "firebase-rules-and-or-without-parentheses",
            Check::RulesAndOrWithoutParentheses,
        ),
        (
            "supabase-function-search-path-mutable",
            Check::FunctionSearchPathMutable,
        ),
        (
            "supabase-public-bucket-allows-listing",
            Check::PublicBucketAllowsListing,
        ),
        ("supabase-foreign-table-exposed", Check::ForeignTableExposed),
        (
            "supabase-graphql-exposes-schema",
            Check::GraphqlExposesSchema,
        ),
        (
            "supabase-share-token-not-checked",
            Check::ShareTokenNotChecked,
        ),
        ("supabase-queue-exposed-in-api", Check::QueueExposedInApi),
    ];
}

/// The builtin check names this capability runs (`builtin:`/`config:` in a rule).
pub fn builtin_names() -> Vec<String> {
    Check::ALL.iter().map(|(n, _)| (*n).to_string()).collect()
}

/// Builds the platform analyzer from the `builtin:`/`config:` rules of its three families.
pub fn build(
    rules: &RuleSet,
    _settings: &crate::Settings,
) -> Result<Option<Box<dyn Analyzer>>, RuleError> {
    let checks = rules.builtin_checks(&Check::ALL);
    if checks.is_empty() {
        return Ok(None);
    }
    Ok(Some(Box::new(PlatformAnalyzer { checks })))
}

/// Runs every platform check whose rule is loaded.
#[derive(Debug)]
pub struct PlatformAnalyzer {
    /// (check, rule index), sorted by check.
    checks: Vec<(Check, usize)>,
}

/// Where checks report: knows which rules are loaded and active on the current file.
pub struct Sink<'c, 'a> {
    ctx: &'c FileContext<'a>,
    checks: &'c [(Check, usize)],
    out: &'c mut Vec<Finding>,
    /// The file's nodes, collected on first use and shared by every check.
    index: OnceCell<Option<Rc<js::Index<'c>>>>,
    /// The file's Cloud Code handlers, found on first use and shared by the Parse checks.
    handlers: OnceCell<Rc<Vec<cloud_code::Handler<'c>>>>,
}

impl<'c, 'a> Sink<'c, 'a> {
    /// The rule index of `check` when its rule is loaded and active on this file.
    pub fn active(&self, check: Check) -> Option<usize> {
        self.checks
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, i)| *i)
            .filter(|&i| self.ctx.is_active(i))
    }

    /// Whether any of `checks` is active.
    pub fn any_active(&self, checks: &[Check]) -> bool {
        checks.iter().any(|c| self.active(*c).is_some())
    }

    /// The file context.
    pub fn ctx(&self) -> &'c FileContext<'a> {
        self.ctx
    }

    /// The file's text, tree root and node index (parses the file on first use).
    pub fn js(&self) -> Option<(&'c str, tree_sitter::Node<'c>, Rc<js::Index<'c>>)> {
        let index = self.index()?;
        let ctx: &'c FileContext<'a> = self.ctx;
        Some((ctx.file.text.as_str(), index.root(), index))
    }

    /// The Cloud Code handlers the file registers (parses the file on first use).
    pub fn cloud_handlers(&self) -> Option<Rc<Vec<cloud_code::Handler<'c>>>> {
        let (src, _, index) = self.js()?;
        Some(Rc::clone(
            self.handlers
                .get_or_init(|| Rc::new(cloud_code::handlers(&index, src))),
        ))
    }

    /// Every node of the file's tree, from one walk (parses the file on first use).
    pub fn index(&self) -> Option<Rc<js::Index<'c>>> {
        self.index
            .get_or_init(|| {
                let ctx: &'c FileContext<'a> = self.ctx;
                ctx.tree().map(|t| Rc::new(js::Index::new(t.root_node())))
            })
            .clone()
    }

    /// Reports `check` over `range` with an optional message and severity override.
    pub fn report(
        &mut self,
        check: Check,
        range: Range<usize>,
        message: Option<String>,
        adjust: impl FnOnce(&mut Finding),
    ) {
        let Some(idx) = self.active(check) else {
            return;
        };
        let mut finding = shaped(self.ctx.finding(idx, range), message, adjust);
        if check.reports_a_key() {
            let lines = self.ctx.file.line_range(finding.start.line).start
                ..self.ctx.file.line_range(finding.end.line).end;
            finding
                .redactions
                .extend(key_values(&self.ctx.file.text, lines));
        }
        self.out.push(finding);
    }
}

impl Check {
    /// Whether this check reports a key written in the file, whose value no output may show.
    fn reports_a_key(self) -> bool {
        matches!(
            self,
            Check::HardcodedMasterKey | Check::MasterKeyInClient | Check::ServiceRoleKeyInClient
        )
    }
}

/// The values on the lines `range` of `text` that may be keys: the contents of quoted strings
/// of six characters or more (but option and header names), and the value of a `NAME=value` line.
/// Used by the checks that report a key, so their frames hide it whichever other rules run.
fn key_values(text: &str, range: Range<usize>) -> Vec<Range<usize>> {
    const NAMES: [&str; 4] = [
        "masterKey",
        "x-parse-master-key",
        "X-Parse-Master-Key",
        "supabase",
    ];
    let Some(lines) = text.get(range.clone()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let bytes = lines.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        if matches!(quote, b'"' | b'\'' | b'`') {
            let end = lines[i + 1..]
                .find(char::from(quote))
                .map_or(lines.len(), |e| i + 1 + e);
            let value = &lines[i + 1..end];
            if value.len() >= 6 && !NAMES.contains(&value) && !value.contains("process.env") {
                out.push(range.start + i + 1..range.start + end);
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    let mut at = 0;
    for line in lines.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some((name, value)) = body.split_once('=')
            && !name.trim().is_empty()
            && name
                .trim()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && value.trim().len() >= 6
        {
            out.push(range.start + at + name.len() + 1..range.start + at + body.len());
        }
        at += line.len();
    }
    out
}

/// A check's finding: the rule's defaults, with the check's message (if any) and adjustments.
pub(super) fn shaped(
    mut finding: Finding,
    message: Option<String>,
    adjust: impl FnOnce(&mut Finding),
) -> Finding {
    if let Some(m) = message {
        finding.message = m;
    }
    adjust(&mut finding);
    finding
}

impl PlatformAnalyzer {
    /// The rule index of a loaded check.
    fn rule_of(&self, check: Check) -> Option<usize> {
        self.checks
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, i)| *i)
    }
}

impl Analyzer for PlatformAnalyzer {
    fn name(&self) -> &'static str {
        "platform"
    }

    fn rule_indices(&self) -> Vec<usize> {
        self.checks.iter().map(|(_, i)| *i).collect()
    }

    fn analyze_file(&self, ctx: &FileContext<'_>, out: &mut Vec<Finding>) {
        if !self.checks.iter().any(|(_, i)| ctx.is_active(*i)) {
            return;
        }
        let mut sink = Sink {
            ctx,
            checks: &self.checks,
            out,
            index: OnceCell::new(),
            handlers: OnceCell::new(),
        };
        match ctx.file.kind {
            FileKind::Js | FileKind::Ts | FileKind::Tsx => {
                cloud_code::check_file(&mut sink);
                parse::objects::check_file(&mut sink);
                parse::config::check_file(&mut sink);
                parse::schema::check_file(&mut sink);
                supabase::client_key::check_client_file(&mut sink);
                supabase::edge::check_file(&mut sink);
                supabase::storage::check_file(&mut sink);
                firebase::admin_sdk::check_admin_in_client(&mut sink);
                user_search::check_file(&mut sink);
                payments::check_file(&mut sink);
            }
            FileKind::Json => {
                parse::config::check_json(&mut sink);
                parse::schema::check_json(&mut sink);
                firebase::database::check_database_rules(&mut sink);
            }
            FileKind::Dotenv => parse::config::check_env(&mut sink),
            FileKind::FirebaseRules => firebase::rules::check_rules_file(&mut sink),
            FileKind::Toml => supabase::config::check_file(&mut sink),
            FileKind::Yaml | FileKind::Text => parse::config::check_deploy_file(&mut sink),
            _ => {}
        }
    }

    fn wants_facts(&self, kind: FileKind, display: &str) -> bool {
        let loaded = |checks: &[Check]| checks.iter().any(|c| self.rule_of(*c).is_some());
        if kind == FileKind::Sql {
            loaded(&supabase::migrations::SQL_CHECKS) && supabase::migrations::wants_facts(display)
        } else {
            loaded(&cloud_code::CHECKS) && parse::project::wants_facts(kind, display)
        }
    }

    fn file_facts(&self, ctx: &FileContext<'_>) {
        if ctx.file.kind == FileKind::Sql {
            ctx.emit(supabase::migrations::facts(ctx));
        } else if let Some(registrations) = parse::project::facts(ctx) {
            ctx.emit(registrations);
        }
    }

    fn analyze_project(&self, project: &ProjectContext<'_>, out: &mut Vec<Finding>) {
        let rules: Vec<(Check, usize)> = supabase::migrations::SQL_CHECKS
            .iter()
            .filter_map(|c| self.rule_of(*c).map(|i| (*c, i)))
            .collect();
        if !rules.is_empty() {
            supabase::migrations::check_project(project, &rules, out);
        }
        let parse_rules: Vec<(Check, usize)> = cloud_code::CHECKS
            .iter()
            .filter_map(|c| self.rule_of(*c).map(|i| (*c, i)))
            .collect();
        if !parse_rules.is_empty() {
            parse::project::check_project(project, &parse_rules, out);
        }
    }
}
