//! `shipgate gate`: ask a running daemon's `/api/gate` from a CI job.
//! Exit 0 open, 1 closed (why, and when it opens), 2 error.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use super::Failure;
use super::args::GateArgs;

/// `30s`, `10m`, `2h`, `1d`, `1h30m`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("a duration is empty".to_owned());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "`{t}` is not a duration; write e.g. `90s`, `30m`, `2h` or `1h30m`"
                ));
            }
        };
        let n: u64 = digits.parse().map_err(|_| {
            format!("`{t}` is not a duration; write e.g. `90s`, `30m`, `2h` or `1h30m`")
        })?;
        digits.clear();
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !digits.is_empty() {
        return Err(format!(
            "`{t}` ends in a number without a unit; write e.g. `{t}s` or `{t}m`"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// One answer from the daemon: open or not, and the JSON.
enum Asked {
    Open(serde_json::Value),
    Closed(serde_json::Value),
}

async fn ask(client: &reqwest::Client, url: &str) -> Result<Asked, String> {
    let resp = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .map_err(|e| format!("{url}: cannot read the answer: {e}"))?;
    let json: serde_json::Value = serde_json::from_str(&body)
        .map_err(|_| format!("{url} answered {status} with something that is not JSON"))?;
    match status.as_u16() {
        200 => Ok(Asked::Open(json)),
        423 => Ok(Asked::Closed(json)),
        _ => Err(format!(
            "{url} answered {status}: {}",
            json.get("error")
                .and_then(|e| e.as_str())
                .unwrap_or(body.as_str())
        )),
    }
}

fn say(json: &serde_json::Value, product: &str, open: bool) -> String {
    let reason = json
        .get("reason")
        .and_then(|r| r.as_str())
        .unwrap_or("no reason given");
    let state = if open { "open" } else { "closed" };
    // The server's spelling of the product (the config's), if it gave one.
    let product = json
        .get("product")
        .and_then(|p| p.as_str())
        .unwrap_or(product);
    let mut s = format!("{product}: gate {state}: {reason}.");
    if !open && let Some(t) = json.get("next_change").and_then(|t| t.as_str()) {
        s.push_str(&format!(" Opens at {t}."));
    }
    s
}

pub fn run(args: &GateArgs) -> Result<ExitCode, Failure> {
    match args.action.as_str() {
        "release" | "cut" => {}
        other => {
            return Err(Failure::usage(format!(
                "`--action` is `release` or `cut`, not `{other}`"
            )));
        }
    }
    let wait = args
        .wait
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(Failure::usage)?;
    let every = parse_duration(&args.every).map_err(Failure::usage)?;
    let every = every.max(Duration::from_millis(100));
    let mut url = format!(
        "{}/api/gate/{}?action={}",
        args.url.trim_end_matches('/'),
        args.product,
        args.action
    );
    if let Some(rc) = args.rc {
        url.push_str(&format!("&rc={rc}&require=approved"));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start: {e}")))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Failure::usage(format!("HTTP client: {e}")))?;
        let deadline = wait.map(|w| Instant::now() + w);
        let mut said_waiting = false;
        loop {
            match ask(&client, &url).await.map_err(Failure::usage)? {
                Asked::Open(json) => {
                    outln!("{}", say(&json, &args.product, true));
                    return Ok(ExitCode::SUCCESS);
                }
                Asked::Closed(json) => {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    match left {
                        Some(left) if !left.is_zero() => {
                            if !said_waiting {
                                eprintln!("{}", say(&json, &args.product, false));
                                eprintln!(
                                    "waiting up to {} for it to open",
                                    crate::timefmt::duration(
                                        chrono::TimeDelta::from_std(left).unwrap_or_default()
                                    )
                                );
                                said_waiting = true;
                            }
                            tokio::time::sleep(every.min(left)).await;
                        }
                        _ => {
                            outln!("{}", say(&json, &args.product, false));
                            return Ok(ExitCode::from(1));
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        for (text, secs) in [
            ("90", 90),
            ("90s", 90),
            ("30m", 1800),
            ("2h", 7200),
            ("1h30m", 5400),
            ("1d", 86_400),
        ] {
            assert_eq!(
                parse_duration(text).unwrap(),
                Duration::from_secs(secs),
                "{text}"
            );
        }
        for bad in ["", "10x", "h", "1h30"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
