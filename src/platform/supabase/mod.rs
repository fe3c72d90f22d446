//! Supabase: SQL migrations, `supabase/config.toml`, storage buckets, service-role clients. From
//! a rule id `supabase.<name>` to its code:
//!
//! - [`migrations`] holds `table-without-rls`, `permissive-policy`, `policy-trusts-user-metadata`,
//!   `security-definer-function`, `view-bypasses-rls`, `grant-to-anon`, the SQL side of
//!   `public-storage-bucket`, `rls-enabled-without-policy`, `materialized-view-exposed`,
//!   `auth-users-exposed`, `self-update-privileged-column`, `extension-in-public`;
//! - [`history`] holds the database a migration history ends up with, which those checks judge;
//! - [`sql`] holds splitting and parsing SQL files, statement by statement;
//! - [`config`] holds `supabase/config.toml` (exposed schemas, `verify_jwt` per function) and
//!   `auth-config-weakens-sign-up`;
//! - [`storage`] holds `public-storage-bucket` in JavaScript, and bucket names judged for both sides;
//! - [`client_key`] holds `service-role-key-in-client`;
//! - [`edge`] holds `service-role-query-from-request` (edge functions, route handlers, server actions).

pub mod client_key;
pub mod config;
pub mod edge;
pub mod history;
pub mod migrations;
pub mod sql;
pub mod storage;
