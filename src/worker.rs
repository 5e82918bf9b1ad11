//! The Web Worker (bin `worker`) and the page's handle on it. The worker owns a
//! [`Session`](mlsec_core::session::Session) and answers [`Request`]s; training runs one epoch
//! at a time and yields to the worker's event loop in between, so a Stop message lands and
//! progress reaches the page while the page itself never computes anything heavy.

use gloo::worker::{Codec, HandlerId, Spawnable, Worker, WorkerBridge, WorkerScope};
use mlsec_core::exercise::Artefact;
use mlsec_core::session::{Job, Request, Response, Session};
use serde::{de::Deserialize, ser::Serialize};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
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
        serde_json::from_str(&text).expect("protocol messages come from the same build")
    }
}

pub struct LabWorker {
    session: Option<Rc<Session>>,
    stop_requested: Rc<RefCell<HashSet<u32>>>,
}

impl Worker for LabWorker {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        LabWorker {
            session: None,
            stop_requested: Rc::default(),
        }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        let failed = |job: Option<u32>, message: String| Response::Failed { job, message };
        match request {
            Request::Load { digits, target } => match Session::load(&digits.0, &target.0) {
                Ok(session) => {
                    let target_sha256 = session.target_sha256.clone();
                    self.session = Some(Rc::new(session));
                    scope.respond(id, Response::Loaded { target_sha256 });
                }
                Err(e) => scope.respond(
                    id,
                    failed(None, format!("The lab's data could not be loaded: {e}")),
                ),
            },
            Request::Stop { job } => {
                self.stop_requested.borrow_mut().insert(job);
            }
            request => {
                let Some(session) = self.session.clone() else {
                    let job = job_of(&request);
                    scope.respond(id, failed(job, "The lab's data is not loaded yet.".into()));
                    return;
                };
                if let Request::Run {
                    job,
                    exercise,
                    settings,
                } = request
                {
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
                        scope.respond(
                            id,
                            response.unwrap_or_else(|e| failed(Some(job), e.to_string())),
                        );
                    });
                } else if let Some(response) = session.answer(&request) {
                    scope.respond(id, response);
                }
            }
        }
    }
}

fn job_of(request: &Request) -> Option<u32> {
    match request {
        Request::Run { job, .. }
        | Request::FgsmCurve { job, .. }
        | Request::Inspect { job, .. }
        | Request::Stop { job } => Some(*job),
        Request::Load { .. } => None,
    }
}

async fn run(
    session: &Session,
    job: u32,
    exercise: &mlsec_core::course::Exercise,
    settings: mlsec_core::exercise::Settings,
    scope: &WorkerScope<LabWorker>,
    id: HandlerId,
    stop_requested: &RefCell<HashSet<u32>>,
) -> mlsec_core::Result<Response> {
    let mut stopped = false;
    let artefact = match session.start(exercise, &settings)? {
        Job::Ready(artefact) => artefact,
        Job::Training(mut trainer) => {
            while !trainer.finished() {
                let report = trainer.run_epoch()?;
                scope.respond(id, Response::Epoch { job, report });
                // Let queued messages (Stop) in before the next epoch.
                gloo::timers::future::TimeoutFuture::new(0).await;
                if stop_requested.borrow_mut().remove(&job) {
                    stopped = true;
                    break;
                }
            }
            Artefact::weights(trainer.model())?
        }
    };
    let (grade, receipt) = session.finish(exercise, settings, artefact)?;
    Ok(Response::Done {
        job,
        grade,
        receipt,
        stopped,
    })
}

/// Where the worker's asset fetch stands.
enum LoadState {
    Idle,
    /// Fetching the data; requests made meanwhile wait here.
    Fetching(Vec<Request>),
    Sent,
    Failed(String),
}

/// The page's side: one worker for the whole app, started on first use (so the first page
/// load fetches only the page's own code), responses routed to the component that asked (by
/// job number); load failures go to everyone listening.
pub struct WorkerHandle {
    bridge: RefCell<Option<WorkerBridge<LabWorker>>>,
    listeners: Rc<RefCell<HashMap<u32, Callback<Response>>>>,
    next_job: Cell<u32>,
    load: RefCell<LoadState>,
}

impl WorkerHandle {
    pub fn new() -> Rc<Self> {
        Rc::new(WorkerHandle {
            bridge: RefCell::new(None),
            listeners: Rc::default(),
            next_job: Cell::new(1),
            load: RefCell::new(LoadState::Idle),
        })
    }

    fn post(&self, request: Request) {
        let mut bridge = self.bridge.borrow_mut();
        bridge.get_or_insert_with(|| self.spawn()).send(request);
    }

    fn spawn(&self) -> WorkerBridge<LabWorker> {
        let routes = self.listeners.clone();
        LabWorker::spawner()
            .encoding::<JsonCodec>()
            .callback(move |response: Response| {
                let job = match &response {
                    Response::Epoch { job, .. }
                    | Response::Done { job, .. }
                    | Response::Curve { job, .. }
                    | Response::Inspected { job, .. } => Some(*job),
                    Response::Failed { job, .. } => *job,
                    Response::Loaded { .. } => return,
                };
                let targets: Vec<Callback<Response>> = match job {
                    Some(job) => routes.borrow().get(&job).cloned().into_iter().collect(),
                    None => routes.borrow().values().cloned().collect(),
                };
                for cb in targets {
                    cb.emit(response.clone());
                }
            })
            .spawn_with_loader("worker_loader.js")
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
    }

    /// Sends a request, first fetching the lab's data into the worker if that has not happened.
    pub fn send(self: &Rc<Self>, request: Request) {
        let mut load = self.load.borrow_mut();
        match &mut *load {
            LoadState::Sent => self.post(request),
            LoadState::Fetching(queue) => queue.push(request),
            LoadState::Failed(message) => {
                let message = message.clone();
                drop(load);
                if let Some(job) = job_of(&request) {
                    if let Some(cb) = self.listeners.borrow().get(&job) {
                        cb.emit(Response::Failed {
                            job: Some(job),
                            message,
                        });
                    }
                }
            }
            LoadState::Idle => {
                *load = LoadState::Fetching(vec![request]);
                drop(load);
                let this = self.clone();
                wasm_bindgen_futures::spawn_local(async move { this.fetch_and_load().await });
            }
        }
    }

    async fn fetch_and_load(self: Rc<Self>) {
        let fetched = async {
            let digits = crate::lab::fetch_bytes(mlsec_core::course::paths::DIGITS).await?;
            let target = crate::lab::fetch_bytes(mlsec_core::course::paths::TARGET_MODEL).await?;
            Ok::<_, String>((digits, target))
        }
        .await;
        let queued = match std::mem::replace(&mut *self.load.borrow_mut(), LoadState::Sent) {
            LoadState::Fetching(queue) => queue,
            _ => vec![],
        };
        match fetched {
            Ok((digits, target)) => {
                use mlsec_core::exercise::Base64;
                self.post(Request::Load {
                    digits: Base64(digits),
                    target: Base64(target),
                });
                for request in queued {
                    self.post(request);
                }
            }
            Err(message) => {
                let message = format!("The lab's data could not be downloaded: {message}");
                *self.load.borrow_mut() = LoadState::Failed(message.clone());
                for cb in self.listeners.borrow().values() {
                    cb.emit(Response::Failed {
                        job: None,
                        message: message.clone(),
                    });
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
