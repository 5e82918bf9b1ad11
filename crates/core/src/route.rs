//! The lab's addresses: the part of a URL after `#`, so that a deep link works on any static host
//! without rewrites and a plain `<a href="#/lesson/fgsm">` (a lesson's own markdown has them)
//! navigates without any script. The page reads the route from `location.hash`; the
//! instructors' module gets it as this text.
//!
//! Each segment is percent-decoded when read (a browser's address bar encodes what is not
//! ASCII) and encoded when written: a section anchor keeps a heading's letters, so `ε-δ` is
//! written `%CE%B5-%CE%B4`. Lesson ids and workshop links never need it.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, CONTROLS};

/// One page of the lab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/`, and an empty fragment.
    Home,
    /// `/lesson/<id>`
    Lesson { id: String },
    /// `/lesson/<id>/<section>`: a lesson opened at one of its sections (a table of contents, a
    /// search hit).
    LessonSection { id: String, section: String },
    /// `/search`
    Search,
    /// `/workshop/new`
    WorkshopNew,
    /// `/w/<link>`
    Workshop { link: String },
    /// `/w/<link>/lesson/<id>`
    WorkshopLesson { link: String, id: String },
    /// `/w/<link>/lesson/<id>/<section>`
    WorkshopLessonSection {
        link: String,
        id: String,
        section: String,
    },
    /// `/w/<link>/class`
    WorkshopClass { link: String },
    /// `/class`
    Class,
    /// `/receipt`
    Receipt,
    /// Any other address (and `/not-found`).
    NotFound,
}

/// What a segment written into a route must encode: what would end it or the fragment, or
/// change how it reads.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

impl Route {
    /// The route a fragment names (with or without its `#`). One trailing `/` is allowed; a
    /// query (`?…`) and a second fragment (`#…`) are ignored; an empty segment or any other
    /// shape is [`Route::NotFound`].
    pub fn parse(fragment: &str) -> Route {
        let path = fragment.strip_prefix('#').unwrap_or(fragment);
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let path = path.strip_prefix('/').unwrap_or(path);
        let path = path.strip_suffix('/').unwrap_or(path);
        if path.is_empty() {
            return Route::Home;
        }
        let segments: Vec<String> = path
            .split('/')
            .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        if segments.iter().any(String::is_empty) {
            return Route::NotFound;
        }
        let to = String::from;
        match segments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["lesson", id] => Route::Lesson { id: to(id) },
            ["lesson", id, section] => Route::LessonSection {
                id: to(id),
                section: to(section),
            },
            ["search"] => Route::Search,
            ["workshop", "new"] => Route::WorkshopNew,
            ["w", link] => Route::Workshop { link: to(link) },
            ["w", link, "lesson", id] => Route::WorkshopLesson {
                link: to(link),
                id: to(id),
            },
            ["w", link, "lesson", id, section] => Route::WorkshopLessonSection {
                link: to(link),
                id: to(id),
                section: to(section),
            },
            ["w", link, "class"] => Route::WorkshopClass { link: to(link) },
            ["class"] => Route::Class,
            ["receipt"] => Route::Receipt,
            ["not-found"] => Route::NotFound,
            _ => Route::NotFound,
        }
    }

    /// The route's path, `/lesson/fgsm`: what follows the `#`.
    pub fn path(&self) -> String {
        let parts: Vec<&str> = match self {
            Route::Home => vec![],
            Route::Lesson { id } => vec!["lesson", id],
            Route::LessonSection { id, section } => vec!["lesson", id, section],
            Route::Search => vec!["search"],
            Route::WorkshopNew => vec!["workshop", "new"],
            Route::Workshop { link } => vec!["w", link],
            Route::WorkshopLesson { link, id } => vec!["w", link, "lesson", id],
            Route::WorkshopLessonSection { link, id, section } => {
                vec!["w", link, "lesson", id, section]
            }
            Route::WorkshopClass { link } => vec!["w", link, "class"],
            Route::Class => vec!["class"],
            Route::Receipt => vec!["receipt"],
            Route::NotFound => vec!["not-found"],
        };
        if parts.is_empty() {
            return "/".into();
        }
        parts
            .iter()
            .map(|p| format!("/{}", utf8_percent_encode(p, SEGMENT)))
            .collect()
    }

    /// The route as a link's `href`: `#/lesson/fgsm`.
    pub fn href(&self) -> String {
        format!("#{}", self.path())
    }

    /// The section a route opens a lesson at, if any.
    pub fn section(&self) -> Option<&str> {
        match self {
            Route::LessonSection { section, .. } | Route::WorkshopLessonSection { section, .. } => {
                Some(section)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Route;

    fn s(x: &str) -> String {
        x.to_string()
    }

    /// Every route, each with the path it is written as.
    fn every_route() -> Vec<(Route, &'static str)> {
        vec![
            (Route::Home, "/"),
            (Route::Lesson { id: s("fgsm") }, "/lesson/fgsm"),
            (
                Route::LessonSection {
                    id: s("fgsm"),
                    section: s("why-the-sign"),
                },
                "/lesson/fgsm/why-the-sign",
            ),
            (Route::Search, "/search"),
            (Route::WorkshopNew, "/workshop/new"),
            (
                Route::Workshop {
                    link: s("w1.eJw_-x.0a1b2c3d"),
                },
                "/w/w1.eJw_-x.0a1b2c3d",
            ),
            (
                Route::WorkshopLesson {
                    link: s("w1.abc.01234567"),
                    id: s("fgsm"),
                },
                "/w/w1.abc.01234567/lesson/fgsm",
            ),
            (
                Route::WorkshopLessonSection {
                    link: s("w1.abc.01234567"),
                    id: s("fgsm"),
                    section: s("the-goal"),
                },
                "/w/w1.abc.01234567/lesson/fgsm/the-goal",
            ),
            (
                Route::WorkshopClass {
                    link: s("w1.abc.01234567"),
                },
                "/w/w1.abc.01234567/class",
            ),
            (Route::Class, "/class"),
            (Route::Receipt, "/receipt"),
            (Route::NotFound, "/not-found"),
        ]
    }

    #[test]
    fn every_route_is_written_and_read_back() {
        for (route, path) in every_route() {
            assert_eq!(route.path(), path, "{route:?}");
            assert_eq!(route.href(), format!("#{path}"));
            assert_eq!(Route::parse(path), route, "{path}");
            assert_eq!(Route::parse(&route.href()), route, "{path}");
        }
    }

    #[test]
    fn a_fragment_reads_as_a_browser_gives_it() {
        for home in ["", "#", "/", "#/"] {
            assert_eq!(Route::parse(home), Route::Home, "{home:?}");
        }
        // One trailing slash, and a query, are allowed.
        assert_eq!(Route::parse("#/search/"), Route::Search);
        assert_eq!(Route::parse("#/search?q=fgsm"), Route::Search);
        assert_eq!(
            Route::parse("#/lesson/fgsm#top"),
            Route::Lesson { id: s("fgsm") }
        );
        assert_eq!(Route::parse("lesson/fgsm"), Route::Lesson { id: s("fgsm") });
        // The address bar encodes what is not ASCII; it is decoded, and encoded when written.
        let section = Route::LessonSection {
            id: s("fgsm"),
            section: s("épsilon and #1"),
        };
        assert_eq!(section.path(), "/lesson/fgsm/%C3%A9psilon%20and%20%231");
        assert_eq!(Route::parse(&section.href()), section);
        let heading = Route::LessonSection {
            id: s("dp-sgd"),
            section: s("ε-δ"),
        };
        assert_eq!(heading.path(), "/lesson/dp-sgd/%CE%B5-%CE%B4");
        assert_eq!(Route::parse(&heading.href()), heading);
        assert_eq!(
            Route::parse("#/lesson/fgsm/%C3%A9psilon"),
            Route::LessonSection {
                id: s("fgsm"),
                section: s("épsilon")
            }
        );
    }

    #[test]
    fn any_other_shape_is_not_found() {
        for path in [
            "#/nowhere",
            "#/lesson",
            "#/lesson/",
            "#/lesson//x",
            "#/lesson/a/b/c",
            "#/workshop",
            "#/workshop/old",
            "#/w",
            "#/w/link/lesson",
            "#/w/link/lessons/fgsm",
            "#/w/link/class/x",
            "#/class/x",
            "#/Search",
        ] {
            assert_eq!(Route::parse(path), Route::NotFound, "{path}");
        }
    }

    #[test]
    fn only_sections_have_a_section() {
        for (route, _) in every_route() {
            let expected = matches!(
                route,
                Route::LessonSection { .. } | Route::WorkshopLessonSection { .. }
            );
            assert_eq!(route.section().is_some(), expected, "{route:?}");
        }
    }
}
