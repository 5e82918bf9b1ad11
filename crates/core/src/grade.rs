//! What a grader returns: the verdict, each measured figure beside its threshold, and a
//! sentence a learner understands.

use serde::{Deserialize, Serialize};

/// The version of the grading rules every kind starts at. A kind whose rules change (its grade
/// or what the same settings train) says so with its own
/// [`crate::kinds::ExerciseKind::grader_version`], so an old receipt is never silently re-judged
/// by different rules, and receipts of the other kinds stay valid.
pub const GRADER_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    AtLeast,
    AtMost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    Percent,
    Count,
    /// A real number such as ε, shown to two decimals; [`INFINITE`] shows as ∞.
    Real,
}

/// A figure's stand-in for ∞ (ε with no noise): JSON has no infinity, and receipts carry figures.
pub const INFINITE: f64 = f64::MAX;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub label: String,
    pub value: f64,
    pub threshold: f64,
    pub direction: Direction,
    pub unit: Unit,
}

impl Figure {
    pub fn at_least(label: &str, value: f64, threshold: f64, unit: Unit) -> Self {
        Figure {
            label: label.into(),
            value,
            threshold,
            direction: Direction::AtLeast,
            unit,
        }
    }
    pub fn at_most(label: &str, value: f64, threshold: f64, unit: Unit) -> Self {
        Figure {
            label: label.into(),
            value,
            threshold,
            direction: Direction::AtMost,
            unit,
        }
    }
    pub fn met(&self) -> bool {
        match self.direction {
            Direction::AtLeast => self.value >= self.threshold,
            Direction::AtMost => self.value <= self.threshold,
        }
    }
    /// True when `self` is a better result than `other` (for keeping a learner's best).
    pub fn better_than(&self, other: f64) -> bool {
        match self.direction {
            Direction::AtLeast => self.value > other,
            Direction::AtMost => self.value < other,
        }
    }
    pub fn show(unit: Unit, v: f64) -> String {
        match unit {
            Unit::Percent => format!("{:.1}%", v * 100.0),
            Unit::Count => format!("{v}"),
            Unit::Real if v >= INFINITE => "∞".into(),
            Unit::Real => format!("{v:.2}"),
        }
    }
    /// "test accuracy 93.1% ≥ 95.0% ✗"
    pub fn describe(&self) -> String {
        let op = match (self.direction, self.met()) {
            (Direction::AtLeast, true) => "≥",
            (Direction::AtLeast, false) => "<",
            (Direction::AtMost, true) => "≤",
            (Direction::AtMost, false) => ">",
        };
        format!(
            "{} {} {op} {}",
            self.label,
            Self::show(self.unit, self.value),
            Self::show(self.unit, self.threshold)
        )
    }
}

/// A lesson's f32 threshold as the decimal the author wrote (`0.02`, not 0.0199999995…), so that
/// a result exactly at the limit meets it.
pub fn threshold(value: f32) -> f64 {
    value.to_string().parse().unwrap_or(f64::from(value))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grade {
    pub passed: bool,
    pub figures: Vec<Figure>,
    pub message: String,
}

impl Grade {
    /// A verdict from figures: passed when every figure meets its threshold. `detail` explains
    /// what fell short in the learner's terms ("12 of 75 images still classified correctly").
    pub fn from_figures(figures: Vec<Figure>, detail: &str) -> Self {
        let passed = figures.iter().all(Figure::met);
        let summary: Vec<String> = figures.iter().map(Figure::describe).collect();
        let head = if passed { "Passed" } else { "Not yet" };
        let message = if detail.is_empty() {
            format!("{head}: {}.", summary.join("; "))
        } else {
            format!("{head}: {}: {detail}.", summary.join("; "))
        };
        Grade {
            passed,
            figures,
            message,
        }
    }

    /// The artefact itself broke the rules (out of budget, out of range, malformed): never a pass.
    pub fn rejected(reason: impl Into<String>) -> Self {
        Grade {
            passed: false,
            figures: vec![],
            message: format!("Rejected: {}", reason.into()),
        }
    }
}
