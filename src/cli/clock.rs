//! Today's date, for the names of the request files a plan suggests: from
//! the clock, or from `SOURCE_DATE_EPOCH` (seconds since 1970, the
//! reproducible-builds convention) so that output can be made reproducible.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last second humantime can format (end of year 9999).
const LAST: u64 = 253_402_300_799;

/// Today as `YYYY-MM-DD` (UTC).
pub fn today() -> String {
    let fixed = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| *s <= LAST)
        .map(|s| UNIX_EPOCH + Duration::from_secs(s));
    date(fixed.unwrap_or_else(SystemTime::now))
}

fn date(t: SystemTime) -> String {
    let mut s = humantime::format_rfc3339_seconds(t).to_string();
    s.truncate(10);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_days() {
        assert_eq!(date(UNIX_EPOCH), "1970-01-01");
        assert_eq!(
            date(UNIX_EPOCH + Duration::from_secs(1_764_892_799)),
            "2025-12-04"
        );
        assert_eq!(date(UNIX_EPOCH + Duration::from_secs(LAST)), "9999-12-31");
    }
}
