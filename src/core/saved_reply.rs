//! The team's shared library of saved replies: validation, search and variable filling.
//! Pure: the store persists them, the chat surfaces show them.
//!
//! - **Validation** ([`validate`], [`check`], [`validate_for_save`]) counts characters, not
//!   bytes, as the networks do.
//! - **Search** ([`SearchIndex`]) folds case and common Latin accents, and matches every query
//!   word as a *word prefix* ("ref" finds "Refund", "cafe" finds "Café") in the name or the
//!   body. It is an inverted index built once per revision of the library: a query costs a few
//!   binary searches in the sorted vocabulary plus the postings of the matching words, not a
//!   scan of every body.
//! - **Variables** ([`fill`]): `{author_name}`, `{account_name}`, `{agent_name}` (case and
//!   inner spaces ignored); `{{` and `}}` are literal braces. Anything else in braces, and any
//!   lone brace, is an error: a saved reply is never sent with a raw `{placeholder}`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::text;

/// Longest saved reply, in characters (Hootsuite's cap). Also the limit after the variables
/// are filled in.
pub const MAX_BODY_CHARS: usize = 2000;

/// Longest name, in characters: names are shown in pickers and option lists.
pub const MAX_NAME_CHARS: usize = 80;

/// The variables a saved reply may use, as written between braces.
pub const VARIABLES: [&str; 3] = ["author_name", "account_name", "agent_name"];

/// Primary key of a saved reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SavedReplyId(pub i64);

impl std::fmt::Display for SavedReplyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedReply {
    pub id: SavedReplyId,
    /// Unique, case-insensitively.
    pub name: String,
    pub body: String,
    /// Who last created or changed it (a chat user key like `slack:U123`, or `cli`).
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

// ---- validation ---------------------------------------------------------------------------

/// Why a saved reply cannot be saved. `Display` is the sentence shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedReplyError {
    #[error("{}", text::SAVED_REPLY_NAME_EMPTY)]
    NameEmpty,
    #[error("{}", text::saved_reply_name_too_long(*chars, MAX_NAME_CHARS))]
    NameTooLong { chars: usize },
    #[error("{}", text::SAVED_REPLY_NAME_MULTILINE)]
    NameMultiline,
    #[error("{}", text::SAVED_REPLY_BODY_EMPTY)]
    BodyEmpty,
    #[error("{}", text::saved_reply_body_too_long(*chars, MAX_BODY_CHARS))]
    BodyTooLong { chars: usize },
    #[error(transparent)]
    Variables(#[from] FillError),
}

/// Name and length rules. Callers trim the name before saving; a blank name is refused.
pub fn validate(name: &str, body: &str) -> Result<(), SavedReplyError> {
    if name.trim().is_empty() {
        return Err(SavedReplyError::NameEmpty);
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(SavedReplyError::NameTooLong { chars });
    }
    if name.contains(['\n', '\r']) {
        return Err(SavedReplyError::NameMultiline);
    }
    if body.trim().is_empty() {
        return Err(SavedReplyError::BodyEmpty);
    }
    let chars = body.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(SavedReplyError::BodyTooLong { chars });
    }
    Ok(())
}

/// Everything checked before a reply is saved: [`validate`], then [`check`].
pub fn validate_for_save(name: &str, body: &str) -> Result<(), SavedReplyError> {
    validate(name, body)?;
    check(body)?;
    Ok(())
}

// ---- variables ----------------------------------------------------------------------------

/// The values of the variables, when a reply is applied to a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vars<'a> {
    /// The customer who wrote the message.
    pub author_name: &'a str,
    /// The connected Page / account that answers.
    pub account_name: &'a str,
    /// The teammate sending the reply.
    pub agent_name: &'a str,
}

/// Why a reply's variables cannot be filled. `Display` is the sentence shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    /// Names between braces that are not variables, as written, distinct, in order.
    #[error("{}", text::unknown_variables(.0, &VARIABLES))]
    UnknownVariables(Vec<String>),
    /// A `{` that does not start a `{variable}` and is not doubled; `near` is the text from it.
    #[error("{}", text::unclosed_brace(near))]
    UnclosedBrace { near: String },
    /// A `}` that closes nothing and is not doubled; `near` is the text up to it.
    #[error("{}", text::unmatched_close_brace(near))]
    UnmatchedCloseBrace { near: String },
    /// The filled-in reply is longer than [`MAX_BODY_CHARS`].
    #[error("{}", text::filled_reply_too_long(*chars, MAX_BODY_CHARS))]
    TooLong { chars: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Author,
    Account,
    Agent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(Var),
}

/// How much text an error quotes around a stray brace, in characters.
const NEAR_CHARS: usize = 20;

fn near_after(body: &str, at: usize) -> String {
    body[at..]
        .chars()
        .take_while(|c| *c != '\n')
        .take(NEAR_CHARS)
        .collect()
}

fn near_before(body: &str, end: usize) -> String {
    let before: Vec<char> = body[..end]
        .chars()
        .rev()
        .take_while(|c| *c != '\n')
        .take(NEAR_CHARS)
        .collect();
    before.into_iter().rev().collect()
}

fn var_named(name: &str) -> Option<Var> {
    let name = name.trim();
    [
        ("author_name", Var::Author),
        ("account_name", Var::Account),
        ("agent_name", Var::Agent),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(name))
    .map(|(_, v)| v)
}

/// Split a body into literal text and variables; reports every unknown variable at once, or
/// the first stray brace.
fn parse(body: &str) -> Result<Vec<Piece<'_>>, FillError> {
    let mut pieces = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let bytes = body.as_bytes();
    let mut start = 0; // start of pending literal text
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                pieces.push(Piece::Text(&body[start..=i]));
                i += 2;
                start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                pieces.push(Piece::Text(&body[start..=i]));
                i += 2;
                start = i;
            }
            b'{' => {
                // A variable name: letters, digits, `_` and spaces, then `}`.
                let inner_len = body[i + 1..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ' '))
                    .unwrap_or(body.len() - i - 1);
                let close = i + 1 + inner_len;
                if bytes.get(close) != Some(&b'}') {
                    return Err(FillError::UnclosedBrace {
                        near: near_after(body, i),
                    });
                }
                pieces.push(Piece::Text(&body[start..i]));
                let inner = &body[i + 1..close];
                match var_named(inner) {
                    Some(var) => pieces.push(Piece::Var(var)),
                    None => {
                        let name = inner.trim().to_string();
                        if !unknown.contains(&name) {
                            unknown.push(name);
                        }
                    }
                }
                i = close + 1;
                start = i;
            }
            b'}' => {
                return Err(FillError::UnmatchedCloseBrace {
                    near: near_before(body, i + 1),
                });
            }
            _ => i += 1,
        }
    }
    if !unknown.is_empty() {
        return Err(FillError::UnknownVariables(unknown));
    }
    pieces.push(Piece::Text(&body[start..]));
    pieces.retain(|p| *p != Piece::Text(""));
    Ok(pieces)
}

/// Check a body's variables without values (used when a reply is saved).
pub fn check(body: &str) -> Result<(), FillError> {
    parse(body).map(|_| ())
}

/// The reply as it is sent: variables replaced by their values (inserted verbatim, never
/// re-parsed), `{{`/`}}` turned into single braces.
pub fn fill(body: &str, vars: &Vars) -> Result<String, FillError> {
    let pieces = parse(body)?;
    let mut out = String::with_capacity(body.len() + 64);
    for piece in pieces {
        out.push_str(match piece {
            Piece::Text(t) => t,
            Piece::Var(Var::Author) => vars.author_name,
            Piece::Var(Var::Account) => vars.account_name,
            Piece::Var(Var::Agent) => vars.agent_name,
        });
    }
    let chars = out.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(FillError::TooLong { chars });
    }
    Ok(out)
}

// ---- folding (shared with tags) -----------------------------------------------------------

/// Fold one word character for matching: lowercase, common Latin accents removed.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    let base = match c {
        'À'..='Å' | 'à'..='å' | 'Ā'..='ą' => "a",
        'Æ' | 'æ' => "ae",
        'Ç' | 'ç' | 'Ć'..='č' => "c",
        'Ď'..='đ' => "d",
        'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' => "e",
        'Ĝ'..='ģ' => "g",
        'Ĥ'..='ħ' => "h",
        'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='ı' => "i",
        'Ĵ' | 'ĵ' => "j",
        'Ķ' | 'ķ' => "k",
        'Ĺ'..='ł' => "l",
        'Ñ' | 'ñ' | 'Ń'..='ň' => "n",
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō'..='ő' => "o",
        'Œ' | 'œ' => "oe",
        'Ŕ'..='ř' => "r",
        'Ś'..='š' => "s",
        'ß' => "ss",
        'Ţ'..='ŧ' => "t",
        'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' => "u",
        'Ŵ' | 'ŵ' => "w",
        'Ý' | 'ý' | 'ÿ' | 'Ŷ' | 'ŷ' | 'Ÿ' => "y",
        'Ź'..='ž' => "z",
        _ => {
            out.extend(c.to_lowercase());
            return;
        }
    };
    out.push_str(base);
}

/// `text` folded for matching (lowercase, common Latin accents removed) into its words
/// (runs of alphanumeric characters) separated by single spaces, appended to `out` (after a
/// space if `out` is not empty).
pub(crate) fn fold_words_into(text: &str, out: &mut String) {
    let mut space = !out.is_empty();
    for c in text.chars() {
        if c.is_alphanumeric() {
            if space {
                out.push(' ');
                space = false;
            }
            fold_char(c, out);
        } else if !out.is_empty() {
            space = true;
        }
    }
}

/// The folded words of `text`.
pub(crate) fn fold_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_words_into(text, &mut out);
    out
}

// ---- search -------------------------------------------------------------------------------

/// Where a word occurs in a reply (bit set of a posting).
const IN_NAME: u32 = 1;
const IN_BODY: u32 = 2;
const POSTING_SHIFT: u32 = 2;

/// A searchable snapshot of the library. Build it once per revision
/// (`Store::saved_replies_revision`) and share it; searching does not allocate per reply.
///
/// Ranking: (1) replies whose name holds every query word, names *starting* with the first
/// query word first; (2) replies whose name holds some of the words (the rest are in the
/// body); (3) replies that match through the body only. Ties by name, case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct SearchIndex {
    /// Sorted by folded name, then id.
    replies: Vec<SavedReply>,
    /// Folded name of each reply (same order).
    names: Vec<String>,
    /// Sorted distinct folded words of names and bodies.
    vocab: Vec<String>,
    /// `postings[offsets[w]..offsets[w + 1]]`: `reply index << 2 | IN_NAME | IN_BODY`,
    /// ascending by reply index.
    offsets: Vec<u32>,
    postings: Vec<u32>,
}

impl SearchIndex {
    pub fn new(replies: Vec<SavedReply>) -> Self {
        let mut keyed: Vec<(String, SavedReply)> = replies
            .into_iter()
            .map(|r| (fold_words(&r.name), r))
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        let (names, replies): (Vec<String>, Vec<SavedReply>) = keyed.into_iter().unzip();

        let mut words: HashMap<String, Vec<u32>> = HashMap::new();
        let mut body = String::new();
        for (i, (name, reply)) in names.iter().zip(&replies).enumerate() {
            let i = u32::try_from(i).expect("fewer than 2^30 saved replies");
            body.clear();
            fold_words_into(&reply.body, &mut body);
            for (text, flag) in [(name.as_str(), IN_NAME), (body.as_str(), IN_BODY)] {
                for word in text.split(' ').filter(|w| !w.is_empty()) {
                    let posting = i << POSTING_SHIFT | flag;
                    match words.get_mut(word) {
                        Some(list) => match list.last_mut() {
                            Some(last) if *last >> POSTING_SHIFT == i => *last |= flag,
                            _ => list.push(posting),
                        },
                        None => {
                            words.insert(word.to_string(), vec![posting]);
                        }
                    }
                }
            }
        }
        let mut vocab: Vec<(String, Vec<u32>)> = words.into_iter().collect();
        vocab.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut offsets = Vec::with_capacity(vocab.len() + 1);
        let mut postings = Vec::new();
        offsets.push(0);
        let vocab = vocab
            .into_iter()
            .map(|(word, list)| {
                postings.extend(list);
                offsets.push(u32::try_from(postings.len()).expect("postings fit in u32"));
                word
            })
            .collect();
        SearchIndex {
            replies,
            names,
            vocab,
            offsets,
            postings,
        }
    }

    pub fn len(&self) -> usize {
        self.replies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.replies.is_empty()
    }

    /// Every reply, by name.
    pub fn replies(&self) -> &[SavedReply] {
        &self.replies
    }

    pub fn get(&self, id: SavedReplyId) -> Option<&SavedReply> {
        self.replies.iter().find(|r| r.id == id)
    }

    /// At most `limit` replies matching every word of `query`, best first (see the type's
    /// docs). An empty query lists replies by name.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&SavedReply> {
        let folded = fold_words(query);
        let mut qwords: Vec<&str> = Vec::new();
        for w in folded.split(' ').filter(|w| !w.is_empty()) {
            // A word that is a prefix of another query word adds no constraint.
            if !qwords.iter().any(|q| q.starts_with(w)) {
                qwords.retain(|q| !w.starts_with(q));
                qwords.push(w);
            }
        }
        if qwords.is_empty() || limit == 0 {
            return self.replies.iter().take(limit).collect();
        }
        let n = self.replies.len();
        // Per reply: how many query words it has matched so far, and how many in its name.
        let mut matched = vec![0u16; n];
        let mut in_name = vec![0u16; n];
        // Candidates shrink word by word: only replies that matched every previous word.
        let mut seen = vec![0u32; n]; // IN_NAME | IN_BODY for the current word
        for (round, q) in qwords.iter().enumerate() {
            let round = round as u16;
            let lo = self.vocab.partition_point(|w| w.as_str() < *q);
            let mut touched = 0usize;
            for w in lo..self.vocab.len() {
                if !self.vocab[w].starts_with(q) {
                    break;
                }
                let range = self.offsets[w] as usize..self.offsets[w + 1] as usize;
                for &p in &self.postings[range] {
                    let i = (p >> POSTING_SHIFT) as usize;
                    if matched[i] == round {
                        seen[i] |= p & (IN_NAME | IN_BODY);
                        touched += 1;
                    }
                }
            }
            if touched == 0 {
                return Vec::new();
            }
            for i in 0..n {
                if seen[i] != 0 {
                    matched[i] += 1;
                    in_name[i] += u16::from(seen[i] & IN_NAME != 0);
                    seen[i] = 0;
                }
            }
        }
        let all = qwords.len() as u16;
        let first = qwords[0];
        let mut hits: Vec<(u8, u32)> = (0..n)
            .filter(|&i| matched[i] == all)
            .map(|i| {
                let tier = if in_name[i] == all {
                    if self.names[i].starts_with(first) {
                        0
                    } else {
                        1
                    }
                } else if in_name[i] > 0 {
                    2
                } else {
                    3
                };
                (tier, i as u32)
            })
            .collect();
        if hits.len() > limit {
            hits.select_nth_unstable(limit - 1);
            hits.truncate(limit);
        }
        hits.sort_unstable();
        hits.into_iter()
            .map(|(_, i)| &self.replies[i as usize])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: i64, name: &str, body: &str) -> SavedReply {
        SavedReply {
            id: SavedReplyId(id),
            name: name.into(),
            body: body.into(),
            updated_by: "cli".into(),
            updated_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time"),
        }
    }

    const VARS: Vars<'static> = Vars {
        author_name: "Jane",
        account_name: "Acme Coffee",
        agent_name: "Ana",
    };

    #[test]
    fn validate_table() {
        let long_name = "n".repeat(MAX_NAME_CHARS + 1);
        let long_body = "é".repeat(MAX_BODY_CHARS + 1);
        let max_body = "é".repeat(MAX_BODY_CHARS); // 4,000 bytes, 2,000 chars: fine
        let max_name = "ü".repeat(MAX_NAME_CHARS);
        let cases: &[(&str, &str, Result<(), SavedReplyError>)] = &[
            ("Refunds", "We are sorry.", Ok(())),
            (&max_name, &max_body, Ok(())),
            ("", "body", Err(SavedReplyError::NameEmpty)),
            ("  \t", "body", Err(SavedReplyError::NameEmpty)),
            (
                &long_name,
                "body",
                Err(SavedReplyError::NameTooLong { chars: 81 }),
            ),
            ("two\nlines", "body", Err(SavedReplyError::NameMultiline)),
            ("Refunds", "", Err(SavedReplyError::BodyEmpty)),
            ("Refunds", " \n ", Err(SavedReplyError::BodyEmpty)),
            (
                "Refunds",
                &long_body,
                Err(SavedReplyError::BodyTooLong { chars: 2001 }),
            ),
        ];
        for (name, body, want) in cases {
            assert_eq!(&validate(name, body), want, "{name:?}");
        }
    }

    #[test]
    fn validate_for_save_checks_variables() {
        assert_eq!(
            validate_for_save("Hi", "Hi {customer}"),
            Err(SavedReplyError::Variables(FillError::UnknownVariables(
                vec!["customer".into()]
            )))
        );
        assert_eq!(validate_for_save("Hi", "Hi {author_name}"), Ok(()));
    }

    #[test]
    fn error_texts() {
        insta::assert_snapshot!(SavedReplyError::BodyTooLong { chars: 2134 }, @"The reply is 2,134 characters; the limit is 2,000.");
        insta::assert_snapshot!(SavedReplyError::NameTooLong { chars: 93 }, @"The name is 93 characters; the limit is 80.");
        insta::assert_snapshot!(SavedReplyError::NameEmpty, @"The name is empty: give the saved reply a name.");
        insta::assert_snapshot!(SavedReplyError::NameMultiline, @"The name must fit on one line.");
        insta::assert_snapshot!(SavedReplyError::BodyEmpty, @"The reply is empty.");
        insta::assert_snapshot!(
            check("Hi {customer}, your {order} ({customer})").unwrap_err(),
            @"The reply uses {customer} and {order}, which are not variables. The variables are {author_name}, {account_name} and {agent_name}; write {{ and }} for literal braces."
        );
        insta::assert_snapshot!(
            check("Hi {}").unwrap_err(),
            @"The reply uses {}, which is not a variable. The variables are {author_name}, {account_name} and {agent_name}; write {{ and }} for literal braces."
        );
        insta::assert_snapshot!(
            check("Hi {author_name, thanks").unwrap_err(),
            @"The reply has a { that is never closed, near “{author_name, thanks”. Write {{ for a literal brace."
        );
        insta::assert_snapshot!(
            check("Hi author_name}, thanks").unwrap_err(),
            @"The reply has a } that closes nothing, near “Hi author_name}”. Write }} for a literal brace."
        );
        insta::assert_snapshot!(
            FillError::TooLong { chars: 2010 },
            @"With the variables filled in, the reply is 2,010 characters; the limit is 2,000."
        );
    }

    #[test]
    fn fill_table() {
        let ok: &[(&str, &str)] = &[
            ("", ""),
            ("Thanks!", "Thanks!"),
            ("Hi {author_name}!", "Hi Jane!"),
            (
                "{author_name}, {account_name} here ({agent_name})",
                "Jane, Acme Coffee here (Ana)",
            ),
            ("Hi { Author_Name }", "Hi Jane"),
            ("{{author_name}}", "{author_name}"),
            ("{{{author_name}}}", "{Jane}"),
            ("a {{ b }} c", "a { b } c"),
            ("Café {agent_name} ☕", "Café Ana ☕"),
        ];
        for (body, want) in ok {
            assert_eq!(fill(body, &VARS).as_deref(), Ok(*want), "{body:?}");
            assert_eq!(check(body), Ok(()), "{body:?}");
        }
        let unknown = |names: &[&str]| {
            Err(FillError::UnknownVariables(
                names.iter().map(|s| s.to_string()).collect(),
            ))
        };
        let bad: &[(&str, Result<String, FillError>)] = &[
            ("Hi {name}", unknown(&["name"])),
            ("{a} {b} {a} {author_name}", unknown(&["a", "b"])),
            ("{}", unknown(&[""])),
            (
                "Hi {author_name",
                Err(FillError::UnclosedBrace {
                    near: "{author_name".into(),
                }),
            ),
            ("Hi {", Err(FillError::UnclosedBrace { near: "{".into() })),
            (
                "Hi {author-name}",
                Err(FillError::UnclosedBrace {
                    near: "{author-name}".into(),
                }),
            ),
            (
                "Hi {author\nname}",
                Err(FillError::UnclosedBrace {
                    near: "{author".into(),
                }),
            ),
            (
                "Hi :}",
                Err(FillError::UnmatchedCloseBrace {
                    near: "Hi :}".into(),
                }),
            ),
            (
                "{author_name}}",
                Err(FillError::UnmatchedCloseBrace {
                    near: "{author_name}}".into(),
                }),
            ),
        ];
        for (body, want) in bad {
            assert_eq!(&fill(body, &VARS), want, "{body:?}");
            assert_eq!(check(body), want.clone().map(|_| ()), "{body:?}");
        }
    }

    #[test]
    fn fill_refuses_a_result_over_the_limit() {
        let body = format!("{}{{author_name}}", "x".repeat(MAX_BODY_CHARS - 4));
        assert_eq!(fill(&body, &VARS).map(|s| s.chars().count()), Ok(2000));
        let long = Vars {
            author_name: "Jane Doe",
            ..VARS
        };
        assert_eq!(fill(&body, &long), Err(FillError::TooLong { chars: 2004 }));
    }

    #[test]
    fn values_are_not_reparsed() {
        let vars = Vars {
            author_name: "{agent_name} }{",
            ..VARS
        };
        assert_eq!(
            fill("Hi {author_name}", &vars).as_deref(),
            Ok("Hi {agent_name} }{")
        );
    }

    #[test]
    fn folding() {
        assert_eq!(
            fold_words("  Café, CRÈME-brûlée!! Straße 42 "),
            "cafe creme brulee strasse 42"
        );
        assert_eq!(fold_words("Œuvre ÆON ĳ"), "oeuvre aeon ĳ");
        assert_eq!(fold_words("..."), "");
    }

    fn library() -> SearchIndex {
        SearchIndex::new(vec![
            reply(
                1,
                "Shipping delays",
                "Sorry, deliveries take longer; we will refund shipping.",
            ),
            reply(2, "Refund policy", "You can get a refund within 30 days."),
            reply(3, "Refund status", "Your refund is on its way."),
            reply(
                4,
                "Order tracking",
                "Track your order; refunds are processed separately.",
            ),
            reply(5, "Café hours", "We open at 8."),
            reply(6, "Greeting", "Hello {author_name}, how can we help?"),
            reply(7, "Quick refund", "Refunded!"),
        ])
    }

    fn names<'a>(found: &[&'a SavedReply]) -> Vec<&'a str> {
        found.iter().map(|r| r.name.as_str()).collect()
    }

    #[test]
    fn search_ranks_name_matches_then_body_matches() {
        let index = library();
        assert_eq!(
            names(&index.search("refund", 10)),
            [
                "Refund policy",
                "Refund status",
                "Quick refund",
                "Order tracking",
                "Shipping delays"
            ]
        );
        assert_eq!(
            names(&index.search("REF", 2)),
            ["Refund policy", "Refund status"]
        );
        // "ship" is in a name, "refund" in its body: a partial name match beats body-only.
        assert_eq!(names(&index.search("refund ship", 10)), ["Shipping delays"]);
        assert_eq!(names(&index.search("refund order", 10)), ["Order tracking"]);
        assert_eq!(names(&index.search("refund days", 10)), ["Refund policy"]);
    }

    #[test]
    fn search_is_case_and_accent_insensitive_and_matches_word_prefixes() {
        let index = library();
        assert_eq!(names(&index.search("cafe", 10)), ["Café hours"]);
        assert_eq!(names(&index.search("CAFÉ HOU", 10)), ["Café hours"]);
        assert_eq!(names(&index.search("author", 10)), ["Greeting"]);
        // Word prefixes, not substrings.
        assert!(index.search("und", 10).is_empty());
        assert!(index.search("refund nothing", 10).is_empty());
        assert!(index.search("zzz", 10).is_empty());
    }

    #[test]
    fn empty_query_lists_by_name() {
        let index = library();
        assert_eq!(
            names(&index.search("  ,; ", 3)),
            ["Café hours", "Greeting", "Order tracking"]
        );
        assert_eq!(index.search("", 100).len(), 7);
        assert!(index.search("refund", 0).is_empty());
        assert!(SearchIndex::new(vec![]).search("x", 5).is_empty());
    }

    #[test]
    fn repeated_and_prefix_query_words_are_one_constraint() {
        let index = library();
        assert_eq!(
            names(&index.search("refund ref refund", 10)),
            names(&index.search("refund", 10))
        );
    }

    #[test]
    fn limit_keeps_the_best() {
        let replies: Vec<SavedReply> = (0..50)
            .map(|i| reply(i, &format!("Reply {i:02}"), "about refunds"))
            .chain([reply(99, "zz refund", "x")])
            .collect();
        let index = SearchIndex::new(replies);
        assert_eq!(
            names(&index.search("refund", 3)),
            ["zz refund", "Reply 00", "Reply 01"]
        );
        assert_eq!(
            index.get(SavedReplyId(99)).map(|r| r.name.as_str()),
            Some("zz refund")
        );
        assert_eq!(index.len(), 51);
    }
}
