//! The browser backend for progress: localStorage behind the core's `KeyValueStore`.

use mlsec_core::progress::{KeyValueStore, StoreError};
use wasm_bindgen::JsCast;

#[derive(Default)]
pub struct LocalStorage;

fn storage() -> Result<web_sys::Storage, StoreError> {
    web_sys::window()
        .ok_or_else(|| StoreError::Unavailable("no window".into()))?
        .local_storage()
        .map_err(|e| StoreError::Unavailable(describe(&e)))?
        .ok_or_else(|| StoreError::Unavailable("localStorage is disabled".into()))
}

fn describe(e: &wasm_bindgen::JsValue) -> String {
    e.dyn_ref::<web_sys::DomException>()
        .map(|d| d.name())
        .unwrap_or_else(|| format!("{e:?}"))
}

impl KeyValueStore for LocalStorage {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        storage()?
            .get_item(key)
            .map_err(|e| StoreError::Unavailable(describe(&e)))
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        storage()?.set_item(key, value).map_err(|e| {
            let name = describe(&e);
            if name == "QuotaExceededError" || name == "NS_ERROR_DOM_QUOTA_REACHED" {
                StoreError::Full
            } else {
                StoreError::Unavailable(name)
            }
        })
    }
}

impl LocalStorage {
    /// Forgets `key` (a workshop's remembered name, when the learner changes it).
    pub fn remove(&self, key: &str) -> Result<(), StoreError> {
        storage()?
            .remove_item(key)
            .map_err(|e| StoreError::Unavailable(describe(&e)))
    }
}
