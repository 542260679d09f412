//! Pure change detection for TikTok: what a poll read → core envelopes, and the per-video
//! cursor that says what has been read.
//!
//! TikTok lists a video's top-level comments newest first (`sort_field=create_time`), but a
//! new reply does not move its thread up. So a poll reads each recent video's comments down
//! to the video's mark, and follows the threads it has seen for new replies: TikTok gives
//! each top-level comment's reply count, and a thread whose count grew has its replies read
//! (newest first, down to the mark). The mark only moves once everything above it was read:
//! a backlog larger than a poll's budget is continued from TikTok's page cursor next time,
//! and a thread whose replies were not all read keeps the mark where it is (dedupe absorbs
//! what is read twice).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::client::{Comment, Video};
use super::{CommentRef, dedupe_key};
use crate::core::{
    AccountId, Customer, CustomerId, InboundItem, ItemContext, ItemKind, Network, NetworkChange,
    NetworkEnvelope,
};

/// A thread is followed for new replies this long after its last activity (a comment or a
/// reply in it), in days.
pub const WATCH_DAYS: i64 = 7;

/// At most this many threads are followed per video: the ones we answered first, then the
/// most recently active. One `comment_ids` call checks them all.
pub const MAX_WATCHED_THREADS_PER_VIDEO: usize = super::client::MAX_COMMENT_IDS_PER_CALL;

/// Characters of a video's caption a card shows as its subject.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// The envelope of a customer's comment or reply; `None` for the account's own (its replies
/// and comments are never customer messages).
pub fn envelope(
    account: &AccountId,
    video: Option<&Video>,
    comment: &Comment,
) -> Option<NetworkEnvelope> {
    if comment.owner {
        return None;
    }
    let at = CommentRef {
        video: comment.video_id.clone(),
        parent: comment.parent_id.clone(),
        comment: comment.id.clone(),
    };
    let item_id = at.item_id();
    // No author: a stand-in per comment, so two unnamed viewers never share a ticket.
    let customer_id = comment
        .author
        .clone()
        .map(CustomerId::new)
        .unwrap_or_else(|| CustomerId::unknown_author_of(&item_id));
    let name = comment
        .display_name
        .clone()
        .or_else(|| comment.username.as_ref().map(|u| format!("@{u}")));
    let share_url = video.and_then(|v| v.share_url.clone());
    let item = InboundItem {
        network: Network::Tiktok,
        account: account.clone(),
        item_id,
        kind: ItemKind::Comment,
        // One ticket per author per video; replies in a thread join their author's ticket.
        post_id: crate::core::NetworkItemId::new(comment.video_id.clone()),
        customer: Customer {
            id: customer_id,
            name,
        },
        text: comment.text.clone(),
        created_at: comment.created_at,
        permalink: share_url.clone(),
        attachments: vec![],
        context: ItemContext {
            subject: video.and_then(|v| v.caption.as_deref()).map(subject),
            subject_url: share_url,
            rating: None,
            held: None,
        },
    };
    Some(NetworkEnvelope {
        dedupe_key: dedupe_key(&comment.id),
        change: NetworkChange::New { item },
    })
}

/// A caption's first line, cut to [`MAX_SUBJECT_CHARS`].
fn subject(caption: &str) -> String {
    let line = caption.lines().next().unwrap_or_default().trim();
    if line.chars().count() > MAX_SUBJECT_CHARS {
        let cut: String = line.chars().take(MAX_SUBJECT_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    } else {
        line.to_owned()
    }
}

/// What one video's read produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoChanges {
    /// New customer comments and replies at or after the mark, oldest first.
    pub envelopes: Vec<NetworkEnvelope>,
    /// The latest creation time among everything read (ours included), the next mark once
    /// the video is read down to its mark.
    pub newest: Option<DateTime<Utc>>,
}

/// Turns what a poll read of `video` into envelopes: `tops` (top-level comments, each with
/// the replies TikTok embedded) and `replies` (per thread id, replies fetched on their own).
/// Everything created at or after `mark` is new: TikTok's times are per second, so a comment
/// from the mark's own second may have arrived after the poll that set it (a repeat is a
/// duplicate the inbox drops). Each comment counts once however often it was read.
pub fn video_changes(
    account: &AccountId,
    video: &Video,
    tops: &[Comment],
    replies: &HashMap<String, Vec<Comment>>,
    mark: DateTime<Utc>,
) -> VideoChanges {
    let mut seen = HashSet::new();
    let mut found: Vec<(DateTime<Utc>, NetworkEnvelope)> = Vec::new();
    let mut newest = None;
    let all = tops
        .iter()
        .flat_map(|t| {
            let fetched = replies.get(&t.id).map(Vec::as_slice).unwrap_or_default();
            std::iter::once(t)
                .chain(fetched.iter())
                .chain(t.reply_list.iter())
        })
        .chain(replies.values().flatten());
    for comment in all {
        if !seen.insert(comment.id.as_str()) {
            continue;
        }
        newest = newest.max(Some(comment.created_at));
        if comment.created_at < mark {
            continue;
        }
        if let Some(env) = envelope(account, Some(video), comment) {
            found.push((comment.created_at, env));
        }
    }
    found.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.dedupe_key.cmp(&b.1.dedupe_key))
    });
    VideoChanges {
        envelopes: found.into_iter().map(|(_, e)| e).collect(),
        newest,
    }
}

/// A page of comments or replies, newest first, went down past the mark: the listing need
/// go no further.
pub fn reached_mark(page: &[Comment], mark: DateTime<Utc>) -> bool {
    page.iter().any(|c| c.created_at < mark)
}

/// A poller's durable cursor for a TikTok account: a mark per recent video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokCursor {
    /// A video never read before is read down to here: the start of the backfill window,
    /// set by the account's first poll.
    pub floor: DateTime<Utc>,
    #[serde(default)]
    pub videos: BTreeMap<String, VideoMark>,
}

impl TiktokCursor {
    /// The stored cursor, or for a first poll (or one that cannot be read) a new one whose
    /// floor is `now - backfill`.
    pub fn read(cursor: Option<&str>, now: DateTime<Utc>, backfill: chrono::Duration) -> Self {
        cursor
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_else(|| TiktokCursor {
                floor: now - backfill,
                videos: BTreeMap::new(),
            })
    }

    pub fn write(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// The video's mark, or a fresh one at the floor.
    pub fn take(&mut self, video: &str) -> VideoMark {
        self.videos.remove(video).unwrap_or_else(|| VideoMark {
            high_water: self.floor,
            resume: None,
            pending: None,
            threads: BTreeMap::new(),
            read_at: None,
        })
    }

    /// Which of `videos` to read first: an unfinished backlog, then the video read longest
    /// ago (never read: first), so a poll whose budget runs out leaves others for the next.
    pub fn order<'a>(&self, videos: &'a [Video]) -> Vec<&'a Video> {
        let mut ordered: Vec<&Video> = videos.iter().collect();
        ordered.sort_by_key(|v| {
            let mark = self.videos.get(&v.id);
            (
                mark.is_none_or(|m| m.resume.is_none()),
                mark.and_then(|m| m.read_at),
            )
        });
        ordered
    }

    /// Forget videos no longer among the recent ones.
    pub fn keep_only(&mut self, videos: &[Video]) {
        let listed: HashSet<&str> = videos.iter().map(|v| v.id.as_str()).collect();
        self.videos.retain(|id, _| listed.contains(id.as_str()));
    }
}

/// What has been read of one video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoMark {
    /// Everything created before this was read (at this second: read again).
    pub high_water: DateTime<Utc>,
    /// While a backlog takes several polls: TikTok's page cursor to continue from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<i64>,
    /// The newest time seen while a backlog is read: the next mark once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<DateTime<Utc>>,
    /// Threads followed for new replies, by top-level comment id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub threads: BTreeMap<String, Watched>,
    /// When a poll last read this video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_at: Option<DateTime<Utc>>,
}

/// A thread followed for new replies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    /// Its reply count when its replies were last read in full.
    pub replies: u64,
    /// The latest comment or reply seen in it.
    pub active: DateTime<Utc>,
    /// We commented or replied in it (followed first: the customer may answer us).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ours: bool,
}

impl VideoMark {
    /// Whether the thread `top` has replies not read yet: its count grew past the one last
    /// read in full (unknown threads: past 0) and the few replies TikTok embedded do not
    /// cover them all.
    pub fn needs_replies(&self, top: &Comment) -> bool {
        let known = self.threads.get(&top.id).map_or(0, |w| w.replies);
        top.replies > known && (top.reply_list.len() as u64) < top.replies
    }

    /// Record what was read of thread `top` (`replies`: every reply read this time).
    /// `complete`: its new replies were all read, so its count is now known.
    pub fn record_thread(&mut self, top: &Comment, replies: &[Comment], complete: bool) {
        let active = replies
            .iter()
            .chain(top.reply_list.iter())
            .map(|r| r.created_at)
            .fold(top.created_at, DateTime::max);
        let ours = top.owner || replies.iter().chain(&top.reply_list).any(|r| r.owner);
        let entry = self.threads.entry(top.id.clone()).or_insert(Watched {
            replies: 0,
            active,
            ours,
        });
        entry.active = entry.active.max(active);
        entry.ours |= ours;
        if complete {
            entry.replies = top.replies;
        }
    }

    /// Drop threads quiet for [`WATCH_DAYS`], and keep at most
    /// [`MAX_WATCHED_THREADS_PER_VIDEO`]: ours first, then the most recently active.
    pub fn prune_threads(&mut self, now: DateTime<Utc>) {
        let since = now - chrono::Duration::days(WATCH_DAYS);
        self.threads.retain(|_, w| w.active >= since);
        if self.threads.len() > MAX_WATCHED_THREADS_PER_VIDEO {
            let mut ranked: Vec<(String, Watched)> =
                std::mem::take(&mut self.threads).into_iter().collect();
            ranked.sort_by(|a, b| b.1.ours.cmp(&a.1.ours).then(b.1.active.cmp(&a.1.active)));
            ranked.truncate(MAX_WATCHED_THREADS_PER_VIDEO);
            self.threads = ranked.into_iter().collect();
        }
    }

    /// The mark after a read. Read down to the old mark (`resume` is `None`) with every
    /// thread's new replies read (`complete`): the mark moves to the newest time seen over the
    /// whole backlog. Otherwise it stays, the listing continues from `resume`, and the newest
    /// time waits in `pending`.
    pub fn advance(
        mut self,
        newest: Option<DateTime<Utc>>,
        resume: Option<i64>,
        complete: bool,
        now: DateTime<Utc>,
    ) -> VideoMark {
        let pending = self.pending.max(newest);
        if resume.is_none() && complete {
            self.high_water = self.high_water.max(pending.unwrap_or(self.high_water));
            self.pending = None;
        } else {
            self.pending = pending;
        }
        self.resume = resume;
        self.read_at = Some(now);
        self.prune_threads(now);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "-000acme";
    const VIDEO: &str = "7299000000000000001";

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + s, 0).expect("valid")
    }

    fn video() -> Video {
        Video {
            id: VIDEO.into(),
            created_at: Some(at(-100_000)),
            caption: Some("New <b>roast</b> is here\nsecond line".into()),
            share_url: Some(format!("https://www.tiktok.com/@acme/video/{VIDEO}")),
        }
    }

    fn comment(id: &str, author: &str, created: i64) -> Comment {
        Comment {
            id: id.into(),
            video_id: VIDEO.into(),
            parent_id: None,
            author: Some(author.into()),
            username: Some(author.to_lowercase()),
            display_name: Some(author.into()),
            text: format!("text of {id}"),
            created_at: at(created),
            replies: 0,
            owner: false,
            hidden: false,
            reply_list: vec![],
        }
    }

    fn reply(id: &str, parent: &str, author: &str, created: i64) -> Comment {
        Comment {
            parent_id: Some(parent.into()),
            ..comment(id, author, created)
        }
    }

    fn keys(c: &VideoChanges) -> Vec<&str> {
        c.envelopes.iter().map(|e| e.dedupe_key.as_str()).collect()
    }

    fn account() -> AccountId {
        AccountId::new(ACCOUNT)
    }

    #[test]
    fn new_comments_become_items_oldest_first_grouped_per_author_per_video() {
        let tops = vec![
            comment("c3", "Ann", 30),
            comment("c2", "Bob", 20),
            // At the mark's second: read again (dedupe absorbs a repeat).
            comment("c1", "Cid", 0),
            // Before the mark: read by an earlier poll.
            comment("c0", "Dee", -5),
        ];
        let got = video_changes(&account(), &video(), &tops, &HashMap::new(), at(0));
        assert_eq!(
            keys(&got),
            [
                "tiktok:comment:c1",
                "tiktok:comment:c2",
                "tiktok:comment:c3"
            ]
        );
        assert_eq!(got.newest, Some(at(30)));
        assert!(reached_mark(&tops, at(0)));
        assert!(!reached_mark(&tops[..3], at(0)));

        let NetworkChange::New { item } = &got.envelopes[2].change else {
            panic!("expected a new item");
        };
        assert_eq!(item.network, Network::Tiktok);
        assert_eq!(item.account.as_str(), ACCOUNT);
        assert_eq!(item.item_id.as_str(), format!("{VIDEO}:c3"));
        assert_eq!(item.kind, ItemKind::Comment);
        assert_eq!(item.post_id.as_str(), VIDEO);
        assert_eq!(item.customer.id.as_str(), "Ann");
        assert_eq!(item.customer.name.as_deref(), Some("Ann"));
        assert_eq!(item.text, "text of c3");
        assert_eq!(item.created_at, at(30));
        assert_eq!(
            item.permalink.as_deref(),
            Some("https://www.tiktok.com/@acme/video/7299000000000000001")
        );
        // The caption's first line, as data (the renderers escape it).
        assert_eq!(
            item.context.subject.as_deref(),
            Some("New <b>roast</b> is here")
        );
        assert_eq!(item.context.subject_url, item.permalink);
        assert_eq!(
            item.conversation_key(),
            format!("tiktok:{ACCOUNT}:{VIDEO}:Ann")
        );
    }

    #[test]
    fn replies_join_their_authors_ticket_and_our_own_never_count() {
        let mut top = comment("c1", "Ann", -50);
        top.replies = 3;
        // One embedded reply (ours), two fetched (the customer's answer, and ours again).
        let mut ours = reply("r1", "c1", "Acme", 10);
        ours.owner = true;
        top.reply_list = vec![ours.clone()];
        let theirs = reply("r2", "c1", "Ann", 20);
        let replies = HashMap::from([("c1".to_string(), vec![theirs, ours])]);
        let got = video_changes(&account(), &video(), &[top], &replies, at(0));
        assert_eq!(keys(&got), ["tiktok:comment:r2"]);
        let NetworkChange::New { item } = &got.envelopes[0].change else {
            panic!("expected a new item");
        };
        assert_eq!(item.item_id.as_str(), format!("{VIDEO}:c1:r2"));
        assert_eq!(
            item.conversation_key(),
            format!("tiktok:{ACCOUNT}:{VIDEO}:Ann")
        );
        assert_eq!(got.newest, Some(at(20)));
    }

    #[test]
    fn an_unnamed_author_gets_a_stand_in_per_comment_and_a_username_names_them() {
        let mut a = comment("c1", "x", 1);
        a.author = None;
        a.display_name = None;
        a.username = Some("viewer9".into());
        let mut b = comment("c2", "x", 2);
        b.author = None;
        let got = video_changes(&account(), &video(), &[a, b], &HashMap::new(), at(0));
        let customers: Vec<Customer> = got
            .envelopes
            .iter()
            .map(|e| match &e.change {
                NetworkChange::New { item } => item.customer.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(customers[0].name.as_deref(), Some("@viewer9"));
        assert!(!customers[0].id.is_known());
        assert_ne!(customers[0].id, customers[1].id);
    }

    #[test]
    fn long_captions_are_cut_on_their_first_line() {
        let long = "é".repeat(150);
        let s = subject(&long);
        assert_eq!(s.chars().count(), MAX_SUBJECT_CHARS);
        assert!(s.ends_with('…'));
        assert_eq!(subject("short\nmore"), "short");
    }

    #[test]
    fn threads_are_followed_by_their_reply_counts() {
        let mut mark = TiktokCursor::read(None, at(0), chrono::Duration::days(7)).take(VIDEO);
        let mut top = comment("c1", "Ann", -10);
        // No replies: nothing to read.
        assert!(!mark.needs_replies(&top));
        // Two replies, both embedded: nothing to fetch.
        top.replies = 2;
        top.reply_list = vec![reply("r1", "c1", "Bob", -5), reply("r2", "c1", "Ann", -4)];
        assert!(!mark.needs_replies(&top));
        mark.record_thread(&top, &[], true);
        assert_eq!(mark.threads["c1"].replies, 2);
        assert_eq!(mark.threads["c1"].active, at(-4));
        // A fourth reply: more than TikTok embeds, fetch them.
        top.replies = 4;
        top.reply_list.push(reply("r3", "c1", "Bob", -3));
        assert!(mark.needs_replies(&top));
        // Read only in part: the count stays, so the next poll reads them again.
        mark.record_thread(&top, &[], false);
        assert!(mark.needs_replies(&top));
        let mut ours = reply("r4", "c1", "Acme", 5);
        ours.owner = true;
        mark.record_thread(&top, &[ours], true);
        assert!(!mark.needs_replies(&top));
        assert!(mark.threads["c1"].ours);
        assert_eq!(mark.threads["c1"].active, at(5));
    }

    #[test]
    fn followed_threads_are_pruned_by_age_and_number_ours_first() {
        let mut mark = TiktokCursor::read(None, at(0), chrono::Duration::days(7)).take(VIDEO);
        let day = 86_400;
        let old = comment("old", "Ann", -8 * day);
        mark.record_thread(&old, &[], true);
        for i in 0..40 {
            let mut c = comment(&format!("c{i:02}"), "Bob", i);
            c.owner = i == 0;
            mark.record_thread(&c, &[], true);
        }
        mark.prune_threads(at(100));
        assert_eq!(mark.threads.len(), MAX_WATCHED_THREADS_PER_VIDEO);
        assert!(!mark.threads.contains_key("old"));
        // Ours stays although it is the quietest; then the most recent.
        assert!(mark.threads.contains_key("c00"));
        assert!(mark.threads.contains_key("c39"));
        assert!(!mark.threads.contains_key("c01"));
    }

    #[test]
    fn the_mark_moves_only_once_everything_above_it_was_read() {
        let mut cursor = TiktokCursor::read(None, at(0), chrono::Duration::days(7));
        assert_eq!(cursor.floor, at(0) - chrono::Duration::days(7));
        let fresh = cursor.take(VIDEO);
        assert_eq!(fresh.high_water, cursor.floor);
        let start = VideoMark {
            high_water: at(0),
            ..fresh
        };
        // Read down to the mark, every thread complete: the mark moves to the newest seen.
        let done = start.clone().advance(Some(at(50)), None, true, at(60));
        assert_eq!(
            (done.high_water, done.pending, done.read_at),
            (at(50), None, Some(at(60)))
        );
        // The page budget ran out: the mark stays, the listing continues, the newest waits.
        let first = start.clone().advance(Some(at(90)), Some(60), true, at(95));
        assert_eq!(
            (first.high_water, first.resume, first.pending),
            (at(0), Some(60), Some(at(90)))
        );
        // The next poll finishes it (its own newest is older): the mark jumps to the backlog's
        // newest.
        let second = first.advance(Some(at(20)), None, true, at(200));
        assert_eq!(
            (second.high_water, second.resume, second.pending),
            (at(90), None, None)
        );
        // A thread's replies not all read: the mark stays.
        let held = start.clone().advance(Some(at(50)), None, false, at(60));
        assert_eq!(held.high_water, at(0));
        // Nothing seen: the mark stays.
        assert_eq!(
            start.clone().advance(None, None, true, at(60)).high_water,
            at(0)
        );
        // The cursor survives its JSON round trip.
        cursor.videos.insert(VIDEO.into(), held);
        let again = TiktokCursor::read(Some(&cursor.write()), at(0), chrono::Duration::days(1));
        assert_eq!(again, cursor);
    }

    #[test]
    fn backlogs_first_then_the_video_read_longest_ago() {
        let v = |id: &str| Video {
            id: id.into(),
            created_at: None,
            caption: None,
            share_url: None,
        };
        let videos = [v("a"), v("b"), v("c"), v("d")];
        let mut cursor = TiktokCursor::read(None, at(0), chrono::Duration::days(7));
        for (id, read, resume) in [("a", 10, None), ("b", 5, None), ("d", 20, Some(30))] {
            let mut m = cursor.take(id);
            m.read_at = Some(at(read));
            m.resume = resume;
            cursor.videos.insert(id.into(), m);
        }
        let order: Vec<&str> = cursor
            .order(&videos)
            .iter()
            .map(|v| v.id.as_str())
            .collect();
        assert_eq!(order, ["d", "c", "b", "a"]);
        cursor.keep_only(&videos[..2]);
        assert_eq!(cursor.videos.keys().collect::<Vec<_>>(), ["a", "b"]);
    }
}
