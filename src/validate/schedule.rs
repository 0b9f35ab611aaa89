//! Backup schedules: "daily", "hourly" or a five-field cron expression,
//! with problems said in plain words ("hour 25 is out of range 0-23").

/// The five fields of a cron expression: name and allowed numbers.
const FIELDS: [(&str, u64, u64); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
];

/// Why `s` is not a schedule, if it is not.
pub fn check(s: &str) -> Result<(), String> {
    if matches!(s, "daily" | "hourly") {
        return Ok(());
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Err(format!("a cron expression has 5 fields, found {}", fields.len()));
    }
    for (text, (name, lo, hi)) in fields.iter().zip(FIELDS) {
        check_field(text, name, lo, hi)?;
    }
    croner::parser::CronParser::builder()
        .build()
        .parse(s)
        .map(|_| ())
        .map_err(plain)
}

/// Numbers of one field against its range: lists, ranges and steps
/// (`1,5-10/2`). Names (`MON`, `JAN`) and the special characters (`L`,
/// `W`, `#`) are left to the cron parser.
fn check_field(text: &str, name: &str, lo: u64, hi: u64) -> Result<(), String> {
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        if let Some(step) = step {
            if !step.parse::<u64>().is_ok_and(|n| n > 0) {
                return Err(format!("the {name} step `{step}` is not a whole number above 0"));
            }
        }
        for value in range.split('-') {
            if value.is_empty() || !value.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let in_range = value.parse::<u64>().is_ok_and(|n| (lo..=hi).contains(&n));
            if !in_range {
                return Err(format!("{name} {value} is out of range {lo}-{hi}"));
            }
        }
    }
    Ok(())
}

/// The cron parser's complaint, in the words of the rest of the messages.
fn plain(e: croner::errors::CronError) -> String {
    use croner::errors::CronError;
    match e {
        CronError::EmptyPattern => "it is empty".into(),
        CronError::IllegalCharacters(_) => "it contains characters a cron expression cannot have".into(),
        CronError::InvalidPattern(m) | CronError::ComponentError(m) => {
            let m = m.trim().trim_end_matches('.');
            let mut chars = m.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => "it is not a cron expression".into(),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for ok in [
            "daily",
            "hourly",
            "0 3 * * *",
            "*/15 * * * *",
            "0 0-23/2 * * 1-5",
            "30 4 1,15 * *",
            "0 3 * * 7",
            "0 3 * JAN-MAR MON",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn out_of_range_names_the_field_and_its_range() {
        let cases = [
            ("0 25 * * *", "hour 25 is out of range 0-23"),
            ("60 3 * * *", "minute 60 is out of range 0-59"),
            ("0 3 0 * *", "day of month 0 is out of range 1-31"),
            ("0 3 * 13 *", "month 13 is out of range 1-12"),
            ("0 3 * * 8", "day of week 8 is out of range 0-7"),
            ("0 1-24 * * *", "hour 24 is out of range 0-23"),
            (
                "0 3,99999999999999999999 * * *",
                "hour 99999999999999999999 is out of range 0-23",
            ),
            ("*/0 * * * *", "the minute step `0` is not a whole number above 0"),
            ("every day", "a cron expression has 5 fields, found 2"),
        ];
        for (input, why) in cases {
            assert_eq!(check(input), Err(why.to_string()), "{input}");
        }
    }

    #[test]
    fn other_problems_are_not_the_parsers_jargon() {
        let why = check("0 3 * * FOO").expect_err("not a day");
        assert!(!why.contains("Component error"), "{why}");
        assert!(!why.is_empty());
    }
}
