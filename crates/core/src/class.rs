//! The class view's decisions, shared by the browser's class route and `mlsec class`: which of
//! the dropped files are hand-ins of the workshop, what each receipt is graded as (the
//! learner's own instance, the workshop's thresholds), the gradings that are really the same
//! (an identical artefact in an identical instance is graded once), the learner × exercise
//! table, pass rates and figures per exercise, the artefacts that look copied, and the CSV.
//! Grading itself is the caller's (the CLI's threads, the browser's workers): this module never
//! trusts a stored verdict, it only plans and reports.

use crate::course::Lesson;
use crate::exercise::{Artefact, Exercise};
use crate::grade::{Figure, Unit};
use crate::receipt::{Receipt, Verdict};
use crate::sha256_hex;
use crate::workshop::{HandIn, Workshop};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The dropped files, sorted out and planned.
#[derive(Clone, Debug)]
pub struct Class {
    pub workshop: Workshop,
    /// The hand-ins of this workshop, in the order given.
    pub learners: Vec<Learner>,
    /// Files (or receipts in them) that are not graded, each with the reason.
    pub problems: Vec<Problem>,
    /// The distinct gradings: `Cell::job` indexes this.
    pub jobs: Vec<Job>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub file: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct Learner {
    pub name: String,
    pub file: String,
    /// Exercise id → the handed-in receipt.
    pub cells: BTreeMap<String, Cell>,
}

#[derive(Clone, Debug)]
pub struct Cell {
    /// The grading this receipt shares with every identical one (`Class::jobs`); `None` when
    /// the receipt was made for another instance and is forged without grading.
    pub job: Option<usize>,
    /// Why the receipt cannot count for this learner (another learner's, another workshop's).
    pub mismatch: Option<String>,
    /// The receipt's completion code (shown for passes, once re-graded).
    pub code: String,
    /// A digest of the artefact alone, to find the same artefact across learners.
    pub artefact: String,
    /// "reference" or "starter" when the receipt's settings are the lesson's own (which many
    /// learners hand in alike, having pressed "Use reference settings" or run the starter).
    pub lesson_settings: Option<&'static str>,
    /// The learner's instance of the exercise (its variant index).
    pub instance: u32,
}

/// One grading: a receipt in the instance it is graded as, with the learner's name taken out
/// of both (checked beforehand), so that the same artefact for the same task is graded once
/// whoever handed it in.
#[derive(Clone, Debug)]
pub struct Job {
    pub exercise: Exercise,
    pub receipt: Receipt,
}

/// A re-grade as the table shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub verdict: Mark,
    /// The grade's first figure (none for a forged or unreadable receipt).
    pub figure: Option<Figure>,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mark {
    Pass,
    Fail,
    Forged,
    /// The grader could not read or run it.
    Invalid,
}

impl Mark {
    pub fn word(self) -> &'static str {
        match self {
            Mark::Pass => "pass",
            Mark::Fail => "fail",
            Mark::Forged => "forged",
            Mark::Invalid => "invalid",
        }
    }
}

impl Outcome {
    pub fn of(verdict: crate::Result<Verdict>) -> Self {
        match verdict {
            Ok(Verdict::Pass(g)) => Outcome {
                verdict: Mark::Pass,
                figure: g.figures.first().cloned(),
                message: g.message,
            },
            Ok(Verdict::Fail(g)) => Outcome {
                verdict: Mark::Fail,
                figure: g.figures.first().cloned(),
                message: g.message,
            },
            Ok(Verdict::Forged(why)) => Outcome {
                verdict: Mark::Forged,
                figure: None,
                message: why,
            },
            Err(e) => Outcome {
                verdict: Mark::Invalid,
                figure: None,
                message: e.to_string(),
            },
        }
    }
}

impl Class {
    /// Sorts `files` (name, text) into the workshop's hand-ins and problems. The workshop is
    /// `workshop` if given, else a workshop file among `files`, else the one most hand-ins were
    /// made in. Fails only when there is no workshop to grade against.
    pub fn gather(
        workshop: Option<Workshop>,
        files: &[(String, String)],
        lessons: &[Lesson],
    ) -> Result<Class, String> {
        let mut problems = vec![];
        let mut handins = vec![];
        let mut workshop = workshop;
        for (file, text) in files {
            match HandIn::parse(text) {
                Ok(handin) => handins.push((file.clone(), handin)),
                Err(not_handin) => match Workshop::parse(text) {
                    Ok(w) if workshop.is_none() => workshop = Some(w),
                    Ok(w) if Some(&w) == workshop.as_ref() => {}
                    Ok(w) => problems.push(Problem {
                        file: file.clone(),
                        message: format!(
                            "a second workshop file ({}); the class is graded against the first",
                            crate::quoted(&w.title)
                        ),
                    }),
                    Err(_) => problems.push(Problem {
                        file: file.clone(),
                        message: not_handin,
                    }),
                },
            }
        }
        let workshop = match workshop {
            Some(w) => w,
            None => most_common(handins.iter().map(|(_, h)| &h.workshop)).ok_or(
                "no workshop to grade against: drop in the workshop file or at least one hand-in",
            )?,
        };
        for p in workshop.check(lessons) {
            problems.push(Problem {
                file: "the workshop".into(),
                message: p,
            });
        }
        let id = workshop.id();
        let mut class = Class {
            workshop,
            learners: vec![],
            problems,
            jobs: vec![],
        };
        let mut jobs_by_key = BTreeMap::new();
        for (file, handin) in handins {
            if handin.workshop.id() != id {
                class.problems.push(Problem {
                    file,
                    message: format!(
                        "made in another workshop ({}, id {}), not {} (id {id})",
                        crate::quoted(&handin.workshop.title),
                        handin.workshop.id(),
                        crate::quoted(&class.workshop.title),
                    ),
                });
                continue;
            }
            if class.learners.iter().any(|l| l.name == handin.learner) {
                class.problems.push(Problem {
                    file,
                    message: format!(
                        "a second hand-in under the name {}; the first one is graded",
                        crate::quoted(&handin.learner)
                    ),
                });
                continue;
            }
            let mut learner = Learner {
                name: handin.learner.clone(),
                file: file.clone(),
                cells: BTreeMap::new(),
            };
            for receipt in handin.receipts {
                let at = |m: String| Problem {
                    file: file.clone(),
                    message: m,
                };
                let Some(base) = class
                    .workshop
                    .exercises(lessons)
                    .find(|e| e.id == receipt.exercise_id)
                else {
                    class.problems.push(at(format!(
                        "a receipt for {}, which is not an exercise of this workshop",
                        crate::quoted(&receipt.exercise_id)
                    )));
                    continue;
                };
                if learner.cells.contains_key(&base.id) {
                    class.problems.push(at(format!(
                        "a second receipt for '{}'; the first one is graded",
                        base.id
                    )));
                    continue;
                }
                let exercise = match class.workshop.instance(base, &learner.name) {
                    Ok(e) => e,
                    Err(e) => {
                        class
                            .problems
                            .push(at(format!("exercise '{}': {e}", base.id)));
                        continue;
                    }
                };
                let code = class.workshop.code(&learner.name, &receipt);
                let instance = exercise.instance.as_ref().map_or(0, |i| i.index);
                let lesson_settings = if receipt.settings == base.task.solution() {
                    Some("reference")
                } else if receipt.settings == base.task.starter() {
                    Some("starter")
                } else {
                    None
                };
                let artefact = artefact_digest(&receipt.artefact);
                if receipt.variant != exercise.instance {
                    let mismatch = crate::receipt::instance_mismatch(
                        receipt.variant.as_ref(),
                        exercise.instance.as_ref(),
                    );
                    let cell = Cell {
                        job: None,
                        mismatch: Some(mismatch),
                        code,
                        artefact,
                        lesson_settings,
                        instance,
                    };
                    learner.cells.insert(base.id.clone(), cell);
                    continue;
                }
                // The instance matches: grade the task and the receipt without the name.
                let exercise = Exercise {
                    instance: None,
                    ..exercise
                };
                let receipt = Receipt {
                    variant: None,
                    ..receipt
                };
                let key = sha256_hex(
                    format!("{}\0{}", exercise_key(&exercise), receipt.to_json()).as_bytes(),
                );
                let job = *jobs_by_key.entry(key).or_insert_with(|| {
                    class.jobs.push(Job { exercise, receipt });
                    class.jobs.len() - 1
                });
                learner.cells.insert(
                    base.id.clone(),
                    Cell {
                        job: Some(job),
                        mismatch: None,
                        code,
                        artefact,
                        lesson_settings,
                        instance,
                    },
                );
            }
            class.learners.push(learner);
        }
        Ok(class)
    }

    /// What a cell re-graded as: its grading's outcome (once graded), or forged at once when
    /// the receipt was made for another instance.
    pub fn outcome(&self, cell: &Cell, outcomes: &[Option<Outcome>]) -> Option<Outcome> {
        match (&cell.mismatch, cell.job) {
            (Some(why), _) => Some(Outcome {
                verdict: Mark::Forged,
                figure: None,
                message: why.clone(),
            }),
            (None, Some(job)) => outcomes.get(job).cloned().flatten(),
            (None, None) => None,
        }
    }

    /// The workshop's exercise ids and titles, in order.
    pub fn exercises<'a>(&'a self, lessons: &'a [Lesson]) -> Vec<(&'a str, &'a str)> {
        self.workshop
            .exercises(lessons)
            .map(|e| (e.id.as_str(), e.title.as_str()))
            .collect()
    }

    /// Per exercise: how many learners handed it in, how many passed, and each re-graded
    /// figure (learner, value), for the charts and their tables.
    pub fn summary(
        &self,
        lessons: &[Lesson],
        outcomes: &[Option<Outcome>],
    ) -> Vec<ExerciseSummary> {
        self.exercises(lessons)
            .into_iter()
            .map(|(id, title)| {
                let mut s = ExerciseSummary {
                    id: id.into(),
                    title: title.into(),
                    handed_in: 0,
                    passed: 0,
                    figure: None,
                    values: vec![],
                };
                for l in &self.learners {
                    let Some(cell) = l.cells.get(id) else {
                        continue;
                    };
                    s.handed_in += 1;
                    let Some(o) = self.outcome(cell, outcomes) else {
                        continue;
                    };
                    s.passed += u32::from(o.verdict == Mark::Pass);
                    if let Some(f) = &o.figure {
                        s.figure
                            .get_or_insert_with(|| (f.label.clone(), f.unit, f.threshold));
                        s.values.push((l.name.clone(), f.value));
                    }
                }
                s
            })
            .collect()
    }

    /// Learners who handed in the same or nearly the same artefact for an exercise: each group
    /// of identical artefacts once (naming whether it is the lesson's reference, which anyone
    /// who pressed "Use reference settings" hands in), then pairs of near-identical ones.
    pub fn similar(&self) -> Vec<Similar> {
        let mut found = vec![];
        let mut ids: Vec<&String> = self.learners.iter().flat_map(|l| l.cells.keys()).collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            // Groups of one artefact, in the order their first holder handed in.
            let mut groups: Vec<(&Cell, Vec<String>, bool)> = vec![];
            for l in &self.learners {
                let Some(cell) = l.cells.get(id) else {
                    continue;
                };
                match groups
                    .iter_mut()
                    .find(|(c, _, _)| c.artefact == cell.artefact)
                {
                    Some((first, names, one_instance)) => {
                        names.push(l.name.clone());
                        *one_instance &= first.instance == cell.instance;
                    }
                    None => groups.push((cell, vec![l.name.clone()], true)),
                }
            }
            for (cell, names, one_instance) in &groups {
                if names.len() > 1 {
                    // The lesson's own settings give one artefact per instance: alike within
                    // an instance is expected, across instances it is a copy.
                    let lesson_settings = cell.lesson_settings.filter(|_| *one_instance);
                    found.push(Similar {
                        exercise: id.clone(),
                        learners: names.clone(),
                        lesson_settings,
                        how: match lesson_settings {
                            Some(which) => {
                                format!("identical artefacts (the lesson's {which} settings)")
                            }
                            None => "identical artefacts".into(),
                        },
                    });
                }
            }
            for (i, (a, an, _)) in groups.iter().enumerate() {
                for (b, bn, _) in &groups[i + 1..] {
                    let near = match (a.job, b.job) {
                        (Some(x), Some(y)) => near(
                            &self.jobs[x].receipt.artefact,
                            &self.jobs[y].receipt.artefact,
                        ),
                        _ => None,
                    };
                    if let Some(how) = near {
                        found.push(Similar {
                            exercise: id.clone(),
                            learners: an.iter().chain(bn).cloned().collect(),
                            how,
                            lesson_settings: None,
                        });
                    }
                }
            }
        }
        found
    }

    /// The learner × exercise table as CSV (one row per handed-in receipt).
    pub fn csv(&self, lessons: &[Lesson], outcomes: &[Option<Outcome>]) -> String {
        let mut out =
            String::from("learner,exercise,verdict,figure,value,threshold,code,message\n");
        let copied = self.similar();
        let exercises = self.exercises(lessons);
        for l in &self.learners {
            for &(id, _) in &exercises {
                let Some(cell) = l.cells.get(id) else {
                    continue;
                };
                let outcome = self.outcome(cell, outcomes);
                let (verdict, figure, value, threshold, message) = match &outcome {
                    None => (
                        "not graded".to_string(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ),
                    Some(o) => (
                        o.verdict.word().to_string(),
                        o.figure
                            .as_ref()
                            .map(|f| f.label.clone())
                            .unwrap_or_default(),
                        o.figure
                            .as_ref()
                            .map(|f| f.value.to_string())
                            .unwrap_or_default(),
                        o.figure
                            .as_ref()
                            .map(|f| f.threshold.to_string())
                            .unwrap_or_default(),
                        o.message.clone(),
                    ),
                };
                let flagged: Vec<String> = copied
                    .iter()
                    .filter(|s| s.exercise == id && s.learners.contains(&l.name))
                    .map(|s| {
                        let others: Vec<&str> = s
                            .learners
                            .iter()
                            .filter(|n| **n != l.name)
                            .map(String::as_str)
                            .collect();
                        format!("{} with {}", s.how, others.join(", "))
                    })
                    .collect();
                let message = if flagged.is_empty() {
                    message
                } else {
                    format!("{message} [{}]", flagged.join("; "))
                };
                let code = if outcome.as_ref().is_some_and(|o| o.verdict == Mark::Pass) {
                    cell.code.clone()
                } else {
                    String::new()
                };
                let row = [
                    &l.name, id, &verdict, &figure, &value, &threshold, &code, &message,
                ];
                out.push_str(
                    &row.iter()
                        .map(|f| csv_field(f))
                        .collect::<Vec<_>>()
                        .join(","),
                );
                out.push('\n');
            }
        }
        out
    }

    /// Which learner and exercise a completion code read out in the room belongs to.
    pub fn find_code(&self, code: &str) -> Option<(&str, &str, &Cell)> {
        let wanted: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        self.learners.iter().find_map(|l| {
            l.cells.iter().find_map(|(id, c)| {
                (c.code.replace('-', "") == wanted).then_some((l.name.as_str(), id.as_str(), c))
            })
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExerciseSummary {
    pub id: String,
    pub title: String,
    pub handed_in: u32,
    pub passed: u32,
    /// The figure's label, unit and threshold, from the first re-graded receipt.
    pub figure: Option<(String, Unit, f64)>,
    pub values: Vec<(String, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Similar {
    pub exercise: String,
    pub learners: Vec<String>,
    pub how: String,
    /// "reference" or "starter" when the shared artefact comes from the lesson's own settings:
    /// expected (anyone who pressed "Use reference settings" hands in the same), so the table
    /// does not flag it.
    pub lesson_settings: Option<&'static str>,
}

impl Similar {
    /// Whether the instructor should look at it: not merely the lesson's own settings.
    pub fn suspicious(&self) -> bool {
        self.lesson_settings.is_none()
    }

    pub fn names(&self) -> String {
        match self.learners.as_slice() {
            [a, b] => format!("{a} and {b}"),
            [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
            [] => String::new(),
        }
    }
}

fn most_common<'a>(workshops: impl Iterator<Item = &'a Workshop>) -> Option<Workshop> {
    let mut counts: Vec<(&Workshop, usize)> = vec![];
    for w in workshops {
        match counts.iter_mut().find(|(seen, _)| *seen == w) {
            Some((_, n)) => *n += 1,
            None => counts.push((w, 1)),
        }
    }
    // The first of the most common, so the choice does not depend on anything but the order.
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(w, _)| w.clone())
}

fn exercise_key(exercise: &Exercise) -> String {
    serde_json::to_string(exercise).expect("exercises serialise")
}

fn artefact_digest(artefact: &Artefact) -> String {
    sha256_hex(
        serde_json::to_string(artefact)
            .expect("artefacts serialise")
            .as_bytes(),
    )
}

/// Whether two different artefacts are nearly the same, and how: texts that differ only in
/// case, spacing or a few characters; images within 0.01 of each other everywhere.
fn near(a: &Artefact, b: &Artefact) -> Option<String> {
    match (a, b) {
        (Artefact::Text { text: x }, Artefact::Text { text: y }) => {
            let share = text_likeness(x, y);
            (share >= 0.9).then(|| format!("near-identical texts ({:.0}% alike)", share * 100.0))
        }
        (Artefact::Images { .. }, Artefact::Images { .. }) => {
            let (x, y) = (a.pixels().ok()?, b.pixels().ok()?);
            if x.len() != y.len() {
                return None;
            }
            let most = x
                .iter()
                .zip(&y)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max);
            (most <= 0.01)
                .then(|| format!("near-identical images (no pixel apart by more than {most:.3})"))
        }
        _ => None,
    }
}

/// How alike two texts are: the share of character trigrams they have in common (Jaccard),
/// after case and runs of spaces are set aside.
pub fn text_likeness(a: &str, b: &str) -> f64 {
    let grams = |t: &str| {
        let t: Vec<char> = t
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .collect();
        let set: std::collections::BTreeSet<[char; 3]> =
            t.windows(3).map(|w| [w[0], w[1], w[2]]).collect();
        set
    };
    let (x, y) = (grams(a), grams(b));
    if x.is_empty() && y.is_empty() {
        return f64::from(u8::from(a.trim().eq_ignore_ascii_case(b.trim())));
    }
    x.intersection(&y).count() as f64 / x.union(&y).count() as f64
}

/// A CSV field, quoted when it must be (RFC 4180), and with a leading `=`, `+`, `-` or `@`
/// defused so a spreadsheet never runs a learner's name as a formula.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) && text.parse::<f64>().is_err() {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}
