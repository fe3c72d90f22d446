//! Firebase: security rules, Realtime Database rules and the Admin SDK. From a rule id
//! `firebase.<name>` to its code:
//!
//! - [`rules`] holds `rules-allow-everyone`, `rules-test-mode`, `rules-any-signed-in-user`
//!   (`firestore.rules`, `storage.rules`);
//! - [`ownership`] holds `rules-update-ignores-owner`, `rules-owner-writes-any-field`;
//! - [`database`] holds `database-rules-public` (`database.rules.json`);
//! - [`admin_sdk`] holds `admin-sdk-in-client`.

pub mod admin_sdk;
pub mod database;
pub mod ownership;
pub mod rules;
