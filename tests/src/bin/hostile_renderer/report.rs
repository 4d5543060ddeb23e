//! How a role reports to the test: `ok <what>` and `FAIL <what>` lines on stdout, and the end
//! of a hostile role that main never disconnected.

use electrode_tests::hostile_kit as kit;
use std::io::Write;
use std::time::{Duration, Instant};

/// How long a hostile role keeps misbehaving before it concludes main will not disconnect it.
pub(crate) const HOSTILE_BUDGET: Duration = Duration::from_secs(20);

/// Report a check that held: `ok <what>`.
pub(crate) fn ok(what: &str) {
    println!("ok {what}");
    let _ = std::io::stdout().flush();
}

/// Report a check that failed: `FAIL <what>` (also on stderr); returns [`kit::EXIT_FAILED`].
pub(crate) fn fail(what: &str) -> i32 {
    println!("FAIL {what}");
    let _ = std::io::stdout().flush();
    eprintln!("hostile_renderer[{}]: FAIL {what}", std::process::id());
    kit::EXIT_FAILED
}

/// Print one line for the test (information, not a check).
pub(crate) fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

/// A hostile role that ran out of budget: main never disconnected it.
pub(crate) fn not_disconnected(what: &str) -> i32 {
    say(&format!("FAIL not disconnected after {what}"));
    kit::EXIT_NOT_DISCONNECTED
}

/// Repeat `send` until main disconnects (kills) us; give up after [`HOSTILE_BUDGET`].
pub(crate) fn until_disconnected(what: &str, mut send: impl FnMut(u64)) -> i32 {
    let start = Instant::now();
    let mut i = 0u64;
    while start.elapsed() < HOSTILE_BUDGET {
        send(i);
        i += 1;
        if i.is_multiple_of(64) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    not_disconnected(what)
}
