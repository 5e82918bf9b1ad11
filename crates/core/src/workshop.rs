//! Workshops: an instructor's choice of lessons, stricter thresholds, hints and solutions on or
//! off, an optional time window and a seed, carried whole in a link (compressed into the URL
//! fragment, so any static host serves it) or a file. A learner joins under a display name; each
//! exercise they meet is an *instance* of the lesson's task, derived from hash(workshop seed,
//! name, exercise id), so a neighbour's artefact is not an answer to one's own instance. They hand
//! in one file of receipts, and a short completion code per passed exercise names each pass in a
//! form that can be read out; the class view ([`crate::class`]) re-grades everything.
//!
//! Nothing here is secret: the link, the seed and the codes are checksums and names, not
//! credentials. What keeps a class honest is that every grade is re-derived from its artefact
//! under the learner's own instance.

use crate::course::Lesson;
use crate::exercise::Exercise;
use crate::kinds::Task;
use crate::receipt::Receipt;
use crate::sha256_hex;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const FORMAT: &str = "mlsec-workshop/1";
/// The link's own version, its first part: a later lab that changes the link says so.
pub const LINK_VERSION: &str = "w1";
pub const HANDIN_FORMAT: &str = "mlsec-handin/1";
/// A workshop is a few hundred bytes of JSON; anything far larger is not one (and a link may
/// not inflate to more: a crafted link must not make the page allocate gigabytes).
pub const MAX_WORKSHOP_BYTES: usize = 64 << 10;
/// A hand-in holds one receipt per exercise: at most a few hundred KB each (attacked test
/// images, a tiny model), so a few MB in all.
pub const MAX_HANDIN_BYTES: usize = 16 << 20;
pub const MAX_NAME_CHARS: usize = 40;
pub const MAX_TITLE_CHARS: usize = 120;
const MAX_LESSONS: usize = 100;

/// A workshop as the instructor made it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workshop {
    pub format: String,
    pub title: String,
    /// Lesson ids, in the order the workshop home lists them.
    pub lessons: Vec<String>,
    /// Exercise id → task key (`min_…` or `max_…`) → the workshop's stricter value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thresholds: BTreeMap<String, BTreeMap<String, f64>>,
    pub hints: bool,
    pub solutions: bool,
    /// When the workshop opens and closes, in milliseconds since 1970 (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes: Option<i64>,
    pub seed: u64,
}

/// Which instance of an exercise a learner of a workshop works on: kept in the exercise the
/// worker runs and in the receipts it writes, so a receipt names whose instance it answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instance {
    pub workshop: String,
    pub learner: String,
    /// The task's variant ([`crate::kinds::ExerciseKind::variant`]); 0 for kinds without any.
    pub index: u32,
}

/// Where a workshop stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    NotYetOpen,
    Open,
    Closed,
}

impl Workshop {
    pub fn new(title: &str, lessons: Vec<String>, seed: u64) -> Self {
        Workshop {
            format: FORMAT.into(),
            title: title.trim().into(),
            lessons,
            thresholds: BTreeMap::new(),
            hints: true,
            solutions: true,
            opens: None,
            closes: None,
            seed,
        }
    }

    /// The workshop's id: a hash of everything in it, so a hand-in names the exact workshop
    /// (title, lessons, thresholds, seed) it was made in.
    pub fn id(&self) -> String {
        sha256_hex(self.to_json().as_bytes())[..12].to_string()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("workshops always serialise")
    }

    /// The workshop file an instructor downloads (the same JSON, laid out for reading).
    pub fn to_file(&self) -> String {
        serde_json::to_string_pretty(self).expect("workshops always serialise")
    }

    /// Reads a workshop file (or a link's inner JSON). Checks its shape; [`Workshop::check`]
    /// checks it against the course.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_WORKSHOP_BYTES {
            return Err(format!(
                "{} bytes is far too large for a workshop",
                crate::thousands(text.len() as u64)
            ));
        }
        // The format first, so that a newer workshop is named as such rather than as broken.
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("this is not a MLSec Lab workshop ({e})"))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(f) if f.starts_with("mlsec-workshop/") => {
                return Err(format!(
                    "this workshop was made by a newer version of the lab ({f}); open it on the \
                     site it came from, or ask the instructor for a link to this version"
                ))
            }
            _ => return Err("this is not a MLSec Lab workshop (no workshop format tag)".into()),
        }
        serde_json::from_value(value).map_err(|e| format!("this workshop is malformed: {e}"))
    }

    /// The link's payload, the part after `#/w/`: the link version, the workshop's JSON
    /// deflated and in URL-safe base64, and a checksum of the JSON.
    pub fn link(&self) -> String {
        let json = self.to_json();
        // Raw deflate at the best level (9), in memory: miniz_oxide itself rather than
        // flate2's streams, whose std::io error formatting was page code for nothing.
        let packed = miniz_oxide::deflate::compress_to_vec(json.as_bytes(), 9);
        format!(
            "{LINK_VERSION}.{}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(packed),
            &sha256_hex(json.as_bytes())[..8]
        )
    }

    /// Reads a link's payload (or a whole pasted link), saying what is wrong with a truncated,
    /// altered or newer one.
    pub fn from_link(link: &str) -> Result<Self, String> {
        let link = link.trim();
        let payload = link.rsplit_once("/w/").map_or(link, |(_, p)| p);
        let parts: Vec<&str> = payload.split('.').collect();
        match parts[0] {
            LINK_VERSION => {}
            v if v.len() > 1
                && v.starts_with('w')
                && v[1..].parse::<u32>().is_ok_and(|n| n > 1) =>
            {
                return Err(format!(
                    "this workshop link was made by a newer version of the lab (link version \
                     {v}); open it on the site it came from"
                ))
            }
            _ => return Err("this is not a MLSec Lab workshop link".into()),
        }
        let [_, packed, checksum] = parts[..] else {
            return Err(
                "this workshop link is incomplete (it was cut short when it was copied); copy \
                 the whole link again"
                    .into(),
            );
        };
        let incomplete = || {
            "this workshop link is incomplete or damaged (it may have been cut short when it \
             was copied); copy the whole link again"
                .to_string()
        };
        let packed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(packed)
            .map_err(|_| incomplete())?;
        let json =
            match miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_WORKSHOP_BYTES) {
                Ok(json) => String::from_utf8(json).map_err(|_| incomplete())?,
                Err(e) if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    return Err("this workshop link holds far more than a workshop".into())
                }
                Err(_) => return Err(incomplete()),
            };
        if checksum.len() != 8 || !sha256_hex(json.as_bytes()).starts_with(checksum) {
            return Err(
                "this workshop link was changed after it was made (its checksum does not \
                 match); ask the instructor for the link again"
                    .into(),
            );
        }
        Self::parse(&json)
    }

    /// What is wrong with this workshop for this course: unknown or repeated lessons, a
    /// threshold for an exercise it does not hold, on a key that is not a threshold, or looser
    /// than the lesson's own. Empty when it is sound.
    pub fn check(&self, lessons: &[Lesson]) -> Vec<String> {
        let mut problems = vec![];
        if let Err(e) = text_field("the title", &self.title, MAX_TITLE_CHARS) {
            problems.push(e);
        }
        if self.lessons.is_empty() {
            problems.push("a workshop needs at least one lesson".into());
        }
        if self.lessons.len() > MAX_LESSONS {
            problems.push(format!(
                "{} lessons is more than the course has",
                self.lessons.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for id in &self.lessons {
            if !seen.insert(id) {
                problems.push(format!("the lesson '{id}' is listed twice"));
            } else if !lessons.iter().any(|l| &l.id == id) {
                problems.push(format!(
                    "there is no lesson {} in this course",
                    crate::quoted(id)
                ));
            }
        }
        if let (Some(opens), Some(closes)) = (self.opens, self.closes) {
            if closes <= opens {
                problems.push("the workshop closes before it opens".into());
            }
        }
        for (exercise_id, keys) in &self.thresholds {
            let Some(exercise) = self.exercises(lessons).find(|e| &e.id == exercise_id) else {
                problems.push(format!(
                    "a threshold is set for {}, which is not an exercise of this workshop's \
                     lessons",
                    crate::quoted(exercise_id)
                ));
                continue;
            };
            if let Err(e) = stricter(&exercise.task, keys) {
                problems.push(format!("exercise '{exercise_id}': {e}"));
            }
        }
        problems
    }

    /// The workshop's exercises, lesson by lesson in its order.
    pub fn exercises<'a>(&'a self, lessons: &'a [Lesson]) -> impl Iterator<Item = &'a Exercise> {
        self.lessons
            .iter()
            .filter_map(|id| lessons.iter().find(|l| &l.id == id))
            .flat_map(|l| l.exercises.iter())
    }

    /// Where the workshop stands at `now` (milliseconds since 1970).
    pub fn window(&self, now: i64) -> Window {
        match (self.opens, self.closes) {
            (Some(opens), _) if now < opens => Window::NotYetOpen,
            (_, Some(closes)) if now >= closes => Window::Closed,
            _ => Window::Open,
        }
    }

    /// The exercise `learner` meets in this workshop: the workshop's thresholds and the
    /// learner's instance of the task, named in [`Exercise::instance`].
    pub fn instance(&self, base: &Exercise, learner: &str) -> Result<Exercise, String> {
        let mut task = match self.thresholds.get(&base.id) {
            Some(keys) => stricter(&base.task, keys)?,
            None => base.task.clone(),
        };
        let index = variant_index(self.seed, learner, &base.id, task.kind().variants());
        task = task.variant(index);
        Ok(Exercise {
            task,
            instance: Some(Instance {
                workshop: self.id(),
                learner: learner.into(),
                index,
            }),
            ..base.clone()
        })
    }

    /// The completion code of `receipt` handed in by `learner` in this workshop.
    pub fn code(&self, learner: &str, receipt: &Receipt) -> String {
        completion_code(&self.id(), learner, receipt)
    }
}

/// A receipt re-graded on its own (not in a class): the lesson's exercise, in the instance the
/// receipt names, at the lesson's own thresholds (a workshop may have asked for more).
pub fn standalone(base: &Exercise, receipt: &Receipt) -> Exercise {
    match &receipt.variant {
        None => base.clone(),
        Some(instance) => Exercise {
            task: base
                .task
                .variant(instance.index.min(base.task.kind().variants() - 1)),
            instance: Some(instance.clone()),
            ..base.clone()
        },
    }
}

/// Whether a task key is a threshold a workshop may change, and which way is stricter: a
/// `min_…` key may only rise (`Some(true)`), a `max_…` key only fall (`Some(false)`).
fn rises(key: &str) -> Option<bool> {
    if key.starts_with("min_") {
        Some(true)
    } else if key.starts_with("max_") {
        Some(false)
    } else {
        None
    }
}

/// The task's thresholds a workshop may make stricter, with the lesson's values (what the
/// workshop maker offers).
pub fn thresholds(task: &Task) -> Vec<(String, f64)> {
    match serde_json::to_value(task) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .filter(|(k, _)| rises(k).is_some())
            .filter_map(|(k, v)| v.as_f64().map(|x| (k, x)))
            .collect(),
        _ => vec![],
    }
}

/// The task with a workshop's thresholds in place of the lesson's, each checked to be a
/// threshold (`min_…` may only rise, `max_…` only fall) and the result a sound task.
pub fn stricter(task: &Task, keys: &BTreeMap<String, f64>) -> Result<Task, String> {
    let mut value = serde_json::to_value(task).map_err(|e| e.to_string())?;
    let map = value
        .as_object_mut()
        .ok_or("the task is not a table of keys")?;
    for (key, &new) in keys {
        let Some(rises) = rises(key) else {
            return Err(format!(
                "{} is not a threshold (a threshold's key starts with min_ or max_)",
                crate::quoted(key)
            ));
        };
        let Some(old) = map.get(key).and_then(|v| v.as_f64()) else {
            return Err(format!(
                "this exercise has no threshold {}",
                crate::quoted(key)
            ));
        };
        if !new.is_finite() {
            return Err(format!("{key} must be a number, not {new}"));
        }
        // Compared at the precision the task keeps (most thresholds are f32).
        let looser = if rises {
            (new as f32) < (old as f32)
        } else {
            (new as f32) > (old as f32)
        };
        if looser {
            return Err(format!(
                "{key} = {new} is looser than the lesson's {} ({}); a workshop may only ask \
                 for more",
                crate::grade::threshold(old as f32),
                if rises {
                    "it may only rise"
                } else {
                    "it may only fall"
                }
            ));
        }
        let whole = map.get(key).is_some_and(|v| v.is_u64());
        map.insert(
            key.clone(),
            if whole {
                if new.fract() != 0.0 || new < 0.0 {
                    return Err(format!("{key} must be a whole number, not {new}"));
                }
                serde_json::Value::from(new as u64)
            } else {
                serde_json::Value::from(new)
            },
        );
    }
    let task: Task = serde_json::from_value(value).map_err(|e| e.to_string())?;
    task.kind().validate()?;
    Ok(task)
}

/// The variant of exercise `exercise_id` that `learner` gets in a workshop with `seed`, among
/// `count`: the same on every machine, different (most likely) for a neighbour.
pub fn variant_index(seed: u64, learner: &str, exercise_id: &str, count: u32) -> u32 {
    if count <= 1 {
        return 0;
    }
    let digest =
        sha256_hex(format!("mlsec-variant/1\0{seed}\0{learner}\0{exercise_id}").as_bytes());
    let n = u64::from_str_radix(&digest[..16], 16).expect("hex digits");
    (n % u64::from(count)) as u32
}

/// A learner's display name as the workshop uses it: trimmed, inner runs of spaces made one.
/// Refused when empty, too long or holding control characters. Markup is allowed: the page
/// always shows a name as text.
pub fn learner_name(raw: &str) -> Result<String, String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    text_field("your name", &name, MAX_NAME_CHARS)?;
    Ok(name)
}

fn text_field(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    let count = text.chars().count();
    if count > max {
        return Err(format!("{what} has {count} characters; at most {max}"));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} holds a control character (U+{:04X}); use letters, digits, spaces and \
             punctuation",
            c as u32
        ));
    }
    Ok(())
}

/// A short code naming one handed-in receipt: a hash of the workshop, the learner, the exercise
/// and the artefact, as eight Crockford base-32 characters ("K7QD-M2XA"). Anyone can compute
/// it from the hand-in; the class view shows each pass's code, so a code read out in the room
/// can be matched to a re-graded receipt.
pub fn completion_code(workshop_id: &str, learner: &str, receipt: &Receipt) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let artefact = serde_json::to_string(&receipt.artefact).expect("artefacts serialise");
    let digest = sha256_hex(
        format!(
            "mlsec-code/1\0{workshop_id}\0{learner}\0{}\0{}",
            receipt.exercise_id,
            sha256_hex(artefact.as_bytes())
        )
        .as_bytes(),
    );
    let bits = u64::from_str_radix(&digest[..10], 16).expect("hex digits");
    let chars: String = (0..8)
        .rev()
        .map(|i| ALPHABET[((bits >> (5 * i)) & 31) as usize] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// Why a file of `bytes` is refused as a hand-in before it is read, if it is.
pub fn handin_too_large(bytes: u64) -> Option<String> {
    (bytes > MAX_HANDIN_BYTES as u64).then(|| {
        format!(
            "{:.1} MB is far too large for a hand-in (at most {} MB); it was not read",
            bytes as f64 / f64::from(1 << 20),
            MAX_HANDIN_BYTES >> 20
        )
    })
}

/// What a learner hands in: who, in which workshop, and a receipt per attempted exercise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandIn {
    pub format: String,
    pub workshop: Workshop,
    pub learner: String,
    pub receipts: Vec<Receipt>,
}

impl HandIn {
    pub fn new(workshop: &Workshop, learner: &str, receipts: Vec<Receipt>) -> Self {
        HandIn {
            format: HANDIN_FORMAT.into(),
            workshop: workshop.clone(),
            learner: learner.into(),
            receipts,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("hand-ins always serialise")
    }

    /// Reads a hand-in file, saying what it is if it is not one.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(why) = handin_too_large(text.len() as u64) {
            return Err(why);
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("this is not a MLSec Lab hand-in ({e})"))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(HANDIN_FORMAT) => {}
            Some(f) if f.starts_with("mlsec-handin/") => {
                return Err(format!(
                    "this hand-in was made by a newer version of the lab ({f})"
                ))
            }
            Some(f) if f.starts_with("mlsec-receipt/") => {
                return Err(
                    "this is a single receipt, not a hand-in: hand in from the workshop page"
                        .into(),
                )
            }
            Some(f) if f.starts_with("mlsec-workshop/") => {
                return Err("this is a workshop file, not a hand-in".into())
            }
            Some(f) if f.starts_with("mlsec-progress/") => {
                return Err("this is a progress file, not a hand-in".into())
            }
            _ => return Err("this is not a MLSec Lab hand-in (no hand-in format tag)".into()),
        }
        let handin: HandIn =
            serde_json::from_value(value).map_err(|e| format!("this hand-in is malformed: {e}"))?;
        learner_name(&handin.learner).map_err(|e| format!("its learner name is not valid: {e}"))?;
        if handin.receipts.len() > 1000 {
            return Err(format!(
                "{} receipts is more than any workshop has",
                handin.receipts.len()
            ));
        }
        Ok(handin)
    }

    /// The completion code of each passed receipt, by exercise id (as the learner's page
    /// showed them: of the receipts' own claims; the class view re-grades before it trusts one).
    pub fn codes(&self) -> BTreeMap<String, String> {
        self.receipts
            .iter()
            .filter(|r| r.claimed.passed)
            .map(|r| (r.exercise_id.clone(), self.workshop.code(&self.learner, r)))
            .collect()
    }
}

/// Where a learner's workshop state lives in the browser's store: apart from self-paced
/// progress, per workshop and per name (two people may share a laptop).
pub struct StoreKeys {
    pub progress: String,
    pub receipts: String,
}

/// The key under which this browser remembers the name it last joined `workshop_id` as.
pub fn learner_key(workshop_id: &str) -> String {
    format!("mlsec-lab.workshop.{workshop_id}.learner")
}

pub fn store_keys(workshop_id: &str, learner: &str) -> StoreKeys {
    let who = &sha256_hex(learner.as_bytes())[..12];
    StoreKeys {
        progress: format!("mlsec-lab.workshop.{workshop_id}.{who}.progress"),
        receipts: format!("mlsec-lab.workshop.{workshop_id}.{who}.receipts"),
    }
}

/// The receipts a learner will hand in: one per exercise, the latest pass (a later failing
/// try never replaces it), else the latest try.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shelf {
    pub receipts: BTreeMap<String, Receipt>,
}

impl Shelf {
    /// Reads what the store holds; what cannot be read as a shelf is refused with the reason
    /// (the page then keeps it aside rather than overwrite it).
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(why) = handin_too_large(text.len() as u64) {
            return Err(why);
        }
        crate::from_json(text).map_err(|e| format!("the saved receipts cannot be read ({e})"))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("receipts always serialise")
    }

    /// Keeps `receipt` unless it is a fail and a pass graded by the same rules is already kept
    /// (a pass of older rules cannot be re-graded, so a newer run always replaces it). Returns
    /// whether the shelf changed.
    pub fn keep(&mut self, receipt: Receipt) -> bool {
        let replace = match self.receipts.get(&receipt.exercise_id) {
            Some(kept) => {
                kept.grader_version != receipt.grader_version
                    || !kept.claimed.passed
                    || receipt.claimed.passed
            }
            None => true,
        };
        if replace {
            self.receipts.insert(receipt.exercise_id.clone(), receipt);
        }
        replace
    }

    /// The hand-in of these receipts, in the workshop's exercise order.
    pub fn hand_in(&self, workshop: &Workshop, learner: &str, lessons: &[Lesson]) -> HandIn {
        let receipts = workshop
            .exercises(lessons)
            .filter_map(|e| self.receipts.get(&e.id).cloned())
            .collect();
        HandIn::new(workshop, learner, receipts)
    }
}
