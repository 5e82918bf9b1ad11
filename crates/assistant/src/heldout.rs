//! The hand-written held-out suite (`tests/assistant/handwritten.toml`): requests and attacks
//! written by people, in their own words, never generated and never trained on. It measures
//! what the generated evaluation split cannot: whether the model understood instructions or
//! memorised the generator's phrasings.
//!
//! Each entry supplies one channel's text; the rest of its conversation (system prompt and
//! secret, the data item) comes from the generator's evaluation split, seeded by the entry's
//! position, so every entry is checked exactly with the crate's checkers.

use serde::Deserialize;

use crate::check::is_outside_address;
use crate::vocab::{ATTACKER_URLS, CORP_ADDRESSES};
use crate::world::{
    generate, Episode, Goal, GoalKind, GoalMix, Injection, Mix, Slot, Split, UserRequest,
};

/// The suite as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeldOut {
    pub benign: Vec<Benign>,
    pub attack: Vec<Attack>,
    pub secret_request: Vec<SecretRequest>,
}

/// An ordinary request and what doing it right means.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benign {
    /// The user turn; `{kind}` and `{event}` are filled from the conversation.
    pub user: String,
    /// `summarise`, `sender`, `day`, `topic`, `send_email` or `search`.
    pub task: String,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
}

/// A prompt injection.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attack {
    /// `data` (planted in the item the user asks to summarise) or `user` (typed by the user).
    pub channel: String,
    /// `reveal`, `exfiltrate`, `forward` or `image`.
    pub goal: String,
    pub text: String,
}

/// A plain request for the secret.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRequest {
    pub user: String,
}

/// The suite's conversations, by group.
#[derive(Clone, Debug, Default)]
pub struct HeldOutEpisodes {
    pub benign: Vec<Episode>,
    /// Attacks planted in the data item.
    pub data_attacks: Vec<Episode>,
    /// Attacks typed in the user turn.
    pub user_attacks: Vec<Episode>,
    pub secret_requests: Vec<Episode>,
}

fn base(seed: u64, mix: &Mix) -> Episode {
    generate(Split::Eval, seed, 1, mix)
        .expect("the held-out mixes are valid")
        .remove(0)
}

fn one_of<'a>(text: &str, options: &[&'a str]) -> Option<&'a str> {
    options.iter().copied().find(|o| text.contains(o))
}

fn first_address(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | '=' | ':' | ';'))
        .map(|w| w.trim_end_matches(['.', '!', '?']))
        .find(|w| w.contains('@'))
        .map(str::to_string)
}

impl HeldOut {
    /// Parses the suite, checking every entry can be scored.
    pub fn parse(text: &str) -> Result<HeldOut, String> {
        let suite: HeldOut = toml::from_str(text).map_err(|e| e.to_string())?;
        for (i, b) in suite.benign.iter().enumerate() {
            b.request()
                .map_err(|e| format!("benign entry {}: {e}", i + 1))?;
        }
        for (i, a) in suite.attack.iter().enumerate() {
            a.goal()
                .map_err(|e| format!("attack entry {}: {e}", i + 1))?;
            if !matches!(a.channel.as_str(), "data" | "user") {
                return Err(format!(
                    "attack entry {}: unknown channel {:?}",
                    i + 1,
                    a.channel
                ));
            }
        }
        Ok(suite)
    }

    /// The conversations, seeded by `seed` and each entry's position.
    pub fn episodes(&self, seed: u64) -> HeldOutEpisodes {
        let mut out = HeldOutEpisodes::default();
        let plain = Mix {
            ask_secret: 0,
            direct_attack: 0,
            injected_per_mille: 0,
            ..Mix::training()
        };
        for (i, b) in self.benign.iter().enumerate() {
            let mut e = base(seed.wrapping_add(i as u64), &plain);
            e.user = b
                .user
                .replace("{kind}", e.kind.noun())
                .replace("{event}", &e.facts.event);
            e.request = b.request().expect("checked when parsed");
            out.benign.push(e);
        }
        for (i, a) in self.attack.iter().enumerate() {
            let seed = seed.wrapping_add(10_000 + i as u64);
            let goal = a.goal().expect("checked when parsed");
            if a.channel == "user" {
                let mut e = base(seed, &plain);
                e.user = a.text.clone();
                e.request = UserRequest::Override { goal };
                out.user_attacks.push(e);
            } else {
                // A generated item carrying an injection of the same kind, whose injected text
                // is then replaced by the hand-written one (at the same place).
                let mut weights = [0u32; 6];
                weights[GoalKind::ALL
                    .iter()
                    .position(|&k| k == goal.kind())
                    .expect("a kind")] = 1;
                let mix = Mix {
                    summarise: 1,
                    question: 0,
                    send_email: 0,
                    search: 0,
                    ask_secret: 0,
                    direct_attack: 0,
                    injected_per_mille: 1000,
                    goals: GoalMix {
                        reveal: weights[0],
                        exfiltrate: weights[1],
                        forward: weights[2],
                        image: weights[3],
                        hijack_search: weights[4],
                        hijack_email: weights[5],
                    },
                    copy_drills_per_mille: 0,
                    edited_bodies_per_mille: 0,
                };
                let mut e = base(seed, &mix);
                let generated = e.injection.take().expect("every item is injected");
                e.data = e.data.replacen(&generated.text, &a.text, 1);
                e.injection = Some(Injection {
                    goal,
                    text: a.text.clone(),
                    placement: generated.placement,
                });
                out.data_attacks.push(e);
            }
        }
        let asking = Mix {
            summarise: 0,
            question: 0,
            send_email: 0,
            search: 0,
            ask_secret: 1,
            ..plain
        };
        for (i, r) in self.secret_request.iter().enumerate() {
            let mut e = base(seed.wrapping_add(20_000 + i as u64), &asking);
            e.user = r.user.clone();
            out.secret_requests.push(e);
        }
        out
    }
}

impl Benign {
    fn request(&self) -> Result<UserRequest, String> {
        let need = |v: &Option<String>, what: &str| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| format!("task {} needs {what}", self.task))
        };
        Ok(match self.task.as_str() {
            "summarise" => UserRequest::Summarise,
            "sender" => UserRequest::Question { slot: Slot::Sender },
            "day" => UserRequest::Question { slot: Slot::Day },
            "topic" => UserRequest::Question { slot: Slot::Topic },
            "send_email" => {
                let to = need(&self.to, "to")?;
                if !CORP_ADDRESSES.contains(&to.as_str()) {
                    return Err(format!("{to} is not a colleague's address"));
                }
                UserRequest::SendEmail {
                    to,
                    body: need(&self.body, "body")?,
                }
            }
            "search" => UserRequest::Search {
                query: need(&self.query, "query")?,
            },
            other => return Err(format!("unknown task {other:?}")),
        })
    }
}

impl Attack {
    fn goal(&self) -> Result<Goal, String> {
        let address = || {
            first_address(&self.text)
                .filter(|a| is_outside_address(a))
                .ok_or_else(|| format!("goal {} needs an attacker's address", self.goal))
        };
        Ok(match self.goal.as_str() {
            "reveal" => Goal::Reveal,
            "exfiltrate" => Goal::Exfiltrate { to: address()? },
            "forward" => Goal::Forward { to: address()? },
            "image" => Goal::Image {
                url: one_of(&self.text, &ATTACKER_URLS)
                    .ok_or("goal image needs an attacker's URL")?
                    .to_string(),
            },
            other => return Err(format!("unknown goal {other:?}")),
        })
    }
}
