//! docker-compose files: services with host access, and databases or caches published on every
//! interface with no password or a default one.
//!
//! Meaning comes from the parsed YAML; positions from the text, by searching each service's block
//! (the lines below its key) for the option that was judged.

use std::ops::Range;

use serde_yaml_ng::Value;

use super::{Check, Extra, Sink, lines};
use crate::rules::Severity;

/// Whether the document is a compose file: a top-level `services:` whose entries have an
/// `image:` or a `build:`.
pub fn is_compose(doc: &Value) -> bool {
    doc.get("services")
        .and_then(Value::as_mapping)
        .is_some_and(|services| {
            !services.is_empty()
                && services
                    .values()
                    .any(|s| s.get("image").is_some() || s.get("build").is_some())
        })
}

/// The text of a scalar (strings, numbers, booleans).
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The block of each top-level service: (name, byte range of its key line through its last line).
fn service_blocks(text: &str) -> Vec<(String, Range<usize>)> {
    let mut out: Vec<(String, Range<usize>)> = Vec::new();
    let mut in_services = false;
    let mut child_indent: Option<usize> = None;
    for (range, line) in lines(text) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            in_services = trimmed.starts_with("services:");
            child_indent = None;
            continue;
        }
        if !in_services {
            continue;
        }
        let indent_of_children = *child_indent.get_or_insert(indent);
        if indent == indent_of_children
            && let Some(name) = trimmed.strip_suffix(':').or_else(|| {
                trimmed
                    .split_once(':')
                    .filter(|(_, r)| r.trim().is_empty() || r.trim_start().starts_with('#'))
                    .map(|(n, _)| n)
            })
        {
            out.push((name.trim_matches(['"', '\'']).to_string(), range));
        } else if let Some(last) = out.last_mut() {
            last.1.end = range.end;
        }
    }
    out
}

/// The trimmed range of the first non-comment line in `block` that contains `needle`.
fn find_line(text: &str, block: &Range<usize>, needle: &str) -> Option<Range<usize>> {
    let slice = &text[block.clone()];
    lines(slice).find_map(|(r, line)| {
        let t = line.trim_start();
        (!t.starts_with('#') && line.contains(needle)).then(|| {
            let start = block.start + r.start + (line.len() - t.len());
            start..block.start + r.end
        })
    })
}

/// Runs the compose checks.
pub fn check_file(sink: &mut Sink<'_, '_>, doc: &Value) {
    let text = sink.text().to_string();
    let blocks = service_blocks(&text);
    let Some(services) = doc.get("services").and_then(Value::as_mapping) else {
        return;
    };
    for (name, service) in services {
        let Some(name) = name.as_str() else { continue };
        // a service written in flow style has no block of its own: search the whole file
        let whole = 0..text.len();
        let block = blocks
            .iter()
            .find(|(n, _)| n == name)
            .map_or(&whole, |(_, b)| b);
        if sink.is_active(Check::HostAccess) {
            host_access(sink, &text, block, name, service);
        }
        if sink.is_active(Check::DatabasePublished) {
            database_published(sink, &text, block, name, service);
        }
    }
}

fn host_access(sink: &mut Sink<'_, '_>, text: &str, block: &Range<usize>, name: &str, s: &Value) {
    let mut report = |needle: &str, severity: Severity, what: String| {
        if let Some(range) = find_line(text, block, needle) {
            sink.report(
                Check::HostAccess,
                range,
                Extra {
                    message: Some(what),
                    severity: Some(severity),
                    ..Extra::default()
                },
            );
        }
    };
    if s.get("privileged").and_then(Value::as_bool) == Some(true) {
        report(
            "privileged",
            Severity::High,
            format!(
                "service `{name}` runs privileged: every device and capability of the host, so a compromise of the container is root on the host"
            ),
        );
    }
    let volumes = s.get("volumes").and_then(Value::as_sequence);
    let mounts_socket = volumes.is_some_and(|vs| {
        vs.iter().any(|v| {
            let source = scalar(v)
                .or_else(|| v.get("source").and_then(scalar))
                .unwrap_or_default();
            source.contains("docker.sock")
        })
    });
    if mounts_socket {
        // the volume line (`src:dst`), not a `command:` that names the socket
        let needle = if find_line(text, block, "docker.sock:").is_some() {
            "docker.sock:"
        } else {
            "docker.sock"
        };
        report(
            needle,
            Severity::Medium,
            format!(
                "service `{name}` mounts the Docker socket: whoever controls this container can start a privileged container and own the host (even with `:ro`)"
            ),
        );
    }
    for key in ["network_mode", "pid", "ipc"] {
        if s.get(key).and_then(Value::as_str) == Some("host") {
            report(
                key,
                Severity::Medium,
                format!(
                    "service `{name}` shares the host's {} namespace (`{key}: host`): it sees and reaches what only the host should",
                    if key == "network_mode" {
                        "network"
                    } else {
                        key
                    }
                ),
            );
        }
    }
    let caps = s.get("cap_add").and_then(Value::as_sequence);
    if let Some(cap) = caps.and_then(|cs| {
        cs.iter()
            .filter_map(Value::as_str)
            .find(|c| matches!(c.trim_start_matches("CAP_"), "SYS_ADMIN" | "ALL"))
    }) {
        report(
            cap,
            Severity::High,
            format!(
                "service `{name}` adds `{cap}`: nearly root on the host from inside the container"
            ),
        );
    }
}

/// The databases and caches this check knows, by image name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Store {
    Mongo,
    Postgres,
    MySql,
    Redis,
    Elastic,
    Memcached,
}

fn store_of(image: &str) -> Option<Store> {
    let repo = image.split([':', '@']).next().unwrap_or(image);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    Some(match last {
        "mongo" | "mongodb" | "mongodb-community-server" => Store::Mongo,
        "postgres" | "postgis" | "postgresql" | "timescaledb" | "pgvector" => Store::Postgres,
        "mysql" | "mariadb" | "mysql-server" => Store::MySql,
        "redis" | "redis-stack" | "redis-stack-server" | "valkey" | "keydb" => Store::Redis,
        "elasticsearch" | "opensearch" => Store::Elastic,
        "memcached" => Store::Memcached,
        _ => return None,
    })
}

/// `environment:` as (name, value) pairs, from a mapping or a `- NAME=value` list.
fn environment(s: &Value) -> Vec<(String, String)> {
    match s.get("environment") {
        Some(Value::Mapping(m)) => m
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v).unwrap_or_default())))
            .collect(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|i| {
                let (k, v) = i.split_once('=').unwrap_or((i, ""));
                (k.trim().to_string(), v.trim().to_string())
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Passwords anyone tries first: the image's own name, `password`, `root`, `admin`, short digits.
fn is_weak_password(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    if v.is_empty() {
        return true;
    }
    matches!(
        v.as_str(),
        "password"
            | "password1"
            | "password123"
            | "pass"
            | "passw0rd"
            | "postgres"
            | "postgresql"
            | "root"
            | "admin"
            | "admin123"
            | "mysql"
            | "mongo"
            | "mongodb"
            | "redis"
            | "example"
            | "secret"
            | "changeme"
            | "123456"
            | "12345678"
            | "1234"
            | "test"
            | "elastic"
            | "changeit"
            | "docker"
            | "user"
    ) || crate::secrets::allow::is_default_secret(&v)
}

/// Published ports that listen on every interface: `"5432:5432"`, `"5432"`,
/// `"0.0.0.0:5432:5432"`, `{ published: 5432 }` without `host_ip`; not `"127.0.0.1:5432:5432"`.
fn public_port(s: &Value) -> Option<String> {
    let ports = s.get("ports").and_then(Value::as_sequence)?;
    ports.iter().find_map(|p| {
        if let Some(text) = scalar(p) {
            let parts: Vec<&str> = text.rsplitn(3, ':').collect();
            let host_ip = (parts.len() == 3).then(|| parts[2].trim_matches(['[', ']']));
            let is_public = host_ip.is_none_or(|ip| matches!(ip, "0.0.0.0" | "::" | ""));
            return is_public.then_some(text);
        }
        let published = p.get("published").and_then(scalar)?;
        let host_ip = p.get("host_ip").and_then(Value::as_str).unwrap_or("");
        matches!(host_ip, "" | "0.0.0.0" | "::").then_some(published)
    })
}

fn database_published(
    sink: &mut Sink<'_, '_>,
    text: &str,
    block: &Range<usize>,
    name: &str,
    s: &Value,
) {
    let Some(image) = s.get("image").and_then(Value::as_str) else {
        return;
    };
    let Some(store) = store_of(&image.to_ascii_lowercase()) else {
        return;
    };
    let Some(port) = public_port(s) else { return };
    let env = environment(s);
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // a password kept in an env file or passed from the shell is not in view: no verdict
    let has_env_file = s.get("env_file").is_some();
    let command = s
        .get("command")
        .map(|c| match c {
            Value::Sequence(items) => items
                .iter()
                .filter_map(scalar)
                .collect::<Vec<_>>()
                .join(" "),
            other => scalar(other).unwrap_or_default(),
        })
        .unwrap_or_default();
    let password_keys: &[&str] = match store {
        Store::Mongo => &["MONGO_INITDB_ROOT_PASSWORD", "MONGODB_ROOT_PASSWORD"],
        Store::Postgres => &["POSTGRES_PASSWORD", "POSTGRESQL_PASSWORD"],
        Store::MySql => &[
            "MYSQL_ROOT_PASSWORD",
            "MARIADB_ROOT_PASSWORD",
            "MYSQL_PASSWORD",
            "MARIADB_PASSWORD",
        ],
        Store::Redis => &["REDIS_PASSWORD"],
        Store::Elastic => &["ELASTIC_PASSWORD"],
        Store::Memcached => &[],
    };
    let password = password_keys.iter().find_map(|k| get(k).map(|v| (*k, v)));
    let no_auth = match store {
        Store::Postgres => get("POSTGRES_HOST_AUTH_METHOD") == Some("trust"),
        Store::MySql => {
            get("MYSQL_ALLOW_EMPTY_PASSWORD").is_some_and(|v| !v.is_empty())
                || get("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD").is_some_and(|v| !v.is_empty())
        }
        Store::Redis => {
            password.is_none() && !command.contains("requirepass") && !command.contains(".conf")
        }
        Store::Elastic => env
            .iter()
            .any(|(k, v)| k == "xpack.security.enabled" && v == "false"),
        Store::Mongo => password.is_none(),
        Store::Memcached => true,
    } && !has_env_file;
    let (needle, message, severity) = if no_auth {
        (
            port.clone(),
            format!(
                "service `{name}` ({image}) is published on every interface (`{port}`) and accepts connections without a password: anyone who reaches the host reads and changes the data"
            ),
            Severity::High,
        )
    } else if let Some((key, value)) = password
        && !value.contains('$')
        && is_weak_password(value)
    {
        (
            key.to_string(),
            format!(
                "service `{name}` ({image}) is published on every interface (`{port}`) with the default password `{key}={}`: the first guess of every scanner",
                value.trim()
            ),
            Severity::Medium,
        )
    } else {
        return;
    };
    let Some(range) = find_line(text, block, &needle) else {
        return;
    };
    sink.report(
        Check::DatabasePublished,
        range,
        Extra {
            message: Some(message),
            severity: Some(severity),
            ..Extra::default()
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(yaml: &str) -> Value {
        serde_yaml_ng::from_str(yaml).expect("valid YAML")
    }

    #[test]
    fn ports_on_every_interface() {
        assert!(public_port(&service("ports: ['5432:5432']")).is_some());
        assert!(public_port(&service("ports: ['0.0.0.0:5432:5432']")).is_some());
        assert!(public_port(&service("ports: [27017]")).is_some());
        assert!(public_port(&service("ports: [{ target: 5432, published: 5432 }]")).is_some());
        assert!(public_port(&service("ports: ['127.0.0.1:5432:5432']")).is_none());
        assert!(public_port(&service("ports: ['[::1]:6379:6379']")).is_none());
        assert!(public_port(&service("expose: ['5432']")).is_none());
    }

    #[test]
    fn stores_by_image() {
        assert!(store_of("bitnami/redis:7.2") == Some(Store::Redis));
        assert!(store_of("postgres:16-alpine") == Some(Store::Postgres));
        assert!(store_of("mongo-express:latest").is_none());
    }
}
