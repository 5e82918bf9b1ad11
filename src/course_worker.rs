//! The course worker (bin `course_worker`) and the page's handle on it. It makes a course from
//! its files ([`CourseRequest`]): parsing TOML and markdown, checking and rendering the lessons,
//! building a search index. The page needs that only without a course bundle, or when an
//! instructor edited the files on the host after the build, so it is a module of its own,
//! downloaded then and only then: neither the page's code nor the engine's worker carries the
//! parsers.

use crate::worker::{loader_url, JsonCodec};
use futures::channel::oneshot;
use gloo::worker::{HandlerId, Spawnable, Worker, WorkerBridge, WorkerScope};
use mlsec_core::course::{CourseRequest, CourseResponse};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

pub struct CourseWorker;

impl Worker for CourseWorker {
    type Message = ();
    type Input = CourseRequest;
    type Output = CourseResponse;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        CourseWorker
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, scope: &WorkerScope<Self>, request: CourseRequest, id: HandlerId) {
        scope.respond(id, request.answer());
    }
}

/// The page's side: the worker started on the first request. The worker answers each request
/// at once, so answers come back in the order the requests went: each goes to the oldest
/// request still waiting.
#[derive(Default)]
pub struct CourseWorkerHandle {
    bridge: RefCell<Option<WorkerBridge<CourseWorker>>>,
    waiting: Rc<RefCell<VecDeque<oneshot::Sender<CourseResponse>>>>,
}

impl CourseWorkerHandle {
    pub async fn ask(&self, request: CourseRequest) -> Result<CourseResponse, String> {
        let (answer, answered) = oneshot::channel();
        self.waiting.borrow_mut().push_back(answer);
        self.bridge
            .borrow_mut()
            .get_or_insert_with(|| {
                let waiting = self.waiting.clone();
                CourseWorker::spawner()
                    .encoding::<JsonCodec>()
                    .callback(move |response| {
                        if let Some(answer) = waiting.borrow_mut().pop_front() {
                            let _ = answer.send(response);
                        }
                    })
                    .spawn_with_loader(&loader_url("course_worker_loader.js"))
            })
            .send(request);
        answered
            .await
            .map_err(|_| "the course worker stopped before it answered".to_string())
    }
}

impl PartialEq for CourseWorkerHandle {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
