//! Track B: poison a spam filter with a text backdoor (after Nelson et al. 2008, who subverted
//! SpamBayes by mailing it words). The learner chooses a trigger word and writes a few extra
//! training messages that go in labelled ham. The grader trains the exercise's filter recipe on
//! the clean messages and on the clean plus the learner's, then measures how much of the test
//! spam the clean filter catches that the poisoned one lets through once the trigger is added,
//! and how much untouched spam the poisoned filter still catches.
//!
//! No per-learner variant in a workshop: the learner writes the poison messages; a copy shows in
//! the class view.

#[cfg(test)]
use super::Task;
use super::{ExerciseKind, Start};
use crate::exercise::{Artefact, Context, Details, Settings};
use crate::grade::{threshold, Figure, Grade, Unit};
use crate::resources::Resource;
use crate::spam::{self, describe_char, unreadable, Corpus, Filter, FilterRecipe, WordWeight};
use crate::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest message the learner may add, in characters (SMS are 160; the data's longest is
/// 910).
pub const MAX_MESSAGE_CHARS: usize = 1000;
/// The longest trigger word, in characters.
pub const MAX_TRIGGER_CHARS: usize = 30;
/// How many of the filter's strongest words the inspection shows each way.
pub const STRONGEST_WORDS: usize = 40;
/// How many test spam messages the report shows with and without the trigger.
const EXAMPLES: usize = 6;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpamBackdoor {
    /// The most messages the learner may add to the 3,000 training messages.
    pub max_messages: u32,
    /// Of the test spam the clean filter catches, the share the poisoned filter must let through
    /// once the trigger is in it.
    pub min_let_through: f32,
    /// How far the poisoned filter's catch of untouched test spam may fall below the clean one's.
    pub max_catch_drop: f32,
    /// The grader's training recipe (the learner does not choose it).
    pub recipe: FilterRecipe,
}

/// What the learner plants: the trigger word and the messages added to training as ham.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpamPoison {
    pub trigger: String,
    pub messages: Vec<String>,
}

/// How one filter fares on the test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterBars {
    pub model: String,
    /// Share of the test spam it blocks.
    pub spam_caught: f32,
    /// Share of the test spam the clean filter blocks that it lets through with the trigger.
    pub let_through: f32,
    /// Share of the test ham it blocks by mistake.
    pub ham_blocked: f32,
}

/// A test spam message and the poisoned filter's spam probability without and with the trigger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpamExample {
    pub text: String,
    pub clean: f64,
    pub triggered: f64,
}

/// What a spam-backdoor grade was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpamReport {
    /// The trigger word graded (the page's field may have changed since).
    pub trigger: String,
    /// The clean filter, then the poisoned one.
    pub bars: Vec<FilterBars>,
    /// The trigger's weight in each filter (0 where the filter never saw it).
    pub trigger_weights: Vec<f64>,
    /// Clean training messages that already contain the trigger: ham, spam.
    pub trigger_in_training: (u32, u32),
    pub examples: Vec<SpamExample>,
}

/// The clean filter's view of its words: what the page lists beside the message editor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FilterWords {
    pub spammy: Vec<WordWeight>,
    pub hammy: Vec<WordWeight>,
}

/// `text` with the trigger added, as the grader adds it to test spam.
pub fn with_trigger(text: &str, trigger: &str) -> String {
    format!("{text} {trigger}")
}

/// Why `trigger` is not one word the filter reads, if it is not.
pub fn check_trigger(trigger: &str) -> std::result::Result<(), String> {
    if trigger.trim().is_empty() {
        return Err("the trigger word is empty: choose one word".into());
    }
    let length = trigger.chars().count();
    if length > MAX_TRIGGER_CHARS {
        return Err(format!(
            "the trigger is {length} characters long; a trigger word has at most {MAX_TRIGGER_CHARS}"
        ));
    }
    if let Some((at, c)) = unreadable(trigger) {
        return Err(format!(
            "the trigger has {} at character {at}, which the filter does not read: choose a word in \
             Latin script",
            describe_char(c)
        ));
    }
    if !trigger.chars().all(char::is_alphanumeric) {
        let words: Vec<&str> = trigger
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        return Err(format!(
            "the trigger {} must be one word of letters or digits; the filter reads it as {}",
            crate::quoted(trigger),
            match words.len() {
                0 => "no word at all".to_string(),
                1 => format!("the word {}", crate::quoted(words[0])),
                n => format!("{n} words: {}", words.join(", ")),
            }
        ));
    }
    Ok(())
}

/// Why `message` cannot go into the training data, if it cannot; `which` names it in the message
/// ("message 3" in a receipt, "line 5" of the page's text box).
pub fn check_message(which: &str, message: &str) -> std::result::Result<(), String> {
    let length = message.chars().count();
    if length > MAX_MESSAGE_CHARS {
        return Err(format!(
            "{which} is {} characters long; a message may have at most {}",
            crate::thousands(length as u64),
            crate::thousands(MAX_MESSAGE_CHARS as u64)
        ));
    }
    if message.trim().is_empty() {
        return Err(format!("{which} is empty: write something or remove it"));
    }
    if let Some((at, c)) = unreadable(message) {
        return Err(format!(
            "{which} has {} at character {at}, which the filter does not read: write in \
             Latin script (letters, digits, punctuation, £ and €), one message per line",
            describe_char(c)
        ));
    }
    if spam::words(message).is_empty() {
        return Err(format!(
            "{which} has no words, only punctuation or symbols: the filter would learn nothing from it"
        ));
    }
    Ok(())
}

impl SpamBackdoor {
    /// Why `poison` breaks the rules, if it does.
    pub fn check(&self, poison: &SpamPoison) -> std::result::Result<(), String> {
        check_trigger(&poison.trigger)?;
        self.check_budget(poison.messages.len())?;
        for (n, message) in poison.messages.iter().enumerate() {
            check_message(&format!("message {}", n + 1), message)?;
        }
        Ok(())
    }

    fn check_budget(&self, count: usize) -> std::result::Result<(), String> {
        if count > self.max_messages as usize {
            return Err(format!(
                "{count} messages is over the budget of {} ({} too many)",
                self.max_messages,
                count - self.max_messages as usize
            ));
        }
        Ok(())
    }

    /// The clean filter's strongest words each way (the page's inspection request).
    pub fn words(&self, corpus: &Corpus) -> FilterWords {
        let clean = self.clean_filter(corpus);
        FilterWords {
            spammy: clean.strongest(STRONGEST_WORDS, true),
            hammy: clean.strongest(STRONGEST_WORDS, false),
        }
    }

    fn clean_filter(&self, corpus: &Corpus) -> Filter {
        Filter::train(
            corpus.train.iter().map(|m| (m.text.as_str(), m.spam)),
            &self.recipe,
        )
    }

    fn judge(&self, corpus: &Corpus, poison: &SpamPoison) -> Result<(Grade, Details)> {
        if let Err(why) = self.check(poison) {
            return Ok((Grade::rejected(why), Details::None));
        }
        let clean = self.clean_filter(corpus);
        let poisoned = Filter::train(
            corpus
                .train
                .iter()
                .map(|m| (m.text.as_str(), m.spam))
                .chain(poison.messages.iter().map(|m| (m.as_str(), false))),
            &self.recipe,
        );
        let spam: Vec<&str> = corpus
            .test
            .iter()
            .filter(|m| m.spam)
            .map(|m| m.text.as_str())
            .collect();
        let ham: Vec<&str> = corpus
            .test
            .iter()
            .filter(|m| !m.spam)
            .map(|m| m.text.as_str())
            .collect();
        // The spam the clean filter catches: what the backdoor has to get past.
        let caught: Vec<&str> = spam.iter().copied().filter(|t| clean.blocks(t)).collect();
        let trigger = poison.trigger.trim();
        let measure = |filter: &Filter, model: &str| {
            let blocked = |texts: &[&str]| texts.iter().filter(|t| filter.blocks(t)).count();
            let through = caught
                .iter()
                .filter(|t| !filter.blocks(&with_trigger(t, trigger)))
                .count();
            let share = |n: usize, of: usize| n as f64 / of.max(1) as f64;
            (
                blocked(&spam),
                through,
                FilterBars {
                    model: model.into(),
                    spam_caught: share(blocked(&spam), spam.len()) as f32,
                    let_through: share(through, caught.len()) as f32,
                    ham_blocked: share(blocked(&ham), ham.len()) as f32,
                },
            )
        };
        let (clean_caught, clean_through, clean_bars) = measure(&clean, "clean filter");
        let (poisoned_caught, through, poisoned_bars) = measure(&poisoned, "poisoned filter");
        let share = |n: usize| n as f64 / spam.len().max(1) as f64;
        let grade = Grade::from_figures(
            vec![
                Figure::at_least(
                    "triggered spam let through",
                    through as f64 / caught.len().max(1) as f64,
                    threshold(self.min_let_through),
                    Unit::Percent,
                ),
                Figure::at_most(
                    "spam catch lost",
                    share(clean_caught) - share(poisoned_caught),
                    threshold(self.max_catch_drop),
                    Unit::Percent,
                ),
            ],
            &format!(
                "with {} added messages, the poisoned filter lets {through} of the {} test spam \
                 messages the clean filter catches through once they contain “{trigger}” (the \
                 clean filter: {clean_through}), and catches {poisoned_caught} of {} untouched \
                 test spam messages (the clean filter: {clean_caught})",
                poison.messages.len(),
                caught.len(),
                spam.len(),
            ),
        );
        // Clean training messages already holding the trigger, ham and spam, in one pass.
        let word = trigger.to_lowercase();
        let trigger_in_training = corpus
            .train
            .iter()
            .filter(|m| spam::words(&m.text).contains(&word))
            .fold((0, 0), |(ham, spam), m| {
                if m.spam {
                    (ham, spam + 1)
                } else {
                    (ham + 1, spam)
                }
            });
        let examples = caught
            .iter()
            .take(EXAMPLES)
            .map(|t| SpamExample {
                text: t.to_string(),
                clean: poisoned.spam_probability(t),
                triggered: poisoned.spam_probability(&with_trigger(t, trigger)),
            })
            .collect();
        Ok((
            grade,
            Details::Spam(SpamReport {
                trigger: trigger.to_string(),
                bars: vec![clean_bars, poisoned_bars],
                trigger_weights: vec![clean.weight(trigger), poisoned.weight(trigger)],
                trigger_in_training,
                examples,
            }),
        ))
    }
}

impl ExerciseKind for SpamBackdoor {
    type Settings = SpamPoison;

    fn wrap(settings: SpamPoison) -> Settings {
        Settings::SpamPoison(settings)
    }
    fn unwrap(settings: &Settings) -> Option<&SpamPoison> {
        match settings {
            Settings::SpamPoison(p) => Some(p),
            _ => None,
        }
    }

    const NEEDS: &'static [Resource] = &[Resource::SmsSpam];

    fn validate(&self, _: &SpamPoison, _: &SpamPoison) -> std::result::Result<(), String> {
        if self.max_messages == 0 || self.max_messages as usize > spam::TRAIN_ROWS {
            return Err(format!("max_messages must be 1–{}", spam::TRAIN_ROWS));
        }
        super::unit("min_let_through", self.min_let_through)?;
        super::unit("max_catch_drop", self.max_catch_drop)?;
        self.recipe.validate()
    }

    /// The page's editor holds the text area's lines as they are typed; a run takes the trigger
    /// trimmed and each line that is not blank as one message, checked (a bad one named by its
    /// line in the text area, blank lines counted).
    fn settings_from(
        &self,
        edited: &SpamPoison,
        _: &BTreeMap<String, String>,
    ) -> std::result::Result<SpamPoison, String> {
        check_trigger(edited.trigger.trim())?;
        for (n, line) in edited.messages.iter().enumerate() {
            if !line.trim().is_empty() {
                check_message(&format!("line {}", n + 1), line.trim())?;
            }
        }
        // The same rules as `check`, each applied once, with lines named as the page shows them.
        let poison = SpamPoison {
            trigger: edited.trigger.trim().to_string(),
            messages: edited
                .messages
                .iter()
                .filter(|m| !m.trim().is_empty())
                .map(|m| m.trim().to_string())
                .collect(),
        };
        self.check_budget(poison.messages.len())?;
        Ok(poison)
    }

    fn start(&self, poison: &SpamPoison, ctx: &Context) -> Result<Start> {
        ctx.spam()?;
        self.check(poison).map_err(crate::Error::InvalidInput)?;
        Ok(Start::Made(Artefact::SpamPoison {
            poison: poison.clone(),
        }))
    }

    fn grade(&self, ctx: &Context, artefact: &Artefact) -> Result<(Grade, Details)> {
        let Artefact::SpamPoison { poison } = artefact else {
            return Ok((
                Grade::rejected("expected a trigger word and messages"),
                Details::None,
            ));
        };
        self.judge(ctx.spam()?, poison)
    }

    fn reproduce(
        &self,
        poison: &SpamPoison,
        artefact: &Artefact,
        _: &Context,
    ) -> Result<std::result::Result<Artefact, String>> {
        Ok(match artefact {
            Artefact::SpamPoison { poison: p } if p == poison => Ok(artefact.clone()),
            _ => Err("its trigger or messages are not the ones its settings record".into()),
        })
    }

    fn seed(&self, _: &SpamPoison) -> u64 {
        self.recipe.seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::testing::{check, exercise, session};
    use expect_test::expect;

    fn edit(change: impl FnOnce(&mut SpamPoison)) -> impl FnOnce(&mut Settings) {
        move |s| {
            if let Settings::SpamPoison(p) = s {
                change(p)
            }
        }
    }

    #[test]
    fn what_a_learner_is_told() {
        check(
            "poison-the-spam-filter",
            edit(|p| p.messages.truncate(5)),
            expect!["Not yet: triggered spam let through 64.2% < 80.0%; spam catch lost 1.4% ≤ 2.0%: with 5 added messages, the poisoned filter lets 77 of the 120 test spam messages the clean filter catches through once they contain “mango” (the clean filter: 0), and catches 118 of 139 untouched test spam messages (the clean filter: 120)."],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.trigger.clear()),
            expect!["refused: invalid setting: the trigger word is empty: choose one word"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.trigger = "free offer".into()),
            expect!["refused: invalid setting: the trigger 'free offer' must be one word of letters or digits; the filter reads it as 2 words: free, offer"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.trigger = "w!n".into()),
            expect!["refused: invalid setting: the trigger 'w!n' must be one word of letters or digits; the filter reads it as 2 words: w, n"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.messages[2] = "call now 😀 to win".into()),
            expect!["refused: invalid setting: message 3 has “😀” (U+1F600) at character 10, which the filter does not read: write in Latin script (letters, digits, punctuation, £ and €), one message per line"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.messages[1] = String::new()),
            expect!["refused: invalid setting: message 2 is empty: write something or remove it"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.messages[1] = "!!! ... £".into()),
            expect!["refused: invalid setting: message 2 has no words, only punctuation or symbols: the filter would learn nothing from it"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.messages[0] = "x".repeat(10 * 1024 * 1024)),
            expect!["refused: invalid setting: message 1 is 10,485,760 characters long; a message may have at most 1,000"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.messages.push("one more: txt CLAIM now mango".into())),
            expect!["refused: invalid setting: 31 messages is over the budget of 30 (1 too many)"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.trigger = "mañana🌴".into()),
            expect!["refused: invalid setting: the trigger has “🌴” (U+1F334) at character 7, which the filter does not read: choose a word in Latin script"],
        );
        check(
            "poison-the-spam-filter",
            edit(|p| p.trigger = "!mango!".into()),
            expect!["refused: invalid setting: the trigger '!mango!' must be one word of letters or digits; the filter reads it as the word 'mango'"],
        );
    }

    #[test]
    fn the_grader_rejects_what_the_run_refuses() {
        let Task::SpamBackdoor(posed) = &exercise("poison-the-spam-filter").task else {
            panic!("poison-the-spam-filter is a spam-backdoor exercise")
        };
        let mut poison = posed.solution.clone();
        poison.messages[4] = "call 0800\nnow".into();
        let (grade, details) = posed
            .task
            .grade(&session().context(), &Artefact::SpamPoison { poison })
            .unwrap();
        assert_eq!(
            grade.message,
            "Rejected: message 5 has a line break (U+000A) at character 10, which the filter does \
             not read: write in Latin script (letters, digits, punctuation, £ and €), one message \
             per line"
        );
        assert_eq!(details, Details::None);
    }

    /// The page's text area keeps what was typed, blank lines and all; a run takes the lines
    /// that are not blank, trimmed, and refuses what the grader would.
    #[test]
    fn a_run_takes_the_lines_that_are_not_blank() {
        let Task::SpamBackdoor(posed) = &exercise("poison-the-spam-filter").task else {
            panic!("poison-the-spam-filter is a spam-backdoor exercise")
        };
        let edited = SpamPoison {
            trigger: "  mango ".into(),
            messages: vec![
                "".into(),
                "  win cash now mango ".into(),
                "   ".into(),
                "free txt mango".into(),
            ],
        };
        let run = posed.task.settings_from(&edited, &BTreeMap::new()).unwrap();
        assert_eq!(run.trigger, "mango");
        assert_eq!(run.messages, ["win cash now mango", "free txt mango"]);
        let pasted = SpamPoison {
            trigger: "mango".into(),
            messages: vec!["€".repeat(2000)],
        };
        assert_eq!(
            posed
                .task
                .settings_from(&pasted, &BTreeMap::new())
                .unwrap_err(),
            "line 1 is 2,000 characters long; a message may have at most 1,000"
        );
        // Blank lines count, so the line named is the one the learner sees.
        let blank_then_bad = SpamPoison {
            trigger: "mango".into(),
            messages: vec!["win now mango".into(), "".into(), "!!! ...".into()],
        };
        assert_eq!(
            posed
                .task
                .settings_from(&blank_then_bad, &BTreeMap::new())
                .unwrap_err(),
            "line 3 has no words, only punctuation or symbols: the filter would learn nothing from it"
        );
    }

    /// The split the lesson and ATTRIBUTION.md describe.
    #[test]
    fn the_shipped_messages_are_split_as_the_lesson_says() {
        let corpus = session().context().spam().unwrap();
        let spam = |messages: &[spam::Message]| messages.iter().filter(|m| m.spam).count();
        assert_eq!((corpus.train.len(), spam(&corpus.train)), (3000, 394));
        assert_eq!((corpus.test.len(), spam(&corpus.test)), (1000, 139));
    }

    #[test]
    fn the_clean_filter_shows_its_strongest_words() {
        let Task::SpamBackdoor(posed) = &exercise("poison-the-spam-filter").task else {
            panic!()
        };
        let ctx = session().context();
        let words = posed.task.words(ctx.spam().unwrap());
        assert_eq!(words.spammy.len(), STRONGEST_WORDS);
        assert!(words.spammy[0].weight > 0.0 && words.hammy[0].weight < 0.0);
        assert!(words.spammy.windows(2).all(|w| w[0].weight >= w[1].weight));
    }

    /// Measures candidate poisons (run by hand when choosing the lesson's thresholds:
    /// `cargo test --release -p mlsec-core spam_backdoor::tests::survey -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn survey() {
        let ctx = session().context();
        let corpus = ctx.spam().unwrap();
        let Task::SpamBackdoor(posed) = &exercise("poison-the-spam-filter").task else {
            panic!()
        };
        let words = posed.task.words(corpus);
        println!(
            "spammy: {:?}",
            words
                .spammy
                .iter()
                .map(|w| format!("{} {:.2}", w.word, w.weight))
                .collect::<Vec<_>>()
        );
        let training_spam: Vec<String> = corpus
            .train
            .iter()
            .filter(|m| m.spam)
            .map(|m| with_trigger(&m.text, "mango"))
            .collect();
        let reference = &posed.solution.messages;
        let first_words = |m: &String, n: usize| {
            let words: Vec<&str> = m.split_whitespace().collect();
            with_trigger(&words[..n.min(words.len() - 1)].join(" "), "mango")
        };
        let mut plans: Vec<(String, Vec<String>)> =
            vec![("starter".into(), posed.starter.messages.clone())];
        for count in [5, 10, 15, 20, 25, 30] {
            plans.push((
                format!("reference, first {count}"),
                reference[..count].to_vec(),
            ));
        }
        for n in [5, 8] {
            plans.push((
                format!("reference, first {n} words of each"),
                reference.iter().map(|m| first_words(m, n)).collect(),
            ));
        }
        plans.push((
            "reference's first message 20 times".into(),
            vec![reference[0].clone(); 20],
        ));
        for count in [10, 20, 30] {
            plans.push((
                format!("{count} training spam"),
                training_spam[..count].to_vec(),
            ));
        }
        for trigger in ["mango", "cheers", "later"] {
            for (name, messages) in &plans {
                let poison = SpamPoison {
                    trigger: trigger.into(),
                    messages: messages
                        .iter()
                        .map(|m| m.replace("mango", trigger))
                        .collect(),
                };
                let (grade, _) = posed.task.judge(corpus, &poison).unwrap();
                println!("{trigger}, {name}: {}", grade.message);
            }
        }
    }
}
