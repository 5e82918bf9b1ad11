//! The lists lessons are tagged with, each tag with its edition: the OWASP Machine Learning
//! Security Top 10 (2023), the OWASP Top 10 for LLM Applications (2025, with each entry's place
//! in the 2026 edition, which renumbered the list), and the MITRE ATLAS techniques the lab
//! uses (checked against ATLAS v5.6.0). Names are the lists' own entry titles; the content
//! check refuses a tag that is not in them, so a typo or an edition-less id never ships.
//!
//! Checked against: OWASP's `www-project-machine-learning-security-top-10` docs (ML01_2023 …
//! ML10_2023), `www-project-top-10-for-large-language-model-applications` 2_0_vulns (the 2025
//! list), `GenAI-LLM-Top10` 2026/README.md (the 2026 list, published 4 August 2026), and
//! `mitre-atlas/atlas-data` dist/ATLAS.yaml at release v5.6.0.

/// One entry of a list: its tagged id and its title.
pub type Entry = (&'static str, &'static str);

pub const ML_2023: [Entry; 10] = [
    ("ML01:2023", "Input Manipulation Attack"),
    ("ML02:2023", "Data Poisoning Attack"),
    ("ML03:2023", "Model Inversion Attack"),
    ("ML04:2023", "Membership Inference Attack"),
    ("ML05:2023", "Model Theft"),
    ("ML06:2023", "AI Supply Chain Attacks"),
    ("ML07:2023", "Transfer Learning Attack"),
    ("ML08:2023", "Model Skewing"),
    ("ML09:2023", "Output Integrity Attack"),
    ("ML10:2023", "Model Poisoning"),
];

pub const LLM_2025: [Entry; 10] = [
    ("LLM01:2025", "Prompt Injection"),
    ("LLM02:2025", "Sensitive Information Disclosure"),
    ("LLM03:2025", "Supply Chain"),
    ("LLM04:2025", "Data and Model Poisoning"),
    ("LLM05:2025", "Improper Output Handling"),
    ("LLM06:2025", "Excessive Agency"),
    ("LLM07:2025", "System Prompt Leakage"),
    ("LLM08:2025", "Vector and Embedding Weaknesses"),
    ("LLM09:2025", "Misinformation"),
    ("LLM10:2025", "Unbounded Consumption"),
];

pub const LLM_2026: [Entry; 10] = [
    ("LLM01:2026", "Prompt Injection"),
    ("LLM02:2026", "Sensitive Information Disclosure"),
    ("LLM03:2026", "Excessive Agency"),
    ("LLM04:2026", "Supply Chain"),
    ("LLM05:2026", "Data and Model Poisoning"),
    ("LLM06:2026", "Unbounded Consumption"),
    ("LLM07:2026", "Misinformation"),
    ("LLM08:2026", "Hidden Context Exposure"),
    ("LLM09:2026", "Vector and Embedding Weaknesses"),
    ("LLM10:2026", "Improper Output Handling"),
];

/// Where each 2025 entry went in 2026. System prompt leakage (LLM07:2025) was widened into
/// hidden context exposure (LLM08:2026); the others kept their subject under a new number.
pub const LLM_2025_IN_2026: [(&str, &str); 10] = [
    ("LLM01:2025", "LLM01:2026"),
    ("LLM02:2025", "LLM02:2026"),
    ("LLM03:2025", "LLM04:2026"),
    ("LLM04:2025", "LLM05:2026"),
    ("LLM05:2025", "LLM10:2026"),
    ("LLM06:2025", "LLM03:2026"),
    ("LLM07:2025", "LLM08:2026"),
    ("LLM08:2025", "LLM09:2026"),
    ("LLM09:2025", "LLM07:2026"),
    ("LLM10:2025", "LLM06:2026"),
];

/// The ATLAS version the techniques below were checked against.
pub const ATLAS_VERSION: &str = "ATLAS v5.6";

/// The ATLAS techniques the lessons use, as ATLAS v5.6.0 names them. A new one is added here
/// after checking it there.
pub const ATLAS: [Entry; 10] = [
    ("AML.T0015", "Evade AI Model"),
    ("AML.T0018.000", "Poison AI Model"),
    ("AML.T0020", "Poison Training Data"),
    ("AML.T0024.000", "Infer Training Data Membership"),
    ("AML.T0024.001", "Invert AI Model"),
    ("AML.T0043", "Craft Adversarial Data"),
    ("AML.T0043.004", "Insert Backdoor Trigger"),
    ("AML.T0051", "LLM Prompt Injection"),
    ("AML.T0054", "LLM Jailbreak"),
    ("AML.T0057", "LLM Data Leakage"),
];

/// What a tag stands for, for its tooltip and for the 2026 equivalent shown beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct Described {
    pub id: String,
    /// "OWASP Top 10 for LLM Applications 2025: Prompt Injection".
    pub title: String,
    /// The same subject in the 2026 LLM list (LLM tags of 2025 only).
    pub in_2026: Option<(String, String)>,
}

fn find(list: &[Entry], id: &str) -> Option<&'static str> {
    list.iter().find(|(i, _)| *i == id).map(|(_, name)| *name)
}

/// An OWASP tag as a lesson writes it (`LLM01:2025`, `ML02:2023`), or why it is not one.
pub fn owasp(tag: &str) -> Result<Described, String> {
    let lists: [(&[Entry], &str); 3] = [
        (&ML_2023, "OWASP Machine Learning Security Top 10 2023"),
        (&LLM_2025, "OWASP Top 10 for LLM Applications 2025"),
        (&LLM_2026, "OWASP Top 10 for LLM Applications 2026"),
    ];
    for (list, list_name) in lists {
        if let Some(name) = find(list, tag) {
            let in_2026 = LLM_2025_IN_2026
                .iter()
                .find(|(old, _)| *old == tag)
                .and_then(|(_, new)| {
                    find(&LLM_2026, new).map(|n| (new.to_string(), n.to_string()))
                });
            return Ok(Described {
                id: tag.into(),
                title: format!("{list_name}: {name}"),
                in_2026,
            });
        }
    }
    if !tag.contains(':') {
        return Err(format!(
            "the OWASP tag '{tag}' has no edition: write it as {tag}:2023 (ML list) or {tag}:2025 \
             (LLM list)"
        ));
    }
    Err(format!(
        "'{tag}' is not an entry of the OWASP ML Top 10 2023 or the LLM Top 10 2025 or 2026"
    ))
}

/// An ATLAS technique a lesson names, or why it is not one the lab has checked.
pub fn atlas(tag: &str) -> Result<Described, String> {
    find(&ATLAS, tag)
        .map(|name| Described {
            id: tag.into(),
            title: format!("MITRE {ATLAS_VERSION}: {name}"),
            in_2026: None,
        })
        .ok_or_else(|| {
            format!(
                "'{tag}' is not among the ATLAS techniques the lab has checked against \
                 {ATLAS_VERSION} (crates/core/src/tags.rs)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_2025_entry_has_one_place_in_2026() {
        let mut targets: Vec<&str> = LLM_2025_IN_2026.iter().map(|(_, n)| *n).collect();
        targets.sort_unstable();
        let all: Vec<&str> = LLM_2026.iter().map(|(i, _)| *i).collect();
        assert_eq!(targets, all);
        for (old, new) in LLM_2025_IN_2026 {
            let (a, b) = (find(&LLM_2025, old).unwrap(), find(&LLM_2026, new).unwrap());
            // Same subject, except the one entry that was widened.
            assert!(a == b || old == "LLM07:2025", "{old} {a} → {new} {b}");
        }
    }

    #[test]
    fn tags_are_described_with_their_edition() {
        let d = owasp("LLM06:2025").unwrap();
        assert_eq!(
            d.title,
            "OWASP Top 10 for LLM Applications 2025: Excessive Agency"
        );
        assert_eq!(
            d.in_2026,
            Some(("LLM03:2026".into(), "Excessive Agency".into()))
        );
        let leak = owasp("LLM07:2025").unwrap();
        assert_eq!(leak.in_2026.unwrap().1, "Hidden Context Exposure");
        assert_eq!(owasp("ML04:2023").unwrap().in_2026, None);
        assert!(owasp("LLM01").unwrap_err().contains("no edition"));
        assert!(owasp("LLM11:2025").unwrap_err().contains("not an entry"));
        assert!(atlas("AML.T0051")
            .unwrap()
            .title
            .contains("v5.6: LLM Prompt Injection"));
        assert!(atlas("AML.T9999").is_err());
    }
}
