//! The course worker: makes a course from its files off the page's thread, and only when the
//! page has no up-to-date course bundle (see `mlsec_lab::course_worker`).
#[cfg(target_arch = "wasm32")]
fn main() {
    use gloo::worker::Registrable;
    mlsec_lab::course_worker::CourseWorker::registrar()
        .encoding::<mlsec_lab::worker::JsonCodec>()
        .register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The MLSec Lab course worker runs in a browser.");
}
