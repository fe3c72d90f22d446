//! Embeds every file under `rules/` into the binary, so `vibeward` is self-contained.
//!
//! Writes `$OUT_DIR/embedded_rules.rs`: a sorted `&[(&str, &str)]` of (path relative to the crate,
//! contents) for every `.yaml` and `.json` file below `rules/`, and the same list of the `.yaml`
//! rules pre-digested into JSON (`EMBEDDED_JSON`): the YAML parser was a quarter of start-up
//! (issue 22), a JSON parser reads the same data several times faster. Each conversion is checked
//! to read back as the very YAML value it came from.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "json")
        ) {
            out.push(path);
        }
    }
}

/// Writes through a fresh file renamed into place: a build directory copied with hard links (a
/// shared seed for several checkouts) then gets its own file instead of rewriting the one every
/// link points at, which would leak one checkout's rules into another's build.
fn write_new(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).expect("OUT_DIR is writable");
    std::fs::rename(&tmp, path).expect("OUT_DIR is writable");
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let rules = root.join("rules");
    println!("cargo:rerun-if-changed=rules");
    let mut files = Vec::new();
    collect(&rules, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Every rule and data file under `rules/`, as (relative path, contents).\npub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file
            .strip_prefix(&root)
            .expect("collected below the crate root");
        let rel = rel.to_string_lossy().replace('\\', "/");
        writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let json_dir = out_dir.join("rules-json");
    std::fs::create_dir_all(&json_dir).expect("OUT_DIR is writable");
    code.push_str(
        "/// Every `.yaml` rule under `rules/`, as (relative path, the same document as JSON, `true`; or\n/// the YAML text and `false` when it is no valid YAML).\npub static EMBEDDED_JSON: &[(&str, &str, bool)] = &[\n",
    );
    for (n, file) in files
        .iter()
        .filter(|f| f.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .enumerate()
    {
        let rel = file
            .strip_prefix(&root)
            .expect("collected below the crate root")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).expect("rule files are UTF-8");
        // a file that is not valid YAML stays YAML, for the loader to report with its position
        let (json, is_json) = match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) {
            Ok(value) => {
                let json = serde_json::to_string(&value).expect("rule YAML converts to JSON");
                let back: serde_yaml_ng::Value =
                    serde_json::from_str(&json).expect("the JSON reads back");
                assert!(
                    back == value,
                    "{rel}: the rule does not survive conversion to JSON (non-string keys or tags?)"
                );
                (json, true)
            }
            Err(_) => (text, false),
        };
        let target = json_dir.join(format!("{n}.json"));
        write_new(&target, &json);
        writeln!(
            code,
            "    ({rel:?}, include_str!({:?}), {is_json}),",
            target.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    code.push_str("];\n");
    let out = out_dir.join("embedded_rules.rs");
    write_new(&out, &code);
}
