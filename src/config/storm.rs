//! `[storm]`: when a post's comments arrive faster than a channel can show a card for each, the
//! post gets one storm card and batched thread messages (see `core::storm`).

use serde::Deserialize;

use crate::core::storm::StormPolicy;

/// More than this many new tickets under one post within the window start a storm.
pub const DEFAULT_THRESHOLD: u32 = 10;
/// The detection window.
pub const DEFAULT_WINDOW_SECS: u64 = 60;
/// A storm ends after this long without a new message under its post.
pub const DEFAULT_QUIET_SECS: u64 = 300;
/// Most messages one thread batch shows (Slack shows a message of about 4,000 characters
/// without "show more"; each line is cut to a few hundred).
pub const DEFAULT_BATCH_MAX: usize = 25;
/// Minimum gap between two edits of one channel's storm cards (`chat.update` is a Tier 3
/// method, about 50 a minute per workspace; Discord allows about 5 edits per 5 s per channel).
pub const DEFAULT_UPDATE_GAP_MS: u64 = 3_000;
/// How often quiet storms are looked for.
pub const DEFAULT_CHECK_SECS: u64 = 10;

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct StormConfig {
    /// `false`: a card per comment, always.
    pub enabled: bool,
    pub threshold: u32,
    pub window_secs: u64,
    pub quiet_secs: u64,
    pub batch_max: usize,
    pub update_gap_ms: u64,
    pub check_secs: u64,
}

impl Default for StormConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: DEFAULT_THRESHOLD,
            window_secs: DEFAULT_WINDOW_SECS,
            quiet_secs: DEFAULT_QUIET_SECS,
            batch_max: DEFAULT_BATCH_MAX,
            update_gap_ms: DEFAULT_UPDATE_GAP_MS,
            check_secs: DEFAULT_CHECK_SECS,
        }
    }
}

impl StormConfig {
    pub fn policy(&self) -> StormPolicy {
        let secs = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000));
        StormPolicy {
            threshold: self.threshold,
            window: secs(self.window_secs),
            quiet: secs(self.quiet_secs),
        }
    }

    pub fn validate(&self, problems: &mut Vec<String>) {
        if !self.enabled {
            return;
        }
        if self.threshold == 0 {
            problems.push("storm.threshold must be at least 1".into());
        }
        if self.window_secs == 0 {
            problems.push("storm.window_secs must be at least 1".into());
        }
        if self.quiet_secs == 0 {
            problems.push("storm.quiet_secs must be at least 1".into());
        }
        if self.batch_max == 0 || self.batch_max > 100 {
            problems.push("storm.batch_max must be between 1 and 100".into());
        }
        if self.check_secs == 0 {
            problems.push("storm.check_secs must be at least 1".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_zeroes_are_refused_by_name() {
        let mut problems = Vec::new();
        StormConfig::default().validate(&mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let bad = StormConfig {
            threshold: 0,
            batch_max: 0,
            ..StormConfig::default()
        };
        bad.validate(&mut problems);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("storm.threshold"));
        assert!(problems[1].contains("storm.batch_max"));
    }
}
