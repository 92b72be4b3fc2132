//! Times as people read them: ISO 8601 UTC (`2026-11-25T18:41:13Z`), and
//! back (also a bare date, or seconds since the Unix epoch).

const DAY: u64 = 86_400;

/// The last second of year 9999.
const MAX_PRINTABLE: u64 = 253_402_300_799;

/// Seconds since the Unix epoch as `YYYY-MM-DDThh:mm:ssZ` (UTC); a time
/// past year 9999 prints as `@<seconds>`.
pub fn iso8601(secs: u64) -> String {
    if secs > MAX_PRINTABLE {
        return format!("@{secs}");
    }
    let (y, m, d) = civil_from_days(secs / DAY);
    let rem = secs % DAY;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ssZ` (UTC) or Unix seconds.
pub fn parse(text: &str) -> Option<u64> {
    if let Ok(secs) = text.parse::<u64>() {
        return Some(secs);
    }
    let (date, clock) = match text.split_once('T') {
        Some((d, t)) => (d, Some(t.strip_suffix('Z')?)),
        None => (text, None),
    };
    let [y, m, d] = numbers(date, '-')?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let day_start = days_from_civil(y, m, d).checked_mul(DAY)?;
    let Some(clock) = clock else { return Some(day_start) };
    let [h, mi, s] = numbers(clock, ':')?;
    if h > 23 || mi > 59 || s > 59 {
        return None;
    }
    day_start.checked_add(h.checked_mul(3600)?)?.checked_add(mi.checked_mul(60)?)?.checked_add(s)
}

/// Exactly three unsigned numbers separated by `sep`.
fn numbers(text: &str, sep: char) -> Option<[u64; 3]> {
    let mut parts = text.split(sep).map(|p| p.parse::<u64>().ok());
    let out = [parts.next()??, parts.next()??, parts.next()??];
    if parts.next().is_some() { None } else { Some(out) }
}

fn is_leap(y: u64) -> bool {
    y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400))
}

fn year_len(y: u64) -> u64 {
    if is_leap(y) { 366 } else { 365 }
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date from 1970 on (proleptic Gregorian):
/// whole years, then whole months, then the day.
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let years: u64 = (1970..y).map(year_len).sum();
    let months: u64 = (1..m).map(|mm| days_in_month(y, mm)).sum();
    years.saturating_add(months).saturating_add(d.saturating_sub(1))
}

/// The date of a day number (days since 1970-01-01).
fn civil_from_days(mut days: u64) -> (u64, u64, u64) {
    let mut y = 1970;
    while days >= year_len(y) {
        days = days.saturating_sub(year_len(y));
        y = y.saturating_add(1);
    }
    let mut m = 1;
    while m < 12 && days >= days_in_month(y, m) {
        days = days.saturating_sub(days_in_month(y, m));
        m = m.saturating_add(1);
    }
    (y, m, days.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_print_as_iso_8601() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_795_632_073), "2026-11-25T18:41:13Z");
        assert_eq!(iso8601(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(iso8601(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(iso8601(u64::MAX), format!("@{}", u64::MAX));
    }

    #[test]
    fn parsing_inverts_printing() {
        for secs in [0, 59, 86_399, 951_782_400, 1_795_632_073, 4_102_444_799] {
            assert_eq!(parse(&iso8601(secs)), Some(secs));
        }
        assert_eq!(parse("2026-11-25"), Some(1_795_564_800));
        assert_eq!(parse("1795632073"), Some(1_795_632_073));
    }

    #[test]
    fn impossible_dates_are_refused() {
        for bad in
            ["2026-02-29", "2026-13-01", "2026-11-25T24:00:00Z", "2026-11-25T10:00:00", "yesterday", ""]
        {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
