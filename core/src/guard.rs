//! Running user code (listeners, handlers, hooks) without letting a panic take the dispatcher
//! or the renderer's receive thread down, and knowing whether the current thread is main's
//! dispatcher (where a blocking call would wait for itself).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static ON_DISPATCHER: Cell<bool> = const { Cell::new(false) };
}

/// Mark the current thread as main's dispatcher (for the rest of its life).
pub(crate) fn enter_dispatcher() {
    ON_DISPATCHER.with(|c| c.set(true));
}

/// Whether the current thread is a dispatcher (blocking calls there would wait for themselves).
pub(crate) fn on_dispatcher_thread() -> bool {
    ON_DISPATCHER.with(|c| c.get())
}

/// Run user code, turning a panic into a logged `None` so the calling thread survives it.
/// `what` names the kind of code (`"listener"`, `"handler"`, ...) for the log.
pub(crate) fn guard<R>(what: &str, channel: &str, f: impl FnOnce() -> R) -> Option<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Some(r),
        Err(p) => {
            log_panic(what, channel, p);
            None
        }
    }
}

/// Log a caught panic (out of line: the guarded call is on the hot path, this is not).
#[cold]
#[inline(never)]
fn log_panic(what: &str, channel: &str, p: Box<dyn std::any::Any + Send>) {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into());
    tracing::error!(what, channel, panic = %msg, "user code panicked");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_none_and_the_flag_is_per_thread() {
        assert_eq!(guard("test", "c", || 7), Some(7));
        assert_eq!(guard("test", "c", || -> u8 { panic!("boom") }), None);
        std::thread::spawn(|| {
            enter_dispatcher();
            assert!(on_dispatcher_thread());
        })
        .join()
        .unwrap();
        assert!(!on_dispatcher_thread());
    }
}
