//! The 8×8 handwritten digits (UCI "Optical Recognition of Handwritten Digits", CC BY 4.0), as
//! shipped in `assets/digits/digits.csv.gz`. Fixed split: first 1,437 rows train, last 360 test.

use crate::{Error, Result};

pub const PIXELS: usize = 64;
/// Each image is SIDE × SIDE pixels, row by row.
pub const SIDE: usize = 8;
pub const CLASSES: usize = 10;
pub const ROWS: usize = 1797;
pub const TRAIN_ROWS: usize = 1437;
pub const TEST_ROWS: usize = ROWS - TRAIN_ROWS;
/// SHA-256 of the shipped `digits.csv.gz`; receipts name the data by it.
pub const DIGITS_SHA256: &str = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22";

/// A set of images (row-major, `len() * 64` pixels in [0, 1]) and their labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Images {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * PIXELS..(i + 1) * PIXELS]
    }
    /// The images at `indices`, in that order, with their labels.
    pub fn select(&self, indices: &[usize]) -> Images {
        // Whole images at a time (DP-SGD draws a batch this way every step).
        let mut pixels = Vec::with_capacity(indices.len() * PIXELS);
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        Images {
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
    /// The images whose label is `class`, with their indices in `self`.
    pub fn of_class(&self, class: u8) -> (Vec<usize>, Images) {
        let idx: Vec<usize> = (0..self.len())
            .filter(|&i| self.labels[i] == class)
            .collect();
        let images = self.select(&idx);
        (idx, images)
    }
}

/// The whole data set with its fixed split.
#[derive(Clone, Debug)]
pub struct Digits {
    pub train: Images,
    pub test: Images,
}

impl Digits {
    /// Parses the gzip-compressed CSV exactly as shipped. Refuses anything that is not 1,797 rows
    /// of 64 integer pixels in 0..=16 followed by a label in 0..=9.
    pub fn from_csv_gz(bytes: &[u8]) -> Result<Self> {
        Self::from_csv(&crate::gunzip_text(bytes, "digits.csv.gz")?)
    }

    pub fn from_csv(text: &str) -> Result<Self> {
        let mut pixels = Vec::with_capacity(ROWS * PIXELS);
        let mut labels = Vec::with_capacity(ROWS);
        for (line_no, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != PIXELS + 1 {
                return Err(Error::Data(format!(
                    "line {}: expected 65 comma-separated values, found {}",
                    line_no + 1,
                    fields.len()
                )));
            }
            for (col, field) in fields.iter().enumerate() {
                let value: f32 = field.trim().parse().map_err(|_| {
                    Error::Data(format!(
                        "line {}, column {}: '{field}' is not a number",
                        line_no + 1,
                        col + 1
                    ))
                })?;
                let (max, integral) = if col < PIXELS {
                    (16.0, true)
                } else {
                    (9.0, true)
                };
                if !(0.0..=max).contains(&value) || (integral && value.fract() != 0.0) {
                    return Err(Error::Data(format!(
                        "line {}, column {}: {value} is outside 0..={max}",
                        line_no + 1,
                        col + 1
                    )));
                }
                if col < PIXELS {
                    pixels.push(value / 16.0);
                } else {
                    labels.push(value as u8);
                }
            }
        }
        if labels.len() != ROWS {
            return Err(Error::Data(format!(
                "expected {ROWS} images, found {}",
                labels.len()
            )));
        }
        let test_pixels = pixels.split_off(TRAIN_ROWS * PIXELS);
        let test_labels = labels.split_off(TRAIN_ROWS);
        Ok(Digits {
            train: Images { pixels, labels },
            test: Images {
                pixels: test_pixels,
                labels: test_labels,
            },
        })
    }
}
