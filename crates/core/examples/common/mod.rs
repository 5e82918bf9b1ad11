//! What the measuring examples share: the shipped assistant models, read as they are on disk
//! (not checked against the pinned hashes, so a freshly trained candidate can be measured).

use mlsec_core::injection::Assistants;

pub fn assistants() -> Assistants {
    let read = |f: &str| {
        let path = format!("{}/../../assets/models/{f}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
    };
    let load = |f: &str| mlsec_assistant::Gpt::from_safetensors(&read(f)).map(|m| m.0);
    Assistants::from_models(
        load("assistant-assistant.safetensors").unwrap(),
        load("assistant-structured.safetensors")
            .or_else(|_| load("assistant-assistant.safetensors"))
            .unwrap(),
    )
}
