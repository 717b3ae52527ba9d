//! "Did you mean …?" for names and time zones.

/// The known name closest to `wanted`, if close enough to be a typo. Case
/// differences alone always count.
pub(super) fn closest<'a>(
    wanted: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = wanted.to_lowercase();
    // Few edits (a slip or a swap) or a shared beginning count as a typo.
    let max_edits = (lower.chars().count() / 4).max(1);
    let mut best: Option<((usize, f64), &str)> = None;
    for k in known {
        let kl = k.to_lowercase();
        if kl == lower {
            return Some(k);
        }
        let edits = strsim::damerau_levenshtein(&lower, &kl);
        let score = strsim::jaro_winkler(&lower, &kl);
        if edits > max_edits && score < 0.85 {
            continue;
        }
        let key = (edits, score);
        if best.is_none_or(|((e, s), _)| edits < e || (edits == e && score > s)) {
            best = Some((key, k));
        }
    }
    best.map(|(_, k)| k)
}

/// The IANA zone closest to `wanted`: a typo (`Europe/Berln`), a city alone
/// (`Berlin`, `new york`), or a case slip.
pub(super) fn closest_timezone(wanted: &str) -> Option<&'static str> {
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    if let Some(best) = closest(wanted, names) {
        return Some(best);
    }
    let city = wanted.trim().replace(' ', "_").to_lowercase();
    let mut best: Option<(f64, &'static str)> = None;
    for tz in chrono_tz::TZ_VARIANTS.iter() {
        let name = tz.name();
        let last = name.rsplit('/').next().unwrap_or(name).to_lowercase();
        let score = strsim::jaro_winkler(&city, &last);
        if score >= 0.9 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, name));
        }
    }
    best.map(|(_, n)| n)
}

/// `a`, `b` and `c`.
pub(super) fn known_list(names: &[&str]) -> String {
    let mut quoted: Vec<String> = Vec::new();
    for n in names {
        let q = format!("`{n}`");
        if !quoted.contains(&q) {
            quoted.push(q);
        }
    }
    match quoted.as_slice() {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let cases = [
            ("wbe", Some("web")),
            ("WEB", Some("web")),
            ("paymnts", Some("payments")),
            ("zzz", None),
        ];
        for (wanted, want) in cases {
            assert_eq!(
                closest(wanted, ["web", "payments", "api"]),
                want,
                "{wanted}"
            );
        }
        let zones = [
            ("America/New_Yrok", Some("America/New_York")),
            ("europe/berlin", Some("Europe/Berlin")),
            ("Berlin", Some("Europe/Berlin")),
            ("new york", Some("America/New_York")),
            ("Kolkata", Some("Asia/Kolkata")),
            ("Mars/Olympus_Mons", None),
        ];
        for (wanted, want) in zones {
            assert_eq!(closest_timezone(wanted), want, "{wanted}");
        }
        assert_eq!(known_list(&["a", "b", "a", "c"]), "`a`, `b` and `c`");
        assert_eq!(known_list(&[]), "none");
    }
}
