//! Rule YAML through the rule loader (see `fuzz_rule_yaml` in ../harness.rs).
#![no_main]

include!("../harness.rs");

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_rule_yaml(data));
