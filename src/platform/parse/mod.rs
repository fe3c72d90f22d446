//! Parse Server: Cloud Code handlers, objects and ACLs, server and dashboard options, class-level
//! permissions. From a rule id `parse.<name>` to its code:
//!
//! - [`cloud_code`] holds `unauthenticated-master-key-function`, `master-key-idor`,
//!   `user-query-returns-full-users`, `before-save-trusts-client-fields`, `master-key-option`
//!   (the handler model: validators, `request.user` checks, master-key operations);
//! - [`project`] holds the same checks for handlers registered in one file and defined in another;
//! - [`use_cases`] holds `master-key-idor` for Cloud functions that pass a request id to a use
//!   case or service in another module;
//! - [`objects`] holds `object-saved-without-acl`, `master-key-in-client-code`;
//! - [`config`] holds `hardcoded-master-key`, `insecure-server-option`, `insecure-dashboard-config`,
//!   `server-without-abuse-protection`, `verbose-request-logging`, `live-query-private-class`
//!   (options in JS, config JSON and `.env`);
//! - [`schema`] holds `public-class-level-permission`.
//!
//! The remaining `parse.*` rules are `match:` rules run by the engine.

pub mod cloud_code;
pub mod config;
pub mod objects;
pub mod project;
pub mod schema;
pub mod use_cases;
