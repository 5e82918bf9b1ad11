//! Searching the course without a server: an index of every lesson's sections (title, heading,
//! words, tags), built when the site is built (`mlsec search-index`, run by `cargo xtask dist`)
//! and shipped as one JSON file, and the query the page runs over it as the learner types.
//! The index records a fingerprint of the lessons it was built from, so the page can tell a
//! stale index (an instructor edited a lesson on the host) and build a fresh one from the same
//! function instead of answering from old text.

use crate::course::Lesson;
use crate::markdown::sections;
use serde::{Deserialize, Serialize};

/// The index file's format; a file of another format is rebuilt, never misread.
pub const FORMAT: u32 = 1;

/// The file the site serves the index as, beside `course.toml`'s folder.
pub const FILE: &str = "search-index.json";

/// The longest query searched: past this the box says so (a 10,000-character paste is not a
/// search, and scanning the course for it on each keystroke would stall the page).
pub const MAX_QUERY_CHARS: usize = 200;

/// Hits shown at most (every lesson can match a one-letter query).
pub const MAX_HITS: usize = 30;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SearchIndex {
    pub format: u32,
    /// Of the lessons the index was built from ([`fingerprint`]).
    pub fingerprint: String,
    pub entries: Vec<Entry>,
}

/// One section of one lesson.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub lesson: String,
    pub title: String,
    /// The section's heading and anchor; none for the text before the first heading (and the
    /// lesson's summary).
    pub heading: Option<(String, String)>,
    pub text: String,
    pub tags: Vec<String>,
}

/// A lesson that matches, at its best-matching section.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub lesson: String,
    pub title: String,
    /// The matching section's heading and anchor, if the match is under a heading.
    pub heading: Option<(String, String)>,
    pub tags: Vec<String>,
    /// Words around the first match in the section's text (or its start).
    pub snippet: String,
}

/// Why a query was not run.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryError {
    TooLong { chars: usize },
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::TooLong { chars } => write!(
                f,
                "A search is at most {MAX_QUERY_CHARS} characters; this one has {chars}. Shorten it to a few words or a tag such as ML02"
            ),
        }
    }
}

/// A fingerprint of the lessons' searchable content (FNV-1a, 64 bits, in hex): ids, titles,
/// summaries, tags and bodies, in order.
pub fn fingerprint(lessons: &[&Lesson]) -> String {
    let mut hash = crate::course::Fnv::default();
    for l in lessons {
        hash.eat(&l.id);
        hash.eat(&l.meta.title);
        hash.eat(&l.meta.summary);
        for t in l.meta.owasp.iter().chain(&l.meta.atlas) {
            hash.eat(t);
        }
        hash.eat(&l.body);
    }
    hash.hex()
}

/// The index of `lessons` (in reading order, which is the order of equal hits).
pub fn build(lessons: &[&Lesson]) -> SearchIndex {
    let mut entries = vec![];
    for l in lessons {
        let tags: Vec<String> = l.meta.owasp.iter().chain(&l.meta.atlas).cloned().collect();
        let mut first = true;
        for s in sections(&l.body) {
            // The summary belongs to the lesson's opening.
            let text = if first && s.heading.is_none() {
                format!("{} {}", l.meta.summary, s.text)
            } else {
                s.text
            };
            if first && s.heading.is_some() {
                entries.push(Entry {
                    lesson: l.id.clone(),
                    title: l.meta.title.clone(),
                    heading: None,
                    text: l.meta.summary.clone(),
                    tags: tags.clone(),
                });
            }
            first = false;
            entries.push(Entry {
                lesson: l.id.clone(),
                title: l.meta.title.clone(),
                heading: s.heading.map(|h| (h.text, h.anchor)),
                text: text.trim().to_string(),
                tags: tags.clone(),
            });
        }
        if first {
            entries.push(Entry {
                lesson: l.id.clone(),
                title: l.meta.title.clone(),
                heading: None,
                text: l.meta.summary.clone(),
                tags,
            });
        }
    }
    SearchIndex {
        format: FORMAT,
        fingerprint: fingerprint(lessons),
        entries,
    }
}

/// Whether `term` starts a word of `text` ("sign" in "the sign of", not in "design"; a term
/// that starts with a symbol, such as "ε" or "<b>", matches anywhere).
fn starts_a_word(text: &str, term: &str) -> bool {
    if !term.starts_with(char::is_alphanumeric) {
        return text.contains(term);
    }
    text.match_indices(term).any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Whether a term names a tag: "ML02" names "ML02:2023", "aml.t0043" names "AML.T0043".
fn names_tag(term: &str, tag: &str) -> bool {
    let tag = tag.to_lowercase();
    tag == term || tag.split(':').next() == Some(term)
}

impl SearchIndex {
    /// The lessons matching every word of `query` (case does not matter; a word matches the
    /// start of a word, "inject" finds "injection", or names a tag), best first: one hit per lesson, at its best section.
    /// An empty query matches nothing.
    pub fn search(&self, query: &str) -> Result<Vec<Hit>, QueryError> {
        let chars = query.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong { chars });
        }
        let terms: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        if terms.is_empty() {
            return Ok(vec![]);
        }
        // (score, position of the lesson's first entry, entry)
        let mut best: Vec<(u32, usize, &Entry)> = vec![];
        for (at, e) in self.entries.iter().enumerate() {
            let (title, text) = (e.title.to_lowercase(), e.text.to_lowercase());
            let heading = e
                .heading
                .as_ref()
                .map(|(h, _)| h.to_lowercase())
                .unwrap_or_default();
            let mut score = 0;
            for t in &terms {
                let s = if e.tags.iter().any(|tag| names_tag(t, tag)) {
                    8
                } else if starts_a_word(&title, t) {
                    4
                } else if starts_a_word(&heading, t) {
                    3
                } else if starts_a_word(&text, t) {
                    1
                } else {
                    0
                };
                if s == 0 {
                    score = 0;
                    break;
                }
                score += s;
            }
            if score == 0 {
                continue;
            }
            match best.iter_mut().find(|(_, _, b)| b.lesson == e.lesson) {
                Some(b) if b.0 >= score => {}
                Some(b) => {
                    b.0 = score;
                    b.2 = e;
                }
                None => best.push((score, at, e)),
            }
        }
        best.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(best
            .into_iter()
            .take(MAX_HITS)
            .map(|(_, _, e)| Hit {
                lesson: e.lesson.clone(),
                title: e.title.clone(),
                heading: e.heading.clone(),
                tags: e.tags.clone(),
                snippet: snippet(&e.text, &terms),
            })
            .collect())
    }
}

/// About this many characters each side of a match in a snippet.
const AROUND: usize = 60;

/// The words around the first term found in `text` (or its start), with "…" where cut.
fn snippet(text: &str, terms: &[String]) -> String {
    let lower = text.to_lowercase();
    // Lower-casing can change byte lengths; only trust a match whose offset is a boundary in
    // the original text too.
    let found = terms
        .iter()
        .filter_map(|t| lower.find(t.as_str()))
        .filter(|&i| text.is_char_boundary(i))
        .min()
        .unwrap_or(0);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = chars.iter().position(|&(i, _)| i >= found).unwrap_or(0);
    let from = at.saturating_sub(AROUND);
    let to = (at + AROUND).min(chars.len());
    let mut s: String = chars[from..to].iter().map(|&(_, c)| c).collect();
    if from > 0 {
        s.insert(0, '…');
    }
    if to < chars.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::LessonMeta;

    fn lesson(id: &str, title: &str, tags: &[&str], body: &str) -> Lesson {
        Lesson {
            id: id.into(),
            meta: LessonMeta {
                title: title.into(),
                summary: format!("About {title}."),
                minutes: 10,
                owasp: tags
                    .iter()
                    .filter(|t| !t.starts_with("AML"))
                    .map(|t| t.to_string())
                    .collect(),
                atlas: tags
                    .iter()
                    .filter(|t| t.starts_with("AML"))
                    .map(|t| t.to_string())
                    .collect(),
                papers: vec![],
            },
            body: body.into(),
            exercises: vec![],
        }
    }

    fn course() -> Vec<Lesson> {
        vec![
            lesson(
                "fgsm",
                "FGSM",
                &["ML01:2023", "AML.T0043"],
                "One step.\n\n## The sign of the gradient\n\nEach pixel moves by epsilon.\n",
            ),
            lesson(
                "label-flip",
                "Label flipping",
                &["ML02:2023"],
                "Flip labels.\n\n## Budget\n\nAt most 60 flips of the gradient-free kind.\n",
            ),
            lesson(
                "backdoor",
                "Backdoors",
                &["ML02:2023", "AML.T0020"],
                "## Triggers\n\nA small patch.\n",
            ),
            lesson(
                "direct",
                "Direct injection",
                &["LLM01:2025"],
                "Ignore previous instructions.\n",
            ),
        ]
    }

    fn index() -> SearchIndex {
        let lessons = course();
        build(&lessons.iter().collect::<Vec<_>>())
    }

    fn found(query: &str) -> Vec<String> {
        index()
            .search(query)
            .unwrap()
            .into_iter()
            .map(|h| h.lesson)
            .collect()
    }

    #[test]
    fn a_tag_lists_every_lesson_with_it_whatever_its_case() {
        assert_eq!(found("ML02"), ["label-flip", "backdoor"]);
        assert_eq!(found("ml02:2023"), ["label-flip", "backdoor"]);
        assert_eq!(found("LLM01"), ["direct"]);
        assert_eq!(found("aml.t0043"), ["fgsm"]);
        // A tag's number is not a word search: "ML0" names no tag and appears in no text.
        assert!(found("ML0").is_empty());
    }

    #[test]
    fn words_must_all_match_and_the_best_section_is_shown() {
        let hits = index().search("gradient sign").unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].lesson, "fgsm");
        assert_eq!(
            hits[0].heading,
            Some((
                "The sign of the gradient".into(),
                "the-sign-of-the-gradient".into()
            ))
        );
        assert_eq!(hits[0].tags, ["ML01:2023", "AML.T0043"]);
        // A title match ranks above a text match; ties keep the course's order.
        assert_eq!(found("gradient"), ["fgsm", "label-flip"]);
        assert_eq!(found("flip"), ["label-flip"]);
        // The summary is searched with the lesson's opening.
        assert_eq!(found("about backdoors"), ["backdoor"]);
        assert!(found("gradient nowhere-at-all").is_empty());
        // A word matches at the start of words only: "lip" is inside "flip", never its start.
        assert_eq!(found("flip"), ["label-flip"]);
        assert!(found("lip").is_empty());
        assert_eq!(found("inst"), ["direct"]);
    }

    #[test]
    fn markup_empty_and_huge_queries_are_handled() {
        assert!(found("").is_empty());
        assert!(found("   ").is_empty());
        assert!(found("<script>alert(1)</script>").is_empty());
        let long = "a".repeat(10_000);
        let e = index().search(&long).unwrap_err();
        assert_eq!(e, QueryError::TooLong { chars: 10_000 });
        assert!(e
            .to_string()
            .contains("at most 200 characters; this one has 10000"));
        assert!(index().search(&"é".repeat(MAX_QUERY_CHARS)).is_ok());
    }

    #[test]
    fn snippets_cut_around_the_match_on_character_boundaries() {
        let text = format!("{} needle {}", "ä".repeat(100), "ö".repeat(100));
        let s = snippet(&text, &["needle".into()]);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("needle"));
        assert_eq!(snippet("short text", &["zzz".into()]), "short text");
    }

    #[test]
    fn the_fingerprint_changes_with_any_lesson_text_and_the_index_round_trips() {
        let lessons = course();
        let refs: Vec<&Lesson> = lessons.iter().collect();
        let mut edited = course();
        edited[3].body.push('!');
        assert_ne!(
            fingerprint(&refs),
            fingerprint(&edited.iter().collect::<Vec<_>>())
        );
        let index = build(&refs);
        let json = serde_json::to_string(&index).unwrap();
        assert_eq!(serde_json::from_str::<SearchIndex>(&json).unwrap(), index);
    }
}
