//! The hostile-text corpus and the per-surface checkers, shared by the renderers' unit tests
//! (`core::hostile`, test builds only) and the end-to-end tests (`tests/support` includes this
//! file). Every renderer of every message kind is run over [`CORPUS`] in customer-controlled
//! places (names, messages, captions, network error texts, tags, saved replies), and its
//! output must pass [`slack_live`] / [`discord_live`] (nothing live) and [`slack_shows`] /
//! [`discord_shows`] (shown literally).
//!
//! The checkers know nothing of the renderers: they read the JSON a surface would receive.
//! Only std and serde_json are used, so the file compiles in both places.

use serde_json::Value;

/// Strings a customer (or a network error, a tag, a saved reply) could use to ping, link,
/// format, or hide markup.
pub const CORPUS: &[&str] = &[
    // The outside tester's report.
    "<!channel> <@U123> <https://evil.example|Open ticket>",
    // Slack.
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH>",
    "<@U024BE7LH|ana>",
    "<#C024BE7LR>",
    "<!subteam^S123>",
    "<!subteam^S123|@support>",
    "<https://x.example|y>",
    "<mailto:a@x.example|write us>",
    "<!date^1392734382^{date}|Feb 18>",
    // Discord.
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!123456789012345678>",
    "<@&123>",
    "<#123>",
    "<t:1700000000:R>",
    "<:blob:123456789012345678>",
    "[x](https://y.example)",
    "[x](<https://y.example>)",
    "\\@everyone \\<@123>",
    // Entities: shown as written, never decoded into markup.
    "&lt;!channel&gt;",
    "&amp;lt;@U1&amp;gt;",
    "&#60;!here&#62;",
    // Invisible and direction characters.
    "<!chan\u{200B}nel>",
    "@\u{200B}everyone",
    "@every\u{2060}one",
    "<\u{200D}@U1>",
    "\u{202E}<!here>\u{202C} reversed",
    "\u{2066}@here\u{2069}",
    "\u{FEFF}<!channel>",
    "[x\u{200B}](https://y.example)",
    // Formatting.
    "*bold*",
    "_italic_",
    "~strike~",
    "`code`",
    "```block```",
    "> quote",
    "||spoiler||",
    "# heading",
    "-# subtext",
    "<b>bold</b>",
];

/// The characters the renderers drop from other people's words.
fn is_invisible(c: char) -> bool {
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

fn visible(s: &str) -> String {
    s.chars().filter(|c| !is_invisible(*c)).collect()
}

/// Every string under `key` in objects anywhere in `v`, with the object it is in.
fn strings_at<'a>(v: &'a Value, key: &str, out: &mut Vec<(&'a Value, &'a str)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(s)) = m.get(key) {
                out.push((v, s));
            }
            for (k, x) in m {
                if k != key || !x.is_string() {
                    strings_at(x, key, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| strings_at(x, key, out)),
        _ => {}
    }
}

/// The texts Slack parses as mrkdwn in a message body (or an ephemeral answer): the top-level
/// `text` and every text object that is not `plain_text`.
fn slack_texts(body: &Value) -> Vec<&str> {
    let mut found = Vec::new();
    strings_at(body, "text", &mut found);
    found
        .into_iter()
        .filter(|(obj, _)| obj["type"] != "plain_text")
        .map(|(_, s)| s)
        .collect()
}

/// `text` with every occurrence of our own `spans` (mentions, links, date tokens) blanked.
fn without(text: &str, spans: &[&str]) -> String {
    let mut text = text.to_string();
    for span in spans {
        text = text.replace(span, " ");
    }
    // Slack date tokens in the one format the renderer writes from the ticket's time
    // (`<!date^<seconds>^{date_short_pretty} {time}|<YYYY-MM-DD HH:MM> UTC>`; the corpus's
    // date token has another format, so it is never taken for ours).
    let mut from = 0;
    while let Some(found) = text[from..].find("<!date^") {
        let start = from + found;
        let Some(len) = text[start..].find('>') else {
            break;
        };
        let token = &text[start..start + len + 1];
        if is_our_date_token(token) {
            text.replace_range(start..start + len + 1, " ");
        } else {
            from = start + 1;
        }
    }
    text
}

fn is_our_date_token(token: &str) -> bool {
    let Some(rest) = token.strip_prefix("<!date^") else {
        return false;
    };
    let Some((seconds, rest)) = rest.split_once('^') else {
        return false;
    };
    let Some(fallback) = rest
        .strip_prefix("{date_short_pretty} {time}|")
        .and_then(|r| r.strip_suffix(" UTC>"))
    else {
        return false;
    };
    !seconds.is_empty()
        && seconds.chars().all(|c| c.is_ascii_digit())
        && fallback.len() == 16
        && fallback
            .chars()
            .all(|c| c.is_ascii_digit() || " -:".contains(c))
}

fn context(text: &str, at: usize) -> String {
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(20)
        .map_or(0, |(i, _)| i);
    text[start..].chars().take(50).collect()
}

/// What is live in a Slack message: anything Slack would parse as markup that is not one of
/// `ours` (the exact mentions and links the message is meant to carry). Empty when inert.
pub fn slack_live(body: &Value, ours: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for text in slack_texts(body) {
        let rest = without(text, ours);
        for (i, c) in rest.char_indices() {
            let line_start = i == 0 || rest[..i].ends_with('\n');
            let problem = match c {
                '<' => Some("a `<` opens markup (mention, link, broadcast)"),
                // Our own block quotes start a line with `>`.
                '>' if !line_start => Some("a bare `>`"),
                '&' if !["&amp;", "&lt;", "&gt;"]
                    .iter()
                    .any(|e| rest[i..].starts_with(e)) =>
                {
                    Some("a `&` that is not an escape: an entity would be decoded")
                }
                c if is_invisible(c) => Some("an invisible character"),
                _ => None,
            };
            if let Some(p) = problem {
                problems.push(format!("{p}: {:?} in {text:?}", context(&rest, i)));
            }
        }
    }
    problems
}

/// Slack shows `hostile` literally somewhere in the message: its visible characters, with
/// `&`, `<`, `>` as entities (so `&lt;` is shown as `&lt;`, not decoded into `<`).
pub fn slack_shows(body: &Value, hostile: &str) -> bool {
    let expected = visible(hostile)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    slack_texts(body).iter().any(|t| t.contains(&expected))
}

/// The texts Discord renders as markdown in a message body or an interaction answer.
fn discord_texts(body: &Value) -> Vec<&str> {
    let message = if body.get("data").is_some() {
        &body["data"]
    } else {
        body
    };
    let mut out: Vec<&str> = message["content"].as_str().into_iter().collect();
    for embed in message["embeds"].as_array().into_iter().flatten() {
        out.extend(embed["title"].as_str());
        out.extend(embed["description"].as_str());
        for field in embed["fields"].as_array().into_iter().flatten() {
            // A name of just a zero-width space is how the renderer leaves a field unnamed.
            out.extend(field["name"].as_str().filter(|n| *n != "\u{200B}"));
            out.extend(field["value"].as_str());
        }
    }
    out
}

/// The characters Discord markdown gives a meaning.
const DISCORD_SPECIAL: &str = "\\*_~`|><[]#@";

/// What is live in a Discord message: unescaped `@` (`@everyone`, `@here`, mentions),
/// unescaped `<` (mentions, channels, timestamps, emoji), a masked link `](`, an invisible
/// character, anything not in `ours`; and `allowed_mentions` that could ping anyone but the
/// ids in `pings`. Empty when inert.
pub fn discord_live(body: &Value, ours: &[&str], pings: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let message = if body.get("data").is_some() {
        &body["data"]
    } else {
        body
    };
    let mentions = &message["allowed_mentions"];
    if mentions["parse"] != Value::Array(vec![]) {
        problems.push(format!("allowed_mentions.parse is not empty: {mentions}"));
    }
    for list in ["users", "roles"] {
        for id in mentions[list].as_array().into_iter().flatten() {
            if !id.as_str().is_some_and(|id| pings.contains(&id)) {
                problems.push(format!("allowed_mentions.{list} names {id}"));
            }
        }
    }
    for text in discord_texts(body) {
        let rest = without(text, ours);
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            if escaped {
                escaped = false;
                continue;
            }
            let problem = match c {
                '\\' => {
                    escaped = true;
                    None
                }
                '@' => Some("an unescaped `@` (a mention, @everyone, @here)"),
                '<' => Some("an unescaped `<` (a mention, channel, timestamp or emoji)"),
                ']' if rest[i..].starts_with("](") => Some("a masked link"),
                c if is_invisible(c) => Some("an invisible character"),
                _ => None,
            };
            if let Some(p) = problem {
                problems.push(format!("{p}: {:?} in {text:?}", context(&rest, i)));
            }
        }
    }
    problems
}

/// Discord shows `hostile` literally somewhere in the message: its visible characters, each
/// markdown character backslash-escaped.
pub fn discord_shows(body: &Value, hostile: &str) -> bool {
    let mut expected = String::new();
    for c in visible(hostile).chars() {
        if DISCORD_SPECIAL.contains(c) {
            expected.push('\\');
        }
        expected.push(c);
    }
    discord_texts(body).iter().any(|t| t.contains(&expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_checkers_catch_live_markup() {
        let slack = |t: &str| json!({"text": t, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "ok"}}]});
        assert!(slack_live(&slack("hi <@U1>"), &["<@U1>"]).is_empty());
        assert!(!slack_live(&slack("hi <!channel>"), &[]).is_empty());
        assert!(!slack_live(&slack("&lt;!here&gt; & more"), &[]).is_empty());
        assert!(!slack_live(&slack("a\u{200B}b"), &[]).is_empty());
        assert!(slack_live(&slack("> quoted &lt;!here&gt;"), &[]).is_empty());
        assert!(
            slack_live(
                &slack("<!date^1773480413^{date_short_pretty} {time}|2026-03-14 09:26 UTC>"),
                &[]
            )
            .is_empty()
        );
        assert!(!slack_live(&slack("<!date^1392734382^{date}|Feb 18>"), &[]).is_empty());
        let plain = json!({"type": "button", "text": {"type": "plain_text", "text": "<!channel>"}});
        assert!(
            slack_live(&plain, &[]).is_empty(),
            "plain text is never parsed"
        );
        assert!(slack_shows(
            &slack("x &amp;lt;!here&amp;gt; y"),
            "&lt;!here&gt;"
        ));
        assert!(!slack_shows(&slack("x &lt;!here&gt; y"), "&lt;!here&gt;"));

        let discord = |t: &str| json!({"content": t, "allowed_mentions": {"parse": []}});
        assert!(discord_live(&discord(r"\@everyone \<\@1\>"), &[], &[]).is_empty());
        assert!(!discord_live(&discord("@here"), &[], &[]).is_empty());
        assert!(!discord_live(&discord(r"\\@here"), &[], &[]).is_empty());
        assert!(!discord_live(&discord("[x](https://y)"), &[], &[]).is_empty());
        assert!(discord_live(&discord("<@1> hi"), &["<@1>"], &[]).is_empty());
        let pinging = json!({"content": "x", "allowed_mentions": {"parse": ["everyone"]}});
        assert!(!discord_live(&pinging, &[], &[]).is_empty());
        let roles = json!({"content": "x", "allowed_mentions": {"parse": [], "roles": ["9"]}});
        assert!(discord_live(&roles, &[], &["9"]).is_empty());
        assert!(!discord_live(&roles, &[], &[]).is_empty());
        assert!(!discord_live(&json!({"content": "x"}), &[], &[]).is_empty());
        assert!(discord_shows(&discord(r"\*bold\*"), "*bold*"));
        assert!(!discord_shows(&discord("*bold*"), "*bold*"));
    }
}
