//! How X counts a post's length ("weighted length", twitter-text's v3 configuration): most
//! characters count 1, characters outside a few Latin, punctuation and symbol ranges (CJK,
//! Hangul, most symbols) count 2, an emoji counts 2 however many code points it is made of
//! (skin tones, ZWJ families, flags, keycaps), and every link counts 23 whatever its length
//! (X shortens it to a `t.co` link). A post holds at most 280.
//!
//! Pure and approximate where twitter-text needs data this build does not carry: links are
//! recognised with an `http(s)://` or `www.` prefix, or as a bare domain with a common generic
//! top-level domain (a country domain only with a path, as twitter-text requires); text is
//! not NFC-normalised first, so a decomposed accent counts as two characters (erring on the
//! safe side: a reply is never thought shorter than X counts it for that reason).

/// What a link counts, whatever its length (`transformedURLLength`).
pub const URL_WEIGHT: usize = 23;

/// The longest post X takes, in weighted characters (`maxWeightedTweetLength` / `scale`).
pub const MAX_POST_WEIGHT: usize = 280;

/// Code point ranges that count 1 (twitter-text v3 `ranges`, weight 100 of scale 100);
/// everything else counts 2 (`defaultWeight` 200).
const LIGHT_RANGES: [(u32, u32); 4] = [(0, 4351), (8192, 8205), (8208, 8223), (8242, 8247)];

/// Generic top-level domains twitter-text links without a scheme or a path.
const BARE_TLDS: [&str; 30] = [
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "app", "dev",
    "shop", "store", "online", "site", "xyz", "tech", "blog", "news", "club", "live", "link", "io",
    "co", "ai", "me", "tv", "ly",
];

/// `text`'s length as X counts it.
pub fn weighted_length(text: &str) -> usize {
    let mut total = 0;
    let mut at = 0;
    for (start, end) in link_spans(text) {
        total += plain_length(&text[at..start]) + URL_WEIGHT;
        at = end;
    }
    total + plain_length(&text[at..])
}

/// The weighted length of text without links.
fn plain_length(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let (mut total, mut i) = (0, 0);
    while i < chars.len() {
        match emoji_len(&chars[i..]) {
            Some(n) => {
                total += 2;
                i += n;
            }
            None => {
                total += char_weight(chars[i]);
                i += 1;
            }
        }
    }
    total
}

fn char_weight(c: char) -> usize {
    let cp = u32::from(c);
    if LIGHT_RANGES.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp)) {
        1
    } else {
        2
    }
}

fn is_pictographic(c: char) -> bool {
    matches!(u32::from(c),
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2300..=0x23FF | 0x2B00..=0x2BFF
            | 0x2190..=0x21FF | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

fn is_regional_indicator(c: char) -> bool {
    ('\u{1F1E6}'..='\u{1F1FF}').contains(&c)
}

fn is_modifier(c: char) -> bool {
    matches!(
        c,
        '\u{FE0E}' | '\u{FE0F}' | '\u{20E3}' | '\u{1F3FB}'..='\u{1F3FF}'
    ) || ('\u{E0020}'..='\u{E007F}').contains(&c)
}

/// How many chars the emoji starting `s` spans, if one does.
fn emoji_len(s: &[char]) -> Option<usize> {
    let first = *s.first()?;
    let next = s.get(1).copied();
    if is_regional_indicator(first) {
        return Some(if next.is_some_and(is_regional_indicator) {
            2
        } else {
            1
        });
    }
    // Keycaps (1️⃣) and text-style symbols (©️) are emoji only with their selector.
    let keycap_base = first.is_ascii_digit() || first == '#' || first == '*';
    let text_style = matches!(
        first,
        '\u{A9}' | '\u{AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
    );
    if keycap_base || text_style {
        return match (next, s.get(2)) {
            (Some('\u{20E3}'), _) => Some(2),
            (Some('\u{FE0F}'), Some('\u{20E3}')) if keycap_base => Some(3),
            (Some('\u{FE0F}'), _) if text_style => Some(2),
            _ => None,
        };
    }
    if !is_pictographic(first) {
        return None;
    }
    let mut n = 1;
    loop {
        match s.get(n) {
            Some(&c) if is_modifier(c) => n += 1,
            Some('\u{200D}') if s.get(n + 1).is_some_and(|&c| is_pictographic(c)) => n += 2,
            _ => return Some(n),
        }
    }
}

/// Byte ranges of the links in `text`, in order.
fn link_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                if let Some((a, b)) = link_in(&text[s..i]) {
                    spans.push((s + a, s + b));
                }
                start = None;
            }
            _ => {}
        }
    }
    spans
}

/// The link a whitespace-free token holds, as a byte range of the token.
fn link_in(token: &str) -> Option<(usize, usize)> {
    const OPENING: &[char] = &['(', '[', '{', '"', '\'', '“', '‘', '«', '<'];
    const CLOSING: &[char] = &[
        '.', ',', ';', ':', '!', '?', ')', ']', '}', '"', '\'', '”', '’', '»', '>',
    ];
    let trimmed = token.trim_start_matches(OPENING);
    let start = token.len() - trimmed.len();
    let link = trimmed.trim_end_matches(CLOSING);
    let lower = link.to_ascii_lowercase();
    let after_scheme = ["https://", "http://"]
        .iter()
        .find_map(|p| lower.strip_prefix(p));
    let is_link = match after_scheme {
        Some(rest) => rest.contains(|c: char| c.is_alphanumeric()),
        None => bare_domain(&lower),
    };
    is_link.then_some((start, start + link.len()))
}

/// `example.com`, `www.example.de`, `example.de/shop` (not an e-mail address).
fn bare_domain(token: &str) -> bool {
    if token.contains('@') {
        return false;
    }
    let (host, path) = match token.find(['/', '?', '#']) {
        Some(i) => (&token[..i], true),
        None => (token, false),
    };
    let labels: Vec<&str> = host.split('.').collect();
    let well_formed = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    let Some(tld) = labels.last().filter(|_| well_formed) else {
        return false;
    };
    if !tld.chars().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    labels[0] == "www" || BARE_TLDS.contains(tld) || (tld.len() == 2 && path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_lengths_as_x_counts_them() {
        let table: &[(&str, usize)] = &[
            ("", 0),
            ("hello", 5),
            ("Привет, мир", 11),
            ("Ünïcödé", 7),
            // CJK and Hangul count 2 each.
            ("こんにちは", 10),
            ("你好", 4),
            ("안녕", 4),
            // Dashes and quotes are light; the ellipsis and the bullet are not.
            ("“—”", 3),
            ("…•", 4),
            // Emoji count 2 whatever they are made of.
            ("😀", 2),
            ("👍🏽", 2),
            ("👨\u{200D}👩\u{200D}👧", 2),
            ("🇫🇷", 2),
            ("🇫🇷🇩🇪", 4),
            ("❤️", 2),
            ("1️⃣", 2),
            ("#⃣", 2),
            (
                "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",
                2,
            ),
            ("©", 1),
            ("©️", 2),
            ("ok 👍", 5),
            // Links count 23, however long or short.
            (
                "https://example.com/a/very/long/path?with=query&and=more#fragment",
                23,
            ),
            ("http://x.co", 23),
            ("HTTPS://EXAMPLE.COM", 23),
            ("see https://x.com!", 28),
            ("(https://acme.example/help).", 26),
            ("example.com", 23),
            ("www.example.de", 23),
            ("example.de/shop", 23),
            // Not links: a country domain without a path, an e-mail address, a version.
            ("example.de", 10),
            ("support@acme.com", 16),
            ("v1.2", 4),
            ("e.g.", 4),
            ("https://", 8),
            (
                "Two links: https://a.example/x and www.b.com.",
                11 + 23 + 5 + 23 + 1,
            ),
        ];
        for (text, want) in table {
            assert_eq!(weighted_length(text), *want, "{text:?}");
        }
    }

    #[test]
    fn the_limit_is_280_light_characters_or_140_heavy_ones() {
        assert_eq!(weighted_length(&"a".repeat(MAX_POST_WEIGHT)), 280);
        assert_eq!(weighted_length(&"字".repeat(140)), 280);
        assert_eq!(weighted_length(&"😀".repeat(141)), 282);
        // A long link is cheap, a short one dear.
        let long = format!("https://example.com/{}", "p".repeat(500));
        assert_eq!(weighted_length(&long), 23);
    }
}
