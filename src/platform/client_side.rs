//! Whether a file is client-side code: shipped to browsers or phones, so any key in it is public.
//!
//! Decided from the path and a few content markers. Server markers in the path win over client
//! ones (`web/server/index.js` is server code), and a `'use client'` directive or a React Native
//! import wins over everything.

/// Path segments of folders whose code ships to the client.
const CLIENT_DIRS: [&str; 10] = [
    "public",
    "client",
    "frontend",
    "web",
    "mobile",
    "www",
    "static",
    "app-client",
    "ios",
    "android",
];

/// Path segments of folders whose code runs on a server.
const SERVER_DIRS: [&str; 12] = [
    "server",
    "api",
    "backend",
    "functions",
    "cloud",
    "cloud-code",
    "cloudcode",
    "scripts",
    "migrations",
    "edge-functions",
    "lambda",
    "netlify",
];

/// Whether the file at `path` (display path, `/`-separated) with this text runs on the client.
pub fn is_client_side(path: &str, text: &str) -> bool {
    if has_use_client(text) || imports_react_native(text) {
        return true;
    }
    let lower = path.to_ascii_lowercase();
    let segments: Vec<&str> = lower.split('/').collect();
    let (dirs, file) = segments.split_at(segments.len().saturating_sub(1));
    let file = file.first().copied().unwrap_or("");
    if dirs.iter().any(|d| SERVER_DIRS.contains(d))
        || file.starts_with("server.")
        || file.contains(".server.")
    {
        return false;
    }
    if file.starts_with("app.config.") {
        return true;
    }
    if let Some(pos) = dirs.iter().position(|d| *d == "pages") {
        return dirs.get(pos + 1).is_none_or(|d| *d != "api");
    }
    dirs.iter().any(|d| CLIENT_DIRS.contains(d))
        || (dirs.contains(&"src")
            && (dirs.contains(&"components")
                || dirs.contains(&"hooks")
                || dirs.contains(&"screens")))
            && std::path::Path::new(file)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("jsx") || e.eq_ignore_ascii_case("tsx"))
}

/// A `'use client'` directive at the top of the file.
fn has_use_client(text: &str) -> bool {
    let head: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    head.starts_with("'use client'") || head.starts_with("\"use client\"")
}

/// An import of React Native or Expo: the code runs on a phone.
fn imports_react_native(text: &str) -> bool {
    [
        "'react-native'",
        "\"react-native\"",
        "from 'expo-",
        "from \"expo-",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// A module of a Next.js app (a `next.config.*` in one of its folders) without `'use client'`:
/// Next.js runs it on the server, and bundling it for the browser fails at build time, so it
/// is not client code even under `web/`.
pub fn is_next_server_module(display: &str, text: &str) -> bool {
    let head = text.trim_start();
    if head.starts_with("'use client'") || head.starts_with("\"use client\"") {
        return false;
    }
    // Pages Router pages, components and hooks are bundled for the browser whatever they say
    let segments: Vec<&str> = display.split('/').collect();
    if segments
        .iter()
        .any(|s| matches!(*s, "components" | "hooks" | "pages"))
        && !display.contains("pages/api/")
    {
        return false;
    }
    crate::engine::not_cacheable(); // looks for next.config.* around the file
    let mut dir = std::path::Path::new(display).parent();
    for _ in 0..6 {
        let Some(d) = dir else { break };
        let d_or_here = if d.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            d
        };
        if [
            "next.config.js",
            "next.config.mjs",
            "next.config.ts",
            "next.config.cjs",
        ]
        .iter()
        .any(|n| d_or_here.join(n).is_file())
        {
            return true;
        }
        dir = d.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::is_client_side;

    #[test]
    fn classifies_common_layouts() {
        assert!(is_client_side("web/src/lib/parse.js", ""));
        assert!(is_client_side("pages/index.tsx", ""));
        assert!(!is_client_side("pages/api/users.ts", ""));
        assert!(!is_client_side("web/server/index.js", ""));
        assert!(is_client_side(
            "app/page.tsx",
            "'use client';\nexport default 1"
        ));
        assert!(!is_client_side("app/page.tsx", "export default 1"));
        assert!(is_client_side(
            "App.js",
            "import { View } from 'react-native';"
        ));
        assert!(!is_client_side("cloud/main.js", ""));
        assert!(is_client_side("src/components/Login.jsx", ""));
    }
}
