//! Slack request signing: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{raw body}")>`
//! with `X-Slack-Request-Timestamp` bounding replays.
//!
//! Verify against the raw body bytes exactly as received (form bodies before URL-decoding), and
//! before parsing anything. Several secrets are accepted at once so a signing secret can be
//! rotated without dropping requests.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far (in seconds, either direction) a request's timestamp may be from our clock. Slack
/// recommends five minutes; older requests are treated as replays.
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
/// Header carrying the request's unix timestamp.
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";

const VERSION_PREFIX: &str = "v0=";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {header} header")]
    Missing { header: &'static str },
    #[error("malformed {header} header")]
    Malformed { header: &'static str },
    #[error("request timestamp is outside the {REPLAY_WINDOW_SECS} s replay window")]
    Stale,
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a Slack request signature. `secrets` are the currently accepted signing secrets
/// (more than one during rotation); `now_unix` is the current time in unix seconds.
pub fn verify(
    secrets: &[&[u8]],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing {
        header: TIMESTAMP_HEADER,
    })?;
    let signature = signature.ok_or(SignatureError::Missing {
        header: SIGNATURE_HEADER,
    })?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed {
            header: TIMESTAMP_HEADER,
        })?;
    let expected = signature
        .trim()
        .strip_prefix(VERSION_PREFIX)
        .and_then(|hex_sig| hex::decode(hex_sig).ok())
        .filter(|bytes| bytes.len() == 32)
        .ok_or(SignatureError::Malformed {
            header: SIGNATURE_HEADER,
        })?;
    if now_unix.abs_diff(ts) > REPLAY_WINDOW_SECS.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    // Every secret is tried (no early exit), and each comparison is constant-time.
    let mut matched = false;
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
        mac.update(b"v0:");
        mac.update(timestamp.trim().as_bytes());
        mac.update(b":");
        mac.update(body);
        matched |= mac.verify_slice(&expected).is_ok();
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vector of network-apis.md §9 (Slack's "verifying requests" example).
    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
    const TS: &str = "1531420618";
    const NOW: i64 = 1_531_420_618;
    const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
    const BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    #[test]
    fn accepts_the_reference_vector() {
        assert_eq!(verify(&[SECRET], Some(TS), Some(SIG), BODY, NOW), Ok(()));
    }

    #[test]
    fn accepts_any_of_several_secrets_during_rotation() {
        let old: &[u8] = b"old-secret";
        assert_eq!(
            verify(&[old, SECRET], Some(TS), Some(SIG), BODY, NOW),
            Ok(())
        );
        assert_eq!(
            verify(&[SECRET, old], Some(TS), Some(SIG), BODY, NOW),
            Ok(())
        );
    }

    #[test]
    fn accepts_the_edges_of_the_window() {
        assert_eq!(
            verify(&[SECRET], Some(TS), Some(SIG), BODY, NOW + 300),
            Ok(())
        );
        assert_eq!(
            verify(&[SECRET], Some(TS), Some(SIG), BODY, NOW - 300),
            Ok(())
        );
    }

    #[test]
    fn rejects_a_tampered_body() {
        let mut body = BODY.to_vec();
        body.extend_from_slice(b"&extra=1");
        assert_eq!(
            verify(&[SECRET], Some(TS), Some(SIG), &body, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_a_wrong_secret() {
        assert_eq!(
            verify(&[b"not-the-secret"], Some(TS), Some(SIG), BODY, NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[], Some(TS), Some(SIG), BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rejects_stale_and_future_timestamps() {
        // Our clock is 301 s after the request: a replay.
        assert_eq!(
            verify(&[SECRET], Some(TS), Some(SIG), BODY, NOW + 301),
            Err(SignatureError::Stale)
        );
        // Our clock is 301 s before the request: from the future.
        assert_eq!(
            verify(&[SECRET], Some(TS), Some(SIG), BODY, NOW - 301),
            Err(SignatureError::Stale)
        );
    }

    #[test]
    fn rejects_missing_headers() {
        assert_eq!(
            verify(&[SECRET], None, Some(SIG), BODY, NOW),
            Err(SignatureError::Missing {
                header: TIMESTAMP_HEADER
            })
        );
        assert_eq!(
            verify(&[SECRET], Some(TS), None, BODY, NOW),
            Err(SignatureError::Missing {
                header: SIGNATURE_HEADER
            })
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        let ts_err = SignatureError::Malformed {
            header: TIMESTAMP_HEADER,
        };
        let sig_err = SignatureError::Malformed {
            header: SIGNATURE_HEADER,
        };
        let cases: [(&str, &str, &SignatureError); 6] = [
            ("yesterday", SIG, &ts_err),
            ("", SIG, &ts_err),
            (
                TS,
                "a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                &sig_err,
            ),
            (
                TS,
                "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                &sig_err,
            ),
            (TS, "v0=zz", &sig_err),
            (TS, "v0=a2114d57", &sig_err),
        ];
        for (ts, sig, want) in cases {
            assert_eq!(
                verify(&[SECRET], Some(ts), Some(sig), BODY, NOW).as_ref(),
                Err(want),
                "{ts} {sig}"
            );
        }
    }

    #[test]
    fn errors_read_well() {
        insta::assert_snapshot!(
            SignatureError::Missing { header: SIGNATURE_HEADER }.to_string(),
            @"missing X-Slack-Signature header"
        );
        insta::assert_snapshot!(
            SignatureError::Stale.to_string(),
            @"request timestamp is outside the 300 s replay window"
        );
    }
}
