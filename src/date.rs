//! Calendar dates as KEPs and the command line write them: `YYYY-MM-DD`.

/// Whether `text` is shaped like a `YYYY-MM-DD` date, valid or not.
pub fn looks_like_day(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Year, month and day of a `YYYY-MM-DD` date that names a real day (`2023-02-29` does not).
pub fn ymd(text: &str) -> Option<(i64, i64, i64)> {
    if !looks_like_day(text) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (
        text[..4].parse().ok()?,
        text[5..7].parse().ok()?,
        text[8..].parse().ok()?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then_some((y, m, d))
}

/// The UTC calendar day of Unix time `seconds`, as `YYYY-MM-DD`.
pub fn day_of(seconds: i64) -> String {
    let (y, m, d) = civil(seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC year and quarter (1-4) of Unix time `seconds`.
pub fn quarter_of(seconds: i64) -> (i64, i64) {
    let (y, m, _) = civil(seconds.div_euclid(86_400));
    (y, (m - 1) / 3 + 1)
}

/// Year, month and day of the day `days` after 1970-01-01 (Howard Hinnant's civil_from_days).
pub fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_quarters_of_unix_times() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_709_164_800), "2024-02-29");
        assert_eq!(day_of(951_868_800 + 86_399), "2000-03-01");
        assert_eq!(day_of(-1), "1969-12-31");
        assert_eq!(quarter_of(1_709_164_800), (2024, 1));
        assert_eq!(quarter_of(1_704_067_200 - 1), (2023, 4));
    }

    #[test]
    fn real_days_only() {
        assert_eq!(ymd("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(ymd("2023-02-29"), None);
        assert_eq!(ymd("2025-30-01"), None);
        assert_eq!(ymd("2023-9-18"), None);
        assert!(looks_like_day("2024-13-01") && !looks_like_day("v1.2"));
    }
}
