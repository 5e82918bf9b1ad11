use thiserror::Error;

/// Every failure the engine reports. Messages are written for the person who caused them: a
/// learner, an instructor editing a lesson, or someone importing a file.
#[derive(Debug, Error)]
pub enum Error {
    #[error("data set: {0}")]
    Data(String),
    #[error("model file: {0}")]
    Model(String),
    #[error("invalid setting: {0}")]
    InvalidInput(String),
    #[error("lesson content: {0}")]
    Content(String),
    #[error("progress file: {0}")]
    Progress(String),
    #[error("receipt: {0}")]
    Receipt(String),
    /// candle's error, as its message: holding candle's type would link candle's error
    /// formatting (and its table of dtype names) into the page, which never computes a tensor.
    #[error("tensor computation failed: {0}")]
    Tensor(String),
}

impl From<candle_core::Error> for Error {
    fn from(e: candle_core::Error) -> Self {
        Error::Tensor(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;
