//! Drawing on canvases: every chart (on a [`Frame`]: axes, grid, lines, bars, dots and a
//! legend, drawn with the canvas's own 2D calls), and the 8×8 digits the learner paints and
//! the galleries show. Canvas, not styled elements, because the page's Content-Security-Policy
//! forbids inline styles. (The charts were drawn with plotters until issue 14: its generic
//! coordinate and series machinery was 28 KB of the page's gzip for these dozen charts.)

use mlsec_core::chart::{self, ChartData, Scale};
use mlsec_core::defence::DefenceRow;
use mlsec_core::kinds::poisoning::ModelBars;
use mlsec_core::kinds::spam_backdoor::FilterBars;
use mlsec_core::train::EpochReport;
use std::f64::consts::FRAC_PI_2;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use yew::prelude::{html, Html, NodeRef};

/// Every chart text uses this one font.
const FONT: &str = "13px sans-serif";

/// The colours of the series, and of the guides (levels, budgets, the diagonal).
const LOSS: &str = "rgb(214,90,49)";
const ACCURACY: &str = "rgb(38,110,200)";
const THIRD: &str = "rgb(40,150,90)";
const LOSS_LEVEL: &str = "rgba(214,90,49,0.6)";
const ACCURACY_LEVEL: &str = "rgba(38,110,200,0.6)";
const BLACK: &str = "#000";
const GUIDE: &str = "rgba(0,0,0,0.4)";
const DIAGONAL: &str = "rgba(0,0,0,0.3)";
const GRID: &str = "rgba(0,0,0,0.1)";

/// How a line is drawn: its colour, width, and dash pattern (empty: solid).
#[derive(Clone, Copy)]
struct Pen {
    colour: &'static str,
    width: f64,
    dash: &'static [f64],
}

const fn pen(colour: &'static str, width: f64) -> Pen {
    Pen {
        colour,
        width,
        dash: &[],
    }
}

impl Pen {
    const fn dashed(self, dash: &'static [f64]) -> Pen {
        Pen { dash, ..self }
    }

    /// Makes the context's lines this pen's.
    fn set(self, ctx: &CanvasRenderingContext2d) {
        ctx.set_stroke_style_str(self.colour);
        ctx.set_line_width(self.width);
        ctx.set_line_join("round");
        let dash: js_sys::Array = self.dash.iter().map(|&d| JsValue::from(d)).collect();
        let _ = ctx.set_line_dash(&dash);
    }
}

/// The second series of a chart: dashed, so it is told apart by more than colour.
const DASHES: &[f64] = &[6.0, 4.0];

/// An axis as a chart shows it: its scale, its description, how many parts its ticks cut it
/// into at most (0: no ticks), how a tick is written (else the scale's own label), and whether
/// grid lines cross the plot at its ticks.
struct Axis<'a> {
    scale: Scale,
    desc: &'a str,
    ticks: usize,
    label: Option<&'a dyn Fn(f64) -> String>,
    grid: bool,
}

fn axis(scale: Scale, desc: &str) -> Axis<'_> {
    Axis {
        scale,
        desc,
        ticks: 10,
        label: None,
        grid: true,
    }
}

impl<'a> Axis<'a> {
    fn no_grid(self) -> Self {
        Axis {
            grid: false,
            ..self
        }
    }
    fn no_ticks(self) -> Self {
        Axis { ticks: 0, ..self }
    }
    fn labelled(self, label: &'a dyn Fn(f64) -> String) -> Self {
        Axis {
            label: Some(label),
            ..self
        }
    }
}

/// How a legend entry shows its series.
enum Key {
    Line(Pen),
    Block(&'static str),
    Dot(&'static str, bool),
}

/// The corner of the plot a legend goes in: one the series leave empty.
enum Corner {
    UpperLeft,
    UpperRight,
    LowerRight,
}

/// A chart's canvas once its frame is drawn: the plot's rectangle in canvas pixels and the
/// scales of its axes (`y2`: the right-hand one, where there is one).
struct Frame {
    ctx: CanvasRenderingContext2d,
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
    x: Scale,
    y: Scale,
    y2: Option<Scale>,
}

/// Strokes a line through canvas pixels in the context's current style.
fn trace(ctx: &CanvasRenderingContext2d, points: &[(f64, f64)]) {
    ctx.begin_path();
    for (i, &(x, y)) in points.iter().enumerate() {
        if i == 0 {
            ctx.move_to(x, y)
        } else {
            ctx.line_to(x, y)
        }
    }
    ctx.stroke();
}

/// The canvas's 2D context.
fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// A chart's canvas, first narrowed to the width the page gives it (never wider than the width
/// it was made with), so that on a phone the chart is redrawn to fit and its text stays at the
/// font's size instead of being scaled down with the picture.
fn fitted(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
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
    context(canvas)
}

/// Draws a chart's frame on `canvas` (white ground, grid, axes, tick labels and the axes'
/// descriptions) with label areas of `[below, left, right]` pixels, and returns it to draw in.
fn frame(
    canvas: &HtmlCanvasElement,
    x: Axis,
    y: Axis,
    y2: Option<Axis>,
    [below, left, right]: [f64; 3],
) -> Option<Frame> {
    let ctx = fitted(canvas)?;
    let (width, height) = (f64::from(canvas.width()), f64::from(canvas.height()));
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, width, height);
    // Its edges at half pixels, where a 1-pixel line covers one column or row of pixels
    // (at whole ones it would be two grey ones).
    let frame = Frame {
        ctx,
        left: 10.5 + left,
        top: 10.5,
        right: width - 9.5 - right,
        bottom: height - 9.5 - below,
        x: x.scale,
        y: y.scale,
        y2: y2.as_ref().map(|a| a.scale),
    };
    let ctx = &frame.ctx;
    ctx.set_font(FONT);
    pen(BLACK, 1.0).set(ctx);
    // Each axis: its ticks (grid line, tick mark, label), then its line and its description.
    for (which, a) in [(0, Some(&x)), (1, Some(&y)), (2, y2.as_ref())] {
        let Some(a) = a else { continue };
        let ticks = if a.ticks == 0 {
            vec![]
        } else {
            a.scale.ticks(a.ticks)
        };
        // The widest tick label, so that a vertical axis's description clears them.
        let mut widest = 0f64;
        for (v, written) in ticks {
            let text = a.label.map_or(written, |f| f(v));
            widest = widest.max(ctx.measure_text(&text).map_or(0.0, |m| m.width()));
            let at = a.scale.unit(v);
            if which == 0 {
                let px = frame.left + at * (frame.right - frame.left);
                if a.grid {
                    frame.stroke(&[(px, frame.top), (px, frame.bottom)], GRID);
                }
                frame.stroke(&[(px, frame.bottom), (px, frame.bottom + 5.0)], BLACK);
                frame.write(&text, (px, frame.bottom + 7.0), "center", "top");
            } else {
                let py = frame.bottom - at * (frame.bottom - frame.top);
                let edge = if which == 1 { frame.left } else { frame.right };
                let out = if which == 1 { -5.0 } else { 5.0 };
                if a.grid && which == 1 {
                    frame.stroke(&[(frame.left, py), (frame.right, py)], GRID);
                }
                frame.stroke(&[(edge, py), (edge + out, py)], BLACK);
                let align = if which == 1 { "right" } else { "left" };
                frame.write(&text, (edge + out * 1.4, py), align, "middle");
            }
        }
        let (from, to, desc_at, turn) = match which {
            0 => (
                (frame.left, frame.bottom),
                (frame.right, frame.bottom),
                ((frame.left + frame.right) / 2.0, height - 4.0),
                0.0,
            ),
            1 => (
                (frame.left, frame.top),
                (frame.left, frame.bottom),
                (
                    (frame.left - widest - 17.0).max(9.0),
                    (frame.top + frame.bottom) / 2.0,
                ),
                -FRAC_PI_2,
            ),
            _ => (
                (frame.right, frame.top),
                (frame.right, frame.bottom),
                (
                    (frame.right + widest + 17.0).min(width - 9.0),
                    (frame.top + frame.bottom) / 2.0,
                ),
                FRAC_PI_2,
            ),
        };
        frame.stroke(&[from, to], BLACK);
        if !a.desc.is_empty() {
            ctx.save();
            ctx.translate(desc_at.0, desc_at.1).ok()?;
            ctx.rotate(turn).ok()?;
            frame.write(
                a.desc,
                (0.0, 0.0),
                "center",
                if turn == 0.0 { "bottom" } else { "middle" },
            );
            ctx.restore();
        }
    }
    Some(frame)
}

impl Frame {
    /// A figure's place in canvas pixels, on the right-hand axis if `right`.
    fn at(&self, (x, y): (f64, f64), right: bool) -> (f64, f64) {
        let scale = if right {
            self.y2.unwrap_or(self.y)
        } else {
            self.y
        };
        (
            self.left + self.x.unit(x) * (self.right - self.left),
            self.bottom - scale.unit(y) * (self.bottom - self.top),
        )
    }

    /// A thin solid line through canvas pixels (the frame's own lines).
    fn stroke(&self, points: &[(f64, f64)], colour: &str) {
        self.ctx.set_stroke_style_str(colour);
        trace(&self.ctx, points);
    }

    fn write(&self, text: &str, (x, y): (f64, f64), align: &str, baseline: &str) {
        let ctx = &self.ctx;
        ctx.set_fill_style_str(BLACK);
        ctx.set_text_align(align);
        ctx.set_text_baseline(baseline);
        let _ = ctx.fill_text(text, x, y);
    }

    /// Draws `draw` with `pen`'s style set, clipped to the plot if `clip`.
    fn styled(&self, pen: Pen, clip: bool, draw: impl FnOnce(&CanvasRenderingContext2d)) {
        let ctx = &self.ctx;
        ctx.save();
        if clip {
            ctx.begin_path();
            ctx.rect(
                self.left,
                self.top,
                self.right - self.left,
                self.bottom - self.top,
            );
            ctx.clip();
        }
        ctx.set_fill_style_str(pen.colour);
        pen.set(ctx);
        draw(ctx);
        ctx.restore();
    }

    /// A series' line through figures (on the right-hand axis if `right`).
    fn line(&self, points: impl IntoIterator<Item = (f64, f64)>, pen: Pen, right: bool) {
        let pixels: Vec<(f64, f64)> = points.into_iter().map(|p| self.at(p, right)).collect();
        self.styled(pen, true, |ctx| trace(ctx, &pixels));
    }

    /// A dot of `radius` pixels at a figure, filled or (2 px) outlined; not clipped, so a dot on
    /// the plot's edge (a DP-SGD run with no ε sits on the right one) shows whole.
    fn dot(&self, point: (f64, f64), radius: f64, colour: &'static str, filled: bool) {
        let (x, y) = self.at(point, false);
        self.styled(pen(colour, 2.0), false, |ctx| {
            ctx.begin_path();
            let _ = ctx.arc(x, y, radius, 0.0, 2.0 * std::f64::consts::PI);
            if filled {
                ctx.fill()
            } else {
                ctx.stroke()
            }
        });
    }

    /// A bar from `x0` to `x1` across, from the axis's foot up to `value`.
    fn bar(&self, x0: f64, x1: f64, value: f64, colour: &'static str) {
        let (left, top) = self.at((x0, value), false);
        let (right, foot) = self.at((x1, self.y.lo), false);
        self.styled(pen(colour, 1.0), true, |ctx| {
            ctx.fill_rect(left, top, right - left, foot - top)
        });
    }

    /// Text with its top left at a figure.
    fn text(&self, text: &str, point: (f64, f64)) {
        let (x, y) = self.at(point, false);
        self.write(text, (x, y), "left", "top");
    }

    /// The series' legend in `corner`, on a light box (every chart's legend looks the same).
    fn legend(&self, entries: &[(&str, Key)], corner: Corner) {
        let ctx = &self.ctx;
        let widest = entries
            .iter()
            .filter_map(|(label, _)| ctx.measure_text(label).ok())
            .map(|m| m.width())
            .fold(0.0, f64::max);
        let (row, pad, swatch) = (18.0, 6.0, 22.0);
        let (width, height) = (
            widest + swatch + 2.0 * pad,
            row * entries.len() as f64 + pad,
        );
        let x = match corner {
            Corner::UpperLeft => self.left + 10.0,
            _ => self.right - 10.0 - width,
        };
        let y = match corner {
            Corner::LowerRight => self.bottom - 10.0 - height,
            _ => self.top + 10.0,
        };
        pen(BLACK, 1.0).set(ctx);
        ctx.set_fill_style_str("rgba(255,255,255,0.8)");
        ctx.fill_rect(x, y, width, height);
        ctx.stroke_rect(x, y, width, height);
        for (i, (label, key)) in entries.iter().enumerate() {
            let (left, middle) = (x + pad, y + pad / 2.0 + row * (i as f64 + 0.5));
            ctx.save();
            match *key {
                Key::Line(p) => {
                    p.set(ctx);
                    trace(ctx, &[(left, middle), (left + 16.0, middle)]);
                }
                Key::Block(colour) => {
                    ctx.set_fill_style_str(colour);
                    ctx.fill_rect(left, middle - 5.0, 12.0, 10.0);
                }
                Key::Dot(colour, filled) => {
                    ctx.set_fill_style_str(colour);
                    ctx.set_stroke_style_str(colour);
                    ctx.set_line_width(2.0);
                    ctx.begin_path();
                    let _ = ctx.arc(left + 8.0, middle, 5.0, 0.0, 2.0 * std::f64::consts::PI);
                    if filled {
                        ctx.fill()
                    } else {
                        ctx.stroke()
                    }
                }
            }
            ctx.restore();
            self.write(label, (left + swatch, middle), "left", "middle");
        }
    }
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

/// A chart with a whole-number x axis from 0 to `x_end`, a left axis from 0 to `y_max` and a
/// right axis from 0 to 1, drawn with their `[x, left, right]` titles.
fn two_axes(
    canvas: &HtmlCanvasElement,
    x_end: f64,
    y_max: f64,
    titles: [&str; 3],
) -> Option<Frame> {
    // Epochs and steps are whole: a tick between two of them says nothing (and before a run,
    // on an axis from 0 to 1, would read "0 0 0 0 0 1 1 1 1 1").
    let whole = |x: f64| {
        if (x - x.round()).abs() < 1e-3 {
            format!("{x:.0}")
        } else {
            String::new()
        }
    };
    frame(
        canvas,
        axis(Scale::linear(0.0, x_end), titles[0]).labelled(&whole),
        axis(Scale::linear(0.0, y_max), titles[1]),
        Some(axis(Scale::linear(0.0, 1.0), titles[2]).no_grid()),
        [38.0, 45.0, 62.0],
    )
}

/// Loss (left axis, solid) and test accuracy (right axis, dashed) per epoch. The key is the
/// figure's caption, not a legend on the plot, which would cover the curves at any width.
pub fn training_curves(
    canvas: HtmlCanvasElement,
    reports: &[EpochReport],
    epochs: u32,
) -> Option<()> {
    // A diverged run's ∞ would squash every finite figure onto the floor.
    let max_loss = reports
        .iter()
        .map(|r| r.train_loss)
        .filter(|l| l.is_finite())
        .fold(0.5f32, f32::max)
        * 1.1;
    let chart = two_axes(
        &canvas,
        epochs.max(1) as f64,
        max_loss as f64,
        ["epoch", "training loss", "test accuracy"],
    )?;
    let at = |r: &EpochReport| r.epoch as f64;
    chart.line(
        reports.iter().map(|r| (at(r), r.train_loss as f64)),
        pen(LOSS, 2.0),
        false,
    );
    chart.line(
        reports.iter().map(|r| (at(r), r.test_accuracy as f64)),
        pen(ACCURACY, 2.0).dashed(DASHES),
        true,
    );
    Some(())
}

/// The key every two-axis chart's caption gives: which line is which, by colour and by style.
pub const TWO_AXES_KEY: &str = "Solid orange line: left axis. Dashed blue line: right axis.";

/// A token search's loss (left axis) and the input detector's score (right axis, with its
/// threshold) per step.
pub fn search_curves(
    canvas: HtmlCanvasElement,
    points: &[(f32, Option<f32>)],
    steps: u32,
    threshold: Option<f32>,
) -> Option<()> {
    let max_loss = points
        .iter()
        .map(|p| p.0)
        .filter(|l| l.is_finite())
        .fold(0.5f32, f32::max)
        * 1.1;
    let x_end = steps.max(1) as f64;
    let chart = two_axes(
        &canvas,
        x_end,
        max_loss as f64,
        ["step", "search loss", "detector score"],
    )?;
    if let Some(t) = threshold {
        chart.line([(0.0, t as f64), (x_end, t as f64)], pen(GUIDE, 1.0), true);
    }
    let at = |i: usize| (i + 1) as f64;
    chart.line(
        points.iter().enumerate().map(|(i, p)| (at(i), p.0 as f64)),
        pen(LOSS, 2.0),
        false,
    );
    chart.line(
        points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((at(i), p.1? as f64))),
        pen(ACCURACY, 2.0).dashed(DASHES),
        true,
    );
    Some(())
}

/// Attack success against ε, with the budget (vertical) and the pass mark (horizontal).
pub fn success_curve(
    canvas: HtmlCanvasElement,
    points: &[(f32, f32)],
    budget: f32,
    pass: f32,
) -> Option<()> {
    let x_end = points.iter().map(|p| p.0).fold(budget, f32::max) as f64 * 1.05;
    let chart = frame(
        &canvas,
        axis(Scale::linear(0.0, x_end), "ε"),
        axis(Scale::linear(0.0, 1.0), "attack success"),
        None,
        [30.0, 40.0, 0.0],
    )?;
    let (budget, pass) = (budget as f64, pass as f64);
    chart.line([(budget, 0.0), (budget, 1.0)], pen(GUIDE, 1.0), false);
    chart.line([(0.0, pass), (x_end, pass)], pen(GUIDE, 1.0), false);
    let points: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
    chart.line(points.iter().copied(), pen(LOSS, 2.0), false);
    for &p in &points {
        chart.dot(p, 3.0, LOSS, true);
    }
    Some(())
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
    let ctx = context(canvas)?;
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
    let ctx = context(canvas)?;
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

/// The frame of a chart of numbered groups of bars: a share from 0 to 1 up, `n` groups across,
/// numbered at the top (no x ticks), the axes described by `[x_desc, y_desc]`, and the label
/// areas (below, left) in pixels.
fn bar_axes(
    canvas: &HtmlCanvasElement,
    n: usize,
    [x_desc, y_desc]: [&str; 2],
    (below, left): (f64, f64),
) -> Option<Frame> {
    let chart = frame(
        canvas,
        axis(Scale::linear(0.0, n.max(1) as f64), x_desc)
            .no_grid()
            .no_ticks(),
        axis(Scale::linear(0.0, 1.0), y_desc),
        None,
        [below, left, 0.0],
    )?;
    for i in 0..n {
        chart.text(&format!("{}", i + 1), (i as f64 + 0.42, 0.99));
    }
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
    let chart = bar_axes(&canvas, pairs.len(), ["", y_desc], (30.0, 40.0))?;
    let n = pairs.len().max(1) as f64;
    let (lefts, rights): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    for (offset, values, colour, faint, level) in [
        (0.1, lefts, LOSS, LOSS_LEVEL, levels[0]),
        (0.5, rights, ACCURACY, ACCURACY_LEVEL, levels[1]),
    ] {
        for (i, value) in values.into_iter().enumerate() {
            let x = i as f64 + offset;
            chart.bar(x, x + 0.38, value, colour);
        }
        if let Some(level) = level {
            chart.line([(0.0, level), (n, level)], pen(faint, 1.0), false);
        }
    }
    chart.legend(
        &[
            (names[0], Key::Block(LOSS)),
            (names[1], Key::Block(ACCURACY)),
        ],
        Corner::UpperRight,
    );
    Some(())
}

/// A histogram's frame: `x` across, counts from 0 to `most` up, the axes described by
/// `[x_desc, y_desc]`, the x labels written by `x_label` where given (both histograms look alike).
fn histogram_chart(
    canvas: &HtmlCanvasElement,
    (low, high): (f64, f64),
    most: f64,
    [x_desc, y_desc]: [&str; 2],
    x_label: Option<&dyn Fn(f64) -> String>,
) -> Option<Frame> {
    let mut x = axis(Scale::linear(low, high), x_desc).no_grid();
    x.label = x_label;
    frame(
        canvas,
        x,
        axis(Scale::linear(0.0, most), y_desc),
        None,
        [30.0, 40.0, 0.0],
    )
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
    let top = bins.top as f64;
    let width = top / BINS as f64;
    let most = bins.counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.1;
    let chart = histogram_chart(
        &canvas,
        (0.0, top),
        most,
        ["score", "training images"],
        None,
    )?;
    for (b, &c) in bins.counts.iter().enumerate() {
        let x = b as f64 * width;
        chart.bar(x, x + width * 0.9, c as f64, ACCURACY);
    }
    if let Some(t) = threshold {
        let t = t as f64;
        chart.line([(t, 0.0), (t, most)], pen(LOSS, 2.0), false);
        chart.legend(
            &[("threshold: remove to the right", Key::Line(pen(LOSS, 1.0)))],
            Corner::UpperRight,
        );
    }
    Some(())
}

/// An ROC curve (false-positive rate, true-positive rate) with the chance diagonal; the axes
/// say what is flagged (`negatives`, `positives`), and `marked` puts a dot on one operating point.
pub fn roc_curve(
    canvas: HtmlCanvasElement,
    points: &[(f32, f32)],
    [negatives, positives]: [&str; 2],
    marked: Option<(f32, f32)>,
) -> Option<()> {
    let chart = frame(
        &canvas,
        axis(Scale::linear(0.0, 1.0), negatives),
        axis(Scale::linear(0.0, 1.0), positives),
        None,
        [30.0, 40.0, 0.0],
    )?;
    chart.line([(0.0, 0.0), (1.0, 1.0)], pen(DIAGONAL, 1.0), false);
    chart.line(
        points.iter().map(|&(x, y)| (x as f64, y as f64)),
        pen(LOSS, 2.0),
        false,
    );
    if let Some((x, y)) = marked {
        chart.dot((x as f64, y as f64), 5.0, LOSS, true);
    }
    Some(())
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
    let floor = (0.5 / negatives.max(1) as f64).min(fpr_line as f64 / 2.0);
    let chart = frame(
        &canvas,
        axis(
            Scale::log(floor, 1.0),
            "non-members called members (false-positive rate, log)",
        ),
        axis(Scale::log(floor, 1.0), "members found (log)"),
        None,
        [30.0, 60.0, 0.0],
    )?;
    chart.line([(floor, floor), (1.0, 1.0)], pen(DIAGONAL, 1.0), false);
    let fpr = fpr_line as f64;
    let guide = pen(BLACK, 1.0).dashed(&[4.0, 4.0]);
    chart.line([(fpr, floor), (fpr, 1.0)], guide, false);
    let fpr_label = format!("{}% false positives", fpr_line * 100.0);
    let mut keys = vec![(fpr_label.as_str(), Key::Line(guide))];
    // Told apart by line style as well as colour: solid, dashed, dotted.
    const STYLES: [Pen; 3] = [
        pen(LOSS, 2.0),
        pen(ACCURACY, 2.0).dashed(DASHES),
        pen(THIRD, 2.0).dashed(&[2.0, 3.0]),
    ];
    for (&(name, points), style) in curves.iter().zip(STYLES) {
        chart.line(
            points
                .iter()
                .map(|&(x, y)| ((x as f64).max(floor), (y as f64).max(floor))),
            style,
            false,
        );
        keys.push((name, Key::Line(style)));
    }
    // ROC curves run above the diagonal: the lower right is empty.
    chart.legend(&keys, Corner::LowerRight);
    Some(())
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
    let finite = |e: f64| e.is_finite() && e < 1e300;
    let right = runs
        .iter()
        .map(|r| r.0)
        .filter(|&e| finite(e))
        .fold(max_epsilon, f64::max)
        * 1.25;
    let lowest = runs.iter().map(|r| r.1).fold(accuracy_floor, f32::min) as f64;
    let bottom = ((lowest - 0.05).max(0.0) * 20.0).floor() / 20.0;
    let percent = |a: f64| format!("{:.0}%", a * 100.0);
    let chart = frame(
        &canvas,
        axis(
            Scale::linear(0.0, right),
            "ε at δ (right edge: ∞, no guarantee)",
        ),
        axis(Scale::linear(bottom, 1.0), "test accuracy").labelled(&percent),
        None,
        [30.0, 50.0, 0.0],
    )?;
    let floor = accuracy_floor as f64;
    chart.line(
        [(max_epsilon, bottom), (max_epsilon, 1.0)],
        pen(GUIDE, 1.0),
        false,
    );
    chart.line([(0.0, floor), (right, floor)], pen(GUIDE, 1.0), false);
    for &(e, a, held) in runs {
        let x = if finite(e) { e } else { right };
        chart.dot((x, a as f64), 5.0, if held { ACCURACY } else { LOSS }, held);
    }
    // The ideal corner (high accuracy at small ε) is the one runs rarely reach.
    chart.legend(
        &[
            ("ε budget", Key::Line(pen(GUIDE, 1.0))),
            ("accuracy floor", Key::Line(pen(GUIDE, 1.0))),
            (
                "attack held (AUC within the limit)",
                Key::Dot(ACCURACY, true),
            ),
            ("attack not held", Key::Dot(LOSS, false)),
        ],
        Corner::UpperLeft,
    );
    Some(())
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
    let (low, high) = (bins.low as f64, bins.high as f64);
    let width = (high - low) / LOSS_BINS as f64;
    let most = bins
        .members
        .iter()
        .chain(&bins.non_members)
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.25;
    let power = |x: f64| format!("1e{x:.0}");
    let chart = histogram_chart(
        &canvas,
        (low, high),
        most,
        ["loss (log scale)", "known records"],
        Some(&power),
    )?;
    for (counts, offset, colour) in [
        (&bins.members, 0.0, ACCURACY),
        (&bins.non_members, 0.5, LOSS),
    ] {
        for (b, &c) in counts.iter().enumerate() {
            let x = low + (b as f64 + offset) * width;
            chart.bar(x, x + width * 0.45, c as f64, colour);
        }
    }
    let mut keys = vec![
        ("members", Key::Block(ACCURACY)),
        ("non-members", Key::Block(LOSS)),
    ];
    if let Some(t) = threshold.filter(|t| t.is_finite() && *t > 0.0) {
        let x = (log_loss(t) as f64).clamp(low, high);
        chart.line([(x, 0.0), (x, most)], pen(BLACK, 2.0), false);
        keys.push(("threshold: members to the left", Key::Line(pen(BLACK, 1.0))));
    }
    chart.legend(&keys, Corner::UpperRight);
    Some(())
}

/// The class view's pass rate per exercise: one numbered bar each (the table beside it names
/// them).
pub fn pass_rates(canvas: HtmlCanvasElement, rates: &[f64]) -> Option<()> {
    let chart = bar_axes(
        &canvas,
        rates.len(),
        ["exercise", "share of hand-ins passed"],
        (45.0, 55.0),
    )?;
    for (i, &r) in rates.iter().enumerate() {
        let x = i as f64 + 0.2;
        chart.bar(x, x + 0.6, r, ACCURACY);
    }
    Some(())
}

/// One exercise's re-graded figures across the class: a dot per learner, in rank order, and
/// the threshold as a line.
pub fn figure_strip(
    canvas: HtmlCanvasElement,
    values: &[f64],
    threshold: f64,
    desc: &str,
) -> Option<()> {
    let finite = |v: f64| v.is_finite() && v < 1e300;
    let mut sorted: Vec<f64> = values.iter().copied().filter(|&v| finite(v)).collect();
    sorted.sort_by(f64::total_cmp);
    let lo = sorted.first().copied().unwrap_or(0.0).min(threshold);
    let hi = sorted.last().copied().unwrap_or(1.0).max(threshold);
    let pad = ((hi - lo) * 0.08).max(1e-3);
    let n = sorted.len().max(1) as f64;
    let chart = frame(
        &canvas,
        axis(Scale::linear(lo - pad, hi + pad), desc),
        axis(Scale::linear(0.0, n + 1.0), "learners, in rank order")
            .no_grid()
            .no_ticks(),
        None,
        [45.0, 55.0, 0.0],
    )?;
    chart.line(
        [(threshold, 0.0), (threshold, n + 1.0)],
        pen(LOSS, 2.0),
        false,
    );
    for (i, &v) in sorted.iter().enumerate() {
        chart.dot((v, i as f64 + 1.0), 4.0, ACCURACY, true);
    }
    Some(())
}
