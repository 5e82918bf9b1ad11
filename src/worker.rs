//! The Web Worker (bin `worker`) and the page's handle on it. The worker owns a
//! [`Session`](mlsec_core::session::Session) and answers [`Request`]s; training runs one epoch
//! at a time and yields to the worker's event loop in between, so a Stop message lands and
//! progress reaches the page while the page itself never computes anything heavy.

use gloo::worker::{Codec, HandlerId, Spawnable, Worker, WorkerBridge, WorkerScope};
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
    session: Rc<Session>,
    /// Why the assistant models did not load, told to each injection run that needs them (not
    /// broadcast: the other exercises work without them).
    assistants_failed: Option<String>,
    stop_requested: Rc<RefCell<HashSet<u32>>>,
}

impl Worker for LabWorker {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        LabWorker {
            session: Rc::default(),
            assistants_failed: None,
            stop_requested: Rc::default(),
        }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        let failed = |job: Option<u32>, message: String| Response::Failed { job, message };
        let session = self.session.clone();
        match request {
            Request::Load { digits, target } => match session.load_digits(&digits.0, &target.0) {
                Ok(target_sha256) => scope.respond(id, Response::Loaded { target_sha256 }),
                Err(e) => scope.respond(
                    id,
                    failed(None, format!("The lab's data could not be loaded: {e}")),
                ),
            },
            Request::LoadAssistants {
                assistant,
                structured,
            } => match session.load_assistants(&assistant.0, &structured.0) {
                Ok(()) => scope.respond(id, Response::AssistantsLoaded),
                Err(e) => {
                    self.assistants_failed = Some(format!(
                        "The assistant models could not be loaded: {e}. The other lessons \
                         still work."
                    ))
                }
            },
            Request::Stop { job } => {
                self.stop_requested.borrow_mut().insert(job);
            }
            Request::Run {
                job,
                exercise,
                settings,
            } => {
                if let Err(message) = session.ready_for(&exercise.task) {
                    let message = match &self.assistants_failed {
                        Some(why) if exercise.task.uses_assistants() => why.clone(),
                        _ => message,
                    };
                    scope.respond(id, failed(Some(job), message));
                    return;
                }
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
                if let Some(response) = session.answer(&request) {
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
        Request::Load { .. } | Request::LoadAssistants { .. } => None,
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
    let finished = match session.start(exercise, &settings)? {
        Job::Ready(artefact) => session.finish(exercise, settings, artefact)?,
        Job::Defending(artefact, mut table) => {
            loop {
                scope.respond(
                    id,
                    Response::Progress {
                        job,
                        done: table.done() as u32,
                        total: table.total() as u32,
                        label: table.next_name().unwrap_or_default().to_string(),
                    },
                );
                // Let the progress message out, and a Stop in, before the next row.
                gloo::timers::future::TimeoutFuture::new(0).await;
                if stop_requested.borrow_mut().remove(&job) {
                    return Err(mlsec_core::Error::InvalidInput(
                        "stopped before the table was complete; nothing was graded".into(),
                    ));
                }
                if !session.step_table(&mut table)? {
                    break;
                }
            }
            session.finish_table(exercise, settings, artefact, *table)?
        }
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
            session.finish_training(exercise, settings, &trainer)?
        }
    };
    Ok(Response::Done {
        job,
        grade: finished.grade,
        receipt: finished.receipt,
        stopped,
        details: finished.details,
    })
}

/// The assets the worker needs, each fetched by the page on first need: the digits data and
/// target (Tracks 0 and A), the assistant models (Track E, 3.4 MB). A learner who only opens
/// Track E never downloads the digits, and one who never opens it never downloads the models.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Assets {
    Digits = 0,
    Assistants = 1,
}

impl Assets {
    fn files(self) -> &'static [&'static str] {
        use mlsec_core::course::paths;
        match self {
            Assets::Digits => &[paths::DIGITS, paths::TARGET_MODEL],
            Assets::Assistants => &[paths::ASSISTANT_MODEL, paths::STRUCTURED_MODEL],
        }
    }

    fn what(self) -> &'static str {
        match self {
            Assets::Digits => "The lab's data",
            Assets::Assistants => "The assistant models",
        }
    }

    fn load_request(self, mut files: Vec<Vec<u8>>) -> Request {
        use mlsec_core::exercise::Base64;
        let second = Base64(files.pop().unwrap_or_default());
        let first = Base64(files.pop().unwrap_or_default());
        match self {
            Assets::Digits => Request::Load {
                digits: first,
                target: second,
            },
            Assets::Assistants => Request::LoadAssistants {
                assistant: first,
                structured: second,
            },
        }
    }

    /// What `request` needs loaded first: the assistant models for Track E runs, the digits
    /// data and target for everything else (never both).
    fn needed_by(request: &Request) -> &'static [Assets] {
        match request {
            Request::Run { exercise, .. } if exercise.task.uses_assistants() => {
                &[Assets::Assistants]
            }
            Request::Stop { .. } => &[],
            _ => &[Assets::Digits],
        }
    }
}

/// Where one asset group's fetch stands.
enum LoadState {
    Idle,
    /// Fetching; requests made meanwhile wait here.
    Fetching(Vec<Request>),
    Sent,
}

/// The page's side: one worker for the whole app, started on first use (so the first page
/// load fetches only the page's own code), responses routed to the component that asked (by
/// job number); load failures go to the requests that needed the asset.
pub struct WorkerHandle {
    bridge: RefCell<Option<WorkerBridge<LabWorker>>>,
    listeners: Rc<RefCell<HashMap<u32, Callback<Response>>>>,
    next_job: Cell<u32>,
    loads: [RefCell<LoadState>; 2],
}

impl WorkerHandle {
    pub fn new() -> Rc<Self> {
        Rc::new(WorkerHandle {
            bridge: RefCell::new(None),
            listeners: Rc::default(),
            next_job: Cell::new(1),
            loads: [RefCell::new(LoadState::Idle), RefCell::new(LoadState::Idle)],
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
                    | Response::Progress { job, .. }
                    | Response::Done { job, .. }
                    | Response::Curve { job, .. }
                    | Response::Inspected { job, .. } => Some(*job),
                    Response::Failed { job, .. } => *job,
                    Response::Loaded { .. } | Response::AssistantsLoaded => return,
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

    fn fail(&self, request: &Request, message: String) {
        if let Some(job) = job_of(request) {
            if let Some(cb) = self.listeners.borrow().get(&job) {
                cb.emit(Response::Failed {
                    job: Some(job),
                    message,
                });
            }
        }
    }

    /// Sends a request, first fetching into the worker whatever assets it needs that have not
    /// been fetched yet.
    pub fn send(self: &Rc<Self>, request: Request) {
        for &assets in Assets::needed_by(&request) {
            let mut load = self.loads[assets as usize].borrow_mut();
            match &mut *load {
                LoadState::Sent => continue,
                LoadState::Fetching(queue) => queue.push(request),
                LoadState::Idle => {
                    *load = LoadState::Fetching(vec![request]);
                    drop(load);
                    let this = self.clone();
                    wasm_bindgen_futures::spawn_local(
                        async move { this.fetch_and_load(assets).await },
                    );
                }
            }
            return;
        }
        self.post(request);
    }

    async fn fetch_and_load(self: Rc<Self>, assets: Assets) {
        let fetched = async {
            let mut files = Vec::new();
            for url in assets.files() {
                files.push(crate::lab::fetch_bytes(url).await?);
            }
            Ok::<_, String>(files)
        }
        .await;
        let slot = &self.loads[assets as usize];
        let queued = match std::mem::replace(&mut *slot.borrow_mut(), LoadState::Sent) {
            LoadState::Fetching(queue) => queue,
            _ => vec![],
        };
        match fetched {
            Ok(files) => {
                self.post(assets.load_request(files));
                // Each queued request goes on to its next missing asset, or to the worker.
                for request in queued {
                    self.send(request);
                }
            }
            Err(message) => {
                // Back to idle, so the next run tries the download again (a network blip must
                // not need a reload).
                let message = format!(
                    "{} could not be downloaded: {message}. Run again to retry.",
                    assets.what()
                );
                *slot.borrow_mut() = LoadState::Idle;
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
