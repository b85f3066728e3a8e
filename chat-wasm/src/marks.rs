//! Start-up timing marks: `performance.mark("onyxchat:<phase>")` in the worker's
//! timeline, so a profiler or the browser benchmark (`tests/web/bench.mjs`) can break the
//! time to the first message down. Rules: a mark never fails the caller (no `performance`,
//! or a throwing `mark`, is ignored), and only one-off start-up phases are marked (nothing
//! per message or per query).

use js_sys::{Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// Marks `onyxchat:<phase>` now, if the global scope has `performance.mark`.
pub(crate) fn mark(phase: &str) {
    let performance = match Reflect::get(&js_sys::global(), &"performance".into()) {
        Ok(p) if p.is_object() => p,
        _ => return,
    };
    let Ok(mark) = Reflect::get(&performance, &"mark".into()) else {
        return;
    };
    if let Some(mark) = mark.dyn_ref::<Function>() {
        let _ = mark.call1(&performance, &JsValue::from(format!("onyxchat:{phase}")));
    }
}
