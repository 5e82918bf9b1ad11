//! The assistants' Web Worker: runs and grades Track E's exercises, and is started only when a
//! learner opens one (see `mlsec_lab::worker`).
#[cfg(target_arch = "wasm32")]
fn main() {
    use gloo::worker::Registrable;
    mlsec_lab::worker::LabWorker::<mlsec_core::session::OnlyAssistants>::registrar()
        .encoding::<mlsec_lab::worker::JsonCodec>()
        .register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The MLSec Lab assistants' worker runs in a browser.");
}
