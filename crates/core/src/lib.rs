//! MLSec Lab's engine. Everything the lab *decides* lives here: data sets, models, training,
//! attacks, graders, the lesson/course format, the progress model and receipts.
//!
//! Architecture invariant: this crate does no I/O and knows nothing about browsers. It takes
//! bytes and strings and returns values, so it builds and is tested natively and for wasm32, and
//! the same inputs give the same grade in both places.

pub mod accountant;
pub mod attacks;
pub mod census;
pub mod chart;
pub mod class;
pub mod course;
pub mod defence;
pub mod detectors;
pub mod digits;
pub mod dp_sgd;
pub mod error;
pub mod exercise;
pub mod fields;
pub mod golden;
pub mod grade;
pub mod injection;
pub mod inversion;
pub mod kernels;
pub mod kinds;
pub mod markdown;
pub mod mlp;
pub mod painter;
pub mod progress;
pub mod receipt;
pub mod resources;
pub mod route;
pub mod search;
pub mod session;
pub mod spam;
pub mod tags;
pub mod train;
pub mod workloads;
pub mod workshop;

pub use error::{Error, Result};

/// SHA-256 of `bytes` as lowercase hex: how receipts name models and data sets.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text inside a shipped gzip file called `name` (a data set), or why it is not readable.
pub(crate) fn gunzip_text(bytes: &[u8], name: &str) -> Result<String> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| Error::Data(format!("{name} is not a readable gzip text file: {e}")))?;
    Ok(text)
}

/// `1048577` as `1,048,577`.
pub(crate) fn thousands(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Learner text quoted for a message: escaped, and cut to 40 characters with its full length
/// said when longer (a 300-character label or a 10 MB paste is not repeated whole).
pub(crate) fn quoted(text: &str) -> String {
    const SHOWN: usize = 40;
    let count = text.chars().count();
    let head: String = text.chars().take(SHOWN).collect();
    let head = head.escape_debug();
    if count > SHOWN {
        format!("'{head}…' ({count} characters)")
    } else {
        format!("'{head}'")
    }
}

/// `text` read as JSON into a `T`, by way of a [`serde_json::Value`]. Every file and message the
/// lab reads goes through here, so each type's deserialiser is linked once, for `Value` (which
/// settings' fields and workshops are edited as anyway), not a second time for JSON text: a
/// 21 KB (3%) smaller page (gzip), for ~0.25 ms more on the course bundle natively. A syntax
/// error still says its line and column; a wrong type says what was expected.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_value(serde_json::from_str::<serde_json::Value>(text)?)
}
