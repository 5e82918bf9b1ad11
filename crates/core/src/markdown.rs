//! Lesson markdown → sanitised HTML, split around `{{#exercise id}}` directives so the UI can
//! put a live exercise component where the author placed it.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    /// HTML that went through the sanitiser: safe to insert into the page as is.
    Html(String),
    /// An exercise placed by a directive.
    Exercise(String),
}

/// The exercise id if `line` is a directive (`{{#exercise id}}` alone on its line).
pub fn directive(line: &str) -> Option<&str> {
    let inner = line
        .trim()
        .strip_prefix("{{#exercise")?
        .strip_suffix("}}")?;
    let id = inner.trim();
    (!id.is_empty() && inner.starts_with(char::is_whitespace)).then_some(id)
}

/// The prefix of a heading's element id: lesson text cannot clash with the page's own ids.
pub const ANCHOR_PREFIX: &str = "sec-";

/// A heading of a lesson body, with the anchor its element gets (unique in the body).
#[derive(Clone, Debug, PartialEq)]
pub struct Heading {
    pub level: u8,
    pub text: String,
    pub anchor: String,
}

/// A part of a lesson body: the text under one heading (before the first heading: none), as
/// plain words, for search.
#[derive(Clone, Debug, PartialEq)]
pub struct Section {
    pub heading: Option<Heading>,
    pub text: String,
}

/// Lower-case letters and digits of `text`, runs of anything else as one hyphen: "Reading the
/// curves" → "reading-the-curves". Empty for text with neither.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The markdown without the exercise directives (they are placeholders, not text).
fn without_directives(body: &str) -> String {
    body.lines()
        .filter(|l| directive(l).is_none())
        .collect::<Vec<_>>()
        .join("\n")
}

fn parser(markdown: &str) -> Parser<'_> {
    Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
}

/// The body's sections, each heading with its unique anchor (a repeated heading gets "-2",
/// "-3"; a heading with no letters "section-N").
pub fn sections(body: &str) -> Vec<Section> {
    let markdown = without_directives(body);
    let mut sections = vec![Section {
        heading: None,
        text: String::new(),
    }];
    let mut taken = std::collections::HashSet::new();
    let mut in_heading: Option<(u8, String)> = None;
    for event in parser(&markdown) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => {
                in_heading = Some((level as u8, String::new()))
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, text)) = in_heading.take() {
                    let text = text.trim().to_string();
                    let base = match slug(&text) {
                        s if s.is_empty() => format!("section-{}", sections.len()),
                        s => s,
                    };
                    let mut anchor = base.clone();
                    let mut n = 2;
                    while !taken.insert(anchor.clone()) {
                        anchor = format!("{base}-{n}");
                        n += 1;
                    }
                    sections.push(Section {
                        heading: Some(Heading {
                            level,
                            text,
                            anchor,
                        }),
                        text: String::new(),
                    });
                }
            }
            Event::Text(t) | Event::Code(t) => match &mut in_heading {
                Some((_, text)) => text.push_str(&t),
                None => sections
                    .last_mut()
                    .expect("one section at least")
                    .text
                    .push_str(&t),
            },
            // Line breaks and the ends of blocks (paragraphs, items, cells) separate words.
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Item
                | TagEnd::TableCell
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_),
            ) => match &mut in_heading {
                Some((_, text)) => text.push(' '),
                None => sections
                    .last_mut()
                    .expect("one section at least")
                    .text
                    .push(' '),
            },
            _ => {}
        }
    }
    if sections[0].text.trim().is_empty() {
        sections.remove(0);
    }
    for s in &mut sections {
        s.text = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    sections
}

/// The body's headings with their anchors, in order.
pub fn headings(body: &str) -> Vec<Heading> {
    sections(body)
        .into_iter()
        .filter_map(|s| s.heading)
        .collect()
}

/// Renders a lesson body. Raw HTML in the markdown is sanitised (ammonia): no script, event
/// handler, `javascript:` URL, iframe, form or style survives, so lesson text cannot run code.
/// Every heading gets its anchor as its id (prefixed with [`ANCHOR_PREFIX`]), so a table of
/// contents, a search hit and a deep link can point at it.
pub fn render(body: &str) -> Vec<Segment> {
    let mut anchors = headings(body).into_iter().map(|h| h.anchor);
    let mut segments = Vec::new();
    let mut chunk = String::new();
    let mut flush = |chunk: &mut String, segments: &mut Vec<Segment>| {
        if !chunk.trim().is_empty() {
            segments.push(Segment::Html(to_safe_html_with(chunk, &mut anchors)));
        }
        chunk.clear();
    };
    for line in body.lines() {
        match directive(line) {
            Some(id) => {
                flush(&mut chunk, &mut segments);
                segments.push(Segment::Exercise(id.to_string()));
            }
            None => {
                chunk.push_str(line);
                chunk.push('\n');
            }
        }
    }
    flush(&mut chunk, &mut segments);
    segments
}

/// Markdown → HTML → sanitised HTML.
pub fn to_safe_html(markdown: &str) -> String {
    to_safe_html_with(markdown, &mut std::iter::empty())
}

/// Markdown → HTML with the next of `anchors` on each heading → sanitised HTML.
fn to_safe_html_with(markdown: &str, anchors: &mut dyn Iterator<Item = String>) -> String {
    let events = parser(markdown).map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id: _,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level,
            id: anchors
                .next()
                .map(|a| CowStr::from(format!("{ANCHOR_PREFIX}{a}"))),
            classes,
            attrs,
        }),
        other => other,
    });
    let mut raw = String::new();
    html::push_html(&mut raw, events);
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        // Lesson links lead away from the exercise; a new tab keeps the learner's work.
        .set_tag_attribute_value("a", "target", "_blank")
        .add_tag_attributes("h1", &["id"])
        .add_tag_attributes("h2", &["id"])
        .add_tag_attributes("h3", &["id"])
        .add_tag_attributes("h4", &["id"])
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Intro text with `code`.\n\n## Reading the curves\n\nHealthy *loss*.\n\n{{#exercise train}}\n\n## Reading the curves\n\nAgain.\n\n### ε & δ!\n\n## ???\n\nLast.\n";

    #[test]
    fn headings_get_unique_anchors_and_sections_their_words() {
        let s = sections(BODY);
        assert_eq!(s[0].heading, None);
        assert_eq!(s[0].text, "Intro text with code.");
        let anchors: Vec<_> = headings(BODY).into_iter().map(|h| h.anchor).collect();
        assert_eq!(
            anchors,
            [
                "reading-the-curves",
                "reading-the-curves-2",
                "ε-δ",
                "section-4"
            ]
        );
        assert_eq!(s[1].text, "Healthy loss.");
        // The directive is not text.
        assert_eq!(s[2].text, "Again.");
        assert_eq!(s[3].heading.as_ref().unwrap().level, 3);
        assert_eq!(slug("  Why -- it works?  "), "why-it-works");
    }

    #[test]
    fn rendered_headings_carry_their_anchors_across_exercise_directives() {
        let segments = render(BODY);
        let html: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Html(h) => Some(h.as_str()),
                Segment::Exercise(_) => None,
            })
            .collect();
        assert!(
            html[0].contains(r#"<h2 id="sec-reading-the-curves">"#),
            "{}",
            html[0]
        );
        assert!(
            html[1].contains(r#"<h2 id="sec-reading-the-curves-2">"#),
            "{}",
            html[1]
        );
        assert!(html[1].contains(r#"<h3 id="sec-ε-δ">"#), "{}", html[1]);
        assert_eq!(segments[1], Segment::Exercise("train".into()));
        // Raw HTML still loses what could run.
        let unsafe_html =
            to_safe_html("<h2 id=\"x\" onclick=\"alert(1)\">T</h2><script>x()</script>");
        assert_eq!(unsafe_html, r#"<h2 id="x">T</h2>"#);
    }
}
