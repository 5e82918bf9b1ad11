//! The number fields a learner fills in for an exercise's settings: what each field is (its
//! label, whole or real number and the largest value its type holds; each kind lists its own in
//! `ExerciseKind::fields`), and the parsing of what was typed into settings. The page draws the fields and hands the typed text here, so
//! every message about a bad number is decided (and tested) natively, and echoes what the
//! learner typed.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// What a field accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Number {
    /// A whole number from 0 to `max` (the largest its type holds; the settings' own validation
    /// then states the sensible range).
    Whole { max: u64 },
    /// A real number kept as an f64.
    Real,
    /// A real number kept as an f32: shown as the f32 it is (`0.1`, not the
    /// `0.10000000149011612` its f64 widening would print).
    Real32,
}

pub const U32: Number = Number::Whole {
    max: u32::MAX as u64,
};
pub const U64: Number = Number::Whole { max: u64::MAX };

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub number: Number,
}

pub const fn field(key: &'static str, label: &'static str, number: Number) -> Field {
    Field { key, label, number }
}

/// The fields a training run shares (Track 0 and adversarial training).
pub const EPOCHS: Field = field("epochs", "Epochs", U32);
pub const LEARNING_RATE: Field = field("learning_rate", "Learning rate", Number::Real);
pub const BATCH_SIZE: Field = field("batch_size", "Batch size", U32);
pub const SEED: Field = field("seed", "Seed", U64);
/// An attack's L∞ budget.
pub const EPSILON: Field = field("epsilon", "ε (L∞ budget per pixel)", Number::Real32);

/// The text each of `fields` starts with for `settings`, each number as written in the lesson.
///
/// Generic only as far as turning the settings into JSON: the rest is [`drafts_of`], written
/// once (inlined into each of the 17 kinds' copies it linked a sort and a map builder per kind
/// into every module, ~60 KB of the page's code).
pub fn drafts(settings: &impl Serialize, fields: &[Field]) -> BTreeMap<String, String> {
    drafts_of(serde_json::to_value(settings), fields)
}

#[inline(never)]
fn drafts_of(settings: serde_json::Result<Value>, fields: &[Field]) -> BTreeMap<String, String> {
    let Ok(Value::Object(map)) = settings else {
        return BTreeMap::new();
    };
    fields
        .iter()
        .filter_map(|f| {
            let value = map.get(f.key)?;
            let text = match (f.number, value.as_f64()) {
                (Number::Real32, Some(v)) => (v as f32).to_string(),
                _ => value.to_string(),
            };
            Some((f.key.to_string(), text))
        })
        .collect()
}

/// `edited` with the learner's text fields put in, or which field is wrong (echoing what was
/// typed). Generic only where it must be, as [`drafts`].
pub fn filled<S: Serialize + DeserializeOwned>(
    edited: &S,
    fields: &[Field],
    drafts: &BTreeMap<String, String>,
) -> Result<S, String> {
    let map = filled_map(serde_json::to_value(edited), fields, drafts)?;
    serde_json::from_value(Value::Object(map))
        .map_err(|e| format!("these settings are not valid: {e}"))
}

#[inline(never)]
fn filled_map(
    edited: serde_json::Result<Value>,
    fields: &[Field],
    drafts: &BTreeMap<String, String>,
) -> Result<Map<String, Value>, String> {
    let mut map = match edited {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for f in fields {
        let text = drafts.get(f.key).map(String::as_str).unwrap_or("");
        map.insert(f.key.to_string(), parse_field(f, text)?);
    }
    Ok(map)
}

/// A whole number typed into a view's own control (a seed, a count: not one of the settings'
/// fields), parsed by the fields' rules and messages, then held to `range`.
pub fn parse_whole(
    label: &'static str,
    text: &str,
    range: RangeInclusive<u64>,
) -> Result<u64, String> {
    let number = Number::Whole { max: *range.end() };
    let n = parse_field(&field("", label, number), text)?
        .as_u64()
        .unwrap_or_default();
    if n < *range.start() {
        return Err(format!(
            "{label}: {} must be a whole number from {} to {}",
            crate::quoted(text.trim()),
            range.start(),
            range.end()
        ));
    }
    Ok(n)
}

/// A real number typed into a view's own control (a brightness, a threshold), parsed by the
/// fields' rules and messages, then held to `range`.
pub fn parse_real(
    label: &'static str,
    text: &str,
    range: RangeInclusive<f64>,
) -> Result<f64, String> {
    let n = parse_field(&field("", label, Number::Real), text)?
        .as_f64()
        .unwrap_or_default();
    if !range.contains(&n) {
        return Err(format!(
            "{label}: {} must be a number from {} to {}",
            crate::quoted(text.trim()),
            range.start(),
            range.end()
        ));
    }
    Ok(n)
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
        Number::Real | Number::Real32 => match trimmed.parse::<f64>() {
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
