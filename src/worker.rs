//! The engine's two Web Workers (bins `worker` for the classifiers, `assistant_worker` for Track
//! E's assistants; [`resources::Worker`]) and the page's handle on them. A worker owns a
//! [`Session`] serving its share and answers [`Request`]s; training runs one epoch at a time and
//! yields to the worker's event loop every few of them, so a Stop message lands and progress
//! reaches the page while the page itself never computes anything heavy.

use gloo::worker::{Codec, HandlerId, Spawnable, Worker, WorkerBridge, WorkerScope};
use mlsec_core::exercise::Base64;
use mlsec_core::resources::{self, Resource};
use mlsec_core::session::{Everything, Request, Response, Serves, Session, Step};
use serde::{de::Deserialize, ser::Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;
use wasm_bindgen::JsValue;
use yew::Callback;

/// Messages cross the worker boundary as JSON text. (gloo's default, bincode, cannot carry
/// the internally tagged enums the course format uses.)
pub struct JsonCodec;

impl Codec for JsonCodec {
    fn encode<I: Serialize>(input: I) -> JsValue {
        JsValue::from_str(&serde_json::to_string(&input).expect("protocol messages serialise"))
    }
    fn decode<O: for<'de> Deserialize<'de>>(input: JsValue) -> O {
        let text = input.as_string().expect("protocol messages are strings");
        mlsec_core::from_json(&text).expect("protocol messages come from the same build")
    }
}

/// A worker serving `S`'s share of the lab: its bin registers `LabWorker<OnlyClassifiers>` or
/// `LabWorker<OnlyAssistants>`, and links only that share's kinds.
pub struct LabWorker<S: Serves> {
    session: Rc<Session<S>>,
    stop_requested: Rc<RefCell<HashSet<u32>>>,
}

impl<S: Serves> Worker for LabWorker<S> {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        LabWorker {
            session: Rc::default(),
            stop_requested: Rc::default(),
        }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        let failed = |job: Option<u32>, message: String| Response::Failed { job, message };
        let session = self.session.clone();
        // A request whose resources are missing is answered with the reason (the session
        // remembers why a load failed and names it to every request that needs the resource).
        if let Some(refusal) = session.refuse(&request) {
            scope.respond(id, refusal);
            return;
        }
        match request {
            Request::Load { resource, bytes } => {
                // A failure is kept by the session and told to the requests that need it; the
                // lessons that do not need this resource go on working.
                if session.load(resource, &bytes.0).is_ok() {
                    scope.respond(id, Response::Loaded { resource });
                }
            }
            Request::Stop { job } => {
                self.stop_requested.borrow_mut().insert(job);
            }
            Request::Run {
                job,
                exercise,
                settings,
            } => {
                let scope = scope.clone();
                let stop_requested = self.stop_requested.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let response = run(
                        &session,
                        job,
                        &exercise,
                        settings,
                        &scope,
                        id,
                        &stop_requested,
                    )
                    .await;
                    // A Stop that arrived after the job's last check would linger forever.
                    stop_requested.borrow_mut().remove(&job);
                    scope.respond(
                        id,
                        response.unwrap_or_else(|e| failed(Some(job), e.to_string())),
                    );
                });
            }
            request => {
                // Every other request gets an answer, if only that it came to the wrong worker:
                // silence would leave the view that asked waiting forever.
                let response = session.answer(&request).unwrap_or_else(|| {
                    failed(
                        request.job(),
                        "This worker cannot answer that request; reload the page".into(),
                    )
                });
                scope.respond(id, response);
            }
        }
    }
}

/// Drives a job to its grade, reporting each step and yielding between steps so that progress
/// reaches the page and a Stop message lands. What Stop means is the job's to say.
async fn run<S: Serves>(
    session: &Session<S>,
    job: u32,
    exercise: &mlsec_core::exercise::Exercise,
    settings: mlsec_core::exercise::Settings,
    scope: &WorkerScope<LabWorker<S>>,
    id: HandlerId,
    stop_requested: &RefCell<HashSet<u32>>,
) -> mlsec_core::Result<Response> {
    let report = |step: Step| scope.respond(id, step.into_response(job));
    let mut work = session.start(exercise, settings)?;
    if let Some(announcement) = work.announce() {
        report(announcement);
        gloo::timers::future::TimeoutFuture::new(0).await;
    }
    // Yield every YIELD_MS of work, not after every step: a zero timeout nested in timeouts
    // waits at least 4 ms (the HTML spec's clamp), which a DP-SGD grade's 1,460 one-millisecond
    // epochs paid ~6 s for. A Stop still lands within YIELD_MS and a step.
    let mut last_yield = js_sys::Date::now();
    // "Measured part k of n" is a state, not a record: only the latest one is sent when the
    // worker yields, so the page does not re-render for every epoch of every shadow model.
    let mut progress = None;
    loop {
        if stop_requested.borrow_mut().remove(&job) {
            return Ok(work.stop()?.into_response(job, true));
        }
        match work.step()? {
            Step::Done(finished) => return Ok(finished.into_response(job, false)),
            step @ Step::Progress { .. } => progress = Some(step),
            step => report(step),
        }
        if js_sys::Date::now() - last_yield >= YIELD_MS {
            if let Some(step) = progress.take() {
                report(step);
            }
            // Let the messages out, and a Stop in, before the next step.
            gloo::timers::future::TimeoutFuture::new(0).await;
            last_yield = js_sys::Date::now();
        }
    }
}

/// How long a run works between yields to the worker's event loop.
const YIELD_MS: f64 = 20.0;

/// A worker's loader (`loader`), beside the page's own code: in a built site under
/// `v/<version>/`, which start.js names as `mlsecCodeBase` (without it, as in the browser
/// tests, beside the page).
pub(crate) fn loader_url(loader: &str) -> String {
    js_sys::Reflect::get(&js_sys::global(), &"mlsecCodeBase".into())
        .ok()
        .and_then(|base| base.as_string())
        .map_or_else(|| loader.into(), |base| format!("{base}{loader}"))
}

/// Where one resource's fetch stands. Each is fetched by the page the first time a request
/// needs it ([`Request::needs`]): a learner who only opens Track E never downloads the digits,
/// and one who never opens it never downloads the assistant models (3.4 MB).
enum LoadState {
    Idle,
    /// Fetching; requests made meanwhile wait here.
    Fetching(Vec<Request>),
    Sent,
}

/// The page's side of either worker. A bridge only carries the workers' messages, which are
/// the same for both, so one bridge type serves both (two would link gloo's bridge twice); the
/// loader decides which worker runs.
type AnyLabWorker = LabWorker<Everything>;

/// The page's side: the two engine workers for the whole app, each started on the first
/// request it serves ([`Request::worker`]; so the first page load fetches only the page's own
/// code, and a learner who never opens Track E never fetches the assistants' code), responses
/// routed to the component that asked (by job number); load failures go to the requests that
/// needed the asset.
pub struct WorkerHandle {
    bridges: RefCell<BTreeMap<resources::Worker, WorkerBridge<AnyLabWorker>>>,
    /// Which worker runs each job, for its Stop.
    job_workers: RefCell<HashMap<u32, resources::Worker>>,
    listeners: Rc<RefCell<HashMap<u32, Callback<Response>>>>,
    next_job: Cell<u32>,
    loads: RefCell<BTreeMap<Resource, LoadState>>,
}

impl WorkerHandle {
    pub fn new() -> Rc<Self> {
        Rc::new(WorkerHandle {
            bridges: RefCell::default(),
            job_workers: RefCell::default(),
            listeners: Rc::default(),
            next_job: Cell::new(1),
            loads: RefCell::default(),
        })
    }

    fn post(&self, request: Request) {
        // A Stop goes to the worker of its job; a job never sent has nothing to stop.
        let worker = request.worker().or_else(|| {
            let job = request.job()?;
            self.job_workers.borrow().get(&job).copied()
        });
        let Some(worker) = worker else { return };
        let mut bridges = self.bridges.borrow_mut();
        bridges
            .entry(worker)
            .or_insert_with(|| {
                self.spawn(match worker {
                    resources::Worker::Classifiers => "worker_loader.js",
                    resources::Worker::Assistants => "assistant_worker_loader.js",
                })
            })
            .send(request);
    }

    fn spawn(&self, loader: &str) -> WorkerBridge<AnyLabWorker> {
        let routes = self.listeners.clone();
        AnyLabWorker::spawner()
            .encoding::<JsonCodec>()
            .callback(move |response: Response| {
                if let Response::Loaded { .. } = response {
                    return;
                }
                let targets: Vec<Callback<Response>> = match response.job() {
                    Some(job) => routes.borrow().get(&job).cloned().into_iter().collect(),
                    None => routes.borrow().values().cloned().collect(),
                };
                for cb in targets {
                    cb.emit(response.clone());
                }
            })
            .spawn_with_loader(&loader_url(loader))
    }

    /// A fresh job number whose responses go to `listener`.
    pub fn job(&self, listener: Callback<Response>) -> u32 {
        let job = self.next_job.get();
        self.next_job.set(job + 1);
        self.listeners.borrow_mut().insert(job, listener);
        job
    }

    pub fn forget(&self, job: u32) {
        self.listeners.borrow_mut().remove(&job);
        self.job_workers.borrow_mut().remove(&job);
    }

    fn fail(&self, request: &Request, message: String) {
        if let Some(job) = request.job() {
            if let Some(cb) = self.listeners.borrow().get(&job) {
                cb.emit(Response::Failed {
                    job: Some(job),
                    message,
                });
            }
        }
    }

    /// Sends a request, first fetching into the worker whatever resources it needs that have
    /// not been fetched yet.
    pub fn send(self: &Rc<Self>, request: Request) {
        // Known before the resources arrive, so that a Stop sent meanwhile reaches the worker
        // ahead of its run (which then stops at once), as with one worker.
        // (Only while someone listens: a view gone before its download finished is forgotten.)
        if let (Some(worker), Some(job)) = (request.worker(), request.job()) {
            if self.listeners.borrow().contains_key(&job) {
                self.job_workers.borrow_mut().insert(job, worker);
            }
        }
        for &resource in request.needs() {
            let mut loads = self.loads.borrow_mut();
            let load = loads.entry(resource).or_insert(LoadState::Idle);
            match load {
                LoadState::Sent => continue,
                LoadState::Fetching(queue) => queue.push(request),
                LoadState::Idle => {
                    *load = LoadState::Fetching(vec![request]);
                    drop(loads);
                    let this = self.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        this.fetch_and_load(resource).await
                    });
                }
            }
            return;
        }
        self.post(request);
    }

    async fn fetch_and_load(self: Rc<Self>, resource: Resource) {
        let fetched = crate::lab::fetch_bytes(resource.path()).await;
        let queued = match self.loads.borrow_mut().insert(resource, LoadState::Sent) {
            Some(LoadState::Fetching(queue)) => queue,
            _ => vec![],
        };
        match fetched {
            Ok(bytes) => {
                self.post(Request::Load {
                    resource,
                    bytes: Base64(bytes),
                });
                // Each queued request goes on to its next missing resource, or to the worker.
                for request in queued {
                    self.send(request);
                }
            }
            Err(message) => {
                // Back to idle, so the next run tries the download again (a network blip must
                // not need a reload).
                let message = format!(
                    "{} could not be downloaded: {message}. Run again to retry.",
                    resource.describe()
                );
                self.loads.borrow_mut().insert(resource, LoadState::Idle);
                for request in &queued {
                    self.fail(request, message.clone());
                }
            }
        }
    }
}

impl PartialEq for WorkerHandle {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
