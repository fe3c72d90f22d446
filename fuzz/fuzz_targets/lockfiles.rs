//! Manifests and lockfiles through a scan of a temporary project (see `fuzz_lockfiles` in ../harness.rs).
#![no_main]

include!("../harness.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_lockfiles(data));
