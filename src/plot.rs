//! Drawing on canvases: the live training curves and the FGSM success-vs-ε curve (plotters),
//! and the 8×8 digit the learner paints. Canvas, not styled elements, because the page's
//! Content-Security-Policy forbids inline styles.

use mlsec_core::chart::{self, ChartData};
use mlsec_core::defence::DefenceRow;
use mlsec_core::kinds::poisoning::ModelBars;
use mlsec_core::kinds::spam_backdoor::FilterBars;
use mlsec_core::train::EpochReport;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::{html, Html, NodeRef};

/// Every chart text uses this one font. plotters measures text with a span carrying an inline
/// style attribute built from the font; index.html's CSP allows exactly that one attribute value
/// by hash ('unsafe-hashes'), so a new font or size here needs a new hash there (the end-to-end
/// test fails on any CSP violation).
const FONT: (&str, f64) = ("sans-serif", 13.0);

/// A chart on a canvas with an f32 axis each way (what the chart helpers hand back to draw on).
type Axes<'a> = ChartContext<
    'a,
    CanvasBackend,
    Cartesian2d<plotters::coord::types::RangedCoordf32, plotters::coord::types::RangedCoordf32>,
>;

/// The drawing area of a chart's canvas, first narrowed to the width the page gives it (never
/// wider than the width it was made with), so that on a phone the chart is redrawn to fit and its
/// text stays at the font's size instead of being scaled down with the picture.
fn area(canvas: HtmlCanvasElement) -> Option<DrawingArea<CanvasBackend, plotters::coord::Shift>> {
    let made = match canvas.get_attribute("data-width") {
        Some(w) => w.parse().unwrap_or(canvas.width()),
        None => {
            let w = canvas.width();
            let _ = canvas.set_attribute("data-width", &w.to_string());
            w
        }
    };
    let room = canvas
        .parent_element()
        .map(|p| p.client_width().max(0) as u32)
        .filter(|&w| w >= 240)
        .unwrap_or(made);
    let width = made.min(room);
    if canvas.width() != width {
        canvas.set_width(width);
    }
    Some(CanvasBackend::with_canvas_object(canvas)?.into_drawing_area())
}

/// A chart's figure: the canvas, named for screen readers by the chart's name and its summary;
/// the summary as the caption, followed by `key` (which colour and line is which series, in
/// words, so the picture never relies on colour alone); and the plotted figures as a table
/// behind a "Show data" toggle. `testid` names the canvas; its summary and table are
/// `<testid>-summary` and `<testid>-data`.
pub fn figure(
    canvas: &NodeRef,
    size: (u32, u32),
    data: &ChartData,
    key: &str,
    testid: &str,
) -> Html {
    chart_figure(canvas, size, data, key, testid, true)
}

/// A chart's figure, as [`figure`], for a chart whose figures the page already shows in a table
/// of its own beside it (no second copy behind a toggle).
pub fn figure_beside_table(
    canvas: &NodeRef,
    size: (u32, u32),
    data: &ChartData,
    key: &str,
    testid: &str,
) -> Html {
    chart_figure(canvas, size, data, key, testid, false)
}

fn chart_figure(
    canvas: &NodeRef,
    (width, height): (u32, u32),
    data: &ChartData,
    key: &str,
    testid: &str,
    toggle: bool,
) -> Html {
    let summary = data.summary();
    let rows = if toggle { data.rows() } else { vec![] };
    html! {
        <figure class="chart-figure">
            <canvas ref={canvas.clone()} width={width.to_string()} height={height.to_string()} class="chart"
                    role="img" aria-label={format!("{}. {summary}", data.name)} data-testid={testid.to_string()}></canvas>
            <figcaption>
                <span data-testid={format!("{testid}-summary")}>{ &summary }</span>
                if !key.is_empty() { { " " }{ key } }
            </figcaption>
            if !rows.is_empty() {
                <details class="data-table">
                    <summary>{ "Show data" }</summary>
                    <div class="table-wrap">
                        <table data-testid={format!("{testid}-data")}>
                            <caption>{ &data.name }</caption>
                            <thead><tr>{ for data.header().iter().map(|h| html! { <th scope="col">{ h }</th> }) }</tr></thead>
                            <tbody>{ for rows.iter().map(|r| html! {
                                <tr>{ for r.iter().map(|c| html! { <td>{ c }</td> }) }</tr>
                            }) }</tbody>
                        </table>
                    </div>
                </details>
            }
        </figure>
    }
}

const LOSS: RGBColor = RGBColor(214, 90, 49);
const ACCURACY: RGBColor = RGBColor(38, 110, 200);
const THIRD: RGBColor = RGBColor(40, 150, 90);

/// A chart with a whole-number x axis from 0 to `x_end`, a left axis from 0 to `y_max` and a
/// right axis from 0 to 1, drawn with their `[x, left, right]` titles.
fn two_axes<'a>(
    root: &'a DrawingArea<CanvasBackend, plotters::coord::Shift>,
    x_end: f32,
    y_max: f32,
    titles: [&str; 3],
) -> Option<
    plotters::chart::DualCoordChartContext<
        'a,
        CanvasBackend,
        Cartesian2d<plotters::coord::types::RangedCoordf32, plotters::coord::types::RangedCoordf32>,
        Cartesian2d<plotters::coord::types::RangedCoordf32, plotters::coord::types::RangedCoordf32>,
    >,
> {
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .x_label_area_size(38)
        .y_label_area_size(45)
        .right_y_label_area_size(62)
        .build_cartesian_2d(0f32..x_end, 0f32..y_max)
        .ok()?
        .set_secondary_coord(0f32..x_end, 0f32..1f32);
    chart
        .configure_mesh()
        .label_style(FONT)
        .axis_desc_style(FONT)
        .x_desc(titles[0])
        // Epochs and steps are whole: a tick between two of them says nothing (and before a
        // run, on an axis from 0 to 1, would read "0 0 0 0 0 1 1 1 1 1").
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-3 {
                format!("{x:.0}")
            } else {
                String::new()
            }
        })
        .y_desc(titles[1])
        .draw()
        .ok()?;
    chart
        .configure_secondary_axes()
        .label_style(FONT)
        .axis_desc_style(FONT)
        .y_desc(titles[2])
        .draw()
        .ok()?;
    Some(chart)
}

/// Loss (left axis, solid) and test accuracy (right axis, dashed) per epoch. The key is the
/// figure's caption, not a legend on the plot, which would cover the curves at any width.
pub fn training_curves(
    canvas: HtmlCanvasElement,
    reports: &[EpochReport],
    epochs: u32,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let max_loss = reports.iter().map(|r| r.train_loss).fold(0.5f32, f32::max) * 1.1;
    let x_end = epochs.max(1) as f32;
    let mut chart = two_axes(
        &root,
        x_end,
        max_loss,
        ["epoch", "training loss", "test accuracy"],
    )?;
    chart
        .draw_series(LineSeries::new(
            reports.iter().map(|r| (r.epoch as f32, r.train_loss)),
            LOSS.stroke_width(2),
        ))
        .ok()?;
    chart
        .draw_secondary_series(dashed(
            reports.iter().map(|r| (r.epoch as f32, r.test_accuracy)),
            ACCURACY,
        ))
        .ok()?;
    root.present().ok()
}

/// The key every two-axis chart's caption gives: which line is which, by colour and by style.
pub const TWO_AXES_KEY: &str = "Solid orange line: left axis. Dashed blue line: right axis.";

/// A dashed line in `colour`: the second series of a chart, told apart by more than colour.
fn dashed<I>(points: I, colour: RGBColor) -> DashedLineSeries<I::IntoIter, i32>
where
    I: IntoIterator<Item = (f32, f32)>,
    I::IntoIter: Clone,
{
    DashedLineSeries::new(points, 6, 4, colour.stroke_width(2))
}

/// A token search's loss (left axis) and the input detector's score (right axis, with its
/// threshold) per step.
pub fn search_curves(
    canvas: HtmlCanvasElement,
    points: &[(f32, Option<f32>)],
    steps: u32,
    threshold: Option<f32>,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let max_loss = points.iter().map(|p| p.0).fold(0.5f32, f32::max) * 1.1;
    let x_end = steps.max(1) as f32;
    let mut chart = two_axes(
        &root,
        x_end,
        max_loss,
        ["step", "search loss", "detector score"],
    )?;
    if let Some(t) = threshold {
        chart
            .draw_secondary_series(LineSeries::new(vec![(0.0, t), (x_end, t)], BLACK.mix(0.4)))
            .ok()?;
    }
    let at = |i: usize| (i + 1) as f32;
    chart
        .draw_series(LineSeries::new(
            points.iter().enumerate().map(|(i, p)| (at(i), p.0)),
            LOSS.stroke_width(2),
        ))
        .ok()?;
    chart
        .draw_secondary_series(dashed(
            points
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((at(i), p.1?))),
            ACCURACY,
        ))
        .ok()?;
    root.present().ok()
}

/// Attack success against ε, with the budget (vertical) and the pass mark (horizontal).
pub fn success_curve(
    canvas: HtmlCanvasElement,
    points: &[(f32, f32)],
    budget: f32,
    pass: f32,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let x_end = points.iter().map(|p| p.0).fold(budget, f32::max) * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0f32..x_end, 0f32..1f32)
        .ok()?;
    chart
        .configure_mesh()
        .label_style(FONT)
        .axis_desc_style(FONT)
        .x_desc("ε")
        .y_desc("attack success")
        .draw()
        .ok()?;
    chart
        .draw_series(LineSeries::new(
            vec![(budget, 0.0), (budget, 1.0)],
            BLACK.mix(0.4),
        ))
        .ok()?;
    chart
        .draw_series(LineSeries::new(
            vec![(0.0, pass), (x_end, pass)],
            BLACK.mix(0.4),
        ))
        .ok()?;
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            LOSS.stroke_width(2),
        ))
        .ok()?;
    chart
        .draw_series(points.iter().map(|&p| Circle::new(p, 3, LOSS.filled())))
        .ok()?;
    root.present().ok()
}

/// The 8×8 image in grey, optionally tinted red by saliency, changed pixels outlined, and the
/// keyboard cursor framed where given.
pub fn digit(
    canvas: &HtmlCanvasElement,
    image: &[f32],
    saliency: Option<&[f32]>,
    changed: &[bool],
    cursor: Option<u32>,
) -> Option<()> {
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    let cell = f64::from(canvas.width()) / 8.0;
    for (i, &v) in image.iter().enumerate() {
        let (x, y) = ((i % 8) as f64 * cell, (i / 8) as f64 * cell);
        let shade = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
        ctx.set_fill_style_str(&format!("rgb({shade},{shade},{shade})"));
        ctx.fill_rect(x, y, cell, cell);
        if let Some(s) = saliency.and_then(|s| s.get(i)) {
            ctx.set_fill_style_str(&format!("rgba(230,40,40,{:.3})", 0.7 * s.clamp(0.0, 1.0)));
            ctx.fill_rect(x, y, cell, cell);
        }
        ctx.set_stroke_style_str(if changed.get(i).copied().unwrap_or(false) {
            "#f0a000"
        } else {
            "#ccc"
        });
        ctx.set_line_width(if changed.get(i).copied().unwrap_or(false) {
            4.0
        } else {
            1.0
        });
        ctx.stroke_rect(x + 1.0, y + 1.0, cell - 2.0, cell - 2.0);
    }
    if let Some(p) = cursor {
        // The keyboard cursor: a blue frame inside a white one, seen on black and white pixels.
        let (x, y) = ((p % 8) as f64 * cell, (p / 8) as f64 * cell);
        ctx.set_line_width(3.0);
        ctx.set_stroke_style_str("#ffffff");
        ctx.stroke_rect(x + 3.0, y + 3.0, cell - 6.0, cell - 6.0);
        ctx.set_stroke_style_str("#2664c8");
        ctx.stroke_rect(x + 6.0, y + 6.0, cell - 12.0, cell - 12.0);
    }
    Some(())
}

/// The pixel (0–63) of an 8×8 painter canvas under a click, if the click is on the grid.
pub fn cell_at(e: &web_sys::MouseEvent) -> Option<u32> {
    let canvas: HtmlCanvasElement = e.target()?.dyn_into().ok()?;
    let cell = f64::from(canvas.client_width().max(1)) / 8.0;
    let (x, y) = (
        (f64::from(e.offset_x()) / cell) as u32,
        (f64::from(e.offset_y()) / cell) as u32,
    );
    (x < 8 && y < 8).then_some(y * 8 + x)
}

/// Side of one gallery thumbnail, in canvas pixels (an 8×8 image at 4 px a pixel, a gap of 4).
pub const THUMB: f64 = 36.0;

/// The poisoning galleries: images in rows of `columns`, the marked ones (flipped, poisoned)
/// framed in red.
pub fn thumbnails(
    canvas: &HtmlCanvasElement,
    images: &[(&[f32], bool)],
    columns: usize,
) -> Option<()> {
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").ok()??.dyn_into().ok()?;
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(
        0.0,
        0.0,
        f64::from(canvas.width()),
        f64::from(canvas.height()),
    );
    let px = (THUMB - 4.0) / 8.0;
    for (n, (image, flipped)) in images.iter().enumerate() {
        let (left, top) = (
            (n % columns) as f64 * THUMB + 2.0,
            (n / columns) as f64 * THUMB + 2.0,
        );
        for (i, &v) in image.iter().enumerate() {
            let shade = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
            ctx.set_fill_style_str(&format!("rgb({shade},{shade},{shade})"));
            ctx.fill_rect(
                left + (i % 8) as f64 * px,
                top + (i / 8) as f64 * px,
                px,
                px,
            );
        }
        ctx.set_stroke_style_str(if *flipped { "#d02020" } else { "#ccc" });
        ctx.set_line_width(if *flipped { 3.0 } else { 1.0 });
        ctx.stroke_rect(left - 1.0, top - 1.0, THUMB - 2.0, THUMB - 2.0);
    }
    Some(())
}

/// The defend exercise: attack success (bars, left) and utility (bars, right) per defence, the
/// learner's composition last; the pass region is attack success ≤ `max_attack` and utility
/// ≥ `min_utility`.
pub fn defence_chart(
    canvas: HtmlCanvasElement,
    rows: &[DefenceRow],
    max_attack: f32,
    min_utility: f64,
) -> Option<()> {
    let pairs: Vec<(f64, f64)> = rows.iter().map(|r| (r.attack_success, r.utility)).collect();
    bar_pairs(
        canvas,
        &pairs,
        ["attack success", "utility"],
        [Some(max_attack as f64), Some(min_utility)],
        "share of the suite",
    )
}

/// Track B's backdoor: clean accuracy and attack success of each model (clean, poisoned,
/// cleaned), with the attack-success limit.
pub fn backdoor_chart(
    canvas: HtmlCanvasElement,
    bars: &[ModelBars],
    success_limit: f64,
) -> Option<()> {
    let pairs: Vec<(f64, f64)> = bars
        .iter()
        .map(|b| (b.attack_success as f64, b.clean_accuracy as f64))
        .collect();
    bar_pairs(
        canvas,
        &pairs,
        ["attack success", "clean accuracy"],
        [Some(success_limit), None],
        "share of the test split",
    )
}

/// Track B's spam filter: triggered spam let through and spam caught by each filter (clean,
/// poisoned), with the let-through limit.
pub fn spam_chart(canvas: HtmlCanvasElement, bars: &[FilterBars], limit: f64) -> Option<()> {
    let pairs: Vec<(f64, f64)> = bars
        .iter()
        .map(|b| (b.let_through as f64, b.spam_caught as f64))
        .collect();
    bar_pairs(
        canvas,
        &pairs,
        ["triggered spam let through", "spam caught"],
        [Some(limit), None],
        "share of the test spam",
    )
}

/// The series' legend at `position` (a corner the series leave empty), on a light box (every
/// chart's legend looks the same).
fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Option<()> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(FONT)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .ok()
}

/// The axes of a chart of numbered groups of bars: a share from 0 to 1 up, `n` groups across,
/// numbered at the top (no x ticks), the axes described by `[x_desc, y_desc]`, and the
/// label areas (x, y) in pixels.
fn bar_axes<'a>(
    root: &'a DrawingArea<CanvasBackend, plotters::coord::Shift>,
    n: usize,
    [x_desc, y_desc]: [Option<&str>; 2],
    (x_area, y_area): (u32, u32),
) -> Option<Axes<'a>> {
    root.fill(&WHITE).ok()?;
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(0f32..n.max(1) as f32, 0f32..1f32)
        .ok()?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(0)
        .label_style(FONT)
        .axis_desc_style(FONT);
    if let Some(x) = x_desc {
        mesh.x_desc(x);
    }
    if let Some(y) = y_desc {
        mesh.y_desc(y);
    }
    mesh.draw().ok()?;
    chart
        .draw_series((0..n).map(|i| {
            Text::new(
                format!("{}", i + 1),
                (i as f32 + 0.42, 0.99),
                FONT.into_font().color(&BLACK),
            )
        }))
        .ok()?;
    Some(chart)
}

/// Two bars per numbered group (red left, blue right), each series with an optional level line.
fn bar_pairs(
    canvas: HtmlCanvasElement,
    pairs: &[(f64, f64)],
    names: [&str; 2],
    levels: [Option<f64>; 2],
    y_desc: &str,
) -> Option<()> {
    let root = area(canvas)?;
    let n = pairs.len().max(1) as f32;
    let mut chart = bar_axes(&root, pairs.len(), [None, Some(y_desc)], (30, 40))?;
    let bar = |i: usize, offset: f32, value: f64, colour: RGBColor| {
        let x = i as f32 + offset;
        Rectangle::new([(x, 0f32), (x + 0.38, value as f32)], colour.filled())
    };
    let series: [(&str, f32, fn(&(f64, f64)) -> f64, RGBColor, Option<f64>); 2] = [
        (names[0], 0.1, |p| p.0, LOSS, levels[0]),
        (names[1], 0.5, |p| p.1, ACCURACY, levels[1]),
    ];
    for (label, offset, value, colour, level) in series {
        chart
            .draw_series(
                pairs
                    .iter()
                    .enumerate()
                    .map(|(i, p)| bar(i, offset, value(p), colour)),
            )
            .ok()?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
        if let Some(level) = level {
            chart
                .draw_series(LineSeries::new(
                    [(0f32, level as f32), (n, level as f32)],
                    colour.mix(0.6).stroke_width(1),
                ))
                .ok()?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().ok()
}

/// A histogram's axes: `x` across, counts from 0 to `most` up, the axes described by
/// `[x_desc, y_desc]`, the x labels written by `x_label` where given (both histograms look alike).
fn histogram_chart<'a>(
    root: &'a DrawingArea<CanvasBackend, plotters::coord::Shift>,
    x: std::ops::Range<f32>,
    most: f32,
    [x_desc, y_desc]: [&str; 2],
    x_label: Option<&dyn Fn(&f32) -> String>,
) -> Option<Axes<'a>> {
    let mut chart = ChartBuilder::on(root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(x, 0f32..most)
        .ok()?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .label_style(FONT)
        .axis_desc_style(FONT)
        .x_desc(x_desc)
        .y_desc(y_desc);
    if let Some(format) = x_label {
        mesh.x_label_formatter(format);
    }
    mesh.draw().ok()?;
    Some(chart)
}

/// The bins a score histogram draws: `BINS` equal bins from 0 to just past the largest score
/// and the threshold.
const BINS: usize = 40;

/// A score histogram's bins, what it draws and what its table lists.
pub struct ScoreBins {
    pub top: f32,
    pub counts: Vec<u32>,
}

pub fn score_bins(scores: &[f32], threshold: Option<f32>) -> ScoreBins {
    let top = scores
        .iter()
        .copied()
        .filter(|s| s.is_finite())
        .fold(threshold.unwrap_or(0.0), f32::max)
        .max(1e-3)
        * 1.05;
    let counts = chart::bin(scores.iter().map(|&s| s as f64), BINS, 0.0, top as f64);
    ScoreBins { top, counts }
}

/// A score histogram's figures: the training images per bin of score, `where_` they are.
pub fn score_histogram_data(bins: &ScoreBins, threshold: Option<f32>, where_: &str) -> ChartData {
    let mut data = ChartData::new(
        format!("Histogram of the detector's scores {where_}"),
        chart::Shape::Histogram,
        "score",
    )
    .with_x(chart::bin_ranges(
        BINS,
        0.0,
        bins.top as f64,
        chart::Format::Fixed(3),
    ))
    .with_series(
        "training images",
        bins.counts.iter().map(|&c| Some(c as f64)),
        chart::Format::Count,
    );
    if let Some(t) = threshold {
        data = data.with_note(format!(
            "The threshold is at {t}: images to its right are removed."
        ));
    }
    data
}

/// Track B's detector scores: a histogram (counts per bin), with the removal threshold as a line.
pub fn score_histogram(
    canvas: HtmlCanvasElement,
    bins: &ScoreBins,
    threshold: Option<f32>,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let top = bins.top;
    let width = top / BINS as f32;
    let most = bins.counts.iter().copied().max().unwrap_or(1).max(1) as f32 * 1.1;
    let mut chart = histogram_chart(&root, 0f32..top, most, ["score", "training images"], None)?;
    chart
        .draw_series(bins.counts.iter().enumerate().map(|(b, &c)| {
            let x = b as f32 * width;
            Rectangle::new([(x, 0.0), (x + width * 0.9, c as f32)], ACCURACY.filled())
        }))
        .ok()?;
    if let Some(t) = threshold {
        chart
            .draw_series(LineSeries::new([(t, 0.0), (t, most)], LOSS.stroke_width(2)))
            .ok()?
            .label("threshold: remove to the right")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], LOSS));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    root.present().ok()
}

/// An ROC curve (false-positive rate, true-positive rate) with the chance diagonal; the axes
/// say what is flagged (`negatives`, `positives`), and `marked` puts a dot on one operating point.
pub fn roc_curve(
    canvas: HtmlCanvasElement,
    points: &[(f32, f32)],
    [negatives, positives]: [&str; 2],
    marked: Option<(f32, f32)>,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d(0f32..1f32, 0f32..1f32)
        .ok()?;
    chart
        .configure_mesh()
        .label_style(FONT)
        .axis_desc_style(FONT)
        .x_desc(negatives)
        .y_desc(positives)
        .draw()
        .ok()?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.3)))
        .ok()?;
    chart
        .draw_series(LineSeries::new(
            points.iter().copied(),
            LOSS.stroke_width(2),
        ))
        .ok()?;
    if let Some(point) = marked {
        chart
            .draw_series([Circle::new(point, 5, LOSS.filled())])
            .ok()?;
    }
    root.present().ok()
}

/// The figures of [`roc_log`]'s curves: each read at [`chart::ROC_RATES`], with their areas.
pub fn roc_log_data(name: &str, curves: &[(&str, &[(f32, f32)])]) -> ChartData {
    let curves: Vec<(String, Vec<(f64, f64)>)> = curves
        .iter()
        .map(|(n, points)| {
            let points = points.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
            (n.to_string(), points)
        })
        .collect();
    ChartData::rocs(
        name,
        "non-members called members",
        &curves,
        &chart::ROC_RATES,
    )
}

/// Track C's ROC curves on log-log axes, where an attack's low false-positive end shows (a
/// linear ROC squeezes it into the corner): each curve with its name, the diagonal of guessing,
/// and a dashed line at the false-positive rate the grade reads. Rates of 0 sit on the axes'
/// floor, half a record below the smallest rate the curves can reach.
pub fn roc_log(
    canvas: HtmlCanvasElement,
    curves: &[(&str, &[(f32, f32)])],
    negatives: u32,
    fpr_line: f32,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let floor = (0.5 / negatives.max(1) as f32).min(fpr_line / 2.0);
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(40)
        .build_cartesian_2d((floor..1f32).log_scale(), (floor..1f32).log_scale())
        .ok()?;
    chart
        .configure_mesh()
        .label_style(FONT)
        .axis_desc_style(FONT)
        .x_desc("non-members called members (false-positive rate, log)")
        .y_desc("members found (log)")
        .draw()
        .ok()?;
    chart
        .draw_series(LineSeries::new(
            [(floor, floor), (1.0, 1.0)],
            BLACK.mix(0.3),
        ))
        .ok()?;
    let dashes = (0..12).map(|k| {
        let (a, b) = (k as f32 / 12.0, (k as f32 + 0.5) / 12.0);
        let at = |t: f32| floor * (1.0 / floor).powf(t);
        PathElement::new(
            vec![(fpr_line, at(a)), (fpr_line, at(b))],
            BLACK.stroke_width(1),
        )
    });
    chart
        .draw_series(dashes)
        .ok()?
        .label(format!("{}% false positives", fpr_line * 100.0))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
    // Told apart by line style as well as colour: solid, dashed, dotted.
    for (&(name, points), (colour, dash)) in curves.iter().zip([
        (LOSS, None),
        (ACCURACY, Some((6, 4))),
        (THIRD, Some((2, 3))),
    ]) {
        let clamped: Vec<(f32, f32)> = points
            .iter()
            .map(|&(x, y)| (x.max(floor), y.max(floor)))
            .collect();
        let style = colour.stroke_width(2);
        let drawn = match dash {
            None => chart.draw_series(LineSeries::new(clamped, style)),
            Some((size, gap)) => {
                chart.draw_series(DashedLineSeries::new(clamped, size, gap, style))
            }
        };
        drawn.ok()?.label(name).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
        });
    }
    // ROC curves run above the diagonal: the lower right is empty.
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    root.present().ok()
}

/// Track C's privacy–accuracy trade-off over the learner's DP-SGD runs: each run's ε against
/// its test accuracy, filled when its attack was held to the limit, hollow when not; runs with no
/// ε (σ = 0, shuffled batches) sit on the right edge at "∞". The ε budget and the accuracy floor
/// are lines.
pub fn tradeoff(
    canvas: HtmlCanvasElement,
    runs: &[(f64, f32, bool)],
    max_epsilon: f64,
    accuracy_floor: f32,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let finite = runs
        .iter()
        .map(|r| r.0)
        .filter(|e| e.is_finite() && *e < 1e300);
    let right = finite.fold(max_epsilon, f64::max) * 1.25;
    let lowest = runs.iter().map(|r| r.1).fold(accuracy_floor, f32::min);
    let bottom = ((lowest - 0.05).max(0.0) * 20.0).floor() / 20.0;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..right, bottom..1f32)
        .ok()?;
    chart
        .configure_mesh()
        .label_style(FONT)
        .axis_desc_style(FONT)
        .y_label_formatter(&|a| format!("{:.0}%", a * 100.0))
        .x_desc("ε at δ (right edge: ∞, no guarantee)")
        .y_desc("test accuracy")
        .draw()
        .ok()?;
    let dashed = |a: (f64, f32), b: (f64, f32)| LineSeries::new([a, b], BLACK.mix(0.4));
    chart
        .draw_series(dashed((max_epsilon, bottom), (max_epsilon, 1.0)))
        .ok()?
        .label("ε budget")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.4)));
    chart
        .draw_series(dashed((0.0, accuracy_floor), (right, accuracy_floor)))
        .ok()?
        .label("accuracy floor")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.4)));
    let at = |e: f64| if e.is_finite() && e < 1e300 { e } else { right };
    chart
        .draw_series(
            runs.iter()
                .filter(|r| r.2)
                .map(|&(e, a, _)| Circle::new((at(e), a), 5, ACCURACY.filled())),
        )
        .ok()?
        .label("attack held (AUC within the limit)")
        .legend(|(x, y)| Circle::new((x + 8, y), 5, ACCURACY.filled()));
    chart
        .draw_series(
            runs.iter()
                .filter(|r| !r.2)
                .map(|&(e, a, _)| Circle::new((at(e), a), 5, LOSS.stroke_width(2))),
        )
        .ok()?
        .label("attack not held")
        .legend(|(x, y)| Circle::new((x + 8, y), 5, LOSS.stroke_width(2)));
    // The ideal corner (high accuracy at small ε) is the one runs rarely reach.
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().ok()
}

/// The bins of Track C's loss histograms: 30 equal bins of log10(loss) over whole powers of
/// ten that hold every loss, and the members' and non-members' counts in each.
pub struct LossBins {
    pub low: f32,
    pub high: f32,
    pub members: Vec<u32>,
    pub non_members: Vec<u32>,
}

const LOSS_BINS: usize = 30;

fn log_loss(l: f64) -> f32 {
    l.max(1e-12).log10() as f32
}

pub fn loss_bins(members: &[f64], non_members: &[f64]) -> LossBins {
    let all = members.iter().chain(non_members).map(|&l| log_loss(l));
    let (low, high) = all.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let (low, high) = if low.is_finite() {
        (low.floor(), high.ceil().max(low.floor() + 1.0))
    } else {
        (-6.0, 1.0)
    };
    let count = |losses: &[f64]| {
        let logs = losses.iter().map(|&l| log_loss(l) as f64);
        chart::bin(logs, LOSS_BINS, low as f64, high as f64)
    };
    LossBins {
        low,
        high,
        members: count(members),
        non_members: count(non_members),
    }
}

/// The loss histograms' figures: known members and non-members per bin of loss.
pub fn loss_histograms_data(bins: &LossBins, threshold: Option<f64>) -> ChartData {
    let width = (bins.high - bins.low) as f64 / LOSS_BINS as f64;
    let ranges = (0..LOSS_BINS).map(|b| {
        let from = bins.low as f64 + b as f64 * width;
        format!("{:.2e}–{:.2e}", 10f64.powf(from), 10f64.powf(from + width))
    });
    let counts = |c: &[u32]| c.iter().map(|&c| Some(c as f64)).collect::<Vec<_>>();
    let mut data = ChartData::new(
        "Losses of the known members and non-members, on a log scale",
        chart::Shape::Histogram,
        "loss",
    )
    .with_x(ranges)
    .with_series("members", counts(&bins.members), chart::Format::Count)
    .with_series(
        "non-members",
        counts(&bins.non_members),
        chart::Format::Count,
    );
    if let Some(t) = threshold.filter(|t| t.is_finite() && *t > 0.0) {
        data = data.with_note(format!(
            "Your threshold is at a loss of {t}: members to its left."
        ));
    }
    data
}

/// Track C's loss histograms: the known members' and non-members' losses on a log scale (an
/// overfit model's member losses sit orders of magnitude below 1), side by side per bin, with the
/// learner's threshold as a line.
pub fn loss_histograms(
    canvas: HtmlCanvasElement,
    bins: &LossBins,
    threshold: Option<f64>,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let (low, high) = (bins.low, bins.high);
    let width = (high - low) / LOSS_BINS as f32;
    let most = bins
        .members
        .iter()
        .chain(&bins.non_members)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f32
        * 1.25;
    let mut chart = histogram_chart(
        &root,
        low..high,
        most,
        ["loss (log scale)", "known records"],
        Some(&|x| format!("1e{x:.0}")),
    )?;
    for (counts, offset, colour, label) in [
        (&bins.members, 0.0, ACCURACY, "members"),
        (&bins.non_members, 0.5, LOSS, "non-members"),
    ] {
        chart
            .draw_series(counts.iter().enumerate().map(|(b, &c)| {
                let x = low + (b as f32 + offset) * width;
                Rectangle::new([(x, 0.0), (x + width * 0.45, c as f32)], colour.filled())
            }))
            .ok()?
            .label(label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    if let Some(t) = threshold.filter(|t| t.is_finite() && *t > 0.0) {
        let x = log_loss(t).clamp(low, high);
        chart
            .draw_series(LineSeries::new(
                [(x, 0.0), (x, most)],
                BLACK.stroke_width(2),
            ))
            .ok()?
            .label("threshold: members to the left")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().ok()
}

/// The class view's pass rate per exercise: one numbered bar each (the table beside it names
/// them).
pub fn pass_rates(canvas: HtmlCanvasElement, rates: &[f64]) -> Option<()> {
    let root = area(canvas)?;
    let mut chart = bar_axes(
        &root,
        rates.len(),
        [Some("exercise"), Some("share of hand-ins passed")],
        (45, 55),
    )?;
    chart
        .draw_series(rates.iter().enumerate().map(|(i, &r)| {
            let x = i as f32 + 0.2;
            Rectangle::new([(x, 0f32), (x + 0.6, r as f32)], ACCURACY.filled())
        }))
        .ok()?;
    root.present().ok()
}

/// One exercise's re-graded figures across the class: a dot per learner, in rank order, and
/// the threshold as a line.
pub fn figure_strip(
    canvas: HtmlCanvasElement,
    values: &[f64],
    threshold: f64,
    desc: &str,
) -> Option<()> {
    let root = area(canvas)?;
    root.fill(&WHITE).ok()?;
    let finite = |v: f64| v.is_finite() && v < 1e300;
    let mut sorted: Vec<f64> = values.iter().copied().filter(|&v| finite(v)).collect();
    sorted.sort_by(f64::total_cmp);
    let lo = sorted.first().copied().unwrap_or(0.0).min(threshold) as f32;
    let hi = sorted.last().copied().unwrap_or(1.0).max(threshold) as f32;
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let n = sorted.len().max(1) as f32;
    let mut chart = ChartBuilder::on(&root)
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d((lo - pad)..(hi + pad), 0f32..n + 1.0)
        .ok()?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .label_style(FONT)
        .axis_desc_style(FONT)
        .x_desc(desc)
        .y_desc("learners, in rank order")
        .draw()
        .ok()?;
    chart
        .draw_series(LineSeries::new(
            [(threshold as f32, 0f32), (threshold as f32, n + 1.0)],
            LOSS.stroke_width(2),
        ))
        .ok()?;
    chart
        .draw_series(
            sorted
                .iter()
                .enumerate()
                .map(|(i, &v)| Circle::new((v as f32, i as f32 + 1.0), 4, ACCURACY.filled())),
        )
        .ok()?;
    root.present().ok()
}
