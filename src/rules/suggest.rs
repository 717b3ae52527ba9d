//! "Did you mean …?" for names people mistype.

/// The known name closest to `wanted`, if one is close enough to be a
/// plausible typo. Case differences alone always count as close.
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    // Similarity costs length x length: past this, a name is no typo.
    const LONGEST: usize = 100;
    if wanted.len() > LONGEST {
        return None;
    }
    let lower = wanted.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for k in known {
        if k.len() > LONGEST {
            continue;
        }
        if k.to_lowercase() == lower {
            return Some(k);
        }
        let score = strsim::jaro_winkler(&lower, &k.to_lowercase());
        if score >= 0.85 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, k));
        }
    }
    best.map(|(_, k)| k)
}

/// `a`, `b` and `c` — for listing the names that do exist.
pub fn known_list(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
        [] => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_and_case() {
        let zones = ["America/New_York", "Europe/Berlin", "UTC"];
        assert_eq!(closest("America/New_Yrok", zones), Some("America/New_York"));
        assert_eq!(closest("europe/berlin", zones), Some("Europe/Berlin"));
        assert_eq!(closest("Mars/Olympus", zones), None);
    }

    #[test]
    fn lists_names() {
        assert_eq!(known_list(&[]), "none");
        assert_eq!(known_list(&["a"]), "`a`");
        assert_eq!(known_list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
