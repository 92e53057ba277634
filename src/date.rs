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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_days_only() {
        assert_eq!(ymd("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(ymd("2023-02-29"), None);
        assert_eq!(ymd("2025-30-01"), None);
        assert_eq!(ymd("2023-9-18"), None);
        assert!(looks_like_day("2024-13-01") && !looks_like_day("v1.2"));
    }
}
