//! Format checks written in code: checksummed tokens (GitHub, npm) and JWT decoding (Supabase).
//!
//! A validator only says whether a regex match has the structure of a real credential; it never
//! contacts a provider.

/// What a JWT's payload says about the key, for Supabase-style API keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtRole {
    /// `role: service_role`: bypasses row level security.
    ServiceRole,
    /// `role: anon` (or `authenticated`): public by design.
    Public,
    /// A JWT with another or no role.
    Other,
}

/// Whether a GitHub-style token (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `npm_`) carries a valid
/// CRC32 checksum in its last six base62 characters. Accepts the checksum over the random part
/// (GitHub's documented scheme) or over the whole token body with its prefix.
pub fn has_token_checksum(token: &str) -> bool {
    let Some((prefix, body)) = token.split_once('_') else {
        return false;
    };
    if body.len() < 7 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, check) = body.split_at(body.len() - 6);
    let over_random = base62_padded(crc32(random.as_bytes()));
    if over_random == check {
        return true;
    }
    let whole = format!("{prefix}_{random}");
    base62_padded(crc32(whole.as_bytes())) == check
}

/// CRC-32 (IEEE 802.3), bit by bit: tokens are short, a table is not worth it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// `n` in base62 (`0-9A-Za-z`), left-padded with `0` to six characters.
pub fn base62_padded(mut n: u32) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::with_capacity(6);
    while n > 0 {
        out.push(DIGITS[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < 6 {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Decodes a JWT's header and payload (no signature check). `None` when it is not a JWT.
pub fn jwt_payload(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let header = decode_base64url(parts.next()?)?;
    let payload = decode_base64url(parts.next()?)?;
    let signature = parts.next()?;
    if parts.next().is_some() || signature.is_empty() {
        return None;
    }
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    header.get("alg")?;
    serde_json::from_slice(&payload).ok()
}

/// Whether the first segment of a JWT decodes to text (nine bytes in ten printable) that is not a
/// JSON object naming its algorithm (`{"alg":"HS256",...}`): a header edited by hand. A segment
/// of random characters decodes to bytes, not text, and says nothing either way.
pub fn is_mangled_jwt_header(segment: &str) -> bool {
    let Some(header) = decode_base64url(segment) else {
        return false;
    };
    let printable = header.iter().filter(|b| (0x20..0x7f).contains(*b)).count();
    printable * 10 >= header.len() * 9
        && !serde_json::from_slice::<serde_json::Value>(&header)
            .is_ok_and(|h| h.get("alg").is_some())
}

/// The role a Supabase-style JWT claims.
pub fn jwt_role(token: &str) -> Option<JwtRole> {
    let payload = jwt_payload(token)?;
    Some(
        match payload.get("role").and_then(serde_json::Value::as_str) {
            Some("service_role" | "supabase_admin") => JwtRole::ServiceRole,
            Some("anon" | "authenticated") => JwtRole::Public,
            _ => JwtRole::Other,
        },
    )
}

/// What a signed JWT that is a credential says about itself, for the finding's message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct JwtClaims {
    /// The `role` claim, when it is a privileged one (`admin`, `superuser`, ...).
    pub admin_role: Option<String>,
    /// Whether it carries an `exp` claim (a short-lived session token rather than an API key).
    pub expires: bool,
}

impl JwtClaims {
    /// The extra message clause.
    pub fn note(&self) -> Option<String> {
        match (&self.admin_role, self.expires) {
            (Some(role), _) => Some(format!("its payload claims `role: {role}`")),
            (None, false) => Some("it has no `exp` claim, so it never expires".to_string()),
            (None, true) => None,
        }
    }
}

/// The subject of jwt.io's example token and of the tutorials that copy it.
const EXAMPLE_SUBJECTS: [&str; 2] = ["1234567890", "user123"];

/// Claims that say whose token it is, what it may do or when it ends: a credential has one.
const IDENTITY_CLAIMS: [&str; 17] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "jti",
    "azp",
    "role",
    "roles",
    "scope",
    "scp",
    "client_id",
    "user_id",
    "uid",
    "id",
    "email",
    "username",
    "url",
];

/// A signed JWT that works as a credential: decodable, signed (`alg` is not `none`, the signature
/// is present), and neither a public key by design (`role: anon` / `authenticated`), a
/// service-role key (its own rule), nor jwt.io's documented example.
pub fn jwt_credential(token: &str) -> Option<JwtClaims> {
    let mut parts = token.split('.');
    let header = decode_base64url(parts.next()?)?;
    let header: serde_json::Value = serde_json::from_slice(&header).ok()?;
    let alg = header.get("alg")?.as_str()?;
    if alg.eq_ignore_ascii_case("none") {
        return None;
    }
    let payload = jwt_payload(token)?;
    let payload = payload.as_object()?;
    let role = payload.get("role").and_then(serde_json::Value::as_str);
    if matches!(
        role,
        Some("anon" | "authenticated" | "service_role" | "supabase_admin")
    ) {
        return None;
    }
    // a token that names nobody (`{"msg":"hello"}`, `{"confidence":0.8}`) is a demo of the format,
    // not anyone's credential
    if !IDENTITY_CLAIMS.iter().any(|c| payload.contains_key(*c)) {
        return None;
    }
    // a Supabase Storage signed URL (`/object/sign/...?token=`) grants one file to whoever holds
    // the link: shared on purpose, like the link itself
    if payload.contains_key("url") && role.is_none() && !payload.contains_key("sub") {
        return None;
    }
    let subject = payload.get("sub").and_then(serde_json::Value::as_str);
    let name = payload.get("name").and_then(serde_json::Value::as_str);
    if subject.is_some_and(|s| EXAMPLE_SUBJECTS.contains(&s)) && name == Some("John Doe") {
        return None;
    }
    let admin_role = role
        .filter(|r| {
            let r = r.to_ascii_lowercase();
            ["admin", "root", "superuser", "owner"]
                .iter()
                .any(|p| r.contains(p))
        })
        .map(str::to_string);
    Some(JwtClaims {
        admin_role,
        expires: payload.contains_key("exp"),
    })
}

/// Whether a JWT sent as an HTTP credential is one that only the header rule reports: signed
/// (`alg` is not `none`, a signature is present) with a payload that names no holder, role or
/// scope (`{"confidence":0.8}`). Written into a literal it can still be a demo of the format,
/// but in an `Authorization` header it is what the server accepts (issue 17). A token with any
/// identity claim is the JWT rule's, which also knows public keys (`role: anon`).
pub fn is_claimless_jwt(token: &str) -> bool {
    let Some(header) = token.split('.').next().and_then(decode_base64url) else {
        return false;
    };
    let alg = serde_json::from_slice::<serde_json::Value>(&header)
        .ok()
        .and_then(|h| {
            h.get("alg")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        });
    if alg.is_none_or(|a| a.eq_ignore_ascii_case("none")) {
        return false;
    }
    jwt_payload(token)
        .as_ref()
        .and_then(serde_json::Value::as_object)
        .is_some_and(|p| !IDENTITY_CLAIMS.iter().any(|c| p.contains_key(*c)))
}

/// base64url (or standard base64) without padding requirements.
pub fn decode_base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Whether the fields of an Azure SAS query string (`sp=r&st=...&sig=...`) are well formed: the
/// permissions (`sp`) are SAS permission letters, the signed version (`sv`) is a date, the IP
/// range (`sip`) is one or two whole IPv4 addresses. Azure rejects a token that breaks one, so
/// such a string is a made-up example. Fields not present are not required.
pub fn is_azure_sas(query: &str) -> bool {
    query
        .split(['&', '?', ' ', '\t', '"', '\'', '`'])
        .map(|pair| pair.trim_start_matches('=').trim_start_matches("amp;"))
        .filter_map(|pair| pair.split_once('='))
        .all(|(key, value)| match key {
            "sp" => !value.is_empty() && value.bytes().all(|b| b"racwdxyltmeopfiu".contains(&b)),
            "sv" => is_date(value),
            "sip" => {
                let mut ends = value.split('-');
                let ok = ends.next().is_some_and(is_ipv4) && ends.next().is_none_or(is_ipv4);
                ok && ends.next().is_none()
            }
            _ => true,
        })
}

/// Whether a base64 `auth` value of a Docker config decodes to `user:password`: printable text
/// with a non-empty user and a password that is no placeholder or well-known default
/// (`user:password`, `admin:changeme` are the login of a tutorial, issue 17).
pub fn is_basic_auth(value: &str) -> bool {
    let Some(raw) = decode_base64url(value) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&raw) else {
        return false;
    };
    let Some((user, password)) = text.split_once(':') else {
        return false;
    };
    // a password that only names itself (`user:pass`) is a tutorial's stand-in
    let names_itself = password.eq_ignore_ascii_case("pass")
        || super::generic::PASSWORD_WORDS
            .iter()
            .any(|w| password.eq_ignore_ascii_case(w));
    !user.is_empty()
        && !password.is_empty()
        && !names_itself
        && text.chars().all(|c| !c.is_control())
        && !super::allow::is_placeholder(password)
        && !super::allow::is_default_secret(password)
}

/// `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Four dot-separated numbers of at most three digits.
fn is_ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn basic_auth_needs_a_user_and_a_password() {
        assert!(is_basic_auth("ZGVwbG95OnMzY3JldC1wYXNz")); // deploy:s3cret-pass
        assert!(!is_basic_auth("ZGVwbG95Og==")); // deploy:
        assert!(!is_basic_auth("ZGVwbG95")); // deploy
        assert!(!is_basic_auth("YWRtaW46cGFzc3dvcmQ=")); // admin:password
        assert!(!is_basic_auth("Y2ktYm90OmNoYW5nZW1l")); // ci-bot:changeme
        assert!(!is_basic_auth("dXNlcjpwYXNz")); // user:pass
    }

    #[test]
    fn jwt_headers_edited_by_hand() {
        assert!(!is_mangled_jwt_header(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        ));
        // one letter changed in `alg`, and a header cut short
        assert!(is_mangled_jwt_header(
            "eyJ0eXAiOiJKV1QiLCJhbGCiOiJIUzI1NiJ9"
        ));
        assert!(is_mangled_jwt_header("eyJhbGciOiJIUzI1NiIsInR5cCVCJ9"));
        // random characters after `eyJ` decode to bytes, not a header
        assert!(!is_mangled_jwt_header(
            "eyJ4tw1Jd1PM49YlUdnNZGN3zlQ3HnKpTT2Nf6WPEPuPP_ZyH37eh"
        ));
    }

    #[test]
    fn azure_sas_fields_are_checked() {
        let sig = "sig=WSdF9YeZhvrbs%2B%2B1f8ZdDBzEe7fBJ%2BenuaXQ%2BJ9WOw0%3D";
        let good = format!(
            "sp=rcwl&st=2025-03-10T06:58:25Z&sip=168.1.6.50-168.1.6.80&sv=2022-11-02&sr=c&{sig}"
        );
        assert!(is_azure_sas(&good));
        assert!(is_azure_sas(&format!(
            "?sv=2022-11-02&ss=b&srt=co&sp=rl&{sig}"
        )));
        // `q` is no SAS permission; three octets are no address; a version is a date
        assert!(!is_azure_sas(&format!("sp=rqx&sv=2022-11-02&{sig}")));
        assert!(!is_azure_sas(&format!(
            "sp=r&sip=168.1.6&sv=2022-11-02&{sig}"
        )));
        assert!(!is_azure_sas(&format!("sp=r&sv=latest&{sig}")));
    }

    #[test]
    fn github_checksum_round_trips() {
        let random = "Vb3kQ9zT1mR7xW2pL5nH8cJ4dF6gS0";
        let token = format!("ghp_{random}{}", base62_padded(crc32(random.as_bytes())));
        assert!(has_token_checksum(&token));
        assert!(!has_token_checksum(
            "ghp_Vb3kQ9zT1mR7xW2pL5nH8cJ4dF6gS0aaaaaa"
        ));
    }

    #[test]
    fn decodes_supabase_roles() {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        // {"role":"service_role"} and {"role":"anon"}
        let service = format!("{header}.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln");
        let anon = format!("{header}.eyJyb2xlIjoiYW5vbiJ9.c2ln");
        assert_eq!(jwt_role(&service), Some(JwtRole::ServiceRole));
        assert_eq!(jwt_role(&anon), Some(JwtRole::Public));
        assert_eq!(jwt_role("a.b"), None);
    }

    #[test]
    fn jwt_credentials_exclude_public_example_and_unsigned_tokens() {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        // {"sub":"42","exp":1700000000}
        let session = format!("{header}.eyJzdWIiOiI0MiIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJl");
        assert_eq!(
            jwt_credential(&session),
            Some(JwtClaims {
                admin_role: None,
                expires: true
            })
        );
        // {"role":"admin"}
        let admin = format!("{header}.eyJyb2xlIjoiYWRtaW4ifQ.c2lnbmF0dXJl");
        assert_eq!(
            jwt_credential(&admin).and_then(|c| c.note()),
            Some("its payload claims `role: admin`".to_string())
        );
        // {"role":"anon"} is a public key; {"role":"service_role"} has its own rule
        assert_eq!(
            jwt_credential(&format!("{header}.eyJyb2xlIjoiYW5vbiJ9.c2ln")),
            None
        );
        assert_eq!(
            jwt_credential(&format!("{header}.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln")),
            None
        );
        // jwt.io's example: {"sub":"1234567890","name":"John Doe","iat":1516239022}
        let example = format!(
            "{header}.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
        );
        assert_eq!(jwt_credential(&example), None);
        // a Storage signed URL's token: {"url":"app_assets/a.png","iat":1744056669,"exp":10383970269}
        assert_eq!(
            jwt_credential(&format!(
                "{header}.eyJ1cmwiOiJhcHBfYXNzZXRzL2EucG5nIiwiaWF0IjoxNzQ0MDU2NjY5LCJleHAiOjEwMzgzOTcwMjY5fQ.c2lnbmF0dXJl"
            )),
            None
        );
        // {"msg":"hello"}: names nobody
        assert_eq!(
            jwt_credential(&format!("{header}.eyJtc2ciOiJoZWxsbyJ9.c2lnbmF0dXJl")),
            None
        );
        // {"alg":"none"}: unsigned, grants nothing
        assert_eq!(
            jwt_credential("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ0ZXN0LXVzZXIifQ."),
            None
        );
    }

    #[test]
    fn claimless_jwts_are_signed_tokens_that_name_nobody() {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        // {"confidence":0.8}, gitleaks' curl sample
        assert!(is_claimless_jwt(&format!(
            "{header}.eyJjb25maWRlbmNlIjowLjh9.kvRPfjAhLhtRTczoRgctVGp7KY1QVH3UBZM-gM0x8ec"
        )));
        // {"sub":"42","exp":1700000000} names its holder: the JWT rule's
        assert!(!is_claimless_jwt(&format!(
            "{header}.eyJzdWIiOiI0MiIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJl"
        )));
        // {"role":"anon"}: a public key
        assert!(!is_claimless_jwt(&format!(
            "{header}.eyJyb2xlIjoiYW5vbiJ9.c2ln"
        )));
        // unsigned, and no signature
        assert!(!is_claimless_jwt(
            "eyJhbGciOiJub25lIn0.eyJtc2ciOiJoZWxsbyJ9.c2ln"
        ));
        assert!(!is_claimless_jwt(&format!(
            "{header}.eyJtc2ciOiJoZWxsbyJ9."
        )));
    }
}
