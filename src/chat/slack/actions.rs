//! Action ids of the saved-reply library's buttons (in `/switchboard` search answers), in their
//! own versioned format `sb1sr:<action>[:<saved reply id>]` so they never collide with card
//! actions (`sb1:<action>:<ticket>`, see [`crate::core::action`]).
//!
//! | action   | format              |
//! |----------|---------------------|
//! | `New`    | `sb1sr:new`         |
//! | `Edit`   | `sb1sr:edit:<id>`   |
//! | `Delete` | `sb1sr:delete:<id>` |

use std::fmt;
use std::str::FromStr;

use crate::core::saved_reply::SavedReplyId;

/// Version prefix. Bump it when the format changes, and keep parsing the old one while old
/// messages may still be clicked.
pub const SAVED_REPLY_ACTION_VERSION: &str = "sb1sr";

/// A click on a saved-reply library button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SavedReplyAction {
    /// Open the editor for a new saved reply.
    New,
    /// Open the editor for this saved reply.
    Edit(SavedReplyId),
    /// Delete this saved reply.
    Delete(SavedReplyId),
}

impl fmt::Display for SavedReplyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = SAVED_REPLY_ACTION_VERSION;
        match self {
            SavedReplyAction::New => write!(f, "{v}:new"),
            SavedReplyAction::Edit(id) => write!(f, "{v}:edit:{id}"),
            SavedReplyAction::Delete(id) => write!(f, "{v}:delete:{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedReplyActionError {
    /// Not one of ours (a card action, a link button, another app's id).
    #[error("not a Switchboard saved-reply action id")]
    Foreign,
    #[error("saved-reply action id version {0:?} is not supported")]
    Version(String),
    #[error("unknown saved-reply action {0:?}")]
    UnknownAction(String),
    #[error("bad saved reply id {0:?}")]
    BadId(String),
}

impl FromStr for SavedReplyAction {
    type Err = SavedReplyActionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, ':');
        let (Some(version), Some(action)) = (parts.next(), parts.next()) else {
            return Err(SavedReplyActionError::Foreign);
        };
        if !version.starts_with("sb") || !version.ends_with("sr") {
            return Err(SavedReplyActionError::Foreign);
        }
        if version != SAVED_REPLY_ACTION_VERSION {
            return Err(SavedReplyActionError::Version(version.to_string()));
        }
        let id = parts.next();
        let parse_id = || {
            let raw = id.unwrap_or_default();
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .map(SavedReplyId)
                .ok_or_else(|| SavedReplyActionError::BadId(raw.to_string()))
        };
        match action {
            "new" if id.is_none() => Ok(SavedReplyAction::New),
            "new" => Err(SavedReplyActionError::BadId(id.unwrap_or_default().into())),
            "edit" => Ok(SavedReplyAction::Edit(parse_id()?)),
            "delete" => Ok(SavedReplyAction::Delete(parse_id()?)),
            other => Err(SavedReplyActionError::UnknownAction(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for action in [
            SavedReplyAction::New,
            SavedReplyAction::Edit(SavedReplyId(7)),
            SavedReplyAction::Delete(SavedReplyId(123456789)),
        ] {
            assert_eq!(action.to_string().parse::<SavedReplyAction>(), Ok(action));
        }
        assert_eq!(
            SavedReplyAction::Edit(SavedReplyId(3)).to_string(),
            "sb1sr:edit:3"
        );
        assert_eq!(
            SavedReplyAction::Delete(SavedReplyId(3)).to_string(),
            "sb1sr:delete:3"
        );
        assert_eq!(SavedReplyAction::New.to_string(), "sb1sr:new");
    }

    #[test]
    fn rejects_malformed_ids() {
        use SavedReplyActionError::*;
        let cases = [
            ("sb1:close:42", Foreign),
            ("sb_permalink", Foreign),
            ("other:edit:1", Foreign),
            ("sb2sr:edit:1", Version("sb2sr".into())),
            ("sb1sr:explode:1", UnknownAction("explode".into())),
            ("sb1sr:edit:x", BadId("x".into())),
            ("sb1sr:edit:0", BadId("0".into())),
            ("sb1sr:delete:", BadId("".into())),
            ("sb1sr:delete", BadId("".into())),
            ("sb1sr:new:4", BadId("4".into())),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<SavedReplyAction>(), Err(want), "{input}");
        }
    }
}
