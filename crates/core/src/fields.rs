//! The number fields a learner fills in for an exercise's settings: what each field is (its
//! label, its step, whole or real number and the largest value its type holds), and the parsing
//! of what was typed into settings. The page draws the fields and hands the typed text here, so
//! every message about a bad number is decided (and tested) natively, and echoes what the
//! learner typed.

use crate::defence::DetectorSettings;
use crate::exercise::{Settings, Task};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// What a field accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Number {
    /// A whole number from 0 to `max` (the largest its type holds; the settings' own validation
    /// then states the sensible range).
    Whole {
        max: u64,
    },
    Real,
}

const U32: Number = Number::Whole {
    max: u32::MAX as u64,
};
const U64: Number = Number::Whole { max: u64::MAX };

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub number: Number,
}

const fn field(key: &'static str, label: &'static str, number: Number) -> Field {
    Field { key, label, number }
}

/// The number fields of a task's settings, in the order the page shows them.
pub fn fields(task: &Task) -> Vec<Field> {
    let epochs = field("epochs", "Epochs", U32);
    let learning_rate = field("learning_rate", "Learning rate", Number::Real);
    let batch_size = field("batch_size", "Batch size", U32);
    let seed = field("seed", "Seed", U64);
    let epsilon = field("epsilon", "ε (L∞ budget per pixel)", Number::Real);
    match task {
        Task::TrainClassifier { .. } => vec![epochs, learning_rate, batch_size, seed],
        Task::PixelAttack { .. } | Task::PromptInjection { .. } => vec![],
        Task::Fgsm { .. } => vec![epsilon],
        Task::PgdTargeted { .. } => vec![
            epsilon,
            field("step_size", "Step size α", Number::Real),
            field("steps", "Steps", U32),
        ],
        Task::AdversarialTraining { .. } => vec![
            epochs,
            learning_rate,
            batch_size,
            field("train_epsilon", "Training ε", Number::Real),
            field("train_steps", "Training PGD steps", U32),
            seed,
        ],
        Task::DefendInjection { .. } => vec![
            field("examples", "Detector: training examples", U32),
            field("epochs", "Detector: epochs", U32),
            field("learning_rate", "Detector: learning rate", Number::Real),
            field("threshold", "Detector: threshold", Number::Real),
            field("seed", "Detector: seed", U64),
        ],
    }
}

/// Settings as (variant tag, field map), the shape the number fields edit.
fn split(settings: &Settings) -> (String, Map<String, Value>) {
    match serde_json::to_value(settings) {
        Ok(Value::Object(outer)) => match outer.into_iter().next() {
            Some((tag, Value::Object(inner))) => (tag, inner),
            _ => (String::new(), Map::new()),
        },
        _ => (String::new(), Map::new()),
    }
}

/// The text each number field starts with for `settings`, each number as written in the lesson
/// (an f32 is shown as `0.1`, not as the `0.10000000149011612` JSON would give).
pub fn drafts_of(settings: &Settings) -> BTreeMap<String, String> {
    let numbers = match settings {
        Settings::Defences(d) => {
            let det = d.detector.clone().unwrap_or_default();
            return [
                ("examples", det.examples.to_string()),
                ("epochs", det.epochs.to_string()),
                ("learning_rate", det.learning_rate.to_string()),
                ("threshold", det.threshold.to_string()),
                ("seed", det.seed.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        }
        Settings::Fgsm(s) => vec![("epsilon", s.epsilon.to_string())],
        Settings::Pgd(c) => vec![
            ("epsilon", c.epsilon.to_string()),
            ("step_size", c.step_size.to_string()),
            ("steps", c.steps.to_string()),
        ],
        Settings::AdvTrain(c) => vec![("train_epsilon", c.train_epsilon.to_string())],
        _ => vec![],
    };
    let mut drafts: BTreeMap<String, String> = split(settings)
        .1
        .into_iter()
        .filter(|(_, v)| v.is_number())
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    for (key, text) in numbers {
        drafts.insert(key.to_string(), text);
    }
    drafts
}

/// Builds the task's settings from the learner's text fields (the starter's settings supply
/// everything that is not a field), or says which field is wrong and echoes what was typed.
pub fn settings_from(task: &Task, drafts: &BTreeMap<String, String>) -> Result<Settings, String> {
    let (tag, mut map) = split(&task.starter());
    fill_numbers(&mut map, task, drafts)?;
    let mut outer = Map::new();
    outer.insert(tag, Value::Object(map));
    serde_json::from_value(Value::Object(outer))
        .map_err(|e| format!("these settings are not valid: {e}"))
}

/// The defend exercise's detector, from its number fields.
pub fn detector_from(
    task: &Task,
    drafts: &BTreeMap<String, String>,
) -> Result<DetectorSettings, String> {
    let mut map = match serde_json::to_value(DetectorSettings::default()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    fill_numbers(&mut map, task, drafts)?;
    serde_json::from_value(Value::Object(map))
        .map_err(|e| format!("the detector settings are not valid: {e}"))
}

/// 2^53: every whole number below it is exact as an f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

/// Parses one field's text.
pub fn parse_field(field: &Field, text: &str) -> Result<Value, String> {
    let label = field.label;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("{label}: type a number"));
    }
    match field.number {
        Number::Whole { max } => {
            let whole = || {
                format!(
                    "{label}: {} must be a whole number from 0 to {max}",
                    crate::quoted(trimmed)
                )
            };
            match trimmed.parse::<u64>() {
                Ok(n) if n <= max => Ok(Value::from(n)),
                Ok(_) => Err(whole()),
                // Larger than u64, negative, a fraction, or written as 1e3 (accepted while the
                // float is exact: below 2^53).
                Err(_) => match trimmed.parse::<f64>() {
                    Ok(n) if n.fract() == 0.0 && (0.0..EXACT).contains(&n) && n as u64 <= max => {
                        Ok(Value::from(n as u64))
                    }
                    Ok(n) if n.is_finite() => Err(whole()),
                    _ => Err(format!(
                        "{label}: {} is not a whole number",
                        crate::quoted(trimmed)
                    )),
                },
            }
        }
        Number::Real => match trimmed.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Value::from(n)),
            Ok(_) => Err(format!(
                "{label}: {} is not a finite number",
                crate::quoted(trimmed)
            )),
            Err(_) => Err(format!(
                "{label}: {} is not a number",
                crate::quoted(trimmed)
            )),
        },
    }
}

/// Puts the learner's number fields into `map`, or says which field is wrong.
fn fill_numbers(
    map: &mut Map<String, Value>,
    task: &Task,
    drafts: &BTreeMap<String, String>,
) -> Result<(), String> {
    for f in fields(task) {
        let text = drafts.get(f.key).map(String::as_str).unwrap_or("");
        map.insert(f.key.to_string(), parse_field(&f, text)?);
    }
    Ok(())
}
