//! Tags and tag suggestions. The suggestion model is learned from the team's own tagging:
//! each time a tag is added to a ticket, the tag's use count and the counts of the ticket
//! text's tokens under that tag are recorded (in the database); suggestions score a new
//! ticket's text against tags used at least `MIN_USES_FOR_SUGGESTION` times.
//!
//! # Tokens
//! [`tokens`]: the distinct lowercase, accent-folded words of at least 3 characters, without
//! URLs, @mentions, e-mail addresses, pure numbers (order numbers are noise) and a short list
//! of English function words and greetings. The same function feeds `Store::record_tagging`
//! and [`TagModel::suggest`], so what is counted is what is scored.
//!
//! # The model
//! Multinomial naive Bayes over the *distinct* tokens of a text, with classes: every
//! **eligible** tag (≥ [`MIN_USES_FOR_SUGGESTION`] uses) and a **background** class, "none of
//! these tags applies". With `V` the vocabulary (every token recorded under any tag, eligible
//! or not), `c(t, w)` the count of token `w` under tag `t` and `T(t) = Σ_w c(t, w)`:
//!
//! - a tag: `P(w | t) = (c(t, w) + 1) / (T(t) + |V|)` (Laplace smoothing);
//! - the background: we never see untagged texts, so "a ticket in general" is estimated from
//!   the team's pooled language, the counts of *all* tags (eligible or not), Laplace-smoothed.
//!   Words every ticket uses ("order", "help") are then as likely under the background as
//!   under any tag, and so no evidence; a word is evidence for a tag in proportion to how much
//!   more often it comes with that tag than with tickets in general;
//! - priors: the background has [`BACKGROUND_PRIOR`]; the tags share the rest in proportion to
//!   their uses;
//! - tokens outside `V` are ignored: they carry no evidence, and with smoothing they would
//!   favour the tags with the least data. A text with no known token gets no suggestion.
//!
//! The posterior of each class is normalised over the eligible tags and the background (in log
//! space). A tag is suggested when its posterior exceeds [`SUGGEST_THRESHOLD`] **and** is at
//! least [`MIN_LIFT`] times its prior: the text itself must point to the tag, its popularity
//! alone is not enough (a team's dominant tag, or a lone eligible tag, has a prior near the
//! threshold). Suggestions come by posterior, highest first, ties by tag name.
//!
//! Because the classes are exclusive, a text that is about two tags at once usually gets the
//! stronger one, or neither: suggestions are a hint, the teammate adds the others. With a
//! single tag in all the history there is nothing to contrast it with and nothing is
//! suggested.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::saved_reply::fold_words;

/// A tag is suggested only once it has been used this many times (as Hootsuite does).
pub const MIN_USES_FOR_SUGGESTION: i64 = 10;

/// Suggest a tag when its posterior probability exceeds this (and [`MIN_LIFT`] holds). Tuned
/// so that one word typical of a tag is enough in a history of two tags, and one word shared
/// by every tag is not.
pub const SUGGEST_THRESHOLD: f64 = 0.35;

/// Suggest a tag only when the text made it at least this many times more probable than its
/// prior.
pub const MIN_LIFT: f64 = 1.25;

/// Prior probability of the background class ("none of the eligible tags applies"): we assume
/// a new ticket is as likely to need none of them as to need one.
pub const BACKGROUND_PRIOR: f64 = 0.5;

/// Laplace smoothing pseudo-count.
const ALPHA: f64 = 1.0;

/// At most this many distinct tokens of a text are recorded and scored (bounds the writes of a
/// tagging and the cost of a suggestion on very long texts).
pub const MAX_TOKENS: usize = 200;

/// The stored model, as the store returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagModelData {
    /// (tag, times it was added to a ticket)
    pub uses: Vec<(String, i64)>,
    /// (tag, token, times the token appeared in a ticket the tag was added to)
    pub tokens: Vec<(String, String, i64)>,
}

/// Words of at least 3 characters that carry no topic.
const STOPWORDS: &[&str] = &[
    "about", "after", "again", "all", "also", "and", "any", "are", "aren", "because", "been",
    "being", "both", "but", "can", "cannot", "could", "couldn", "did", "didn", "does", "doesn",
    "doing", "don", "each", "for", "from", "get", "got", "had", "has", "hasn", "have", "haven",
    "hello", "her", "here", "hers", "hey", "him", "his", "how", "into", "isn", "its", "just",
    "let", "may", "more", "most", "much", "must", "nor", "not", "off", "one", "only", "other",
    "our", "ours", "out", "over", "own", "please", "same", "she", "should", "shouldn", "some",
    "such", "than", "thank", "thanks", "that", "the", "their", "theirs", "them", "then", "there",
    "these", "they", "this", "those", "too", "very", "via", "was", "wasn", "were", "weren", "what",
    "when", "where", "which", "while", "who", "why", "will", "with", "won", "would", "wouldn",
    "yes", "yet", "you", "your", "yours",
];

fn is_noise(raw: &str) -> bool {
    let lower = raw.to_ascii_lowercase();
    raw.starts_with('@') || raw.contains('@') || lower.contains("://") || lower.starts_with("www.")
}

/// The distinct topic words of a text (see the module docs), in order of first appearance,
/// at most [`MAX_TOKENS`].
pub fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split_whitespace().filter(|w| !is_noise(w)) {
        for word in fold_words(raw).split(' ') {
            if word.chars().count() < 3
                || word.bytes().all(|b| b.is_ascii_digit())
                || STOPWORDS.binary_search(&word).is_ok()
                || out.iter().any(|w| w == word)
            {
                continue;
            }
            if out.len() == MAX_TOKENS {
                return out;
            }
            out.push(word.to_string());
        }
    }
    out
}

#[derive(Debug, Clone)]
struct Class {
    tag: String,
    log_prior: f64,
    /// log P(w | tag) of tokens seen under the tag, by vocabulary index.
    seen: HashMap<u32, f64>,
    /// log P(w | tag) of a vocabulary token never seen under the tag.
    unseen: f64,
}

/// The suggestion model, built from the stored counts (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct TagModel {
    vocab: HashMap<String, u32>,
    /// log P(w | background), by vocabulary index.
    background: Vec<f64>,
    classes: Vec<Class>,
}

impl TagModel {
    pub fn new(data: &TagModelData) -> Self {
        let mut vocab: HashMap<String, u32> = HashMap::new();
        let mut pooled: Vec<f64> = Vec::new();
        // Per eligible tag: total token count, and (token, count) pairs.
        type Counts = (f64, Vec<(u32, f64)>);
        let mut per_tag: HashMap<&str, Counts> = HashMap::new();
        let uses: HashMap<&str, i64> = data.uses.iter().map(|(t, n)| (t.as_str(), *n)).collect();
        for (tag, token, n) in &data.tokens {
            if *n <= 0 {
                continue;
            }
            let n = *n as f64;
            let next = vocab.len() as u32;
            let id = *vocab.entry(token.clone()).or_insert(next);
            if id == next {
                pooled.push(0.0);
            }
            pooled[id as usize] += n;
            if uses.get(tag.as_str()).copied().unwrap_or(0) >= MIN_USES_FOR_SUGGESTION {
                let entry = per_tag.entry(tag.as_str()).or_default();
                entry.0 += n;
                entry.1.push((id, n));
            }
        }
        let v = vocab.len() as f64;
        if vocab.is_empty() {
            return TagModel::default();
        }
        let total: f64 = pooled.iter().sum();
        let background = pooled
            .iter()
            .map(|c| ((c + ALPHA) / (total + ALPHA * v)).ln())
            .collect();

        let mut eligible: Vec<(&str, i64)> = data
            .uses
            .iter()
            .filter(|(_, n)| *n >= MIN_USES_FOR_SUGGESTION)
            .map(|(t, n)| (t.as_str(), *n))
            .collect();
        eligible.sort_unstable();
        eligible.dedup_by(|a, b| a.0 == b.0);
        let all_uses: f64 = eligible.iter().map(|(_, n)| *n as f64).sum();
        let classes = eligible
            .into_iter()
            .map(|(tag, n)| {
                let (t_total, counts) = per_tag.remove(tag).unwrap_or_default();
                let denom = t_total + ALPHA * v;
                let mut seen: HashMap<u32, f64> = HashMap::new();
                for (id, c) in counts {
                    *seen.entry(id).or_insert(0.0) += c;
                }
                for c in seen.values_mut() {
                    *c = ((*c + ALPHA) / denom).ln();
                }
                Class {
                    tag: tag.to_string(),
                    log_prior: ((1.0 - BACKGROUND_PRIOR) * n as f64 / all_uses).ln(),
                    seen,
                    unseen: (ALPHA / denom).ln(),
                }
            })
            .collect();
        TagModel {
            vocab,
            background,
            classes,
        }
    }

    /// The posterior of every eligible tag for `text`, by tag name; empty when the text has
    /// no known token or no tag is eligible.
    pub fn posteriors(&self, text: &str) -> Vec<(String, f64)> {
        let ids: Vec<u32> = tokens(text)
            .iter()
            .filter_map(|t| self.vocab.get(t).copied())
            .collect();
        if ids.is_empty() || self.classes.is_empty() {
            return Vec::new();
        }
        let background = BACKGROUND_PRIOR.ln()
            + ids
                .iter()
                .map(|&id| self.background[id as usize])
                .sum::<f64>();
        let scores: Vec<f64> = self
            .classes
            .iter()
            .map(|c| {
                c.log_prior
                    + ids
                        .iter()
                        .map(|id| c.seen.get(id).copied().unwrap_or(c.unseen))
                        .sum::<f64>()
            })
            .collect();
        let max = scores.iter().copied().fold(background, f64::max);
        let norm = (background - max).exp() + scores.iter().map(|s| (s - max).exp()).sum::<f64>();
        self.classes
            .iter()
            .zip(scores)
            .map(|(c, s)| (c.tag.clone(), (s - max).exp() / norm))
            .collect()
    }

    /// At most `max` tags to suggest for `text`: posterior above [`SUGGEST_THRESHOLD`] and
    /// [`MIN_LIFT`] times the prior, highest first, ties by name.
    pub fn suggest(&self, text: &str, max: usize) -> Vec<String> {
        let mut found: Vec<(String, f64)> = self
            .posteriors(text)
            .into_iter()
            .zip(&self.classes)
            .filter(|((_, p), class)| {
                *p > SUGGEST_THRESHOLD && *p >= MIN_LIFT * class.log_prior.exp()
            })
            .map(|(found, _)| found)
            .collect();
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        found.into_iter().take(max).map(|(t, _)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_are_sorted_for_binary_search() {
        assert!(STOPWORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn tokens_drop_noise() {
        assert_eq!(
            tokens(
                "Hi @acme!! I want a REFUND for order 12345, see https://x.co/a?b=1 \
                 or www.acme.com — mail me at jane@example.com. Refund? Crème brûlée."
            ),
            ["want", "refund", "order", "see", "mail", "creme", "brulee"]
        );
        assert!(tokens("").is_empty());
        assert!(tokens("ok, so it is as we do").is_empty());
        let many: String = (0..300).map(|i| format!("word{i} ")).collect();
        assert_eq!(tokens(&many).len(), MAX_TOKENS);
    }

    /// Record `texts` under `tag` as the store does.
    fn record(data: &mut TagModelData, tag: &str, texts: &[&str]) {
        let mut counts: HashMap<String, i64> = HashMap::new();
        for text in texts {
            for t in tokens(text) {
                *counts.entry(t).or_default() += 1;
            }
        }
        data.uses.push((tag.into(), texts.len() as i64));
        let mut counts: Vec<_> = counts.into_iter().collect();
        counts.sort();
        data.tokens
            .extend(counts.into_iter().map(|(w, n)| (tag.to_string(), w, n)));
    }

    const REFUND: [&str; 12] = [
        "I want a refund for my order, the mug arrived broken",
        "Can I get my money back? The coffee was stale",
        "Please refund me, I was charged twice",
        "Still waiting for my refund after two weeks",
        "How do I return this and get a refund?",
        "You charged my card but I cancelled, money back please",
        "Refund request: wrong size, want my money back",
        "I was double charged, please refund the second payment",
        "When will the refund show on my card?",
        "Product was damaged, I would like my money back",
        "Cancelled my subscription but got charged, refund please",
        "Requesting a refund for the defective grinder",
    ];

    const SHIPPING: [&str; 12] = [
        "Where is my package? Tracking has not updated in days",
        "My delivery is late, the tracking number does not work",
        "When will my order ship?",
        "The courier says delivered but I have no package",
        "Can you send me the tracking link for my delivery?",
        "Shipping to Canada takes how long?",
        "Package stuck in transit for a week",
        "Delivery address change before it ships?",
        "Tracking shows returned to sender, what happened to my package",
        "Do you offer express shipping and delivery on weekends?",
        "My parcel was delivered to the wrong address",
        "No tracking update since the order shipped",
    ];

    fn history() -> TagModelData {
        let mut data = TagModelData::default();
        record(&mut data, "refund", &REFUND);
        record(&mut data, "shipping", &SHIPPING);
        // Used 9 times only, with a vocabulary of its own and some refund words.
        record(
            &mut data,
            "complaint",
            &[
                "Terrible service, very disappointed, refund",
                "Awful experience, disappointed",
                "Rude staff, terrible",
                "Disappointed with the service",
                "Worst service ever, terrible",
                "Very rude and disappointed",
                "Terrible, awful, rude",
                "Disappointed again, awful service",
                "Service was terrible",
            ],
        );
        data
    }

    #[test]
    fn a_refund_text_suggests_refund_not_shipping() {
        let model = TagModel::new(&history());
        assert_eq!(
            model.suggest(
                "Hello, I'd like a refund, I was charged but never used it",
                3
            ),
            ["refund"]
        );
        assert_eq!(model.suggest("money back please", 3), ["refund"]);
        assert_eq!(
            model.suggest("Where is my package? No tracking since Monday", 3),
            ["shipping"]
        );
    }

    #[test]
    fn a_tag_used_9_times_is_never_suggested() {
        let model = TagModel::new(&history());
        for text in [
            "Terrible service, so disappointed, rude and awful",
            "terrible",
            "disappointed disappointed",
        ] {
            assert!(
                !model.suggest(text, 5).contains(&"complaint".to_string()),
                "{text}"
            );
            assert!(model.posteriors(text).iter().all(|(t, _)| t != "complaint"));
        }
        // Once used a 10th time, it is.
        let mut data = history();
        for (tag, n) in &mut data.uses {
            if tag == "complaint" {
                *n = 10;
            }
        }
        let model = TagModel::new(&data);
        assert_eq!(
            model.suggest("Terrible service, so disappointed, rude and awful", 5),
            ["complaint"]
        );
    }

    #[test]
    fn an_unrelated_text_suggests_nothing() {
        let model = TagModel::new(&history());
        for text in [
            "Love your new autumn blend, great taste!",
            "What are your opening hours on Sunday?",
            "",
            "ok",
            // One word every tag's texts use is not enough.
            "my order",
        ] {
            assert!(
                model.suggest(text, 3).is_empty(),
                "{text}: {:?}",
                model.posteriors(text)
            );
        }
    }

    #[test]
    fn a_lone_eligible_tag_needs_evidence() {
        let mut data = TagModelData::default();
        record(&mut data, "refund", &REFUND);
        // Alone in the history: nothing to contrast it with.
        let model = TagModel::new(&data);
        assert!(
            model
                .suggest("refund please, I was charged twice", 3)
                .is_empty()
        );
        // Against a less used tag, its words point to it; a word seen once does not.
        let complaint = history()
            .tokens
            .into_iter()
            .filter(|(t, _, _)| t == "complaint");
        data.tokens.extend(complaint);
        data.uses.push(("complaint".into(), 9));
        let model = TagModel::new(&data);
        assert_eq!(
            model.suggest("refund please, I was charged twice", 3),
            ["refund"]
        );
        assert!(model.suggest("nice coffee", 3).is_empty());
    }

    #[test]
    fn empty_model_and_max() {
        assert!(
            TagModel::new(&TagModelData::default())
                .suggest("refund", 3)
                .is_empty()
        );
        let model = TagModel::new(&history());
        assert!(model.suggest("refund money back charged", 0).is_empty());
    }

    #[test]
    fn order_is_deterministic() {
        let a = TagModel::new(&history());
        let mut reversed = history();
        reversed.uses.reverse();
        reversed.tokens.reverse();
        let b = TagModel::new(&reversed);
        let text = "package tracking refund money back charged delivery";
        assert_eq!(a.suggest(text, 3), b.suggest(text, 3));
        let pa = a.posteriors(text);
        let pb = b.posteriors(text);
        for ((ta, xa), (tb, xb)) in pa.iter().zip(&pb) {
            assert_eq!(ta, tb);
            assert!((xa - xb).abs() < 1e-12);
        }
    }
}
