//! Track B's text data and model: the SMS Spam Collection subset shipped in
//! `assets/spam/sms-spam.tsv.gz` (UCI, CC BY 4.0; fixed split: first 3,000 rows train, last 1,000
//! test), the words a message is read as, and the spam filter, a logistic regression over which
//! words a message contains.
//!
//! The filter is plain Rust rather than candle: a message touches a dozen of the ~6,300 words of
//! the vocabulary, so one sparse update is a dozen multiply-adds, where a dense candle matmul would
//! carry a 3,000 × 6,300 matrix of mostly zeros (76 MB as f32) through every step. It computes in f64 with
//! `libm`'s `exp`, so the same data gives bit-identical weights natively and in every browser.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

pub const ROWS: usize = 4000;
pub const TRAIN_ROWS: usize = 3000;
/// The same model over any set of features (Track C's census model).
pub type LogisticRegression = Filter;

/// SHA-256 of the shipped `sms-spam.tsv.gz`; receipts name the data by it.
pub const SPAM_SHA256: &str = "1473835ad067d691dd25f4370992a2a4c50d00db054950fd9f5afb3622150a77";

/// One SMS and whether it is spam.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub text: String,
    pub spam: bool,
}

/// The shipped messages with their fixed split.
#[derive(Clone, Debug)]
pub struct Corpus {
    pub train: Vec<Message>,
    pub test: Vec<Message>,
}

impl Corpus {
    /// Parses the gzip-compressed file exactly as shipped.
    pub fn from_tsv_gz(bytes: &[u8]) -> Result<Self> {
        Self::from_tsv(&crate::gunzip_text(bytes, "sms-spam.tsv.gz")?)
    }

    /// Refuses anything that is not 4,000 lines of `ham` or `spam`, a tab, and a message.
    pub fn from_tsv(text: &str) -> Result<Self> {
        let mut messages = Vec::with_capacity(ROWS);
        for (n, line) in text.lines().enumerate() {
            let (label, text) = line.split_once('\t').ok_or_else(|| {
                Error::Data(format!(
                    "line {}: expected a label, a tab and a message",
                    n + 1
                ))
            })?;
            let spam = match label {
                "spam" => true,
                "ham" => false,
                other => {
                    return Err(Error::Data(format!(
                        "line {}: the label is {other:?}, not ham or spam",
                        n + 1
                    )))
                }
            };
            messages.push(Message {
                text: text.to_string(),
                spam,
            });
        }
        if messages.len() != ROWS {
            return Err(Error::Data(format!(
                "expected {ROWS} messages, found {}",
                messages.len()
            )));
        }
        let test = messages.split_off(TRAIN_ROWS);
        Ok(Corpus {
            train: messages,
            test,
        })
    }
}

/// The words the filter reads in `text`: runs of letters and digits, lower-cased, each once, in
/// order. Everything else (spaces, punctuation, symbols such as £) separates words.
pub fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The first character of `text` the lab does not take in a message it is given, with its
/// position (counted in characters from 1): anything but Latin script (ASCII, the Latin-1 and
/// Latin Extended-A letters, typographic quotes, dashes and the ellipsis, £ and €), tabs and
/// spaces. The shipped data is English SMS; an emoji or a control character in a learner's
/// message is far more likely a paste gone wrong than a word the filter should learn.
pub fn unreadable(text: &str) -> Option<(usize, char)> {
    let readable = |c: char| matches!(c, ' ' | '\t' | '\u{21}'..='\u{7e}' | '\u{a0}'..='\u{17f}' | '\u{2010}'..='\u{2027}' | '€');
    text.chars()
        .enumerate()
        .find(|&(_, c)| !readable(c))
        .map(|(n, c)| (n + 1, c))
}

/// How a character the lab does not read is named in a message.
pub fn describe_char(c: char) -> String {
    if c.is_control() {
        let name = match c {
            '\n' | '\r' => "a line break",
            _ => "a control character",
        };
        format!("{name} (U+{:04X})", c as u32)
    } else {
        format!("“{c}” (U+{:04X})", c as u32)
    }
}

/// How the grader trains a filter (the learner does not choose it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterRecipe {
    pub epochs: u32,
    pub learning_rate: f64,
    /// L2 weight decay applied to each weight a message touches.
    pub l2: f64,
    /// Seeds the order messages are visited in each epoch.
    pub seed: u64,
}

impl FilterRecipe {
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=200).contains(&self.epochs) {
            return Err(format!("recipe.epochs must be 1–200, got {}", self.epochs));
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 10.0)
        {
            return Err(format!(
                "recipe.learning_rate must be in (0, 10], got {}",
                self.learning_rate
            ));
        }
        if !(self.l2.is_finite() && (0.0..1.0).contains(&self.l2)) {
            return Err(format!("recipe.l2 must be in [0, 1), got {}", self.l2));
        }
        Ok(())
    }
}

/// A word and the weight the filter gives it (positive: evidence of spam).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WordWeight {
    pub word: String,
    pub weight: f64,
}

/// A logistic regression over a set of features: the spam filter over the words a message
/// contains, and Track C's census model over a person's attributes.
#[derive(Clone, Debug)]
pub struct Filter {
    vocabulary: HashMap<String, usize>,
    weights: Vec<f64>,
    bias: f64,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-z))
}

impl Filter {
    /// Trains `recipe` on `messages`: stochastic gradient descent on the log loss, one message
    /// at a time in a seeded order.
    pub fn train<'a>(
        messages: impl IntoIterator<Item = (&'a str, bool)>,
        recipe: &FilterRecipe,
    ) -> Filter {
        Self::train_features(
            messages.into_iter().map(|(text, spam)| (words(text), spam)),
            recipe,
        )
    }

    /// Trains `recipe` on examples given as their sets of features and their labels.
    pub fn train_features(
        examples: impl IntoIterator<Item = (BTreeSet<String>, bool)>,
        recipe: &FilterRecipe,
    ) -> Filter {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut vocabulary = HashMap::new();
        let examples: Vec<(Vec<usize>, f64)> = examples
            .into_iter()
            .map(|(features, spam)| {
                let features = features
                    .into_iter()
                    .map(|w| {
                        let next = vocabulary.len();
                        *vocabulary.entry(w).or_insert(next)
                    })
                    .collect();
                (features, if spam { 1.0 } else { 0.0 })
            })
            .collect();
        let mut filter = Filter {
            weights: vec![0.0; vocabulary.len()],
            vocabulary,
            bias: 0.0,
        };
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(recipe.seed);
        let (lr, l2) = (recipe.learning_rate, recipe.l2);
        for _ in 0..recipe.epochs {
            order.shuffle(&mut rng);
            for &i in &order {
                let (features, label) = &examples[i];
                let z = filter.bias + features.iter().map(|&f| filter.weights[f]).sum::<f64>();
                let error = sigmoid(z) - label;
                for &f in features {
                    let w = &mut filter.weights[f];
                    *w -= lr * (error + l2 * *w);
                }
                filter.bias -= lr * error;
            }
        }
        filter
    }

    /// The filter's probability that `text` is spam.
    pub fn spam_probability(&self, text: &str) -> f64 {
        self.probability_of(&words(text))
    }

    /// The probability of the positive label for an example with these features (features never
    /// seen in training weigh nothing).
    pub fn probability_of(&self, features: &BTreeSet<String>) -> f64 {
        let z = features
            .iter()
            .filter_map(|w| self.vocabulary.get(w))
            .map(|&f| self.weights[f])
            .sum::<f64>();
        sigmoid(self.bias + z)
    }

    /// Whether the filter blocks `text` (probability of spam above one half).
    pub fn blocks(&self, text: &str) -> bool {
        self.spam_probability(text) > 0.5
    }

    /// The weight of `word` (0 for a word the filter never saw).
    pub fn weight(&self, word: &str) -> f64 {
        self.vocabulary
            .get(&word.to_lowercase())
            .map_or(0.0, |&f| self.weights[f])
    }

    /// The `n` words with the largest weights (`spammy`) or the smallest, ties broken by the
    /// word so the list is the same everywhere.
    pub fn strongest(&self, n: usize, spammy: bool) -> Vec<WordWeight> {
        let mut all: Vec<(&String, f64)> = self
            .vocabulary
            .iter()
            .map(|(w, &f)| (w, self.weights[f]))
            .collect();
        all.sort_by(|a, b| {
            let by_weight = if spammy {
                b.1.total_cmp(&a.1)
            } else {
                a.1.total_cmp(&b.1)
            };
            by_weight.then_with(|| a.0.cmp(b.0))
        });
        all.into_iter()
            .take(n)
            .map(|(word, weight)| WordWeight {
                word: word.clone(),
                weight,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe() -> FilterRecipe {
        FilterRecipe {
            epochs: 30,
            learning_rate: 0.5,
            l2: 0.0,
            seed: 1,
        }
    }

    #[test]
    fn words_are_lower_cased_runs_of_letters_and_digits() {
        let w: Vec<String> = words("FREE entry!! Txt WIN to 87121, £1000 — free café")
            .into_iter()
            .collect();
        assert_eq!(
            w,
            ["1000", "87121", "café", "entry", "free", "to", "txt", "win"]
        );
        assert!(words("!!! ... £").is_empty());
    }

    #[test]
    fn unreadable_characters_are_found_and_named() {
        assert_eq!(unreadable("Win £500 now… “free” – café €5"), None);
        assert_eq!(unreadable("hi 😀"), Some((4, '😀')));
        assert_eq!(describe_char('😀'), "“😀” (U+1F600)");
        assert_eq!(unreadable("a\nb"), Some((2, '\n')));
        assert_eq!(describe_char('\n'), "a line break (U+000A)");
        assert_eq!(describe_char('\u{7}'), "a control character (U+0007)");
    }

    /// A hand-built case: "prize" only ever appears in spam, "lunch" only in ham, so the filter
    /// weighs them that way and blocks a new message by its words.
    #[test]
    fn the_filter_learns_which_words_mean_spam() {
        let data = [
            ("claim your prize now", true),
            ("prize draw winner", true),
            ("lunch at noon", false),
            ("see you at lunch", false),
            ("running late see you soon", false),
        ];
        let filter = Filter::train(data, &recipe());
        assert!(filter.weight("prize") > 1.0, "{}", filter.weight("prize"));
        assert!(filter.weight("lunch") < -1.0, "{}", filter.weight("lunch"));
        assert_eq!(filter.weight("never-seen"), 0.0);
        assert!(filter.blocks("PRIZE!"));
        assert!(!filter.blocks("lunch?"));
        assert_eq!(filter.strongest(1, true)[0].word, "prize");
        assert_eq!(filter.strongest(2, false).len(), 2);
        // The same data and seed give the same weights.
        let again = Filter::train(data, &recipe());
        assert_eq!(again.weights, filter.weights);
    }

    #[test]
    fn a_damaged_file_is_refused_by_line() {
        assert!(Corpus::from_tsv("spam\thello\nbad line\n")
            .unwrap_err()
            .to_string()
            .contains("line 2: expected a label, a tab and a message"));
        assert!(Corpus::from_tsv("maybe\thello\n")
            .unwrap_err()
            .to_string()
            .contains("line 1: the label is \"maybe\", not ham or spam"));
        assert!(Corpus::from_tsv("ham\thello\n")
            .unwrap_err()
            .to_string()
            .contains("expected 4000 messages, found 1"));
    }
}
