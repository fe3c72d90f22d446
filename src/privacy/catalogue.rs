//! The personal-data catalogue (`personal-data.json`, embedded): data types and the field names
//! that hold them, in several languages and naming styles, and the name classifier built on it.
//!
//! It owns naming only. The taint rules follow the catalogue's `flow` names through the sets it
//! adds ([`taint_sources`]); the data map classifies schema fields with [`classify_field`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The embedded catalogue.
const CATALOGUE: &str = include_str!("personal-data.json");

/// One personal-data type, e.g. `email`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct DataType {
    /// Stable id: `email`, `phone`, `password`, ...
    pub id: String,
    /// Words for people: "e-mail address".
    pub label: String,
    /// Contact, identity, credential, special category, ...
    pub category: String,
    /// Names specific enough to follow through code (`snake_case` token sequences).
    #[serde(default, skip_serializing)]
    pub flow: Vec<String>,
    /// Names that classify a schema field but are too generic to follow in code (`name`).
    #[serde(default, skip_serializing)]
    pub schema: Vec<String>,
}

/// The catalogue file.
#[derive(Debug, Deserialize)]
struct RawCatalogue {
    prefixes_excluded: Vec<String>,
    types: Vec<DataType>,
}

/// The compiled catalogue.
#[derive(Debug)]
pub struct Catalogue {
    /// Every type, in file order.
    pub types: Vec<DataType>,
    /// Tokens that, right before a name, say the value is not the raw datum (`hashed_password`).
    excluded: Vec<String>,
    /// (tokens, type index, is a flow name), longest names first.
    names: Vec<(Vec<String>, usize, bool)>,
}

static COMPILED: LazyLock<Catalogue> = LazyLock::new(|| {
    let raw: RawCatalogue =
        serde_json::from_str(CATALOGUE).expect("personal-data.json is valid (unit-tested)");
    let mut names = Vec::new();
    for (i, t) in raw.types.iter().enumerate() {
        for (list, is_flow) in [(&t.flow, true), (&t.schema, false)] {
            for n in list {
                names.push((
                    n.split('_').map(String::from).collect::<Vec<_>>(),
                    i,
                    is_flow,
                ));
            }
        }
    }
    names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    Catalogue {
        types: raw.types,
        excluded: raw.prefixes_excluded,
        names,
    }
});

/// The catalogue, compiled once.
pub fn catalogue() -> &'static Catalogue {
    &COMPILED
}

/// Splits an identifier into lower-case tokens: `userEmailAddress`, `user_email_address`,
/// `user-email-address` and `UserEMailAddress` all give `user email address` (`EMail` -> `e mail`).
pub fn tokens(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    // accents: `contraseña`, `téléphone` are written without them in code too
    out.iter().map(|t| fold_accents(t)).collect()
}

fn fold_accents(token: &str) -> String {
    token
        .chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ñ' => 'n',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

impl Catalogue {
    /// The type a field name holds, if any: the name ends with a catalogue name (`userEmail`,
    /// `customer_phone_number`), or is one written as one word (`emailaddress`), and is not
    /// marked as transformed (`hashedPassword`, `maskedEmail`). `with_schema` also accepts the
    /// generic names (`name`, `address`) that only schemas make meaningful.
    pub fn classify(&self, name: &str, with_schema: bool) -> Option<&DataType> {
        let toks = tokens(name);
        if toks.is_empty() {
            return None;
        }
        let joined = toks.concat();
        for (variant, idx, is_flow) in &self.names {
            if !is_flow && !with_schema {
                continue;
            }
            let n = variant.len();
            let ends = toks.len() >= n && toks[toks.len() - n..] == variant[..];
            let whole = toks.len() == 1 && joined == variant.concat() && n > 1;
            if !(ends || whole) {
                continue;
            }
            // generic names (`name`, `location`) count alone or after a word naming a person
            if !is_flow
                && toks.len() > n
                && !PERSON_WORDS.contains(&toks[toks.len() - n - 1].as_str())
            {
                continue;
            }
            if ends
                && toks.len() > n
                && self.excluded.iter().any(|e| *e == toks[toks.len() - n - 1])
            {
                return None;
            }
            return Some(&self.types[*idx]);
        }
        None
    }

    /// A type by id.
    pub fn get(&self, id: &str) -> Option<&DataType> {
        self.types.iter().find(|t| t.id == id)
    }
}

/// Classifies a schema field or column name (generic names included).
pub fn classify_field(name: &str) -> Option<&'static DataType> {
    catalogue().classify(name, true)
}

/// Whether `name` is personal data only by a generic name (`name`, `city`, `location`), which
/// says little unless the record describes a person.
pub fn is_generic_field(name: &str) -> bool {
    catalogue().classify(name, false).is_none() && classify_field(name).is_some()
}

/// Words that, before a generic name, say it belongs to a person (`user_name`, `billing_city`).
const PERSON_WORDS: &[&str] = &[
    "user",
    "customer",
    "client",
    "contact",
    "patient",
    "member",
    "owner",
    "author",
    "guest",
    "buyer",
    "seller",
    "employee",
    "student",
    "driver",
    "billing",
    "shipping",
    "home",
    "work",
    "personal",
    "full",
    "display",
    "first",
    "last",
    "sender",
    "recipient",
    "last_login",
];

/// Whether a store (class, table, type) name says its records describe people.
pub fn is_person_store(name: &str) -> bool {
    const PEOPLE: &[&str] = &[
        "user",
        "users",
        "profile",
        "profiles",
        "customer",
        "customers",
        "contact",
        "contacts",
        "member",
        "members",
        "account",
        "accounts",
        "lead",
        "leads",
        "patient",
        "patients",
        "employee",
        "employees",
        "student",
        "students",
        "client",
        "clients",
        "person",
        "people",
        "applicant",
        "applicants",
        "subscriber",
        "subscribers",
        "guest",
        "guests",
        "booking",
        "bookings",
        "order",
        "orders",
        "address",
        "addresses",
        "signup",
        "signups",
        "usuario",
        "usuarios",
        "cliente",
        "clientes",
        "utilisateur",
        "utilisateurs",
        "benutzer",
        "kunde",
        "kunden",
    ];
    tokens(name).iter().any(|t| PEOPLE.contains(&t.as_str()))
}

/// Prefixes under which flow names are also written (`userEmail`, `newPassword`).
const PREFIXES: &[&str] = &[
    "user", "customer", "client", "contact", "patient", "member", "new", "current", "confirm",
];

/// The spellings of a token sequence: `snake_case`, `camelCase`, and one lower-case word.
fn spellings(toks: &[&str], out: &mut Vec<String>) {
    out.push(toks.join("_"));
    out.push(toks.concat());
    let camel: String = toks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == 0 {
                (*t).to_string()
            } else {
                capitalize(t)
            }
        })
        .collect();
    out.push(camel);
}

fn capitalize(t: &str) -> String {
    let mut c = t.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Every spelling of the flow names of the types in `ids`, with common prefixes.
fn flow_spellings(ids: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for t in catalogue()
        .types
        .iter()
        .filter(|t| ids.contains(&t.id.as_str()))
    {
        for name in &t.flow {
            let toks: Vec<&str> = name.split('_').collect();
            spellings(&toks, &mut out);
            for p in PREFIXES {
                let mut with = vec![*p];
                with.extend(&toks);
                spellings(&with, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Personal data followed by the privacy flow rules (credentials apart).
pub const PERSONAL_FLOW_TYPES: &[&str] = &[
    "email",
    "phone",
    "name",
    "address",
    "birth-date",
    "health",
    "payment-card",
    "national-id",
];

/// Credentials followed by the privacy flow rules.
pub const CREDENTIAL_TYPES: &[&str] = &["password", "auth-token"];

/// Named taint source sets built from the catalogue, added to `taint-sets.json`'s:
/// `@personal-data`, `@credentials` and `@passwords`. Each is a variable of one of the names,
/// or a property of that name on any object (`user.email`, `req.body.email`).
pub fn taint_sources() -> BTreeMap<String, Vec<String>> {
    let set = |ids: &[&str]| {
        let names = flow_spellings(ids).join("|");
        vec![names.clone(), format!("$X.{names}")]
    };
    BTreeMap::from([
        ("personal-data".to_string(), set(PERSONAL_FLOW_TYPES)),
        ("credentials".to_string(), set(CREDENTIAL_TYPES)),
        ("passwords".to_string(), set(&["password"])),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> Option<&'static str> {
        classify_field(name).map(|t| t.id.as_str())
    }

    #[test]
    fn catalogue_loads_with_every_required_type() {
        for t in [
            "email",
            "phone",
            "name",
            "address",
            "birth-date",
            "ip-address",
            "location",
            "health",
            "payment-card",
            "national-id",
            "password",
            "auth-token",
        ] {
            assert!(catalogue().get(t).is_some(), "{t}");
        }
    }

    #[test]
    fn splits_naming_styles() {
        assert_eq!(tokens("userEmailAddress"), ["user", "email", "address"]);
        assert_eq!(tokens("user_email-address"), ["user", "email", "address"]);
        assert_eq!(tokens("HTTPServerIP"), ["http", "server", "ip"]);
        assert_eq!(tokens("contraseña"), ["contrasena"]);
    }

    #[test]
    fn classifies_variants_in_several_languages() {
        assert_eq!(id("customerEmail"), Some("email"));
        assert_eq!(id("emailaddress"), Some("email"));
        assert_eq!(id("phone_number"), Some("phone"));
        assert_eq!(id("telefone"), Some("phone"));
        assert_eq!(id("fechaNacimiento"), Some("birth-date"));
        assert_eq!(id("geburtsdatum"), Some("birth-date"));
        assert_eq!(id("mot_de_passe"), Some("password"));
        assert_eq!(id("senha"), Some("password"));
        assert_eq!(id("lastName"), Some("name"));
        assert_eq!(id("ip_address"), Some("ip-address"));
        assert_eq!(id("stripeCustomerId"), None);
        assert_eq!(id("campaign_name"), None);
        assert_eq!(id("user_name"), Some("name"));
    }

    #[test]
    fn transformed_or_derived_fields_are_not_raw_data() {
        assert_eq!(id("hashedPassword"), None);
        assert_eq!(id("password_hash"), None);
        assert_eq!(id("emailVerified"), None);
        assert_eq!(id("isEmail"), None);
        assert_eq!(id("createdAt"), None);
    }

    #[test]
    fn flow_sets_hold_prefixed_spellings() {
        let sets = taint_sources();
        let personal = &sets["personal-data"][0];
        assert!(personal.split('|').any(|n| n == "userEmail"));
        assert!(personal.split('|').any(|n| n == "phone_number"));
        assert!(!personal.split('|').any(|n| n == "name"));
        assert!(
            sets["credentials"][0]
                .split('|')
                .any(|n| n == "newPassword")
        );
    }
}
