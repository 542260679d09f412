//! Storm mode, the pure part: when a post's new comments arrive faster than a channel could
//! show a card for each, the post gets one storm card (edited in place) and batched thread
//! messages. Every comment stays its own ticket; only how it is shown changes.
//!
//! Detection is per post *and* channel (routing rules can send one post's comments to several
//! channels, each with its own allowance).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{ItemKind, Status, TicketId};

/// When a post storms and when its storm is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StormPolicy {
    /// More than this many new tickets under one post within `window` start a storm.
    pub threshold: u32,
    pub window: Duration,
    /// A storm ends after this long without a new message.
    pub quiet: Duration,
}

/// What the store keeps about one post in one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// When its latest new tickets opened, oldest first (at most `threshold + 1`, within the
    /// window).
    pub recent: Vec<DateTime<Utc>>,
    /// Its storm, while one runs.
    pub storm: Option<i64>,
}

/// What a customer's message under a post means for the post's storm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// No storm: the message is shown as usual.
    No,
    /// The post is in storm `id`: the message is shown on its card and thread.
    Existing(i64),
    /// This message starts the post's storm.
    Start,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The post's activity after this message (what to store).
    pub recent: Vec<DateTime<Utc>>,
    pub join: Join,
    /// Whether anything changed that the store must write.
    pub changed: bool,
}

/// Which items storm: comments under a post (or a video) and reviews of a location. A visitor
/// post is its own post and a direct message has none.
pub fn storms(kind: ItemKind) -> bool {
    matches!(kind, ItemKind::Comment | ItemKind::Review)
}

/// A customer's message under a post: `opens` when it opens a new ticket (only new tickets
/// count towards a storm; a customer writing again during one joins it).
pub fn observe(
    before: Option<&Activity>,
    opens: bool,
    now: DateTime<Utc>,
    policy: &StormPolicy,
) -> Observation {
    let empty = Activity::default();
    let before = before.unwrap_or(&empty);
    let mut recent: Vec<DateTime<Utc>> = before
        .recent
        .iter()
        .copied()
        .filter(|t| now - *t < policy.window)
        .collect();
    if opens {
        recent.push(now);
    }
    let keep = policy.threshold as usize + 1;
    if recent.len() > keep {
        recent.drain(..recent.len() - keep);
    }
    let join = match before.storm {
        Some(id) => Join::Existing(id),
        None if opens && recent.len() > policy.threshold as usize => Join::Start,
        None => Join::No,
    };
    let changed = recent != before.recent || join == Join::Start;
    Observation {
        recent,
        join,
        changed,
    }
}

/// Whether a storm last fed at `last_at` is over.
pub fn is_over(last_at: DateTime<Utc>, now: DateTime<Utc>, policy: &StormPolicy) -> bool {
    now - last_at >= policy.quiet
}

/// One message of a storm, as the card and the thread show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormLine {
    /// Its order in the storm.
    pub seq: i64,
    pub ticket: TicketId,
    pub author: String,
    pub text: String,
    pub at: DateTime<Utc>,
    /// Its ticket's status now.
    pub status: Status,
    /// The team has answered its ticket.
    pub answered: bool,
}

/// How many messages the card lists as the newest.
pub const NEWEST_SHOWN: usize = 5;
/// How many keywords the card shows.
pub const KEYWORDS_SHOWN: usize = 5;
/// How many open comments the card's "open as card" menu offers (Slack's option limit is 100,
/// Discord's 25: each surface takes what it can).
pub const OPEN_CHOICES: usize = 100;

/// What the storm card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormView {
    pub id: i64,
    pub count: i64,
    /// Messages in the last minute.
    pub per_minute: usize,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// What the post is (a video's title), when the network says.
    pub subject: Option<String>,
    pub link: Option<String>,
    /// Newest first.
    pub newest: Vec<StormLine>,
    pub keywords: Vec<(String, usize)>,
    pub open: usize,
    pub closed: usize,
    /// Open tickets for "open as card", newest first.
    pub choices: Vec<StormLine>,
    /// The team's tags, for "tag all" (filled by the worker; empty: not offered).
    pub tags: Vec<String>,
    /// The configured teams, for "assign all to a team" (filled by the worker).
    pub teams: Vec<String>,
    /// The network hides comments: "hide all containing…" is offered with the top words.
    pub can_hide: bool,
}

/// What the store says about a storm (`lines`: its messages, oldest first).
#[derive(Debug, Clone)]
pub struct StormFacts<'a> {
    pub id: i64,
    pub count: i64,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub subject: Option<String>,
    pub link: Option<String>,
    pub lines: &'a [StormLine],
    /// Open and closed tickets over the whole storm, when `lines` are only its newest (a
    /// storm larger than what is read for the card); counted from `lines` otherwise.
    pub tally: Option<(usize, usize)>,
}

impl StormView {
    pub fn of(facts: StormFacts<'_>, now: DateTime<Utc>) -> Self {
        let lines = facts.lines;
        let per_minute = lines
            .iter()
            .filter(|l| now - l.at < Duration::minutes(1))
            .count();
        let newest = lines.iter().rev().take(NEWEST_SHOWN).cloned().collect();
        // Each ticket counted once, at its newest message.
        let mut seen = HashSet::new();
        let (mut open, mut closed) = (0, 0);
        let mut choices = Vec::new();
        for l in lines.iter().rev() {
            if !seen.insert(l.ticket) {
                continue;
            }
            if l.status == Status::Closed {
                closed += 1;
            } else {
                open += 1;
                if choices.len() < OPEN_CHOICES {
                    choices.push(l.clone());
                }
            }
        }
        if let Some(tally) = facts.tally {
            (open, closed) = tally;
        }
        StormView {
            id: facts.id,
            count: facts.count,
            per_minute,
            started_at: facts.started_at,
            ended_at: facts.ended_at,
            subject: facts.subject,
            link: facts.link,
            newest,
            keywords: keywords(lines.iter().map(|l| l.text.as_str()), KEYWORDS_SHOWN),
            open,
            closed,
            choices,
            tags: Vec::new(),
            teams: Vec::new(),
            can_hide: false,
        }
    }
}

/// Words too common to say anything about a storm (English; other languages' short words are
/// mostly caught by the length rule).
const STOPWORDS: &[&str] = &[
    "about", "after", "again", "also", "been", "before", "being", "cant", "could", "dont", "even",
    "from", "have", "here", "just", "know", "like", "more", "much", "only", "really", "some",
    "than", "that", "their", "them", "then", "there", "these", "they", "this", "very", "want",
    "were", "what", "when", "where", "which", "will", "with", "would", "your", "youre",
];

/// The `n` words most messages use (each message counts a word once), most used first; words
/// shorter than four letters and common words left out.
pub fn keywords<'a>(texts: impl Iterator<Item = &'a str>, n: usize) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for text in texts {
        let words: HashSet<String> = words(text)
            .filter(|w| {
                w.chars().count() >= 4
                    && !w.chars().all(|c| c.is_ascii_digit())
                    && !STOPWORDS.contains(&w.as_str())
            })
            .collect();
        for w in words {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().filter(|(_, c)| *c > 1).collect();
    // Stable on the alphabetical order the map gave: ties stay alphabetical.
    ranked.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    ranked.truncate(n);
    ranked
}

/// A text's words as the storm card counts and hides them: letters and digits, apostrophes
/// dropped ("Nike's" is `nikes`), lowercase.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| {
            w.chars()
                .filter(|c| *c != '\'')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
}

/// Whether `text` contains `keyword` as a word, the way [`keywords`] counts words (what
/// "hide all containing" hides).
pub fn matches_keyword(text: &str, keyword: &str) -> bool {
    let wanted: Vec<String> = words(keyword).collect();
    match wanted.as_slice() {
        [] => false,
        [one] => words(text).any(|w| w == *one),
        // A phrase: its words in a row.
        many => {
            let all: Vec<String> = words(text).collect();
            all.windows(many.len()).any(|w| w == many)
        }
    }
}

/// Whether a ticket's comments contain `word` (what "hide all containing" hides: its first
/// comment, or its newest).
pub fn mentions(state: &super::TicketState, word: &str) -> bool {
    matches_keyword(&state.first_text, word)
        || state
            .last_text
            .as_deref()
            .is_some_and(|t| matches_keyword(t, word))
}

/// The longest tag or word a storm control carries (a Discord `custom_id` holds 100
/// characters, a Slack option value 150): longer ones are not offered.
pub const MAX_CHOICE_CHARS: usize = 60;

/// A word or phrase typed to hide by (Discord's "Hide all containing…" modal), trimmed: `None`
/// when it is empty, longer than [`MAX_CHOICE_CHARS`] or has no word [`matches_keyword`]
/// could find (such a word would hide nothing).
pub fn typed_word(typed: &str) -> Option<&str> {
    let word = typed.trim();
    let fits = (1..=MAX_CHOICE_CHARS).contains(&word.chars().count());
    (fits && words(word).next().is_some()).then_some(word)
}

/// How many of `lines` (oldest first) go into the next thread batch: at most `max_lines`, and
/// no more than fit `max_chars` by `cost` (one line always goes, cut by the renderer).
pub fn batch_len(
    lines: &[StormLine],
    max_lines: usize,
    max_chars: usize,
    cost: impl Fn(&StormLine) -> usize,
) -> usize {
    let mut used = 0;
    let mut n = 0;
    for l in lines.iter().take(max_lines.max(1)) {
        let c = cost(l);
        if n > 0 && used + c > max_chars {
            break;
        }
        used += c;
        n += 1;
    }
    n
}

/// Version prefix of a storm card control's id: `sbs1:<verb>:<storm id>`.
pub const STORM_ACTION_VERSION: &str = "sbs1";

/// What a storm card's control does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StormVerb {
    /// Close every open ticket of the storm (Slack asks first with its confirm dialog; on
    /// Discord this asks, and [`StormVerb::CloseAllConfirmed`] does it).
    CloseAll,
    CloseAllConfirmed,
    /// Assign every ticket of the storm to the clicker.
    AssignAllToMe,
    /// Give one listed comment a card of its own (the ticket comes with the choice).
    OpenCard,
    /// Open the editor that replies to chosen comments with a saved reply (Slack's modal view,
    /// Discord's modal; the modal's submission carries this action too).
    ReplySelected,
    /// Assign every open ticket of the storm to the chosen person.
    AssignAllTo,
    /// Assign every open ticket of the storm to the chosen team (Discord's button opens a modal
    /// to choose it in, whose submission carries this action too).
    AssignAllTeam,
    /// Add a tag (the choice) to every ticket of the storm.
    TagAll,
    /// Hide on the network every comment of the storm containing a word (the choice; Slack
    /// asks first with its confirm dialog; on Discord this asks, and
    /// [`StormVerb::HideMatchingConfirmed`], carrying the word, does it).
    HideMatching,
    HideMatchingConfirmed,
    /// Hide every comment containing a word or phrase the clicker types: a form for the word
    /// (Slack: [`crate::server`] answers it with the count to confirm; Discord: the
    /// submission is asked about as [`StormVerb::HideMatching`] is).
    HideTyped,
}

impl StormVerb {
    fn as_str(self) -> &'static str {
        match self {
            StormVerb::CloseAll => "close_all",
            StormVerb::CloseAllConfirmed => "close_all_sure",
            StormVerb::AssignAllToMe => "assign_all_me",
            StormVerb::OpenCard => "open_card",
            StormVerb::ReplySelected => "reply_selected",
            StormVerb::AssignAllTo => "assign_all",
            StormVerb::AssignAllTeam => "assign_all_team",
            StormVerb::TagAll => "tag_all",
            StormVerb::HideMatching => "hide_matching",
            StormVerb::HideMatchingConfirmed => "hide_sure",
            StormVerb::HideTyped => "hide_typed",
        }
    }
}

/// A storm card control's identity: `sbs1:<verb>:<storm>`, and for a confirmation button
/// what it confirms (`sbs1:hide_sure:<storm>:<word>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StormAction {
    pub verb: StormVerb,
    pub storm: i64,
    pub arg: Option<String>,
}

impl StormAction {
    pub fn new(verb: StormVerb, storm: i64) -> Self {
        Self {
            verb,
            storm,
            arg: None,
        }
    }
}

impl std::fmt::Display for StormAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{STORM_ACTION_VERSION}:{}:{}",
            self.verb.as_str(),
            self.storm
        )?;
        match &self.arg {
            Some(arg) => write!(f, ":{arg}"),
            None => Ok(()),
        }
    }
}

impl std::str::FromStr for StormAction {
    type Err = ();

    /// `Err`: not a storm control (another of ours, or someone else's).
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut parts = s.splitn(4, ':');
        if parts.next() != Some(STORM_ACTION_VERSION) {
            return Err(());
        }
        let verb = match parts.next().ok_or(())? {
            "close_all" => StormVerb::CloseAll,
            "close_all_sure" => StormVerb::CloseAllConfirmed,
            "assign_all_me" => StormVerb::AssignAllToMe,
            "open_card" => StormVerb::OpenCard,
            "reply_selected" => StormVerb::ReplySelected,
            "assign_all" => StormVerb::AssignAllTo,
            "assign_all_team" => StormVerb::AssignAllTeam,
            "tag_all" => StormVerb::TagAll,
            "hide_matching" => StormVerb::HideMatching,
            "hide_sure" => StormVerb::HideMatchingConfirmed,
            "hide_typed" => StormVerb::HideTyped,
            _ => return Err(()),
        };
        let storm = parts.next().ok_or(())?.parse::<i64>().map_err(|_| ())?;
        let arg = parts.next().filter(|a| !a.is_empty()).map(str::to_string);
        Ok(StormAction { verb, storm, arg })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> StormPolicy {
        StormPolicy {
            threshold: 10,
            window: Duration::seconds(60),
            quiet: Duration::seconds(300),
        }
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    /// Feed `n` new tickets one `every` seconds apart; returns the joins.
    fn feed(n: usize, every: i64) -> Vec<Join> {
        let mut activity = Activity::default();
        let mut joins = Vec::new();
        for i in 0..n {
            let o = observe(Some(&activity), true, t(i as i64 * every), &policy());
            joins.push(o.join);
            activity.recent = o.recent;
            if o.join == Join::Start {
                activity.storm = Some(7);
            }
        }
        joins
    }

    #[test]
    fn the_eleventh_new_ticket_within_a_minute_starts_the_storm() {
        let joins = feed(13, 5);
        assert!(joins[..10].iter().all(|j| *j == Join::No), "{joins:?}");
        assert_eq!(joins[10], Join::Start);
        assert_eq!(joins[11], Join::Existing(7));
    }

    #[test]
    fn a_steady_trickle_never_storms() {
        // One every 6 s: ten within any minute, never eleven.
        assert!(feed(100, 6).iter().all(|j| *j == Join::No));
        // One every 5.5 s would be eleven in 60 s; every 5 s is.
        assert!(feed(30, 5).contains(&Join::Start));
    }

    #[test]
    fn a_customer_writing_again_does_not_count_but_joins_a_running_storm() {
        let mut a = Activity::default();
        for i in 0..10 {
            a.recent = observe(Some(&a), true, t(i), &policy()).recent;
        }
        let again = observe(Some(&a), false, t(11), &policy());
        assert_eq!(again.join, Join::No);
        assert!(!again.changed);
        a.storm = Some(3);
        assert_eq!(
            observe(Some(&a), false, t(12), &policy()).join,
            Join::Existing(3)
        );
    }

    #[test]
    fn detection_remembers_only_what_it_needs() {
        let mut a = Activity::default();
        for i in 0..50 {
            a.recent = observe(Some(&a), true, t(i), &policy()).recent;
        }
        assert_eq!(a.recent.len(), 11);
        // A minute later the old ones are gone.
        let o = observe(Some(&a), true, t(200), &policy());
        assert_eq!(o.recent, vec![t(200)]);
    }

    #[test]
    fn quiet_period_ends_it() {
        assert!(!is_over(t(0), t(299), &policy()));
        assert!(is_over(t(0), t(300), &policy()));
    }

    #[test]
    fn keywords_count_messages_not_repetitions() {
        let texts = [
            "Refund please, refund refund refund",
            "Where is my REFUND?",
            "The shipping was late",
            "shipping late again, refund",
            "love it",
        ];
        let k = keywords(texts.iter().copied(), 3);
        assert_eq!(
            k,
            vec![
                ("refund".to_string(), 3),
                ("late".to_string(), 2),
                ("shipping".to_string(), 2)
            ]
        );
    }

    #[test]
    fn keyword_matching_is_by_word() {
        assert!(matches_keyword("Buy CHEAP pills", "cheap"));
        assert!(!matches_keyword("cheapest", "cheap"));
        assert!(matches_keyword("free money now", "free money"));
        assert!(!matches_keyword("free the money", "free money"));
        assert!(!matches_keyword("anything", "  "));
        // As the card counts it.
        let k = keywords(["Nike's best", "nike's worst"].into_iter(), 1);
        assert_eq!(k, vec![("nikes".to_string(), 2)]);
        assert!(matches_keyword("I love Nike's shoes", &k[0].0));
    }

    #[test]
    fn a_typed_word_must_fit_and_be_a_word() {
        assert_eq!(typed_word("  free money "), Some("free money"));
        assert_eq!(
            typed_word(&"é".repeat(MAX_CHOICE_CHARS)).map(str::len),
            Some(120)
        );
        for bad in ["", "   ", "!!! ???", &"x".repeat(MAX_CHOICE_CHARS + 1)] {
            assert_eq!(typed_word(bad), None, "{bad}");
        }
    }

    fn line(seq: i64, ticket: i64, text: &str, at: i64, status: Status) -> StormLine {
        StormLine {
            seq,
            ticket: TicketId(ticket),
            author: format!("a{ticket}"),
            text: text.into(),
            at: t(at),
            status,
            answered: false,
        }
    }

    #[test]
    fn the_view_counts_each_ticket_once_at_its_newest_message() {
        let lines = vec![
            line(1, 1, "first", 0, Status::Unread),
            line(2, 2, "second", 10, Status::Closed),
            line(3, 1, "first again", 70, Status::Unread),
            line(4, 3, "third", 80, Status::Unread),
        ];
        let v = StormView::of(
            StormFacts {
                id: 9,
                count: 4,
                started_at: t(0),
                ended_at: None,
                subject: None,
                link: None,
                lines: &lines,
                tally: None,
            },
            t(90),
        );
        assert_eq!((v.open, v.closed), (2, 1));
        assert_eq!(v.per_minute, 2);
        assert_eq!(v.newest.first().map(|l| l.seq), Some(4));
        assert_eq!(
            v.choices.iter().map(|l| l.ticket.0).collect::<Vec<_>>(),
            vec![3, 1]
        );
    }

    #[test]
    fn a_tally_of_the_whole_storm_wins_over_the_lines_read() {
        let lines = vec![
            line(1, 1, "first", 0, Status::Unread),
            line(2, 2, "second", 10, Status::Closed),
        ];
        let v = StormView::of(
            StormFacts {
                id: 9,
                count: 9_000,
                started_at: t(0),
                ended_at: None,
                subject: None,
                link: None,
                lines: &lines,
                tally: Some((6_000, 3_000)),
            },
            t(90),
        );
        assert_eq!((v.open, v.closed), (6_000, 3_000));
        assert_eq!(v.choices.len(), 1, "choices still come from the lines");
    }

    #[test]
    fn a_batch_stops_before_the_character_limit_but_always_takes_one() {
        let lines: Vec<_> = (0..10)
            .map(|i| line(i, i, "x", 0, Status::Unread))
            .collect();
        assert_eq!(batch_len(&lines, 25, 100, |_| 30), 3);
        assert_eq!(batch_len(&lines, 4, 1000, |_| 30), 4);
        assert_eq!(batch_len(&lines, 25, 10, |_| 30), 1);
        assert_eq!(batch_len(&[], 25, 10, |_| 30), 0);
    }

    #[test]
    fn storm_controls_round_trip_and_others_are_not_ours() {
        for verb in [
            StormVerb::CloseAll,
            StormVerb::CloseAllConfirmed,
            StormVerb::AssignAllToMe,
            StormVerb::OpenCard,
            StormVerb::ReplySelected,
            StormVerb::AssignAllTo,
            StormVerb::AssignAllTeam,
            StormVerb::TagAll,
            StormVerb::HideMatching,
            StormVerb::HideMatchingConfirmed,
            StormVerb::HideTyped,
        ] {
            let a = StormAction::new(verb, 42);
            assert_eq!(a.to_string().parse::<StormAction>(), Ok(a));
        }
        let sure = StormAction {
            verb: StormVerb::HideMatchingConfirmed,
            storm: 7,
            arg: Some("buy:now".into()),
        };
        assert_eq!(sure.to_string(), "sbs1:hide_sure:7:buy:now");
        assert_eq!(sure.to_string().parse::<StormAction>(), Ok(sure));
        for other in [
            "sb1:close:4",
            "sbs1:nuke:4",
            "sbs1:close_all:x",
            "sbs1:close_all",
        ] {
            assert!(other.parse::<StormAction>().is_err(), "{other}");
        }
    }
}
