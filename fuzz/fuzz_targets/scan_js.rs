//! The JS/TS scan of arbitrary bytes (see `fuzz_scan_js` in ../harness.rs).
#![no_main]

include!("../harness.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_scan_js(data));
