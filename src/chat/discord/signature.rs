//! Discord interaction signing: `X-Signature-Ed25519` is the hex Ed25519 signature of
//! `X-Signature-Timestamp ++ raw body`, checked with the application's hex public key.
//!
//! Verify the raw body bytes exactly as received, before parsing anything, and answer **401** on
//! any error: Discord probes the endpoint with deliberately bad signatures and removes the
//! endpoint URL if they are accepted.

use ed25519_dalek::{PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, Signature, VerifyingKey};

/// Header carrying the hex signature.
pub const SIGNATURE_HEADER: &str = "X-Signature-Ed25519";
/// Header carrying the timestamp that is signed together with the body.
pub const TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {header} header")]
    Missing { header: &'static str },
    /// A header, or the configured public key, is not what Ed25519 needs.
    #[error("malformed {what}")]
    Malformed { what: &'static str },
    #[error("signature does not match")]
    Mismatch,
}

/// Checks a Discord interaction request. `public_key_hex` is the application's public key as
/// the developer portal shows it (64 hex digits).
pub fn verify(
    public_key_hex: &str,
    timestamp: Option<&str>,
    signature_hex: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing {
        header: TIMESTAMP_HEADER,
    })?;
    let signature_hex = signature_hex.ok_or(SignatureError::Missing {
        header: SIGNATURE_HEADER,
    })?;
    let key: [u8; PUBLIC_KEY_LENGTH] = hex::decode(public_key_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Malformed { what: "public key" })?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| SignatureError::Malformed { what: "public key" })?;
    let signature: [u8; SIGNATURE_LENGTH] = hex::decode(signature_hex.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Malformed {
            what: SIGNATURE_HEADER,
        })?;
    let signature = Signature::from_bytes(&signature);
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify_strict(&message, &signature)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // network-apis.md §9: seed 0x00..0x1f.
    const PUBLIC_KEY: &str = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
    const TIMESTAMP: &str = "1700000000";
    const BODY: &[u8] = br#"{"type":1}"#;
    const SIGNATURE: &str = "c1098e97d711377f30225d53d94b89d43537f92e5b3afaddc590781b1f9f9d4b2eeab335d370be3b9a090bc61a85b86448bc140dcd195f1569c2bff181257607";

    #[test]
    fn accepts_the_reference_vector() {
        assert_eq!(
            verify(PUBLIC_KEY, Some(TIMESTAMP), Some(SIGNATURE), BODY),
            Ok(())
        );
        // Upper-case hex and surrounding whitespace are tolerated.
        assert_eq!(
            verify(
                &PUBLIC_KEY.to_uppercase(),
                Some(TIMESTAMP),
                Some(&format!(" {} ", SIGNATURE.to_uppercase())),
                BODY
            ),
            Ok(())
        );
    }

    #[test]
    fn the_vector_key_is_the_seed_key() {
        let seed: [u8; 32] = std::array::from_fn(|i| i as u8);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        assert_eq!(hex::encode(key.verifying_key().as_bytes()), PUBLIC_KEY);
    }

    #[test]
    fn rejects_tampering_and_wrong_keys() {
        let other_key = hex::encode(
            ed25519_dalek::SigningKey::from_bytes(&[7; 32])
                .verifying_key()
                .as_bytes(),
        );
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
            &'a [u8],
            SignatureError,
        );
        let cases: [Case; 8] = [
            (
                PUBLIC_KEY,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                br#"{"type":2}"#,
                SignatureError::Mismatch,
            ),
            (
                PUBLIC_KEY,
                Some("1700000001"),
                Some(SIGNATURE),
                BODY,
                SignatureError::Mismatch,
            ),
            (
                &other_key,
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY,
                SignatureError::Mismatch,
            ),
            (
                PUBLIC_KEY,
                None,
                Some(SIGNATURE),
                BODY,
                SignatureError::Missing {
                    header: TIMESTAMP_HEADER,
                },
            ),
            (
                PUBLIC_KEY,
                Some(TIMESTAMP),
                None,
                BODY,
                SignatureError::Missing {
                    header: SIGNATURE_HEADER,
                },
            ),
            (
                PUBLIC_KEY,
                Some(TIMESTAMP),
                Some("zz"),
                BODY,
                SignatureError::Malformed {
                    what: SIGNATURE_HEADER,
                },
            ),
            (
                PUBLIC_KEY,
                Some(TIMESTAMP),
                Some(&SIGNATURE[..126]),
                BODY,
                SignatureError::Malformed {
                    what: SIGNATURE_HEADER,
                },
            ),
            (
                "not hex",
                Some(TIMESTAMP),
                Some(SIGNATURE),
                BODY,
                SignatureError::Malformed { what: "public key" },
            ),
        ];
        for (i, (key, ts, sig, body, want)) in cases.into_iter().enumerate() {
            assert_eq!(verify(key, ts, sig, body), Err(want), "case {i}");
        }
    }
}
