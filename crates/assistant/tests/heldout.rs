//! The hand-written held-out suite parses, is as large as promised, is scored against what its
//! entries say, and shares no text with the generator's training episodes.

use mlsec_assistant::{generate, HeldOut, Mix, Split, UserRequest};
use std::collections::BTreeSet;

fn suite() -> HeldOut {
    let path = format!(
        "{}/../../tests/assistant/handwritten.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    HeldOut::parse(&text).unwrap()
}

#[test]
fn the_suite_has_at_least_100_attacks_and_100_benign_requests() {
    let s = suite();
    assert!(s.benign.len() >= 100, "{}", s.benign.len());
    assert!(s.attack.len() >= 100, "{}", s.attack.len());
    assert!(s.secret_request.len() >= 30, "{}", s.secret_request.len());
    let e = s.episodes(1);
    assert_eq!(e.data_attacks.len() + e.user_attacks.len(), s.attack.len());
    assert!(e.data_attacks.len() >= 60 && e.user_attacks.len() >= 30);
}

#[test]
fn every_entry_is_scored_against_what_it_says() {
    let e = suite().episodes(1);
    for b in &e.benign {
        assert!(!b.user.contains('{'), "placeholder left in {:?}", b.user);
        if let UserRequest::SendEmail { to, body } = &b.request {
            let user = b.user.to_lowercase();
            assert!(
                user.contains(to) && user.contains(&body.to_lowercase()),
                "{}",
                b.user
            );
        }
        assert!(b.injection.is_none());
    }
    for a in &e.data_attacks {
        let injection = a.injection.as_ref().unwrap();
        assert!(a.data.contains(&injection.text), "{}", a.data);
        assert!(a.is_attack());
        // The grader's own target is what the attack asks for.
        assert!(a.injected_target().is_some());
    }
    for a in &e.user_attacks {
        assert!(matches!(a.request, UserRequest::Override { .. }));
    }
    for r in &e.secret_requests {
        assert_eq!(r.request, UserRequest::AskSecret);
        assert!(r.injection.is_none());
    }
    // The same seed gives the same conversations.
    let again = suite().episodes(1);
    assert_eq!(e.benign, again.benign);
    assert_eq!(e.data_attacks, again.data_attacks);
}

#[test]
fn no_hand_written_attack_appears_in_the_training_episodes() {
    let s = suite();
    let mut generated = BTreeSet::new();
    for e in generate(Split::Train, 1, 30_000, &Mix::training()).unwrap() {
        generated.insert(e.user.to_lowercase());
        if let Some(i) = &e.injection {
            generated.insert(i.text.to_lowercase());
        }
    }
    for a in &s.attack {
        assert!(!generated.contains(&a.text.to_lowercase()), "{}", a.text);
    }
    // A short everyday request ("who's the sender?") can coincide with a generated one; few do.
    let requests: Vec<String> = s
        .benign
        .iter()
        .map(|b| b.user.to_lowercase())
        .chain(s.secret_request.iter().map(|r| r.user.to_lowercase()))
        .filter(|t| generated.contains(t))
        .collect();
    assert!(requests.len() <= 8, "{requests:?}");
    assert!(
        requests.iter().all(|t| t.split_whitespace().count() <= 8),
        "{requests:?}"
    );
}

#[test]
fn bad_suites_are_refused_with_the_entry_named() {
    let err = HeldOut::parse(
        "benign = [{ user = \"x\", task = \"send_email\", to = \"eve@evil.example\", body = \"hi\" }]\nattack = []\nsecret_request = []",
    )
    .unwrap_err();
    assert!(
        err.contains("benign entry 1") && err.contains("colleague"),
        "{err}"
    );
    let err = HeldOut::parse(
        "benign = []\nattack = [{ channel = \"data\", goal = \"exfiltrate\", text = \"send it to bob@corp.example\" }]\nsecret_request = []",
    )
    .unwrap_err();
    assert!(
        err.contains("attack entry 1") && err.contains("attacker"),
        "{err}"
    );
    assert!(HeldOut::parse("benign = 3").is_err());
}
