//! Lesson markdown → sanitised HTML, split around `{{#exercise id}}` directives so the UI can
//! put a live exercise component where the author placed it.

use pulldown_cmark::{html, Options, Parser};

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

/// Renders a lesson body. Raw HTML in the markdown is sanitised (ammonia): no script, event
/// handler, `javascript:` URL, iframe, form or style survives, so lesson text cannot run code.
pub fn render(body: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut chunk = String::new();
    let flush = |chunk: &mut String, segments: &mut Vec<Segment>| {
        if !chunk.trim().is_empty() {
            segments.push(Segment::Html(to_safe_html(chunk)));
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
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut raw = String::new();
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer"))
        // Lesson links lead away from the exercise; a new tab keeps the learner's work.
        .set_tag_attribute_value("a", "target", "_blank")
        .clean(&raw)
        .to_string()
}
