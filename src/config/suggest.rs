//! "Did you mean …?" for names and time zones.

/// The known name closest to `wanted`, if close enough to be a typo. Case
/// differences alone always count.
pub(super) fn closest<'a>(
    wanted: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = wanted.to_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for k in known {
        let kl = k.to_lowercase();
        if kl == lower {
            return Some(k);
        }
        let score = strsim::jaro_winkler(&lower, &kl);
        if score >= 0.85 && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, k));
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
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [] => "none".to_owned(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
