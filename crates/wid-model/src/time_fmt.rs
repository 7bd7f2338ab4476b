//! The timestamp formats that Entra and ARM put in their messages.

use time::OffsetDateTime;
use time::macros::format_description;

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2016-01-09 02:02:12Z`, as in an AADSTS `timestamp`.
pub fn aadsts_timestamp(unix: i64) -> String {
    let f = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    at(unix).format(f).unwrap_or_default()
}

/// `2024-04-05T23:01:54.0000000Z`, as in the AADSTS700024 message (seven fractional digits).
pub fn aadsts_instant(unix: i64) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].0000000Z");
    at(unix).format(f).unwrap_or_default()
}

/// `2024-04-05T23:01:54Z`, RFC 3339 without fraction, as Kubernetes writes timestamps.
pub fn rfc3339(unix: i64) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at(unix).format(f).unwrap_or_default()
}

/// `04/05/2024 23:01:54`, the form ARM uses in `ExpiredAuthenticationToken`.
pub fn arm_utc(unix: i64) -> String {
    let f = format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    at(unix).format(f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_entra() {
        assert_eq!(aadsts_timestamp(1452304932), "2016-01-09 02:02:12Z");
        assert_eq!(aadsts_instant(0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(rfc3339(1712358114), "2024-04-05T23:01:54Z");
        assert_eq!(arm_utc(1712358114), "04/05/2024 23:01:54");
    }
}
