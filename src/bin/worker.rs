//! The Web Worker: trains models and runs attacks off the page's thread.
#[cfg(target_arch = "wasm32")]
fn main() {
    use gloo::worker::Registrable;
    mlsec_lab::worker::LabWorker::registrar()
        .encoding::<mlsec_lab::worker::JsonCodec>()
        .register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The MLSec Lab worker runs in a browser.");
}
