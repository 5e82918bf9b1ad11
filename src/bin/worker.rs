//! The classifiers' Web Worker: trains models and runs attacks off the page's thread, for every
//! exercise but Track E's (see `mlsec_lab::worker`).
#[cfg(target_arch = "wasm32")]
fn main() {
    use gloo::worker::Registrable;
    mlsec_lab::worker::LabWorker::<mlsec_core::session::OnlyClassifiers>::registrar()
        .encoding::<mlsec_lab::worker::JsonCodec>()
        .register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The MLSec Lab worker runs in a browser.");
}
