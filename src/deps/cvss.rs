//! CVSS vectors to severity levels, through the `cvss` crate of the Rust security advisory
//! project (v3.0, v3.1 and v4.0 base scores per the FIRST specifications). It replaced a
//! hand-written v3 calculator (issue 19):
//! same scores on the test vectors below, and v4 vectors, which the old code left unscored, now
//! grade advisories that carry no label of their own.

use std::str::FromStr;

/// The base score of a `CVSS:3.x/...` or `CVSS:4.0/...` vector; `None` when it does not parse.
pub fn score(vector: &str) -> Option<f64> {
    if vector.starts_with("CVSS:4") {
        Some(cvss::v4::Vector::from_str(vector).ok()?.score().value())
    } else if vector.starts_with("CVSS:3") {
        Some(cvss::v3::Vector::from_str(vector).ok()?.score().value())
    } else {
        None
    }
}

/// The qualitative level of a vector (`critical`, `high`, `medium`, `low`); `None` for a score
/// of 0 or an unreadable vector.
pub fn level(vector: &str) -> Option<&'static str> {
    let score = score(vector)?;
    Some(if score >= 9.0 {
        "critical"
    } else if score >= 7.0 {
        "high"
    } else if score >= 4.0 {
        "medium"
    } else if score > 0.0 {
        "low"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_v3_and_v4_vectors() {
        // the values the former hand-written calculator gave (and NVD publishes)
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(9.8)
        );
        assert_eq!(
            score("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            Some(8.1)
        );
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"),
            Some(6.1)
        );
        assert_eq!(
            level("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
            Some("low")
        );
        // v4: 9.3 is FIRST's worked example; no impact at all scores 0 and has no level
        assert_eq!(
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            Some(9.3)
        );
        assert_eq!(
            level("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N"),
            None
        );
        assert_eq!(score("not a vector"), None);
    }
}
