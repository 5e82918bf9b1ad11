//! What a chart shows, as data: the one source of a chart's accessible name, its one-sentence
//! summary and the table a "show data" toggle reveals. A canvas says nothing to a screen reader,
//! so every chart the page draws is described here from the same figures it plots, and the
//! summary is worked out from them (never written by hand beside a chart that could change).

/// How a column's numbers are written.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    /// This many decimals.
    Fixed(usize),
    /// A share from 0 to 1, written as a percentage with this many decimals.
    Percent(usize),
    /// A whole count.
    Count,
    /// 1 is "yes", anything else "no".
    YesNo,
}

impl Format {
    pub fn write(self, v: f64) -> String {
        if !v.is_finite() {
            return if v.is_nan() {
                "–".into()
            } else {
                "∞".into()
            };
        }
        match self {
            Format::Fixed(d) => format!("{v:.d$}"),
            Format::Percent(d) => format!("{:.d$}%", v * 100.0),
            Format::Count => format!("{v:.0}"),
            Format::YesNo => if v == 1.0 { "yes" } else { "no" }.into(),
        }
    }
}

/// What kind of chart it is, which decides how its summary reads.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Figures per step of a run (`unit`: "epoch", "step"): each series from its first to its
    /// last figure, over how many units.
    Progress { unit: &'static str },
    /// Figures against a number on the x axis (ε, a threshold): each series from the first x to
    /// the last.
    Curve,
    /// An ROC curve: its area (0.5 is chance), from the unrounded points ([`ChartData::roc`]).
    Roc { area: f64 },
    /// Several ROC curves read at the same false-positive rates: each one's area
    /// ([`ChartData::rocs`]).
    Rocs { areas: Vec<(String, f64)> },
    /// Bars per named category: every value when there are few, else the highest and lowest.
    Bars,
    /// Counts per bin: each series' total and its fullest bin.
    Histogram,
}

/// One plotted series: its name, a figure per x (none where it has no point there), and how the
/// figures are written.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub format: Format,
}

/// A chart as data. `x` holds the x axis's entries as the table writes them (an epoch, an ε, a
/// category, a bin's range); every series has one value per entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartData {
    /// The accessible name: what the chart plots.
    pub name: String,
    pub shape: Shape,
    pub x_label: String,
    pub x: Vec<String>,
    pub series: Vec<Series>,
    /// Sentences the summary ends with (a threshold, a marked point).
    pub notes: Vec<String>,
}

/// With fewer categories than this, a bar chart's summary names every value.
const LIST_ALL_BARS: usize = 5;

impl ChartData {
    pub fn new(name: impl Into<String>, shape: Shape, x_label: impl Into<String>) -> Self {
        ChartData {
            name: name.into(),
            shape,
            x_label: x_label.into(),
            x: vec![],
            series: vec![],
            notes: vec![],
        }
    }

    /// The x axis's entries, as the table writes them.
    pub fn with_x(mut self, x: impl IntoIterator<Item = String>) -> Self {
        self.x = x.into_iter().collect();
        self
    }

    /// Numbers on the x axis, each written with `format`.
    pub fn with_x_numbers(self, x: impl IntoIterator<Item = f64>, format: Format) -> Self {
        self.with_x(x.into_iter().map(|v| format.write(v)))
    }

    /// A series with a figure at every x (a missing figure: NaN or None).
    pub fn with_series(
        mut self,
        label: impl Into<String>,
        values: impl IntoIterator<Item = Option<f64>>,
        format: Format,
    ) -> Self {
        let values = values
            .into_iter()
            .map(|v| v.filter(|v| !v.is_nan()))
            .collect();
        self.series.push(Series {
            label: label.into(),
            values,
            format,
        });
        self
    }

    /// An ROC curve over `points` (false-positive rate, true-positive rate), the axes named by
    /// `[x_label, y_label]`, both written as percentages. The area is the whole curve's; the
    /// table reads it at [`ROC_RATES`] as [`ChartData::rocs`] does: a row per point made a
    /// 1,500-row table of a detector's ROC, which took the page 100 ms to build.
    pub fn roc(
        name: impl Into<String>,
        [x_label, y_label]: [&str; 2],
        points: &[(f64, f64)],
    ) -> Self {
        ChartData::new(
            name,
            Shape::Roc {
                area: roc_area(points),
            },
            x_label,
        )
        .with_x_numbers(ROC_RATES.iter().copied(), Format::Percent(1))
        .with_series(
            y_label,
            ROC_RATES.iter().map(|&rate| found_at(points, rate)),
            Format::Percent(1),
        )
    }

    /// Several ROC curves (`(name, points)`), each read at the false-positive rates `at`: the
    /// most of the positives it finds without passing that rate (what an attack achieves there),
    /// so curves with different points share one table.
    pub fn rocs(
        name: impl Into<String>,
        x_label: &str,
        curves: &[(String, Vec<(f64, f64)>)],
        at: &[f64],
    ) -> Self {
        let areas = curves
            .iter()
            .map(|(n, points)| (n.clone(), roc_area(points)))
            .collect();
        let mut chart = ChartData::new(name, Shape::Rocs { areas }, x_label)
            .with_x_numbers(at.iter().copied(), Format::Percent(1));
        for (n, points) in curves {
            let found = at.iter().map(|&rate| found_at(points, rate));
            chart = chart.with_series(n.clone(), found, Format::Percent(1));
        }
        chart
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The table's header: the x label, then every series' label.
    pub fn header(&self) -> Vec<String> {
        std::iter::once(self.x_label.clone())
            .chain(self.series.iter().map(|s| s.label.clone()))
            .collect()
    }

    /// The table's rows, one per x, each figure written as the summary writes it.
    pub fn rows(&self) -> Vec<Vec<String>> {
        self.x
            .iter()
            .enumerate()
            .map(|(i, x)| {
                std::iter::once(x.clone())
                    .chain(self.series.iter().map(|s| {
                        s.values
                            .get(i)
                            .copied()
                            .flatten()
                            .map_or("–".into(), |v| s.format.write(v))
                    }))
                    .collect()
            })
            .collect()
    }

    /// One sentence (two with notes) saying what the chart shows, from its figures.
    pub fn summary(&self) -> String {
        // Only figures with an x entry count (a series longer than the axis is cut to it).
        let points = |s: &Series| -> Vec<(usize, f64)> {
            s.values
                .iter()
                .take(self.x.len())
                .enumerate()
                .filter_map(|(i, v)| Some((i, (*v)?)))
                .collect()
        };
        if self.series.iter().all(|s| points(s).is_empty()) {
            return join_sentences("Nothing is drawn yet.".into(), &self.notes);
        }
        let body = match &self.shape {
            Shape::Progress { unit } => {
                let n = self
                    .series
                    .iter()
                    .map(|s| points(s).len())
                    .max()
                    .unwrap_or(0);
                let parts: Vec<String> = self
                    .series
                    .iter()
                    .filter_map(|s| {
                        let p = points(s);
                        let (first, last) = (p.first()?.1, p.last()?.1);
                        Some(change(&s.label, s.format, first, last, None))
                    })
                    .collect();
                format!("Over {n} {}, {}.", plural(unit, n), and_list(&parts))
            }
            Shape::Curve => {
                let parts: Vec<String> = self
                    .series
                    .iter()
                    .filter_map(|s| {
                        let p = points(s);
                        let (&(i, first), &(j, last)) = (p.first()?, p.last()?);
                        let at = |k: usize| format!("{} = {}", self.x_label, self.x[k]);
                        Some(change(
                            &s.label,
                            s.format,
                            first,
                            last,
                            Some((at(i), at(j))),
                        ))
                    })
                    .collect();
                format!("{}.", capitalise(&and_list(&parts)))
            }
            Shape::Roc { area } => {
                format!("The area under the curve is {area:.2} (0.50 is chance).")
            }
            Shape::Rocs { areas } => {
                let parts: Vec<String> = areas
                    .iter()
                    .map(|(name, area)| format!("{name} {area:.2}"))
                    .collect();
                format!(
                    "Areas under the curves: {} (0.50 is chance).",
                    parts.join(", ")
                )
            }
            Shape::Bars => {
                let parts: Vec<String> = self
                    .series
                    .iter()
                    .filter_map(|s| {
                        let p = points(s);
                        let write =
                            |&(i, v): &(usize, f64)| format!("{} {}", self.x[i], s.format.write(v));
                        if p.len() < LIST_ALL_BARS {
                            let all: Vec<String> = p.iter().map(write).collect();
                            return Some(format!("{}: {}", s.label, all.join(", ")));
                        }
                        let high = first_extreme(&p, |v, best| v > best)?;
                        let low = first_extreme(&p, |v, best| v < best)?;
                        Some(format!(
                            "{} is highest for {} and lowest for {}",
                            s.label,
                            write(&high),
                            write(&low)
                        ))
                    })
                    .collect();
                format!("{}.", capitalise(&parts.join("; ")))
            }
            Shape::Histogram => {
                let parts: Vec<String> = self
                    .series
                    .iter()
                    .filter_map(|s| {
                        let p = points(s);
                        let total: f64 = p.iter().map(|&(_, v)| v).sum();
                        // The first of the fullest bins, so ties read the same every time.
                        let fullest =
                            p.iter()
                                .fold(None::<(usize, f64)>, |best, &(i, v)| match best {
                                    Some((_, b)) if b >= v => best,
                                    _ => Some((i, v)),
                                })?;
                        Some(format!(
                            "{}: {} in all, most in {} {}",
                            s.label,
                            Format::Count.write(total),
                            self.x_label,
                            self.x[fullest.0]
                        ))
                    })
                    .collect();
                format!("{}.", capitalise(&parts.join("; ")))
            }
        };
        join_sentences(body, &self.notes)
    }
}

/// The first point whose figure `beats` every earlier one's (the highest or lowest; ties go to
/// the first, so a summary reads the same every time).
fn first_extreme(
    points: &[(usize, f64)],
    beats: impl Fn(f64, f64) -> bool,
) -> Option<(usize, f64)> {
    points.iter().fold(None, |best, &(i, v)| match best {
        Some((_, b)) if !beats(v, b) => best,
        _ => Some((i, v)),
    })
}

/// Training loss and test accuracy per epoch, as the training chart plots them.
pub fn training_curves(reports: &[crate::train::EpochReport]) -> ChartData {
    ChartData::new(
        "Training loss and test accuracy per epoch",
        Shape::Progress { unit: "epoch" },
        "epoch",
    )
    .with_x(reports.iter().map(|r| r.epoch.to_string()))
    .with_series(
        "training loss",
        reports.iter().map(|r| Some(r.train_loss as f64)),
        Format::Fixed(3),
    )
    .with_series(
        "test accuracy",
        reports.iter().map(|r| Some(r.test_accuracy as f64)),
        Format::Percent(1),
    )
}

/// Attack success and clean accuracy of each model Track B compares (clean, poisoned, cleaned).
pub fn model_bars(bars: &[crate::kinds::poisoning::ModelBars]) -> ChartData {
    let pct = Format::Percent(1);
    ChartData::new(
        "Attack success and clean accuracy of each model",
        Shape::Bars,
        "model",
    )
    .with_x(bars.iter().map(|b| b.model.clone()))
    .with_series(
        "attack success",
        bars.iter().map(|b| Some(b.attack_success as f64)),
        pct,
    )
    .with_series(
        "clean accuracy",
        bars.iter().map(|b| Some(b.clean_accuracy as f64)),
        pct,
    )
}

/// "loss fell from 2.30 to 0.11", "accuracy stayed at 91%", with where each end lies if given.
fn change(
    label: &str,
    format: Format,
    first: f64,
    last: f64,
    at: Option<(String, String)>,
) -> String {
    let (a, b) = (format.write(first), format.write(last));
    let (from, to) = match &at {
        Some((x0, x1)) => (format!("{a} at {x0}"), format!("{b} at {x1}")),
        None => (a.clone(), b.clone()),
    };
    if a == b {
        match at {
            Some((x0, x1)) => format!("{label} stayed at {a} from {x0} to {x1}"),
            None => format!("{label} stayed at {a}"),
        }
    } else if last > first {
        format!("{label} rose from {from} to {to}")
    } else {
        format!("{label} fell from {from} to {to}")
    }
}

fn plural(unit: &str, n: usize) -> String {
    if n == 1 {
        unit.to_string()
    } else {
        format!("{unit}s")
    }
}

/// "a", "a and b", "a, b and c".
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn join_sentences(body: String, notes: &[String]) -> String {
    std::iter::once(body)
        .chain(notes.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The false-positive rates an ROC's table reads its curve at.
pub const ROC_RATES: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0];

/// The most of the positives an ROC curve finds without passing the false-positive rate `rate`
/// (none when every point passes it).
fn found_at(points: &[(f64, f64)], rate: f64) -> Option<f64> {
    points
        .iter()
        .filter(|p| p.0 <= rate + 1e-12)
        .map(|p| p.1)
        .fold(None, |best: Option<f64>, y| {
            Some(best.map_or(y, |b| b.max(y)))
        })
}

/// The area under an ROC curve by trapezoids over its (false-positive rate, true-positive rate)
/// points in order of false-positive rate.
pub fn roc_area(points: &[(f64, f64)]) -> f64 {
    let mut points: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
        .sum()
}

/// Equal bins from `low` to `high` and how many of the finite `values` fall in each (values
/// outside go to the end bins): what a histogram draws and its table lists.
pub fn bin(values: impl IntoIterator<Item = f64>, bins: usize, low: f64, high: f64) -> Vec<u32> {
    let bins = bins.max(1);
    let width = (high - low) / bins as f64;
    let mut counts = vec![0u32; bins];
    for v in values.into_iter().filter(|v| v.is_finite()) {
        let b = if width > 0.0 {
            ((v - low) / width).floor().max(0.0) as usize
        } else {
            0
        };
        counts[b.min(bins - 1)] += 1;
    }
    counts
}

/// The bins' ranges as a histogram's table writes them: "0.10–0.15".
pub fn bin_ranges(bins: usize, low: f64, high: f64, format: Format) -> Vec<String> {
    let width = (high - low) / bins.max(1) as f64;
    (0..bins)
        .map(|b| {
            let from = low + b as f64 * width;
            format!("{}–{}", format.write(from), format.write(from + width))
        })
        .collect()
}

/// How a chart's axis places its figures: from `lo` to `hi`, evenly or by powers of ten. The
/// page draws with it; the ticks are worked out here, where they are tested.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl Scale {
    /// An even scale. An empty or reversed range is widened to 1, so nothing divides by zero.
    pub fn linear(lo: f64, hi: f64) -> Scale {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Scale { lo, hi, log: false }
    }

    /// A scale by powers of ten, over positive figures (`lo` is raised to a small positive one).
    pub fn log(lo: f64, hi: f64) -> Scale {
        let lo = lo.max(1e-12);
        let hi = if hi > lo { hi } else { lo * 10.0 };
        Scale { lo, hi, log: true }
    }

    /// Where `v` falls: 0 at `lo`, 1 at `hi`, beyond them outside.
    pub fn unit(&self, v: f64) -> f64 {
        if self.log {
            (v.max(1e-300).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }

    /// The ticks, each with its label: on an even scale at the smallest round step (1, 2 or 5
    /// times a power of ten) that cuts the range into at most `most` parts, written with the
    /// decimals the step needs; on a log scale each power of ten in range.
    pub fn ticks(&self, most: usize) -> Vec<(f64, String)> {
        if !(self.lo.is_finite() && self.hi.is_finite()) {
            return vec![];
        }
        if self.log {
            // A power of ten within rounding of an end counts
            // (log10(0.001) is -2.9999999999999996).
            let from = (self.lo.log10() - 1e-9).ceil().max(-320.0) as i32;
            let to = (self.hi.log10() + 1e-9).floor().min(320.0) as i32;
            return (from..=to)
                .map(|k| 10f64.powi(k))
                .map(|v| (v, format!("{v}")))
                .collect();
        }
        let raw = (self.hi - self.lo) / most.max(1) as f64;
        let power = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * power)
            .find(|&s| s >= raw * (1.0 - 1e-9))
            .unwrap_or(10.0 * power);
        if !(step.is_finite() && step > 0.0) {
            return vec![];
        }
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        // An end the steps reach within rounding is a tick; the slack is the step's, so a range
        // far from 0 (or below it) keeps its ends and never runs past them.
        let slack = step * 1e-6;
        let first = ((self.lo - slack) / step).ceil() as i64;
        (first..)
            .map(|k| k as f64 * step)
            .take_while(|&v| v <= self.hi + slack)
            .take(most.max(1) + 1)
            .map(|v| (v, format!("{:.decimals$}", if v == 0.0 { 0.0 } else { v })))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    fn tick_labels(scale: Scale, most: usize) -> Vec<String> {
        scale.ticks(most).into_iter().map(|(_, l)| l).collect()
    }

    #[test]
    fn even_ticks_are_round_and_say_what_the_step_needs() {
        assert_eq!(
            tick_labels(Scale::linear(0.0, 1.0), 10),
            ["0.0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1.0"]
        );
        assert_eq!(
            tick_labels(Scale::linear(0.0, 20.0), 10),
            ["0", "2", "4", "6", "8", "10", "12", "14", "16", "18", "20"]
        );
        assert_eq!(tick_labels(Scale::linear(0.0, 2.53), 5), ["0", "1", "2"]);
        assert_eq!(
            tick_labels(Scale::linear(0.55, 1.0), 5),
            ["0.6", "0.7", "0.8", "0.9", "1.0"]
        );
        assert_eq!(
            tick_labels(Scale::linear(-3.0, 1.0), 4),
            ["-3", "-2", "-1", "0", "1"]
        );
        assert_eq!(
            tick_labels(Scale::linear(0.0, 0.0033), 3),
            ["0.000", "0.002"]
        );
        // A range below zero keeps its upper end.
        assert_eq!(
            tick_labels(Scale::linear(-6.0, -1.0), 5),
            ["-6", "-5", "-4", "-3", "-2", "-1"]
        );
        assert_eq!(
            tick_labels(Scale::linear(-3.0, -1.0), 4),
            ["-3.0", "-2.5", "-2.0", "-1.5", "-1.0"]
        );
        // A range of a rounding error, or tiny beside its distance from 0, gives a few ticks,
        // never millions; one that is not finite gives none.
        assert!(Scale::linear(0.3, 0.1 + 0.2).ticks(10).len() <= 11);
        assert!(Scale::linear(1e9 - 1e-3, 1e9 + 1e-3).ticks(10).len() <= 11);
        assert!(Scale::linear(0.0, f64::INFINITY).ticks(10).is_empty());
        assert!(Scale::linear(f64::NAN, 1.0).ticks(10).is_empty());
        assert!(Scale::log(0.01, f64::INFINITY).ticks(10).is_empty());
        // A range of nothing is widened, not divided by.
        assert_eq!(Scale::linear(2.0, 2.0).hi, 3.0);
        assert!(Scale::linear(2.0, 2.0).ticks(5).len() >= 2);
    }

    #[test]
    fn log_ticks_are_the_powers_of_ten_in_range() {
        assert_eq!(
            tick_labels(Scale::log(0.002, 1.0), 10),
            ["0.01", "0.1", "1"]
        );
        assert_eq!(
            tick_labels(Scale::log(1e-4, 1.0), 10),
            ["0.0001", "0.001", "0.01", "0.1", "1"]
        );
        let s = Scale::log(0.01, 1.0);
        assert!((s.unit(0.1) - 0.5).abs() < 1e-12);
        assert_eq!(s.unit(0.01), 0.0);
        assert!((s.unit(1.0) - 1.0).abs() < 1e-12);
        // Zero sits far below the floor rather than at minus infinity.
        assert!(s.unit(0.0).is_finite() && s.unit(0.0) < 0.0);
    }

    #[test]
    fn an_even_scale_places_figures_linearly() {
        let s = Scale::linear(-1.0, 3.0);
        assert_eq!(
            [s.unit(-1.0), s.unit(1.0), s.unit(3.0), s.unit(5.0)],
            [0.0, 0.5, 1.0, 1.5]
        );
    }

    use super::*;

    fn training(loss: &[f32], accuracy: &[f32]) -> ChartData {
        let reports: Vec<crate::train::EpochReport> = loss
            .iter()
            .zip(accuracy)
            .enumerate()
            .map(
                |(e, (&train_loss, &test_accuracy))| crate::train::EpochReport {
                    epoch: e as u32 + 1,
                    epochs: loss.len() as u32,
                    train_loss,
                    train_accuracy: 0.0,
                    test_accuracy,
                },
            )
            .collect();
        training_curves(&reports)
    }

    #[test]
    fn a_training_run_is_summarised_from_its_first_and_last_epoch() {
        let chart = training(&[2.3, 1.0, 0.4], &[0.12, 0.6, 0.914]);
        assert_eq!(
            chart.summary(),
            "Over 3 epochs, training loss fell from 2.300 to 0.400 and test accuracy rose from 12.0% to 91.4%."
        );
        assert_eq!(chart.header(), ["epoch", "training loss", "test accuracy"]);
        assert_eq!(chart.rows()[2], ["3", "0.400", "91.4%"]);
        // One epoch, and a figure that does not move.
        let one = training(&[2.3], &[0.5]);
        assert_eq!(
            one.summary(),
            "Over 1 epoch, training loss stayed at 2.300 and test accuracy stayed at 50.0%."
        );
    }

    #[test]
    fn an_empty_chart_says_nothing_is_drawn_and_keeps_its_notes() {
        let empty = training(&[], &[]).with_note("The pass mark is 90%.");
        assert_eq!(
            empty.summary(),
            "Nothing is drawn yet. The pass mark is 90%."
        );
        assert!(empty.rows().is_empty());
    }

    #[test]
    fn a_curve_names_where_each_end_lies_and_missing_points_are_skipped() {
        let chart = ChartData::new("Attack success against ε", Shape::Curve, "ε")
            .with_x_numbers([0.0, 0.05, 0.1], Format::Fixed(3))
            .with_series(
                "attack success",
                [Some(0.02), None, Some(0.97)],
                Format::Percent(0),
            )
            .with_note("The budget is ε = 0.1.");
        assert_eq!(
            chart.summary(),
            "Attack success rose from 2% at ε = 0.000 to 97% at ε = 0.100. The budget is ε = 0.1."
        );
        assert_eq!(chart.rows()[1], ["0.050", "–"]);
        // A NaN figure is a missing one, never "NaN" in the table.
        let nan = ChartData::new("n", Shape::Curve, "x")
            .with_x_numbers([0.0], Format::Fixed(1))
            .with_series("y", [Some(f64::NAN)], Format::Fixed(1));
        assert_eq!(nan.rows()[0], ["0.0", "–"]);
        assert_eq!(nan.summary(), "Nothing is drawn yet.");
    }

    #[test]
    fn bars_list_every_value_when_few_and_the_extremes_when_many() {
        let few = ChartData::new("Models", Shape::Bars, "model")
            .with_x(["clean".to_string(), "poisoned".to_string()])
            .with_series(
                "attack success",
                [Some(0.01), Some(0.93)],
                Format::Percent(0),
            )
            .with_series(
                "clean accuracy",
                [Some(0.95), Some(0.94)],
                Format::Percent(0),
            );
        assert_eq!(
            few.summary(),
            "Attack success: clean 1%, poisoned 93%; clean accuracy: clean 95%, poisoned 94%."
        );
        let names = [
            "none",
            "hardening",
            "delimiting",
            "filter",
            "detector",
            "all",
        ];
        let many = ChartData::new("Defences", Shape::Bars, "defence")
            .with_x(names.map(String::from))
            .with_series(
                "attack success",
                [0.99, 0.99, 0.99, 0.21, 0.01, 0.0].map(Some),
                Format::Percent(0),
            );
        assert_eq!(
            many.summary(),
            "Attack success is highest for none 99% and lowest for all 0%."
        );
    }

    #[test]
    fn an_roc_curve_reports_its_area() {
        // Out of order on purpose: the area sorts by false-positive rate.
        let points = [(0.0, 0.0), (1.0, 1.0), (0.5, 0.9)];
        let chart = ChartData::roc("ROC", ["false-positive rate", "found"], &points);
        // Trapezoids: 0.5 × 0.45 + 0.5 × 0.95 = 0.70.
        assert_eq!(
            chart.summary(),
            "The area under the curve is 0.70 (0.50 is chance)."
        );
        // Read at the standard rates: at 50%, the most it finds is 90%.
        assert_eq!(chart.rows()[8], ["50.0%", "90.0%"]);
        assert!((roc_area(&[(0.0, 0.0), (1.0, 1.0)]) - 0.5).abs() < 1e-12);
        // However many points a curve has, its table has a row per standard rate.
        let long: Vec<(f64, f64)> = (0..=1500)
            .map(|i| (i as f64 / 1500.0, (i as f64 / 1500.0).sqrt()))
            .collect();
        let chart = ChartData::roc("ROC", ["false-positive rate", "found"], &long);
        assert_eq!(chart.rows().len(), ROC_RATES.len());
    }

    #[test]
    fn several_roc_curves_are_read_at_the_same_rates() {
        let curves = vec![
            (
                "attack".to_string(),
                vec![(0.0, 0.0), (0.005, 0.2), (0.02, 0.5), (1.0, 1.0)],
            ),
            ("loss".to_string(), vec![(0.0, 0.0), (0.5, 0.5), (1.0, 1.0)]),
        ];
        let chart = ChartData::rocs("ROCs", "false-positive rate", &curves, &[0.01, 0.5, 1.0]);
        assert_eq!(chart.header(), ["false-positive rate", "attack", "loss"]);
        // At 1%: the attack's best point at or under it is 20%; the loss finds none past 0.
        assert_eq!(chart.rows()[0], ["1.0%", "20.0%", "0.0%"]);
        assert_eq!(chart.rows()[1], ["50.0%", "50.0%", "50.0%"]);
        assert!(chart
            .summary()
            .starts_with("Areas under the curves: attack 0.7"));
        assert!(chart.summary().ends_with("loss 0.50 (0.50 is chance)."));
        assert_eq!(Format::YesNo.write(1.0), "yes");
        assert_eq!(Format::YesNo.write(0.0), "no");
        assert_eq!(Format::Fixed(2).write(f64::INFINITY), "∞");
    }

    #[test]
    fn histograms_bin_what_they_draw_and_name_the_fullest_bin() {
        let counts = bin([0.0, 0.1, 0.15, 0.9, 1.0, 7.0, f64::NAN, -1.0], 4, 0.0, 1.0);
        // -1 and 7 go to the end bins, NaN nowhere; 1.0 is in the last bin.
        assert_eq!(counts, [4, 0, 0, 3]);
        let ranges = bin_ranges(4, 0.0, 1.0, Format::Fixed(2));
        assert_eq!(ranges[1], "0.25–0.50");
        let chart = ChartData::new("Scores", Shape::Histogram, "score")
            .with_x(ranges)
            .with_series(
                "training images",
                counts.iter().map(|&c| Some(c as f64)),
                Format::Count,
            );
        assert_eq!(
            chart.summary(),
            "Training images: 7 in all, most in score 0.00–0.25."
        );
        assert_eq!(bin([], 3, 0.0, 0.0), [0, 0, 0]);
        // Bins not yet labelled (the figures have not arrived) are nothing drawn, not a panic.
        let mut unlabelled = chart.clone();
        unlabelled.x.clear();
        assert_eq!(unlabelled.summary(), "Nothing is drawn yet.");
        assert!(unlabelled.rows().is_empty());
    }
}
