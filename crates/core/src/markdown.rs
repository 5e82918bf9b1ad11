//! Lesson markdown → HTML that is safe by construction, split around `{{#exercise id}}`
//! directives so the UI can put a live exercise component where the author placed it.

use crate::course::Lesson;
use pulldown_cmark::{html, Alignment, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Segment {
    /// HTML made safe by construction ([`render`]): safe to insert into the page as is.
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

/// A lesson's markdown as the page shows it, rendered where the course is built (by the
/// site's build into its course bundle, or by the worker), so the page itself never parses
/// markdown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rendered {
    /// The body, as [`render`] makes it.
    pub segments: Vec<Segment>,
    /// The body's headings, as [`headings`] finds them.
    pub headings: Vec<Heading>,
    /// Each exercise's solution notes, by exercise id, as [`to_safe_html`] makes them.
    pub solution_notes: Vec<(String, String)>,
}

impl Rendered {
    pub fn of(lesson: &Lesson) -> Rendered {
        let headings = headings(&lesson.body);
        Rendered {
            segments: render_with(&lesson.body, &headings),
            headings,
            solution_notes: lesson
                .exercises
                .iter()
                .map(|e| (e.id.clone(), to_safe_html(&e.solution_notes)))
                .collect(),
        }
    }

    /// Exercise `id`'s solution notes.
    pub fn solution_notes(&self, id: &str) -> Option<&str> {
        self.solution_notes
            .iter()
            .find(|(e, _)| e == id)
            .map(|(_, html)| html.as_str())
    }

    /// Whether the body has a section `anchor`.
    pub fn has_section(&self, anchor: &str) -> bool {
        self.headings.iter().any(|h| h.anchor == anchor)
    }
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

/// Renders a lesson body, safe by construction: every tag in the output is one this module or
/// pulldown-cmark writes, never one copied from the lesson. Raw HTML in the markdown shows as
/// text, except the attribute-free tags of [`ALLOWED_TAGS`], which are written afresh; links
/// and images keep their destination only when [`safe_url`] allows it. So no script, event
/// handler, `javascript:` URL, iframe, form or style can come from lesson text. Every heading
/// gets its anchor as its id (prefixed with [`ANCHOR_PREFIX`]), so a table of contents, a
/// search hit and a deep link can point at it.
pub fn render(body: &str) -> Vec<Segment> {
    render_with(body, &headings(body))
}

/// [`render`], given the body's [`headings`] (found once for both).
fn render_with(body: &str, headings: &[Heading]) -> Vec<Segment> {
    let mut anchors = headings.iter().map(|h| h.anchor.clone());
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

/// Markdown → safe HTML (as [`render`] makes it).
pub fn to_safe_html(markdown: &str) -> String {
    to_safe_html_with(markdown, &mut std::iter::empty())
}

/// The raw HTML tags a lesson may use. They carry no attributes, so none can hold a handler,
/// a style or a URL; any other tag, or one of these with attributes, shows as text.
pub const ALLOWED_TAGS: &[&str] = &["details", "summary", "kbd", "sub", "sup", "mark", "br"];

/// Whether a link or image destination is safe to write: relative (a path, a query or a
/// fragment) or with the scheme `http`, `https` or (links only) `mailto`. Browsers ignore tabs,
/// newlines and leading spaces or control characters in a URL, so the scheme is read without
/// them (`java\tscript:` is `javascript:`).
pub fn safe_url(url: &str, mailto: bool) -> bool {
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect();
    let scheme_end = squeezed.find(|c| matches!(c, ':' | '/' | '?' | '#'));
    match scheme_end {
        Some(at) if squeezed[at..].starts_with(':') => {
            let scheme = squeezed[..at].to_ascii_lowercase();
            scheme == "http" || scheme == "https" || (mailto && scheme == "mailto")
        }
        _ => true,
    }
}

/// A piece of raw HTML from a lesson, split into tags and the text between them.
enum RawPiece<'a> {
    /// An allowed tag, canonical: `<kbd>`, `</kbd>`, `<br>`.
    Allowed(String),
    /// Anything else (text, another tag, a comment), to show as text.
    Text(&'a str),
}

fn raw_pieces(html: &str) -> Vec<RawPiece<'_>> {
    let mut pieces = vec![];
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        if open > 0 {
            pieces.push(RawPiece::Text(&rest[..open]));
        }
        let tag_end = rest[open..].find('>').map(|e| open + e + 1);
        let tag = &rest[open..tag_end.unwrap_or(rest.len())];
        match tag_end.and_then(|_| allowed_tag(tag)) {
            Some(canonical) => pieces.push(RawPiece::Allowed(canonical)),
            None => pieces.push(RawPiece::Text(tag)),
        }
        rest = &rest[open + tag.len()..];
    }
    if !rest.is_empty() {
        pieces.push(RawPiece::Text(rest));
    }
    pieces
}

/// `<name>`, `</name>` or `<br/>` for a name in [`ALLOWED_TAGS`] (any case, no attributes),
/// written canonically.
fn allowed_tag(tag: &str) -> Option<String> {
    let inner = tag.strip_prefix('<')?.strip_suffix('>')?;
    let (close, name) = match inner.strip_prefix('/') {
        Some(name) => (true, name.trim_end()),
        None => (false, inner.trim_end().trim_end_matches('/').trim_end()),
    };
    let name = name.to_ascii_lowercase();
    let allowed = ALLOWED_TAGS.contains(&name.as_str()) && !(close && name == "br");
    allowed.then(|| format!("<{}{name}>", if close { "/" } else { "" }))
}

/// The raw HTML of a lesson body that shows as text (everything but [`ALLOWED_TAGS`]), each
/// piece trimmed, for the content check to report.
pub fn raw_html_shown_as_text(body: &str) -> Vec<String> {
    let markdown = without_directives(body);
    let mut shown = vec![];
    for event in parser(&markdown) {
        if let Event::Html(html) | Event::InlineHtml(html) = event {
            for piece in raw_pieces(&html) {
                if let RawPiece::Text(text) = piece {
                    if text.trim_start().starts_with('<') {
                        shown.push(text.trim().to_string());
                    }
                }
            }
        }
    }
    shown
}

/// Markdown → HTML with the next of `anchors` on each heading, safe by construction (see
/// [`render`]).
fn to_safe_html_with(markdown: &str, anchors: &mut dyn Iterator<Item = String>) -> String {
    // Links cannot nest in CommonMark, so one flag says whether the open link was dropped.
    let mut dropped_link = false;
    let mut dropped_images = 0usize;
    let mut events = vec![];
    for event in parser(markdown) {
        match event {
            Event::Start(Tag::Heading {
                level,
                id: _,
                classes,
                attrs,
            }) => events.push(Event::Start(Tag::Heading {
                level,
                id: anchors
                    .next()
                    .map(|a| CowStr::from(format!("{ANCHOR_PREFIX}{a}"))),
                classes,
                attrs,
            })),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) => {
                let url = match link_type {
                    LinkType::Email => format!("mailto:{dest_url}"),
                    _ => dest_url.to_string(),
                };
                dropped_link = !safe_url(&url, true);
                if !dropped_link {
                    events.push(Event::InlineHtml(CowStr::from(link_tag(&url, &title))));
                }
            }
            Event::End(TagEnd::Link) if dropped_link => dropped_link = false,
            // A dropped image leaves its alt text, as text.
            Event::Start(Tag::Image { ref dest_url, .. }) if !safe_url(dest_url, false) => {
                dropped_images += 1
            }
            Event::End(TagEnd::Image) if dropped_images > 0 => dropped_images -= 1,
            // Column alignment would be a style attribute, which the page's CSP refuses.
            Event::Start(Tag::Table(columns)) => events.push(Event::Start(Tag::Table(
                columns.iter().map(|_| Alignment::None).collect(),
            ))),
            Event::Html(html) | Event::InlineHtml(html) => {
                for piece in raw_pieces(&html) {
                    events.push(match piece {
                        RawPiece::Allowed(tag) => Event::InlineHtml(CowStr::from(tag)),
                        RawPiece::Text(text) => Event::Text(CowStr::from(text.to_string())),
                    });
                }
            }
            other => events.push(other),
        }
    }
    let mut out = String::new();
    html::push_html(&mut out, events.into_iter());
    out
}

/// The opening tag of a link the renderer allowed: it opens in a new tab (it leads away from
/// the exercise, and a new tab keeps the learner's work) without handing the new page a
/// reference to this one.
fn link_tag(url: &str, title: &str) -> String {
    let mut tag = String::from("<a href=\"");
    pulldown_cmark_escape::escape_href(&mut tag, url).expect("writing to a String");
    if !title.is_empty() {
        tag.push_str("\" title=\"");
        pulldown_cmark_escape::escape_html(&mut tag, title).expect("writing to a String");
    }
    tag.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\">");
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Intro text with `code`.\n\n## Reading the curves\n\nHealthy *loss*.\n\n{{#exercise train}}\n\n## Reading the curves\n\nAgain.\n\n### ε & δ!\n\n## ???\n\nLast.\n";

    #[test]
    fn safe_url_allows_relative_and_web_urls_only() {
        for ok in [
            "chart.png",
            "../x/y.png",
            "#/lesson/fgsm",
            "?q=1",
            "/abs",
            "https://a.example/b:c",
            "HTTP://a.example",
            "x/y:z",
        ] {
            assert!(safe_url(ok, false), "{ok}");
        }
        assert!(safe_url("mailto:a@b.example", true));
        assert!(!safe_url("mailto:a@b.example", false));
        for bad in [
            "javascript:alert(1)",
            " JavaScript:x",
            "java\tscript:x",
            "java\nscript:x",
            "\u{1}javascript:x",
            "data:text/html,x",
            "vbscript:x",
            "file:///etc/passwd",
        ] {
            assert!(!safe_url(bad, true), "{bad:?}");
        }
    }

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
        // Raw HTML shows as text; the allowed tags are written afresh.
        assert_eq!(
            to_safe_html("<h2 id=\"x\" onclick=\"alert(1)\">T</h2><script>x()</script>"),
            r#"&lt;h2 id="x" onclick="alert(1)"&gt;T&lt;/h2&gt;&lt;script&gt;x()&lt;/script&gt;"#
        );
        assert_eq!(
            to_safe_html("Press <KBD>Enter</kbd >, <br/> <kbd class=x>no</kbd>"),
            "<p>Press <kbd>Enter</kbd>, <br> &lt;kbd class=x&gt;no</kbd></p>\n"
        );
    }
}
