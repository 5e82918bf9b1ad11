//! Adversarial training's view is Track 0's: the shell's training fields, then the training
//! curves (test accuracy on clean images; the grader's own PGD runs once, at the end).

pub use super::train_classifier::View;
