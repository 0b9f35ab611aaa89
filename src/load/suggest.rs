//! "did you mean ...?": the known name closest to what was written, when it
//! is close enough to be a slip.

/// The closest candidate to `got`, if it is close enough to be a typo
/// (a few letters off), or the same word with another ending (`retention`
/// for `retain`, `tsig` for `tsig_key`).
pub fn did_you_mean<S: AsRef<str>>(got: &str, candidates: &[S]) -> Option<String> {
    let got_l = got.to_lowercase();
    let typo = candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&got_l, &c.as_ref().to_lowercase()),
                c.as_ref(),
            )
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string());
    typo.or_else(|| same_stem(&got_l, candidates))
}

/// Similarity (Jaro-Winkler) from which two names sharing their first
/// letters are taken as one word with another ending.
const STEM_SIMILARITY: f64 = 0.8;

/// Letters two names must share at their start to be taken as one word.
const STEM_PREFIX: usize = 3;

fn same_stem<S: AsRef<str>>(got_l: &str, candidates: &[S]) -> Option<String> {
    let prefix = |s: &str| s.chars().take(STEM_PREFIX).collect::<String>();
    if got_l.chars().count() < STEM_PREFIX {
        return None;
    }
    candidates
        .iter()
        .map(|c| c.as_ref())
        .filter(|c| prefix(&c.to_lowercase()) == prefix(got_l))
        .map(|c| (strsim::jaro_winkler(got_l, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= STEM_SIMILARITY)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn typos_and_other_endings_are_suggested() {
        let backup = ["retain", "schedule"];
        assert_eq!(did_you_mean("retian", &backup).as_deref(), Some("retain"));
        assert_eq!(did_you_mean("retention", &backup).as_deref(), Some("retain"));
        assert_eq!(did_you_mean("RETENTION", &backup).as_deref(), Some("retain"));
        let dns = ["server", "tsig_key", "zone"];
        assert_eq!(did_you_mean("tsig", &dns).as_deref(), Some("tsig_key"));
        assert_eq!(did_you_mean("zon", &dns).as_deref(), Some("zone"));
    }

    #[test]
    fn unrelated_names_are_not_suggested() {
        let ssh = [
            "connect_timeout",
            "identity",
            "known_hosts",
            "parallel",
            "port",
            "user",
        ];
        assert_eq!(did_you_mean("timeout", &ssh), None);
        assert_eq!(did_you_mean("password", &ssh), None);
        assert_eq!(did_you_mean("pa", &ssh), None);
        assert_eq!(did_you_mean("keep", &["retain", "schedule"]), None);
    }
}
