//! Chat text that keeps Switchboard's own wording apart from words other people wrote, so that
//! each surface escapes the latter its own way, at its edge (the renderer), for every kind of
//! message.
//!
//! A [`Rich`] is a sequence of [`Piece`]s:
//!
//! * [`Piece::Ours`]: `core::text` wording in core markup (Slack-flavoured `*bold*`, `_italic_`,
//!   `~strike~`, `:shortcode:`), and mentions a surface wrote (`<@U1>`, `<!subteam^S1>`,
//!   `<@&1>`);
//! * [`Piece::Theirs`] and [`Piece::Quote`]: words written by a customer (names, messages,
//!   captions), a network (error details), or stored by teammates for others to read (saved
//!   replies, tags). Every surface shows them literally: nothing in them formats, links or
//!   pings;
//! * [`Piece::Link`]: a link with a literal label;
//! * [`Piece::Native`]: a teammate's note, in the markup of the surface it was typed on.
//!
//! The rule: a `&str` or `String` handed to a surface is Switchboard's own wording. Every
//! `core::text` function that embeds someone else's words returns a `Rich`, and a `Rich` has no
//! `Display`: the ways out are a surface's renderer, or [`Rich::for_terminal`] for the command
//! line.
//!
//! Surfaces lay pieces out with [`fit`], which keeps a message within a character limit *after*
//! escaping, cutting other people's words only between two escapes.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Switchboard's wording, in core markup.
    Ours(String),
    /// Someone else's words, shown literally.
    Theirs(String),
    /// Someone else's words as a block quote (every line quoted).
    Quote(String),
    /// A link to `url` (only `http`/`https`; see [`safe_url`]) labelled `label` (literal).
    Link { url: String, label: String },
    /// A teammate's note in their surface's own markup, passed through.
    Native(String),
}

/// Chat text: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rich(Vec<Piece>);

impl Rich {
    pub fn new() -> Self {
        Self::default()
    }

    /// Switchboard's own wording.
    pub fn ours(s: impl Into<String>) -> Self {
        Self::new().then(s)
    }

    /// Someone else's words.
    pub fn theirs(s: impl Into<String>) -> Self {
        Self::new().then_theirs(s)
    }

    fn push(mut self, piece: Piece) -> Self {
        self.0.push(piece);
        self
    }

    /// Followed by our own wording.
    pub fn then(self, s: impl Into<String>) -> Self {
        self.push(Piece::Ours(s.into()))
    }

    /// Followed by someone else's words.
    pub fn then_theirs(self, s: impl Into<String>) -> Self {
        self.push(Piece::Theirs(s.into()))
    }

    /// Followed by someone else's words as a block quote.
    pub fn then_quote(self, s: impl Into<String>) -> Self {
        self.push(Piece::Quote(s.into()))
    }

    /// Followed by a link.
    pub fn then_link(self, url: impl Into<String>, label: impl Into<String>) -> Self {
        self.push(Piece::Link {
            url: url.into(),
            label: label.into(),
        })
    }

    /// Followed by a teammate's note in their surface's markup.
    pub fn then_native(self, s: impl Into<String>) -> Self {
        self.push(Piece::Native(s.into()))
    }

    /// Followed by another text.
    pub fn then_rich(mut self, other: Rich) -> Self {
        self.0.extend(other.0);
        self
    }

    /// Texts joined by `separator` (our wording, e.g. a newline).
    pub fn join(texts: impl IntoIterator<Item = Rich>, separator: &str) -> Self {
        texts
            .into_iter()
            .enumerate()
            .fold(Self::new(), |acc, (i, t)| {
                let acc = if i > 0 { acc.then(separator) } else { acc };
                acc.then_rich(t)
            })
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.0
    }

    /// Plain text for a terminal (the CLI): no escaping, links as "label (url)", invisible
    /// and control characters of other people's words dropped.
    pub fn for_terminal(&self) -> String {
        let clean = |s: &str| -> String {
            visible(s)
                .chars()
                .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
                .collect()
        };
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Ours(s) | Piece::Native(s) => out.push_str(s),
                Piece::Theirs(s) => out.push_str(&clean(s)),
                Piece::Quote(s) => {
                    out.push_str("> ");
                    out.push_str(&clean(s).replace('\n', "\n> "));
                }
                Piece::Link { url, label } => {
                    out.push_str(&format!("{} ({url})", clean(label)));
                }
            }
        }
        out
    }

    /// The pieces spelled out for snapshot tests: ours as written, `⟨theirs⟩`, `⟪native⟫`.
    #[cfg(test)]
    pub(crate) fn annotated(&self) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Ours(s) => out.push_str(s),
                Piece::Theirs(s) => out.push_str(&format!("⟨{s}⟩")),
                Piece::Quote(s) => out.push_str(&format!("> ⟨{}⟩", s.replace('\n', "\n> "))),
                Piece::Link { url, label } => out.push_str(&format!("<{url}|⟨{label}⟩>")),
                Piece::Native(s) => out.push_str(&format!("⟪{s}⟫")),
            }
        }
        out
    }
}

/// A constant is Switchboard's own wording: it cannot hold anyone's words.
impl From<&'static str> for Rich {
    fn from(s: &'static str) -> Self {
        Rich::ours(s)
    }
}

/// Invisible characters that could hide markup from a reader or a filter (`<!chan\u{200B}nel>`,
/// `@\u{200B}everyone`) or reorder what a reader sees (the bidirectional overrides and
/// isolates): zero-width spaces and joiners, direction marks, embeddings, overrides and
/// isolates, word joiners and invisible operators, the byte-order mark, the soft hyphen.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// `s` without [invisible](is_invisible) characters. A zero-width (non-)joiner between two
/// non-ASCII characters is kept: emoji sequences (👩‍💻) and scripts such as Persian need it,
/// and no surface's markup is made of non-ASCII characters, so it cannot hide any.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_invisible) {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if !is_invisible(c) {
            out.push(c);
            continue;
        }
        let joiner = matches!(c, '\u{200C}' | '\u{200D}');
        let non_ascii =
            |j: Option<usize>| j.and_then(|j| chars.get(j)).is_some_and(|c| !c.is_ascii());
        if joiner && non_ascii(i.checked_sub(1)) && non_ascii(Some(i + 1)) {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `url` if it is an absolute `http`/`https` URL, normalised (percent-encoded where the URL
/// standard says so) and with the characters surfaces use to delimit links (`|`, `(`, `)`,
/// `[`, `]`, `<`, `>`, `` ` ``, `"`, `\`, space) percent-encoded too, so it cannot end a link
/// early or smuggle a label.
pub fn safe_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return None;
    }
    let mut out = String::with_capacity(parsed.as_str().len());
    for c in parsed.as_str().chars() {
        match c {
            '|' | '(' | ')' | '[' | ']' | '<' | '>' | '`' | '"' | '\\' | ' ' => {
                out.push_str(&format!("%{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Escaped words, with the places they may be cut: after each escape, never inside one.
#[derive(Debug, Default)]
pub struct Escaped {
    text: String,
    /// After each escape: its end (a byte offset) and the characters so far.
    ends: Vec<(usize, usize)>,
}

impl Escaped {
    /// Appends the escape of one character (empty: the character is dropped).
    pub fn push(&mut self, escape: &str) {
        if escape.is_empty() {
            return;
        }
        self.text.push_str(escape);
        let chars = self.chars() + escape.chars().count();
        self.ends.push((self.text.len(), chars));
    }

    pub fn chars(&self) -> usize {
        self.ends.last().map_or(0, |e| e.1)
    }
}

/// One rendered piece of a message.
#[derive(Debug)]
pub enum Laid {
    /// Markup kept whole.
    Fixed(String),
    /// Escaped words, cut when there is no room.
    Words(Escaped),
}

/// The ellipsis that ends words cut short.
pub const CUT_MARK: char = '…';

/// Joins laid pieces within `max` characters. Fixed pieces are kept whole; words take the room
/// left, in order, and are cut after the last escape that still fits with [`CUT_MARK`] (so
/// never inside `&amp;` or between `\` and what it escapes); words with no room left are
/// dropped. Only if the fixed pieces alone exceed `max` (no real message does) is the result
/// cut at `max` characters.
pub fn fit(laid: Vec<Laid>, max: usize) -> String {
    let fixed: usize = laid
        .iter()
        .map(|l| match l {
            Laid::Fixed(s) => s.chars().count(),
            Laid::Words(_) => 0,
        })
        .sum();
    let mut room = max.saturating_sub(fixed);
    let mut out = String::new();
    for l in laid {
        match l {
            Laid::Fixed(s) => out.push_str(&s),
            Laid::Words(w) if w.chars() <= room => {
                room -= w.chars();
                out.push_str(&w.text);
            }
            Laid::Words(w) => {
                if room > 0 {
                    let end = w
                        .ends
                        .iter()
                        // Room for the cut mark too.
                        .take_while(|(_, chars)| *chars < room)
                        .last()
                        .map_or(0, |(end, _)| *end);
                    out.push_str(&w.text[..end]);
                    out.push(CUT_MARK);
                }
                room = 0;
            }
        }
    }
    match out.char_indices().nth(max) {
        Some((cut, _)) => out[..cut].to_string(),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str, escape: impl Fn(char) -> String) -> Laid {
        let mut w = Escaped::default();
        for c in s.chars() {
            w.push(&escape(c));
        }
        Laid::Words(w)
    }

    fn amp(c: char) -> String {
        match c {
            '&' => "&amp;".into(),
            c => c.to_string(),
        }
    }

    #[test]
    fn fit_keeps_markup_and_cuts_words_between_escapes() {
        let laid = || {
            vec![
                Laid::Fixed("*x*: ".into()),
                words("a&b&c", amp),
                Laid::Fixed(" _(edited)_".into()),
            ]
        };
        assert_eq!(fit(laid(), 100), "*x*: a&amp;b&amp;c _(edited)_");
        // 16 characters of markup; 8 of room: "a&amp;b" (7) and the mark.
        assert_eq!(fit(laid(), 24), "*x*: a&amp;b… _(edited)_");
        // 6 of room: "a" and the mark; never "a&amp".
        assert_eq!(fit(laid(), 22), "*x*: a… _(edited)_");
        assert_eq!(fit(laid(), 17), "*x*: … _(edited)_");
        assert_eq!(fit(laid(), 16), "*x*:  _(edited)_");
        assert_eq!(fit(laid(), 4), "*x*:");
        for max in 0..40 {
            assert!(fit(laid(), max).chars().count() <= max, "{max}");
        }
    }

    #[test]
    fn invisible_characters_are_dropped_but_joiners_inside_words_stay() {
        assert_eq!(visible("<!chan\u{200B}nel>"), "<!channel>");
        assert_eq!(visible("@\u{2060}every\u{00AD}one\u{FEFF}"), "@everyone");
        assert_eq!(
            visible("\u{202E}lanigiro\u{202C} \u{2066}x\u{2069}"),
            "lanigiro x"
        );
        assert_eq!(visible("a\u{200D}b \u{200C}x"), "ab x");
        assert_eq!(visible("👩\u{200D}💻"), "👩\u{200D}💻");
        assert_eq!(visible("می\u{200C}خواهم"), "می\u{200C}خواهم");
        assert!(matches!(visible("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn only_web_urls_are_links() {
        assert_eq!(
            safe_url("https://x.example/a|b(c)?q=<d>").as_deref(),
            Some("https://x.example/a%7Cb%28c%29?q=%3Cd%3E")
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("not a url"), None);
        assert_eq!(safe_url("file:///etc/passwd"), None);
    }

    #[test]
    fn terminal_text_is_plain() {
        let r = Rich::ours("*a* ")
            .then_theirs("b\u{200B}\u{1b}[31m")
            .then_link("https://x.example", "c")
            .then(" ")
            .then_quote("d\ne");
        assert_eq!(r.for_terminal(), "*a* b[31mc (https://x.example) > d\n> e");
    }
}
