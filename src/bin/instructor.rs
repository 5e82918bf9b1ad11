//! The instructors' pages as a module of their own, loaded by the page the first time one
//! opens (see `mlsec_lab::instructor`): `mount` draws the page a route names into an element,
//! `show` moves it to another route, `unmount` takes it down again.
#[cfg(target_arch = "wasm32")]
mod pages {
    use mlsec_lab::instructor::{Pages, PagesProps};
    use std::cell::{Cell, RefCell};
    use wasm_bindgen::prelude::wasm_bindgen;

    thread_local! {
        static SHOWN: RefCell<Option<yew::AppHandle<Pages>>> = const { RefCell::new(None) };
        /// Whether a throwaway app took this module's first root number (see `mount`).
        static FIRST_ROOT_TAKEN: Cell<bool> = const { Cell::new(false) };
    }

    #[yew::function_component(Nothing)]
    fn nothing() -> yew::Html {
        yew::Html::default()
    }

    /// Draws the instructors' page `path` names (`/class`, …) into `root`, in place of the one
    /// shown before.
    #[wasm_bindgen]
    pub fn mount(root: web_sys::Element, path: String) {
        unmount();
        // yew numbers each app's root from 1, per module, and marks the elements that listen
        // with it; events are handled by the app whose number the nearest marked element
        // bears. The page's app is root 1 of its module (it makes no portals, which would
        // number more: `the_page_makes_no_portals`), and this module's pages are drawn inside
        // it, so a root 1 here would have the page's app take clicks here for its own (it
        // opened the page's dialogs). A throwaway app takes number 1 first.
        if !FIRST_ROOT_TAKEN.replace(true) {
            if let Ok(detached) = gloo::utils::document().create_element("div") {
                yew::Renderer::<Nothing>::with_root(detached)
                    .render()
                    .destroy();
            }
        }
        let app = yew::Renderer::<Pages>::with_root_and_props(root, PagesProps { path }).render();
        SHOWN.with(|shown| *shown.borrow_mut() = Some(app));
    }

    /// Shows the instructors' page `path` names in the app `mount` made (the route changed from
    /// one of them to another).
    #[wasm_bindgen]
    pub fn show(path: String) {
        SHOWN.with(|shown| {
            if let Some(app) = shown.borrow_mut().as_mut() {
                app.update(PagesProps { path });
            }
        });
    }

    /// Takes the page down (the page's route moved on).
    #[wasm_bindgen]
    pub fn unmount() {
        if let Some(app) = SHOWN.with(|shown| shown.borrow_mut().take()) {
            app.destroy();
        }
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("The MLSec Lab instructors' pages run in a browser.");
}
