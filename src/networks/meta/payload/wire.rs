//! Wire types shared by every Meta webhook object: the envelope, ids and timestamps.
//! Unknown fields are ignored everywhere: Meta adds fields without notice.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

#[derive(Debug, Deserialize)]
pub(super) struct WireNotification {
    pub object: String,
    /// Entries are parsed one by one, so one odd entry does not fail the whole delivery.
    #[serde(default)]
    pub entry: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireEntry {
    /// The Page id, Instagram account id, or WhatsApp Business Account id.
    pub id: WireId,
    /// Seconds for `changes` entries, milliseconds for Messenger entries (see [`WireTime`]).
    #[serde(default)]
    pub time: Option<WireTime>,
    #[serde(default)]
    pub changes: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub messaging: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub standby: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireChange {
    pub field: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A Graph id that arrives as a JSON string or a JSON number; kept as its decimal string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WireId(pub String);

impl<'de> Deserialize<'de> for WireId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = WireId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an id as a non-empty string or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireId, E> {
                let v = v.trim();
                if v.is_empty() {
                    return Err(E::invalid_value(de::Unexpected::Str(v), &self));
                }
                Ok(WireId(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireId, E> {
                Ok(WireId(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireId, E> {
                u64::try_from(v)
                    .map(|v| WireId(v.to_string()))
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

impl WireId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WireId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Seconds at or above this are taken as milliseconds: as seconds they would be after the
/// year 5000, and Messenger stamps some entries (`entry.time`) in milliseconds.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// A timestamp as unix seconds (number or numeric string), or occasionally an ISO 8601 string
/// as the Graph API itself prints them (`2016-01-05T12:00:00+0000`). A number too large to be
/// seconds ([`MILLIS_THRESHOLD`]) is read as milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WireTime(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for WireTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl TimeVisitor {
            fn secs<E: de::Error>(&self, secs: i64) -> Result<WireTime, E> {
                let at = if secs >= MILLIS_THRESHOLD {
                    DateTime::from_timestamp_millis(secs)
                } else {
                    DateTime::from_timestamp(secs, 0)
                };
                at.map(WireTime)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(secs), self))
            }
        }
        impl Visitor<'_> for TimeVisitor {
            type Value = WireTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("unix seconds as a number or string, or an ISO 8601 time")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireTime, E> {
                self.secs(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireTime, E> {
                let secs = i64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))?;
                self.secs(secs)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<WireTime, E> {
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                    // Exact: integral and well inside i64.
                    self.secs(v as i64)
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireTime, E> {
                let v = v.trim();
                if let Ok(secs) = v.parse::<i64>() {
                    return self.secs(secs);
                }
                if let Ok(t) = DateTime::parse_from_rfc3339(v) {
                    return Ok(WireTime(t.with_timezone(&Utc)));
                }
                if let Ok(t) = DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%z") {
                    return Ok(WireTime(t.with_timezone(&Utc)));
                }
                if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
                    return Ok(WireTime(t.and_utc()));
                }
                Err(E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// A timestamp documented as unix milliseconds (Messenger `timestamp`, `watermark`), as a
/// number or numeric string. Keeps the raw value for dedupe keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WireMillis {
    pub raw: i64,
    pub at: DateTime<Utc>,
}

impl<'de> Deserialize<'de> for WireMillis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MillisVisitor;
        impl MillisVisitor {
            fn millis<E: de::Error>(&self, raw: i64) -> Result<WireMillis, E> {
                DateTime::from_timestamp_millis(raw)
                    .filter(|_| raw >= 0)
                    .map(|at| WireMillis { raw, at })
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Signed(raw), self))
            }
        }
        impl Visitor<'_> for MillisVisitor {
            type Value = WireMillis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("unix milliseconds as a number or string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<WireMillis, E> {
                self.millis(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<WireMillis, E> {
                let raw = i64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))?;
                self.millis(raw)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<WireMillis, E> {
                if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
                    self.millis(v as i64)
                } else {
                    Err(E::invalid_value(de::Unexpected::Float(v), &self))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<WireMillis, E> {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
                    .and_then(|raw| self.millis(raw))
            }
        }
        deserializer.deserialize_any(MillisVisitor)
    }
}
