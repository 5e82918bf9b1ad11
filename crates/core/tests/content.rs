//! The course format (lessons/FORMAT.md): parsing, the static checks `check-content` relies
//! on, and markdown rendering that splits at directives and can never run code.

mod common;

use common::*;
use mlsec_core::course::{check, neighbours, parse_course, parse_lesson, valid_id, Course, Lesson};
use mlsec_core::kinds::Task;

use mlsec_core::markdown::{directive, render, to_safe_html, Segment};
use mlsec_core::Error;

fn shipped() -> (Course, Vec<Lesson>) {
    course().clone()
}

fn lesson_mut<'a>(lessons: &'a mut [Lesson], id: &str) -> &'a mut Lesson {
    lessons.iter_mut().find(|l| l.id == id).unwrap()
}

/// Asserts some problem contains every one of `parts`.
fn assert_problem(problems: &[String], parts: &[&str]) {
    assert!(
        problems
            .iter()
            .any(|p| parts.iter().all(|part| p.contains(part))),
        "no problem mentions {parts:?}; problems: {problems:#?}"
    );
}

fn content_error(result: mlsec_core::Result<Lesson>) -> String {
    match result {
        Err(Error::Content(msg)) => msg,
        Err(other) => panic!("expected Error::Content, got {other:?}"),
        Ok(l) => panic!("accepted lesson '{}'", l.id),
    }
}

// ---------------------------------------------------------------- the shipped course

#[test]
fn shipped_course_has_no_problems() {
    let (course, lessons) = course();
    let problems = check(course, lessons);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        lessons.len(),
        course.tracks.iter().map(|t| t.lessons.len()).sum::<usize>()
    );
    assert!(exercises().len() >= 5);
    for lesson in lessons {
        assert!(
            !lesson.exercises.is_empty(),
            "lesson {} has no exercise",
            lesson.id
        );
        assert!(!lesson.meta.title.is_empty() && !lesson.body.is_empty());
        assert!(
            !lesson.body.starts_with("+++"),
            "{}: front matter left in the body",
            lesson.id
        );
    }
}

#[test]
fn shipped_lessons_render_their_exercises_in_place() {
    let (_, lessons) = course();
    for lesson in lessons {
        let segments = render(&lesson.body);
        let placed: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Exercise(id) => Some(id.as_str()),
                Segment::Html(_) => None,
            })
            .collect();
        let declared: Vec<&str> = lesson.exercises.iter().map(|e| e.id.as_str()).collect();
        let mut sorted = placed.clone();
        sorted.sort();
        let mut want = declared.clone();
        want.sort();
        assert_eq!(sorted, want, "lesson {}", lesson.id);
        assert!(
            matches!(segments[0], Segment::Html(_)),
            "lesson {} starts with prose",
            lesson.id
        );
        for s in &segments {
            if let Segment::Html(html) = s {
                assert!(
                    !html.contains("{{#exercise"),
                    "lesson {}: a directive leaked",
                    lesson.id
                );
            }
        }
    }
}

// ---------------------------------------------------------------- check()

#[test]
fn check_reports_a_duplicate_id() {
    // An exercise reusing another lesson's exercise id.
    let (course, mut lessons) = shipped();
    let taken = lessons[0].exercises[0].id.clone();
    let victim = lesson_mut(&mut lessons, "fgsm");
    let old = victim.exercises[0].id.clone();
    victim.exercises[0].id = taken.clone();
    victim.body = victim.body.replace(&old, &taken);
    assert_problem(&check(&course, &lessons), &[&taken, "used twice"]);

    // An exercise named like a lesson: lessons and exercises share one namespace.
    let (course, mut lessons) = shipped();
    let victim = lesson_mut(&mut lessons, "fgsm");
    let old = victim.exercises[0].id.clone();
    victim.exercises[0].id = "first-model".into();
    victim.body = victim.body.replace(&old, "first-model");
    assert_problem(&check(&course, &lessons), &["first-model", "used twice"]);

    // A track named like a lesson.
    let (mut course, lessons) = shipped();
    course.tracks[0].id = "fgsm".into();
    assert_problem(&check(&course, &lessons), &["fgsm", "used twice"]);
}

#[test]
fn check_reports_an_exercise_placed_twice_or_not_at_all() {
    let (course, mut lessons) = shipped();
    let lesson = lesson_mut(&mut lessons, "fgsm");
    lesson.body.push_str("\n{{#exercise fgsm-untargeted}}\n");
    assert_problem(
        &check(&course, &lessons),
        &["fgsm-untargeted", "placed 2 times"],
    );

    let (course, mut lessons) = shipped();
    let lesson = lesson_mut(&mut lessons, "fgsm");
    lesson.body = lesson.body.replace("{{#exercise fgsm-untargeted}}", "");
    assert_problem(
        &check(&course, &lessons),
        &["fgsm-untargeted", "placed 0 times"],
    );
}

#[test]
fn check_reports_a_directive_naming_a_missing_exercise() {
    let (course, mut lessons) = shipped();
    lesson_mut(&mut lessons, "pgd-targeted")
        .body
        .push_str("\n{{#exercise ghost-exercise}}\n");
    assert_problem(
        &check(&course, &lessons),
        &["pgd-targeted", "ghost-exercise", "lacks"],
    );
    // An exercise of *another* lesson does not count as this lesson's.
    let (course, mut lessons) = shipped();
    lesson_mut(&mut lessons, "pgd-targeted")
        .body
        .push_str("\n{{#exercise fgsm-untargeted}}\n");
    assert_problem(
        &check(&course, &lessons),
        &["pgd-targeted", "fgsm-untargeted", "lacks"],
    );
}

#[test]
fn check_reports_empty_and_missing_hints() {
    let (course, mut lessons) = shipped();
    lessons[1].exercises[0].hints[1] = "   ".into();
    assert_problem(
        &check(&course, &lessons),
        &[&lessons[1].exercises[0].id, "hint 2 is empty"],
    );
    let (course, mut lessons) = shipped();
    lessons[2].exercises[0].hints.clear();
    assert_problem(
        &check(&course, &lessons),
        &[&lessons[2].exercises[0].id, "no hints"],
    );
}

#[test]
fn check_reports_invalid_ids() {
    for bad in ["Fgsm_Untargeted", "fgsm untargeted", "", "ünïcode"] {
        let (course, mut lessons) = shipped();
        let lesson = lesson_mut(&mut lessons, "fgsm");
        lesson.exercises[0].id = bad.into();
        assert_problem(
            &check(&course, &lessons),
            &[&format!("'{bad}'"), "must be 1–64"],
        );
    }
    let (mut course, mut lessons) = shipped();
    let long = "l".repeat(65);
    course.tracks[1].lessons[1] = long.clone();
    lesson_mut(&mut lessons, "evasion-by-hand").id = long.clone();
    assert_problem(&check(&course, &lessons), &[&long, "must be 1–64"]);
}

#[test]
fn check_reports_course_structure_problems() {
    let (mut course, lessons) = shipped();
    course.tracks[1].lessons.push("no-such-lesson".into());
    assert_problem(
        &check(&course, &lessons),
        &["no-such-lesson", "does not exist"],
    );

    let (mut course, lessons) = shipped();
    course.tracks[0].lessons.push("fgsm".into());
    assert_problem(&check(&course, &lessons), &["fgsm", "listed by 2 tracks"]);

    let (mut course, lessons) = shipped();
    course.tracks[1].lessons.retain(|l| l != "fgsm");
    assert_problem(&check(&course, &lessons), &["fgsm", "listed by 0 tracks"]);

    let (mut course, lessons) = shipped();
    course.tracks[0].lessons.clear();
    assert_problem(&check(&course, &lessons), &["lists no lessons"]);

    let (course, mut lessons) = shipped();
    lessons[0].meta.title = " ".into();
    assert_problem(&check(&course, &lessons), &["empty title"]);
    let (course, mut lessons) = shipped();
    lessons[0].exercises[0].goal = "".into();
    assert_problem(&check(&course, &lessons), &["needs a title and a goal"]);
}

#[test]
fn check_reports_insane_task_numbers() {
    let (course, mut lessons) = shipped();
    for lesson in lessons.iter_mut() {
        for ex in lesson.exercises.iter_mut() {
            match &mut ex.task {
                Task::Fgsm(p) => p.task.min_success = 1.5,
                Task::PgdTargeted(p) => p.task.target_class = p.task.source_class,
                Task::PixelAttack(p) => p.task.image_index = 360,
                Task::TrainClassifier(p) => p.task.min_test_accuracy = f32::NAN,
                Task::AdversarialTraining(p) => p.task.epsilon = -0.1,
                Task::PromptInjection(p) if ex.id == "leak-the-code" => p.task.scenarios = 0,
                Task::PromptInjection(p) => p.task.min_success = f32::INFINITY,
                Task::DefendInjection(p) => p.task.max_utility_drop = -0.5,
                Task::LabelFlip(p) => p.task.max_recall = 2.0,
                Task::Backdoor(p) => p.task.max_trigger_pixels = 0,
                Task::FindPoisons(p) => p.task.max_success = f32::NAN,
                Task::SpamBackdoor(p) => p.task.recipe.learning_rate = f64::NAN,
                Task::MembershipThreshold(p) => p.task.members = 5,
                Task::ShadowModels(p) => p.task.pool = 501,
                Task::DpSgd(p) => p.task.delta = 0.01,
                Task::ModelInversion(p) => p.task.min_recognised = 11,
                Task::AttributeInference(p) => p.task.attribute = "salary".into(),
                Task::TokenSearch(p) => p.task.search_seed = p.task.seed,
            }
        }
    }
    let problems = check(&course, &lessons);
    assert_problem(&problems, &["fgsm-untargeted", "min_success"]);
    assert_problem(&problems, &["pgd-3-to-8", "two different digits"]);
    assert_problem(&problems, &["pixel-attack-by-hand", "image_index"]);
    assert_problem(&problems, &["train-digits", "min_test_accuracy"]);
    assert_problem(&problems, &["adv-train-robust", "epsilon"]);
    assert_problem(&problems, &["leak-the-code", "scenarios must be 1–64"]);
    assert_problem(&problems, &["poisoned-document", "min_success"]);
    assert_problem(&problems, &["flip-the-sevens", "max_recall"]);
    assert_problem(
        &problems,
        &["plant-a-backdoor", "max_trigger_pixels must be 1–64"],
    );
    assert_problem(&problems, &["image-exfiltration", "min_success"]);
    assert_problem(&problems, &["defend-the-inbox", "max_utility_drop"]);
    assert_problem(&problems, &["evade-the-detector", "min_success"]);
    assert_problem(&problems, &["search-a-suffix", "search_seed must differ"]);
    assert_problem(
        &problems,
        &[
            "poison-the-spam-filter",
            "recipe.learning_rate must be in (0, 10]",
        ],
    );
    assert_problem(&problems, &["loss-threshold", "members must be 10–718"]);
    assert_problem(
        &problems,
        &["shadow-lira", "pool must be an even number 20–1437"],
    );
    assert_problem(
        &problems,
        &[
            "dp-sgd-defence",
            "delta must be above 0 and below 1 / members = 1/500",
        ],
    );
    assert_problem(
        &problems,
        &["invert-the-digits", "min_recognised must be 1–10"],
    );
    assert_problem(
        &problems,
        &["infer-marital-status", "no attribute \"salary\""],
    );
    assert_eq!(problems.len(), 20, "{problems:#?}");
}

#[test]
fn valid_ids() {
    for ok in ["a", "fgsm-untargeted", "pgd-3-to-8", "0", &"x".repeat(64)] {
        assert!(valid_id(ok), "{ok}");
    }
    for bad in [
        "",
        "A",
        "a_b",
        "a b",
        "a.b",
        "a/b",
        "é",
        "<script>",
        &"x".repeat(65),
    ] {
        assert!(!valid_id(bad), "{bad}");
    }
}

// ---------------------------------------------------------------- parsing

#[test]
fn parse_lesson_errors_name_the_file() {
    let (md, ex) = lesson_files("first-model");
    let body = md.splitn(3, "+++").nth(2).unwrap();
    let msg = content_error(parse_lesson("first-model", body, &ex));
    assert!(
        msg.contains("first-model/lesson.md") && msg.contains("+++"),
        "{msg}"
    );
    // Front matter opened but never closed.
    let unclosed = md.replacen("\n+++\n", "\n\n", 1);
    assert!(unclosed.starts_with("+++\n") && unclosed.matches("+++").count() == 1);
    let msg = content_error(parse_lesson("first-model", &unclosed, &ex));
    assert!(
        msg.contains("first-model/lesson.md") && msg.contains("not closed"),
        "{msg}"
    );
    // Bad TOML, and an unknown key, in the front matter.
    let msg = content_error(parse_lesson(
        "first-model",
        &md.replacen("title =", "title ==", 1),
        &ex,
    ));
    assert!(msg.contains("first-model/lesson.md front matter"), "{msg}");
    let msg = content_error(parse_lesson(
        "first-model",
        &md.replacen("+++\n", "+++\nauthor = \"me\"\n", 1),
        &ex,
    ));
    assert!(
        msg.contains("first-model/lesson.md") && msg.contains("author"),
        "{msg}"
    );
    // exercises.toml problems name that file.
    let msg = content_error(parse_lesson("first-model", &md, "[[exercise]]\nid = 3"));
    assert!(msg.contains("first-model/exercises.toml"), "{msg}");
}

#[test]
fn exercises_toml_refuses_unknown_kinds_and_keys() {
    let (md, ex) = lesson_files("fgsm");
    assert!(parse_lesson("fgsm", &md, &ex).is_ok());
    let msg = content_error(parse_lesson(
        "fgsm",
        &md,
        &ex.replace("kind = \"fgsm\"", "kind = \"fgsm2\""),
    ));
    assert!(msg.contains("fgsm/exercises.toml"), "{msg}");
    // A misspelt key must not be silently ignored (here: a typo for a task key).
    let typo = ex.replace("min_success = 0.9", "min_success = 0.9\nmin_sucess = 0.5");
    assert_ne!(typo, ex);
    content_error(parse_lesson("fgsm", &md, &typo));
    let typo = ex.replace(
        "[exercise.task.solution]\n",
        "[exercise.task.solution]\nepsilonn = 0.1\n",
    );
    assert_ne!(typo, ex);
    content_error(parse_lesson("fgsm", &md, &typo));
    let typo = ex.replace("solution_notes =", "solution_note = \"\"\nsolution_notes =");
    content_error(parse_lesson("fgsm", &md, &typo));
    // A missing required key.
    let missing = ex.replace("epsilon_budget = 0.2\n", "");
    assert_ne!(missing, ex);
    content_error(parse_lesson("fgsm", &md, &missing));
}

#[test]
fn parse_lesson_accepts_bom_crlf_and_no_exercises() {
    let (md, ex) = lesson_files("fgsm");
    let plain = parse_lesson("fgsm", &md, &ex).unwrap();
    let windows = format!("\u{feff}{}", md.replace('\n', "\r\n"));
    let parsed = parse_lesson("fgsm", &windows, &ex).unwrap();
    assert_eq!(parsed.meta, plain.meta);
    assert_eq!(parsed.body, plain.body);
    assert_eq!(parsed.exercises, plain.exercises);
    // exercises.toml may be missing (lab.rs reads it as empty).
    assert!(parse_lesson("fgsm", &md, "").unwrap().exercises.is_empty());
    // Front matter closed at the very end of the file: an empty body.
    let only_meta = parse_lesson("x", "+++\ntitle = \"T\"\n+++", "").unwrap();
    assert_eq!(only_meta.meta.title, "T");
    assert_eq!(only_meta.body, "");
    // The body begins after the closing line, with the metadata it declared.
    let l = parse_lesson(
        "x",
        "+++\ntitle = \"T\"\nminutes = 5\n+++\n# Head\n\ntext +++ more\n",
        "",
    )
    .unwrap();
    assert_eq!(l.meta.minutes, 5);
    assert_eq!(l.body, "# Head\n\ntext +++ more\n");
}

#[test]
fn parse_course_reads_the_shipped_course_and_refuses_unknown_keys() {
    let course = parse_course(&course_text()).unwrap();
    let ids: Vec<&str> = course.tracks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "foundations",
            "evasion",
            "poisoning",
            "privacy",
            "injection"
        ]
    );
    assert_eq!(course.tracks[0].lessons, ["first-model"]);
    let bad = course_text().replacen("[[tracks]]", "[[tracks]]\ncolour = \"red\"", 1);
    match parse_course(&bad) {
        Err(Error::Content(msg)) => assert!(msg.contains("course.toml"), "{msg}"),
        other => panic!("{other:?}"),
    }
    assert!(parse_course("title = 3").is_err());
}

// ---------------------------------------------------------------- markdown

#[test]
fn directive_must_stand_alone_and_well_formed() {
    assert_eq!(
        directive("{{#exercise fgsm-untargeted}}"),
        Some("fgsm-untargeted")
    );
    assert_eq!(directive("   {{#exercise  a-b }}  "), Some("a-b"));
    for not in [
        "{{#exercisefgsm}}",
        "{{#exercise }}",
        "{{#exercise}}",
        "see {{#exercise fgsm}}",
        "{{#exercise fgsm}} now",
        "{{exercise fgsm}}",
        "{{#exercise fgsm}",
    ] {
        assert_eq!(directive(not), None, "{not}");
    }
}

#[test]
fn render_splits_at_directives() {
    let body =
        "# Intro\n\nSome *prose*.\n\n{{#exercise first}}\n\nMiddle text.\n{{#exercise second}}\n";
    let segments = render(body);
    assert_eq!(segments.len(), 4, "{segments:?}");
    match &segments[0] {
        Segment::Html(h) => assert!(
            h.contains(r#"<h1 id="sec-intro">Intro</h1>"#) && h.contains("<em>prose</em>"),
            "{h}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(segments[1], Segment::Exercise("first".into()));
    match &segments[2] {
        Segment::Html(h) => assert!(h.contains("Middle text."), "{h}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(segments[3], Segment::Exercise("second".into()));
    // Blank chunks make no segments; adjacent directives stay separate.
    assert_eq!(
        render("{{#exercise a}}\n\n{{#exercise b}}"),
        vec![Segment::Exercise("a".into()), Segment::Exercise("b".into())]
    );
    assert!(render("").is_empty());
}

#[test]
fn render_keeps_ordinary_markdown() {
    let html = to_safe_html("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~ **bold** `x < y`\n\n```\n<script>code</script>\n```\n");
    assert!(
        html.contains("<table>") && html.contains("<td>1</td>"),
        "{html}"
    );
    assert!(
        html.contains("<del>old</del>") && html.contains("<strong>bold</strong>"),
        "{html}"
    );
    assert!(html.contains("<code>x &lt; y</code>"), "{html}");
    // Code about scripts is shown, escaped, not dropped or run.
    assert!(html.contains("&lt;script&gt;code&lt;/script&gt;"), "{html}");
}

const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<img src=\"x\" ONERROR=\"alert(1)\">",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&#58;alert(1))",
    "![i](javascript:alert(1))",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\">",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<div style=\"background:url(javascript:alert(1))\" onclick=\"alert(1)\">x</div>",
    "<style>body{display:none}</style>",
    "<form action=\"https://evil.example\"><input name=p></form>",
    "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
    "<base href=\"https://evil.example/\">",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
];

/// Every tag in `html` is one the renderer writes, with only the attributes it writes, and no
/// link or image leads to a script: the lesson's own text shows escaped (`&lt;`), so any `<`
/// left is a real tag.
fn assert_inert(html: &str, source: &str) {
    const TAGS: &[&str] = &[
        "p",
        "a",
        "img",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "em",
        "strong",
        "del",
        "code",
        "pre",
        "ul",
        "ol",
        "li",
        "blockquote",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "hr",
        "br",
        "details",
        "summary",
        "kbd",
        "sub",
        "sup",
        "mark",
    ];
    const ATTRIBUTES: &[&str] = &[
        "href", "title", "src", "alt", "id", "target", "rel", "class", "start",
    ];
    for tag in html.split('<').skip(1) {
        let tag = &tag[..tag
            .find('>')
            .unwrap_or_else(|| panic!("unclosed tag in {html}"))];
        let tag = tag.trim_start_matches('/').trim_end_matches('/').trim();
        let mut words = tag.split_whitespace();
        let name = words.next().unwrap_or("");
        assert!(
            TAGS.contains(&name),
            "<{name}> came out of {source:?}: {html}"
        );
        let attributes = tag[name.len()..].trim();
        // Attribute values are quoted by the writer: split on `"` and read every other part.
        for (k, part) in attributes.split('"').enumerate() {
            if k % 2 == 0 {
                let attr = part.trim().trim_end_matches('=');
                assert!(
                    attr.is_empty() || ATTRIBUTES.contains(&attr),
                    "attribute '{attr}' came out of {source:?}: {html}"
                );
            } else {
                let value = part.to_ascii_lowercase();
                assert!(
                    !value.contains("javascript:") && !value.starts_with("data:"),
                    "'{value}' came out of {source:?}: {html}"
                );
            }
        }
    }
}

#[test]
fn render_sanitises_hostile_html_and_links() {
    for source in HOSTILE {
        let body = format!("Before.\n\n{source}\n\nAfter.\n");
        let segments = render(&body);
        assert!(!segments.is_empty());
        for s in &segments {
            match s {
                Segment::Html(html) => {
                    assert_inert(html, source);
                    assert!(
                        html.contains("Before.") && html.contains("After."),
                        "{html}"
                    );
                }
                Segment::Exercise(id) => panic!("{source:?} produced an exercise '{id}'"),
            }
        }
        assert_inert(&to_safe_html(source), source);
    }
    // Inline, inside other markup.
    assert_inert(
        &to_safe_html("* item <img src=x onerror=alert(1)> and [a](javascript:alert(1))"),
        "list",
    );
}

#[test]
fn raw_html_shows_as_text_and_plain_tags_links_and_images_survive() {
    let html = to_safe_html(
        "<script>alert(1)</script>\n\nPress <kbd>Enter</kbd>. See [the lab](#/lesson/fgsm), <mail@example.org>, ![a chart](chart.png) and ![x](javascript:alert(1)).\n\n<details>\n\nHidden.\n\n</details>\n",
    );
    // The author sees what they wrote, escaped, rather than losing it silently.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    for kept in [
        "<kbd>Enter</kbd>",
        "<a href=\"#/lesson/fgsm\" target=\"_blank\" rel=\"noopener noreferrer\">the lab</a>",
        "<a href=\"mailto:mail@example.org\"",
        "<img src=\"chart.png\" alt=\"a chart\" />",
        "<details>",
        "</details>",
    ] {
        assert!(html.contains(kept), "{kept} is missing from {html}");
    }
    // A refused image leaves its alt text.
    assert!(html.contains("and x.</p>"), "{html}");
    assert_inert(&html, "mixed");
    // Aligned table columns would need style attributes: the alignment is dropped.
    let table = to_safe_html("| a | b |\n|:--|--:|\n| 1 | 2 |\n");
    assert!(
        table.contains("<th>a</th>") && !table.contains("style"),
        "{table}"
    );
}

#[test]
fn external_links_get_noopener_noreferrer() {
    let html = to_safe_html("See [the paper](https://arxiv.org/abs/1412.6572).");
    assert!(
        html.contains("href=\"https://arxiv.org/abs/1412.6572\""),
        "{html}"
    );
    assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
}

#[test]
fn external_links_open_in_a_new_tab_as_format_md_promises() {
    // lessons/FORMAT.md: "Links to other sites open in a new tab with rel=\"noopener noreferrer\"".
    let html = to_safe_html("See [the paper](https://arxiv.org/abs/1412.6572).");
    assert!(
        html.contains("target=\"_blank\""),
        "external link does not open in a new tab: {html}"
    );
}

#[test]
fn check_reports_a_tag_without_its_edition_or_outside_the_lists() {
    let (course, mut lessons) = shipped();
    lesson_mut(&mut lessons, "fgsm").meta.owasp = vec!["ML01".into()];
    assert_problem(
        &check(&course, &lessons),
        &["fgsm", "'ML01' has no edition"],
    );
    lesson_mut(&mut lessons, "fgsm").meta.owasp = vec!["LLM11:2025".into()];
    assert_problem(&check(&course, &lessons), &["fgsm", "not an entry"]);
    lesson_mut(&mut lessons, "fgsm").meta.owasp = vec!["ML01:2023".into()];
    lesson_mut(&mut lessons, "fgsm").meta.atlas = vec!["AML.T0999".into()];
    assert_problem(&check(&course, &lessons), &["fgsm", "ATLAS v5.6"]);
}

#[test]
fn check_reports_a_lesson_that_sets_a_workshop_instance() {
    let (course, mut lessons) = shipped();
    let fgsm = lesson_mut(&mut lessons, "fgsm");
    fgsm.exercises[0].instance = Some(mlsec_core::workshop::Instance {
        workshop: "abc".into(),
        learner: "Ada".into(),
        index: 1,
    });
    assert_problem(
        &check(&course, &lessons),
        &["fgsm-untargeted", "only a workshop sets"],
    );
}

#[test]
fn check_reports_a_workshop_instance_that_does_not_fit_the_lesson() {
    let (course, mut lessons) = shipped();
    let lesson = lesson_mut(&mut lessons, "find-poisons");
    match &mut lesson.exercises[0].task {
        mlsec_core::kinds::Task::FindPoisons(posed) => posed.task.instances[0].poison_seed = 2,
        _ => panic!("find-the-poisons is a find-poisons exercise"),
    }
    assert_problem(
        &check(&course, &lessons),
        &["find-the-poisons", "another target or trigger"],
    );
}

#[test]
fn every_lesson_leads_to_the_next_in_course_order_across_tracks() {
    let (course, _) = shipped();
    let order = course.lesson_order();
    assert_eq!(
        order.len(),
        course.tracks.iter().map(|t| t.lessons.len()).sum::<usize>()
    );
    // The first lesson has no previous one, the last no next one.
    assert_eq!(
        neighbours(&order, &order[0]),
        (None, Some(order[1].as_str()))
    );
    let last = order.len() - 1;
    assert_eq!(
        neighbours(&order, &order[last]),
        (Some(order[last - 1].as_str()), None)
    );
    // A track's last lesson leads to the next track's first.
    let first_track_last = course.tracks[0].lessons.last().unwrap();
    let second_track_first = &course.tracks[1].lessons[0];
    assert_eq!(
        neighbours(&order, first_track_last).1,
        Some(second_track_first.as_str())
    );
    assert_eq!(
        neighbours(&order, second_track_first).0,
        Some(first_track_last.as_str())
    );
    // Following "next" from the first lesson visits every lesson once, in order.
    let mut walked = vec![order[0].as_str()];
    while let (_, Some(next)) = neighbours(&order, walked.last().unwrap()) {
        walked.push(next);
    }
    assert_eq!(walked, order.iter().map(String::as_str).collect::<Vec<_>>());
    // A lesson outside the order (a deep link to nothing, or one a workshop left out) has none.
    assert_eq!(neighbours(&order, "no-such-lesson"), (None, None));
    let workshop = vec!["fgsm".to_string()];
    assert_eq!(neighbours(&workshop, "fgsm"), (None, None));
}

/// A prediction prompt names a percentage figure of its exercise's graded reference (as saved
/// in the golden grades, which `golden_exercises` keeps equal to a real run): otherwise the
/// learner's answer could never be compared with anything. `mlsec check-content` checks the
/// same against a live run.
#[test]
fn every_prediction_names_a_percentage_the_reference_grade_reports() {
    let (_, lessons) = shipped();
    let mut predicted = 0;
    for exercise in lessons.iter().flat_map(|l| &l.exercises) {
        let Some(predict) = &exercise.predict else {
            continue;
        };
        predicted += 1;
        assert!(
            !predict.question.trim().is_empty(),
            "{}: an empty question",
            exercise.id
        );
        let path = format!(
            "{}/../../tests/golden/exercises/{}.grades.json",
            env!("CARGO_MANIFEST_DIR"),
            exercise.id
        );
        let grades: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let figures = grades["solution"]["figures"].as_array().unwrap();
        assert!(
            figures
                .iter()
                .any(|f| f["label"] == predict.figure.as_str() && f["unit"] == "percent"),
            "{}: the prediction names '{}', which the reference's grade does not report as a percentage: {figures:?}",
            exercise.id,
            predict.figure
        );
    }
    // One exercise of each track asks for a prediction.
    assert!(
        predicted >= 5,
        "only {predicted} exercises ask for a prediction"
    );
}

#[test]
fn check_reports_raw_html_shown_as_text_and_empty_prediction_prompts() {
    let (course, mut lessons) = shipped();
    let fgsm = lesson_mut(&mut lessons, "fgsm");
    fgsm.body.push_str(
        "\nPress <kbd>Enter</kbd>.\n\n<IMG SRC=\"b.png\" ALT=\"a chart\">\n\n![alt text](c.png) and <span>x</span>\n",
    );
    fgsm.exercises[0].predict = Some(mlsec_core::exercise::Predict {
        question: " ".into(),
        figure: "attack success".into(),
    });
    let problems = check(&course, &lessons);
    assert_problem(
        &problems,
        &[
            "lesson 'fgsm' has 3 piece(s) of raw HTML that will show as text",
            "the first `<IMG SRC=\"b.png\" ALT=\"a chart\">`",
        ],
    );
    assert_problem(
        &problems,
        &["exercise 'fgsm-untargeted': its prediction needs a question"],
    );
}

// ---------------------------------------------------------------- the course bundle

fn shipped_sources() -> mlsec_core::course::Sources {
    mlsec_core::course::Sources::read(|file| {
        std::fs::read_to_string(format!("{ROOT}/{file}")).map_err(|e| format!("{file}: {e}"))
    })
    .expect("the shipped course.toml")
    .1
}

#[test]
fn the_bundle_holds_the_shipped_course_as_parsed_and_checked_and_reads_back_the_same() {
    use mlsec_core::course::Bundle;
    let (course, lessons) = shipped();
    let bundle = Bundle::from_sources(&shipped_sources()).unwrap();
    assert_eq!(bundle.course, course);
    let bundled: Vec<Lesson> = bundle
        .lessons
        .iter()
        .map(|(id, l)| {
            let l = l.clone().unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(&l.id, id);
            l
        })
        .collect();
    assert_eq!(bundled, lessons);
    assert_eq!(bundle.problems, check(&course, &lessons));
    // Every lesson comes rendered, as the page would have rendered it itself.
    let rendered: Vec<(String, mlsec_core::markdown::Rendered)> = lessons
        .iter()
        .map(|l| (l.id.clone(), mlsec_core::markdown::Rendered::of(l)))
        .collect();
    assert_eq!(bundle.rendered, rendered);
    let fgsm = &bundle
        .rendered
        .iter()
        .find(|(id, _)| id == "fgsm")
        .unwrap()
        .1;
    assert_eq!(
        fgsm.headings,
        mlsec_core::markdown::headings(&lessons.iter().find(|l| l.id == "fgsm").unwrap().body)
    );
    assert!(fgsm
        .solution_notes("fgsm-untargeted")
        .is_some_and(|n| n.contains("<p>")));
    // What the page reads is what was written, every exercise's numbers included.
    let text = serde_json::to_string(&bundle).unwrap();
    assert_eq!(Bundle::parse(&text), Some(bundle.clone()));
    // Another format, a truncated file or something else entirely is not misread.
    let other = text.replacen(
        &format!("\"format\":{}", Bundle::FORMAT),
        &format!("\"format\":{}", Bundle::FORMAT + 1),
        1,
    );
    assert_ne!(other, text);
    assert_eq!(Bundle::parse(&other), None);
    assert_eq!(Bundle::parse(&text[..text.len() / 2]), None);
    assert_eq!(Bundle::parse("<!doctype html><p>Not found"), None);
}

/// The page holds no TOML or markdown parser: when it must make the course from its files, the
/// course worker reads course.toml's order, builds the bundle and, when asked, the search index.
#[test]
fn the_course_worker_makes_a_course_and_its_search_index_from_the_files() {
    use mlsec_core::course::{Bundle, CourseRequest, CourseResponse};
    let sources = shipped_sources();
    let (course, lessons) = shipped();
    let order = CourseRequest::Order {
        course: sources.course.clone(),
    };
    assert_eq!(
        order.answer(),
        CourseResponse::Order(Ok(course.lesson_order()))
    );
    let broken = CourseRequest::Order {
        course: "[[track]\n".into(),
    }
    .answer();
    assert!(
        matches!(&broken, CourseResponse::Order(Err(e)) if e.contains("course.toml")),
        "{broken:?}"
    );
    let built = CourseRequest::Build {
        sources: sources.clone(),
    };
    assert_eq!(
        built.answer(),
        CourseResponse::Built(Ok(Box::new(Bundle::from_sources(&sources).unwrap())))
    );
    let index = CourseRequest::Search {
        lessons: lessons.clone(),
    };
    let expected = mlsec_core::search::build(&lessons.iter().collect::<Vec<_>>());
    assert_eq!(index.answer(), CourseResponse::Search(Box::new(expected)));
    // What crosses to the worker and back as JSON reads back the same.
    for request in [order, built, index] {
        let text = serde_json::to_string(&request).unwrap();
        assert_eq!(
            serde_json::from_str::<CourseRequest>(&text).unwrap(),
            request
        );
        let answer = request.answer();
        let text = serde_json::to_string(&answer).unwrap();
        assert_eq!(
            serde_json::from_str::<CourseResponse>(&text).unwrap(),
            answer
        );
    }
}

#[test]
fn the_bundle_keeps_a_broken_lesson_as_its_error_and_reports_the_rest() {
    use mlsec_core::course::Bundle;
    let mut sources = shipped_sources();
    let fgsm = sources
        .lessons
        .iter_mut()
        .find(|(id, _)| id == "fgsm")
        .unwrap();
    fgsm.1 = Ok([
        fgsm.1.as_ref().unwrap()[0].clone(),
        "[[exercise]]\nid = \"fgsm-untargeted\"\ntitle = \n".into(),
    ]);
    let gone = sources
        .lessons
        .iter_mut()
        .find(|(id, _)| id == "backdoor")
        .unwrap();
    gone.1 = Err("lessons/backdoor/lesson.md: the server answered 404 Not Found".into());
    let bundle = Bundle::from_sources(&sources).unwrap();
    let error = |id: &str| {
        bundle
            .lessons
            .iter()
            .find(|(l, _)| l == id)
            .unwrap()
            .1
            .clone()
            .unwrap_err()
    };
    assert!(
        error("fgsm").contains("fgsm/exercises.toml"),
        "{}",
        error("fgsm")
    );
    assert!(error("backdoor").contains("404"), "{}", error("backdoor"));
    assert_eq!(
        bundle.lessons.iter().filter(|(_, l)| l.is_ok()).count(),
        sources.lessons.len() - 2
    );
    // The course lists lessons that did not load: the check says so.
    assert_problem(&bundle.problems, &["backdoor", "does not exist"]);
    // A course.toml that does not parse is the one error.
    sources.course = "title = ".into();
    assert!(Bundle::from_sources(&sources)
        .unwrap_err()
        .to_string()
        .contains("course.toml"));
}

#[test]
fn the_sources_fingerprint_changes_with_any_edit_and_only_then() {
    let sources = shipped_sources();
    let base = sources.fingerprint();
    assert_eq!(shipped_sources().fingerprint(), base);
    let mut edits: Vec<mlsec_core::course::Sources> = vec![];
    let mut e = sources.clone();
    e.course.push(' ');
    edits.push(e);
    for file in 0..2 {
        let mut e = sources.clone();
        e.lessons[3].1.as_mut().unwrap()[file].push('.');
        edits.push(e);
    }
    let mut e = sources.clone();
    e.lessons.pop();
    edits.push(e);
    let mut e = sources.clone();
    e.lessons[0].1 = Err("unreadable".into());
    edits.push(e);
    // Text moved from the end of one file to the start of the next.
    let mut e = sources.clone();
    let [md, ex] = e.lessons[0].1.as_mut().unwrap();
    let last = md.pop().unwrap();
    ex.insert(0, last);
    edits.push(e);
    for (n, edit) in edits.iter().enumerate() {
        assert_ne!(edit.fingerprint(), base, "edit {n} kept the fingerprint");
    }
}
