//! MLSec Lab's browser side: a thin Yew UI, the two Web Workers that run the engine, and the
//! localStorage backend for progress. Everything here is wasm32-only; the logic it shows and
//! runs lives in `mlsec-core`.
#![cfg(target_arch = "wasm32")]

pub mod app;
pub mod class_view;
pub mod course_worker;
pub mod exercise_view;
pub mod instructor;
pub mod kinds;
pub mod lab;
pub mod look_inside;
pub mod navigation;
pub mod painter;
pub mod plot;
pub mod predict;
pub mod router;
pub mod storage;
pub mod worker;
pub mod workshop;
