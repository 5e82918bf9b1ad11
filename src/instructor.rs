//! The instructors' pages (the class view, the single-receipt check, the workshop maker) are a
//! WebAssembly module of their own (bin `instructor`), which the page loads the first time one
//! of them opens. The page's first render never waits for their code (it was 47 KB of the
//! page's gzip, issue 14); an instructor waits for it once.
//!
//! Both sides are here. On the page, [`InstructorPages`] stands where such a page shows: it has
//! start.js import the module (`mlsecLoadInstructor`), then hands the module an element to draw
//! into and the page's route. In the module, [`Pages`] is the app it mounts there: its own
//! [`LabProvider`] (the course, the progress book, the workers' handles) around the one page the
//! route names. The page tells the module each instructor's route opened next (`show`), so the
//! module needs no router of its own.

use crate::app::{focus_page_start, LabProvider};
use crate::class_view::{ClassView, ReceiptCheck};
use crate::navigation::not_found;
use crate::router::Route;
use crate::workshop::WorkshopMaker;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct HostProps {
    pub route: Route,
}

/// Where the instructors' module is, as the page sees it.
enum Module {
    Loading,
    Failed(String),
    Shown,
}

/// The page's stand-in for the instructors' pages: loads the module (once per visit; start.js
/// keeps it), mounts it into an element of its own, which this component never draws into, and
/// tells it each instructor's route the learner opens (one app for all of them, so the course
/// and the workers it opened serve them all). Unmounts it when the route leaves them.
#[function_component(InstructorPages)]
pub fn instructor_pages(props: &HostProps) -> Html {
    let root = use_node_ref();
    let module = use_state(|| Module::Loading);
    // The module once mounted, and the route to show (it may change while the module loads).
    let mounted = use_mut_ref(|| None::<JsValue>);
    let path = props.route.path();
    let latest = use_mut_ref(|| path.clone());
    {
        let (mounted, latest) = (mounted.clone(), latest.clone());
        use_effect_with(path, move |path| {
            *latest.borrow_mut() = path.clone();
            if let Some(loaded) = &*mounted.borrow() {
                let _ = call(loaded, "show", &[path.into()]);
            }
        });
    }
    {
        let (root, module) = (root.clone(), module.clone());
        use_effect_with((), move |_| {
            // `alive` turns false when the host goes, so a load that ends after that mounts
            // nothing.
            let alive = Rc::new(Cell::new(true));
            {
                let (mounted, alive) = (mounted.clone(), alive.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let shown = async {
                        let loaded = load().await?;
                        if !alive.get() {
                            return Ok(());
                        }
                        let element: web_sys::Element =
                            root.cast().ok_or("the page has no place for it")?;
                        let path = latest.borrow().clone();
                        call(&loaded, "mount", &[element.into(), path.into()])?;
                        *mounted.borrow_mut() = Some(loaded);
                        Ok::<_, String>(())
                    }
                    .await;
                    if alive.get() {
                        let failed = shown.is_err();
                        module.set(match shown {
                            Ok(()) => Module::Shown,
                            Err(e) => Module::Failed(e),
                        });
                        if failed {
                            // The failure's heading, as a page's start would be.
                            gloo::timers::callback::Timeout::new(0, focus_page_start).forget();
                        }
                    }
                });
            }
            move || {
                alive.set(false);
                if let Some(loaded) = mounted.borrow_mut().take() {
                    let _ = call(&loaded, "unmount", &[]);
                }
            }
        });
    }
    html! {
        <>
            {
                match &*module {
                    Module::Loading => html! {
                        <p class="loading">{ "Loading the instructors' pages…" }</p>
                    },
                    Module::Failed(e) => html! {
                        <div class="error" data-testid="instructor-error">
                            <h1>{ "The instructors' pages could not be loaded" }</h1>
                            <p>{ e }</p>
                            <p>{ "Reload the page to try again." }</p>
                        </div>
                    },
                    Module::Shown => html! {},
                }
            }
            <div class="instructor" ref={root}></div>
        </>
    }
}

/// The module, initialised: start.js's `mlsecLoadInstructor()`.
async fn load() -> Result<JsValue, String> {
    let loader = function(&js_sys::global(), "mlsecLoadInstructor")
        .ok_or("this page was not started by start.js")?;
    let promise = loader
        .call0(&JsValue::NULL)
        .map_err(describe)?
        .dyn_into::<js_sys::Promise>()
        .map_err(describe)?;
    JsFuture::from(promise).await.map_err(describe)
}

/// The function `object` holds as `name`, if it holds one.
fn function(object: &JsValue, name: &str) -> Option<js_sys::Function> {
    js_sys::Reflect::get(object, &name.into())
        .ok()?
        .dyn_into()
        .ok()
}

/// Calls the module's export `name` with `args`.
fn call(module: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
    function(module, name)
        .ok_or_else(|| format!("the instructors' module has no `{name}`"))?
        .apply(&JsValue::NULL, &args.iter().collect())
        .map_err(describe)
}

fn describe(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

#[derive(Properties, PartialEq)]
pub struct PagesProps {
    /// The page's route, as its path (`/class`, `/w/<link>/class`, …).
    pub path: String,
}

/// The instructors' module's app: the page `path` names, with a lab of its own.
#[function_component(Pages)]
pub fn pages(props: &PagesProps) -> Html {
    // The page sends only the routes its switch gives this module.
    let page = match Route::parse(&props.path) {
        Route::WorkshopNew => html! { <WorkshopMaker /> },
        Route::WorkshopClass { link } => html! { <ClassView link={link} /> },
        Route::Class => html! { <ClassView /> },
        Route::Receipt => html! { <ReceiptCheck /> },
        _ => not_found("There is no such instructors' page.", ""),
    };
    html! {
        <LabProvider>
            { page }
            <FocusWhenDrawn key={props.path.clone()} />
        </LabProvider>
    }
}

/// Once a page is drawn (the lab provider draws its pages when the course has loaded, seconds
/// after the route changed), focus moves to its start, as the page's own routes do, unless the
/// learner has put it somewhere else meanwhile (focus on the body, or on the page's own `main`,
/// is nowhere in particular).
#[function_component(FocusWhenDrawn)]
fn focus_when_drawn() -> Html {
    use_effect_with((), |_| {
        gloo::timers::callback::Timeout::new(0, || {
            let document = gloo::utils::document();
            let elsewhere = document.active_element().is_some_and(|active| {
                document.body().is_none_or(|body| *body != active)
                    && active.closest("main").ok().flatten().is_none()
            });
            if !elsewhere {
                focus_page_start();
            }
        })
        .forget();
    });
    html! {}
}
