//! Every data set and model the lab loads, described once: where it sits (in the repository and
//! on the built site alike), its pinned SHA-256, what it is called in a message, and which Web
//! Worker loads it ([`Worker`]). Which kinds need which resources is [`ExerciseKind::NEEDS`].
//! The workers, the CLI and the tests all check bytes through [`Resource::check`], so a damaged
//! or substituted file is reported the same way everywhere, by its name and hash.
//!
//! [`ExerciseKind::NEEDS`]: crate::kinds::ExerciseKind::NEEDS

use crate::course::paths;
use crate::{sha256_hex, Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    /// scikit-learn's 8×8 digits (UCI), gzip CSV: Tracks 0 and A.
    Digits,
    /// The UCI SMS Spam Collection subset, gzip TSV: Track B's spam filter.
    SmsSpam,
    /// The UCI Adult census subset, gzip TSV: Track C's attribute inference.
    Census,
    /// The shipped 64-32-10 MLP the attacks target (train-digits' reference model).
    TargetModel,
    /// Track E's plain assistant.
    AssistantModel,
    /// Track E's structured (StruQ-style) assistant.
    StructuredModel,
}

/// The Web Worker that loads a resource and runs the kinds that need it. Two, so that the code
/// that runs Track E's assistants (the model, candle's graph and autograd, the GCG search: most
/// of a worker that holds everything) is downloaded only by a learner who opens Track E,
/// together with the models it needs; the classifiers' worker starts on every other exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Worker {
    /// Tracks 0 and A to D: the digits MLP, the spam filter, the census model.
    Classifiers,
    /// Track E: the two assistant models.
    Assistants,
}

impl Worker {
    /// The worker that serves what needs `needs`: a kind, a request. Every kind's needs lie in
    /// one worker (a test checks each); nothing needed means the classifiers' worker.
    pub const fn of(needs: &[Resource]) -> Worker {
        match needs.first() {
            Some(resource) => resource.worker(),
            None => Worker::Classifiers,
        }
    }
}

impl Resource {
    pub const ALL: [Resource; 6] = [
        Resource::Digits,
        Resource::SmsSpam,
        Resource::Census,
        Resource::TargetModel,
        Resource::AssistantModel,
        Resource::StructuredModel,
    ];

    /// The worker that loads this resource.
    pub const fn worker(self) -> Worker {
        match self {
            Resource::AssistantModel | Resource::StructuredModel => Worker::Assistants,
            Resource::Digits | Resource::SmsSpam | Resource::Census | Resource::TargetModel => {
                Worker::Classifiers
            }
        }
    }

    /// Where the file sits, relative to the repository root and to the site.
    pub fn path(self) -> &'static str {
        match self {
            Resource::Digits => paths::DIGITS,
            Resource::SmsSpam => paths::SMS_SPAM,
            Resource::Census => paths::CENSUS,
            Resource::TargetModel => paths::TARGET_MODEL,
            Resource::AssistantModel => paths::ASSISTANT_MODEL,
            Resource::StructuredModel => paths::STRUCTURED_MODEL,
        }
    }

    /// The SHA-256 of the shipped file. A regenerated file (`mlsec train-target`,
    /// `mlsec train-assistant`) prints its hash, which replaces the one here.
    pub fn sha256(self) -> &'static str {
        match self {
            Resource::Digits => crate::digits::DIGITS_SHA256,
            Resource::SmsSpam => crate::spam::SPAM_SHA256,
            Resource::Census => crate::census::CENSUS_SHA256,
            Resource::TargetModel => TARGET_SHA256,
            Resource::AssistantModel => crate::injection::ASSISTANT_SHA256,
            Resource::StructuredModel => crate::injection::STRUCTURED_SHA256,
        }
    }

    /// What the learner is told the resource is.
    pub fn describe(self) -> &'static str {
        match self {
            Resource::Digits => "The lab's digits data",
            Resource::SmsSpam => "The lab's SMS spam data",
            Resource::Census => "The lab's census data",
            Resource::TargetModel => "The lab's target model",
            Resource::AssistantModel => "The plain assistant model",
            Resource::StructuredModel => "The structured assistant model",
        }
    }

    /// How the shipped file is made again (said when it is missing or damaged).
    pub fn regenerate(self) -> &'static str {
        match self {
            Resource::Digits => "python3 assets/digits/regenerate.py",
            Resource::SmsSpam => "python3 assets/spam/regenerate.py",
            Resource::Census => "python3 assets/adult/regenerate.py",
            Resource::TargetModel => "mlsec train-target",
            Resource::AssistantModel | Resource::StructuredModel => "mlsec train-assistant",
        }
    }

    /// Whether this is a data set (receipts name the data set an exercise is graded on).
    pub fn is_data_set(self) -> bool {
        matches!(
            self,
            Resource::Digits | Resource::SmsSpam | Resource::Census
        )
    }

    /// The file's name, for messages.
    pub fn file_name(self) -> &'static str {
        let path = self.path();
        path.rsplit('/').next().unwrap_or(path)
    }

    /// Refuses bytes that are not the shipped file, saying which file and why.
    pub fn check(self, bytes: &[u8]) -> Result<()> {
        let hash = sha256_hex(bytes);
        let expected = self.sha256();
        if hash == expected {
            return Ok(());
        }
        let message = format!(
            "{} has SHA-256 {}…, not the lab's {}…; the file is damaged or was replaced",
            self.file_name(),
            &hash[..12],
            &expected[..expected.len().min(12)]
        );
        Err(match self {
            Resource::Digits | Resource::SmsSpam | Resource::Census => Error::Data(message),
            _ => Error::Model(message),
        })
    }
}

/// SHA-256 of the shipped `assets/models/digits-mlp.safetensors`.
pub const TARGET_SHA256: &str = "72f85170ce818ad1f63478a67f6b4ffe4d0683d4ea02e46bc471bd321ff8192e";
