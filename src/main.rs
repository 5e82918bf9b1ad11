//! The page: mounts the Yew app.
#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<mlsec_lab::app::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The MLSec Lab app runs in a browser: `cargo xtask serve`.");
}
