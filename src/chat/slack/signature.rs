//! Slack's request signature (`X-Slack-Signature`): `v0=` and the hex
//! HMAC-SHA256 of `v0:TIMESTAMP:BODY` keyed with the app's signing secret,
//! where `TIMESTAMP` is `X-Slack-Request-Timestamp`. A request older (or
//! newer) than five minutes is refused as a replay.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a request's timestamp may be from now, in seconds.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No signature or no timestamp header.
    Unsigned,
    /// The timestamp is not a number, or more than five minutes away.
    Replayed,
    /// The signature does not match.
    Forged,
}

impl Refused {
    pub fn reason(self) -> &'static str {
        match self {
            Refused::Unsigned => "missing X-Slack-Signature or X-Slack-Request-Timestamp",
            Refused::Replayed => "X-Slack-Request-Timestamp is more than 5 minutes from now",
            Refused::Forged => "wrong X-Slack-Signature",
        }
    }
}

/// The signature Slack sends for `body` at `timestamp`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a request: the timestamp within five minutes of `now_unix`,
/// then the signature, compared in constant time.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), Refused> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(Refused::Unsigned);
    };
    let ts: i64 = timestamp.trim().parse().map_err(|_| Refused::Replayed)?;
    if (now_unix - ts).abs() > MAX_SKEW_SECS {
        return Err(Refused::Replayed);
    }
    let expected = sign(secret, timestamp, body);
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(signature.trim().as_bytes())) {
        return Err(Refused::Forged);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slack's published example ("Verifying requests from Slack").
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slacks_published_example() {
        assert_eq!(sign(SECRET.as_bytes(), TS, BODY.as_bytes()), EXPECTED);
        let now = 1_531_420_618 + 60;
        assert_eq!(
            verify(
                SECRET.as_bytes(),
                Some(TS),
                Some(EXPECTED),
                BODY.as_bytes(),
                now
            ),
            Ok(())
        );
    }

    #[test]
    fn forged_replayed_and_unsigned_are_refused() {
        let now = 1_531_420_618;
        let key = SECRET.as_bytes();
        let body = BODY.as_bytes();
        // One hex digit changed.
        let forged = EXPECTED.replace("a2114", "a2115");
        type Case<'a> = (Option<&'a str>, Option<&'a str>, &'a [u8], i64, Refused);
        let cases: [Case; 7] = [
            (Some(TS), Some(&forged), body, now, Refused::Forged),
            (
                Some(TS),
                Some(EXPECTED),
                b"token=other",
                now,
                Refused::Forged,
            ),
            (Some(TS), Some("v0="), body, now, Refused::Forged),
            (Some(TS), Some(EXPECTED), body, now + 301, Refused::Replayed),
            (Some(TS), Some(EXPECTED), body, now - 301, Refused::Replayed),
            (None, Some(EXPECTED), body, now, Refused::Unsigned),
            (Some(TS), None, body, now, Refused::Unsigned),
        ];
        for (ts, sig, body, at, want) in cases {
            assert_eq!(
                verify(key, ts, sig, body, at),
                Err(want),
                "{ts:?} {sig:?} {at}"
            );
        }
        // Exactly five minutes old still passes.
        assert_eq!(
            verify(key, Some(TS), Some(EXPECTED), body, now + 300),
            Ok(())
        );
    }
}
