//! `.env`, SQL, Firebase rules, `database.rules.json`, Supabase `config.toml`, YAML and JSON configs (see `fuzz_scan_content` in ../harness.rs).
#![no_main]

include!("../harness.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_scan_content(data));
