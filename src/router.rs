//! Hash routing on the browser's own machinery: the route is `location.hash`, read again on
//! every `hashchange`; a [`Link`] is a plain anchor to `#/…`, so following one (or a lesson's
//! markdown link, or the back button) is the browser's navigation, with no script in between.
//! What the addresses are is [`mlsec_core::route`]; this module only watches the fragment and
//! shares the route it names.
//!
//! (yew-router did this with a history object, a route recogniser and a link component that
//! intercepts clicks: 22 KB of the page's gzip for the same behaviour.)

use gloo::events::EventListener;
pub use mlsec_core::route::Route;
use yew::prelude::*;

/// The route the page's address names now.
pub fn current_route() -> Route {
    Route::parse(&gloo::utils::window().location().hash().unwrap_or_default())
}

/// Shows `route`: a new history entry, as a followed link makes.
pub fn go(route: &Route) {
    let _ = gloo::utils::window().location().set_hash(&route.path());
}

#[derive(Properties, PartialEq)]
pub struct RouterProps {
    pub children: Html,
}

/// Gives the pages below it the current [`Route`] ([`use_route`]), and draws them again when
/// the fragment changes.
#[function_component(Router)]
pub fn router(props: &RouterProps) -> Html {
    let route = use_state(current_route);
    {
        let route = route.clone();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
                route.set(current_route())
            });
            move || drop(listener)
        });
    }
    html! {
        <ContextProvider<Route> context={(*route).clone()}>{ props.children.clone() }</ContextProvider<Route>>
    }
}

/// The route shown: the [`Router`]'s, or the address's where there is none above.
#[hook]
pub fn use_route() -> Route {
    use_context::<Route>().unwrap_or_else(current_route)
}

#[derive(Properties, PartialEq)]
pub struct LinkProps {
    pub to: Route,
    #[prop_or_default]
    pub classes: Classes,
    #[prop_or_default]
    pub children: Html,
}

/// A link to one of the lab's pages.
#[function_component(Link)]
pub fn link(props: &LinkProps) -> Html {
    html! { <a href={props.to.href()} class={props.classes.clone()}>{ props.children.clone() }</a> }
}
