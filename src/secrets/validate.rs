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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
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
}
