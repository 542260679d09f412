//! `X-Hub-Signature-256` verification for Meta webhooks.
//!
//! Meta signs the raw request body with HMAC-SHA256 keyed by the App Secret and sends
//! `sha256=<lowercase hex>`. Verify against the bytes exactly as received, before any JSON
//! parsing. Several secrets may be configured at once so an App Secret can be rotated without
//! dropping deliveries.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header Meta puts the signature in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

const PREFIX: &str = "sha256=";
/// Length of a hex-encoded SHA-256 MAC.
const HEX_LEN: usize = 64;

/// Why a webhook body was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("X-Hub-Signature-256 header is malformed: {0}")]
    Malformed(&'static str),
    #[error("X-Hub-Signature-256 does not match the body for any configured app secret")]
    Mismatch,
}

/// Checks `header` (the `X-Hub-Signature-256` value) against `body` for each of `secrets`.
///
/// Succeeds if any secret matches. The MAC comparison is constant time. With no secrets
/// configured nothing can match, so the result is [`SignatureError::Mismatch`].
pub fn verify(secrets: &[&[u8]], header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_mac = header
        .strip_prefix(PREFIX)
        .ok_or(SignatureError::Malformed("expected the prefix \"sha256=\""))?;
    if hex_mac.len() != HEX_LEN {
        return Err(SignatureError::Malformed(
            "expected 64 hex digits after \"sha256=\"",
        ));
    }
    let expected = hex::decode(hex_mac)
        .map_err(|_| SignatureError::Malformed("the signature is not valid hex"))?;

    for secret in secrets {
        // HMAC accepts keys of any length, so this cannot fail; skip rather than unwrap anyway.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            continue;
        };
        mac.update(body);
        if mac.verify_slice(&expected).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// network-apis.md §9, Meta vector.
    const SECRET: &[u8] = b"test_app_secret";
    const BODY: &[u8] = br#"{"object":"page","entry":[{"id":"1","time":1700000000,"changes":[]}]}"#;
    const HEADER: &str = "sha256=2b0ced7d4d4f425d6d23a91f4dc2f94d9fe95f1abc6cbc128053b5ce66c5ddf1";

    #[test]
    fn reference_vector_is_valid() {
        assert_eq!(verify(&[SECRET], Some(HEADER), BODY), Ok(()));
    }

    #[test]
    fn second_of_two_secrets_is_accepted() {
        assert_eq!(verify(&[b"old_secret", SECRET], Some(HEADER), BODY), Ok(()));
        assert_eq!(verify(&[SECRET, b"new_secret"], Some(HEADER), BODY), Ok(()));
    }

    #[test]
    fn surrounding_whitespace_is_tolerated() {
        assert_eq!(
            verify(&[SECRET], Some(&format!(" {HEADER} ")), BODY),
            Ok(())
        );
    }

    /// (name, secrets, header, body, expected error)
    type Case<'a> = (
        &'a str,
        &'a [&'a [u8]],
        Option<&'a str>,
        &'a [u8],
        SignatureError,
    );

    #[test]
    fn refusals() {
        let mut tampered = BODY.to_vec();
        tampered[12] = b'P'; // "page" -> "Page"
        let uppercase_prefix = HEADER.replacen("sha256", "SHA256", 1);
        let bad_hex = format!("sha256={}", "zz".repeat(32));
        let too_short = &HEADER[..HEADER.len() - 2];
        let too_long = format!("{HEADER}00");
        let sha1 = "sha1=0123456789abcdef0123456789abcdef01234567";

        let cases: &[Case] = &[
            (
                "tampered body",
                &[SECRET],
                Some(HEADER),
                &tampered,
                SignatureError::Mismatch,
            ),
            (
                "wrong secret",
                &[b"other_secret"],
                Some(HEADER),
                BODY,
                SignatureError::Mismatch,
            ),
            (
                "no secrets",
                &[],
                Some(HEADER),
                BODY,
                SignatureError::Mismatch,
            ),
            ("missing", &[SECRET], None, BODY, SignatureError::Missing),
            (
                "no prefix",
                &[SECRET],
                Some(&HEADER[PREFIX.len()..]),
                BODY,
                SignatureError::Malformed("expected the prefix \"sha256=\""),
            ),
            (
                "legacy sha1",
                &[SECRET],
                Some(sha1),
                BODY,
                SignatureError::Malformed("expected the prefix \"sha256=\""),
            ),
            (
                "uppercase prefix",
                &[SECRET],
                Some(&uppercase_prefix),
                BODY,
                SignatureError::Malformed("expected the prefix \"sha256=\""),
            ),
            (
                "bad hex",
                &[SECRET],
                Some(&bad_hex),
                BODY,
                SignatureError::Malformed("the signature is not valid hex"),
            ),
            (
                "too short",
                &[SECRET],
                Some(too_short),
                BODY,
                SignatureError::Malformed("expected 64 hex digits after \"sha256=\""),
            ),
            (
                "too long",
                &[SECRET],
                Some(&too_long),
                BODY,
                SignatureError::Malformed("expected 64 hex digits after \"sha256=\""),
            ),
            (
                "empty",
                &[SECRET],
                Some(""),
                BODY,
                SignatureError::Malformed("expected the prefix \"sha256=\""),
            ),
        ];
        for (name, secrets, header, body, want) in cases {
            assert_eq!(verify(secrets, *header, body), Err(*want), "case {name}");
        }
    }

    #[test]
    fn errors_read_well() {
        assert_eq!(
            SignatureError::Missing.to_string(),
            "X-Hub-Signature-256 header is missing"
        );
        assert_eq!(
            SignatureError::Malformed("the signature is not valid hex").to_string(),
            "X-Hub-Signature-256 header is malformed: the signature is not valid hex"
        );
        assert_eq!(
            SignatureError::Mismatch.to_string(),
            "X-Hub-Signature-256 does not match the body for any configured app secret"
        );
    }
}
