//! `hostile_renderer <role> [args]`: a renderer for the hostile-renderer, crash, backpressure
//! and isolation tests (`tests/tests/{hostile_*,crash_*,backpressure,isolation}.rs`).
//!
//! Well-behaved roles connect with `IpcRenderer`. Hostile roles take their segment with
//! `Handoff::receive` ([`hostile::Hostile`]), send frames through the ring producer (well framed, forged contents)
//! and map the segment a second time ([`raw::Raw`]) to scribble anywhere in it: ring positions, frame
//! headers, slot headers, the segment header. Each role reports on stdout (`ok <what>` /
//! `FAIL <what>`) and exits with one of the codes in `electrode_tests::hostile_kit`.
//!
//! Roles (the test files say what each shows; [`ROLES`] maps each name to its function):
//!
//! | role | does |
//! | --- | --- |
//! | `good` | invokes `echo` / `echo-sync` in a loop, checks every answer, until main says `stop` |
//! | `garbage SEED` | bad-argument requests (checks the error answers), then random payloads |
//! | `ring VARIANT` | one ring-level lie (frame lengths, kinds, padding, positions, chunks) |
//! | `envelope VARIANT` | a well-framed message whose envelope or arguments lie |
//! | `rejected-requests` | slot requests main must reject, each answered with an error at once |
//! | `kinds TAG..` | valid messages under the given (forbidden) kinds |
//! | `frames` | announces more frames than main keeps |
//! | `slots` | requests naming slots and generations that are not pending, and a state flipper |
//! | `seg-header` | rewrites the segment header and ring events, then checks main still serves |
//! | `handler-reply VARIANT` | answers main's invokes with forged replies |
//! | `m2r-head` | lies about its consumer position of main's ring, then floods async invokes |
//! | `double-fetch N` | rewrites published frames while main reads them |
//! | `mutate BUDGET SEED MS` | random mutations of everything it can write |
//! | `big-hold`, `big-loop`, `call KIND CHANNEL` | to be killed mid-write / mid-request |
//! | `flood N`, `flood-full N FIFO`, `slow-reader FIFO N` | backpressure both ways |
//! | `victim`, `snoop VICTIM BAIT`, `bait` | isolation: who can reach whose segment |
//! | `typed [VARIANT..]` | malformed and wrong-fingerprint archives on typed channels, as slot invokes and sends |
//! | `typed-flood N` | `N` wrong-fingerprint invokes, then malformed archives until disconnected |
//! | `typed-good` | invokes the contract's `ECHO_JOB` in a loop, checks every answer, until `stop` |

//!
//! One module per kind of attack: [`ring`] (ring positions and frame headers), [`envelope`]
//! (envelopes and kinds), [`args`] (argument archives), [`slots`] (slot words), [`segment`]
//! (the segment header, double fetches), [`mutate`] (random mutation of all of it), [`load`]
//! (backpressure), [`crash`] (killed mid-message), [`isolation`] and [`typed`] (typed-channel
//! archives); [`good`] is the well-behaved renderer (`typed-good` its typed twin).
#![deny(unsafe_op_in_unsafe_fn)]

mod args;
mod crash;
mod envelope;
mod good;
mod hostile;
mod isolation;
mod load;
mod mutate;
mod raw;
mod report;
mod ring;
mod segment;
mod slots;
mod typed;

use electrode_tests::hostile_kit as kit;

/// A role's command-line arguments (after the role name).
struct Args<'a>(&'a [String]);

impl Args<'_> {
    /// Argument `i`, or `""`.
    fn str(&self, i: usize) -> &str {
        self.0.get(i).map(String::as_str).unwrap_or("")
    }

    /// Argument `i` as a number, or 0.
    fn num(&self, i: usize) -> u64 {
        self.str(i).parse().unwrap_or(0)
    }
}

/// A role: its name on the command line and what runs it (returning the exit code).
type Role = (&'static str, fn(&Args) -> i32);

/// Every role, by name.
const ROLES: &[Role] = &[
    ("good", |_| good::good()),
    ("garbage", |a| args::garbage(a.num(0))),
    ("ring", |a| ring::ring_lie(a.str(0))),
    ("m2r-head", |_| ring::m2r_head()),
    ("envelope", |a| envelope::envelope_lie(a.str(0))),
    ("rejected-requests", |_| envelope::rejected_requests()),
    ("kinds", |a| envelope::kinds(a.0)),
    ("frames", |_| envelope::frames()),
    ("handler-reply", |a| envelope::handler_reply(a.str(0))),
    ("slots", |_| slots::slots()),
    ("seg-header", |_| segment::seg_header()),
    ("double-fetch", |a| segment::double_fetch(a.num(0))),
    ("mutate", |a| mutate::mutate(a.num(0), a.num(1), a.num(2))),
    ("big-hold", |_| crash::big_hold()),
    ("big-loop", |_| crash::big_loop()),
    ("call", |a| crash::call(a.str(0), a.str(1))),
    ("flood", |a| load::flood(a.num(0))),
    ("flood-full", |a| load::flood_full(a.num(0), a.str(1))),
    ("slow-reader", |a| load::slow_reader(a.str(0), a.num(1))),
    ("victim", |_| isolation::victim()),
    ("snoop", |a| {
        isolation::snoop(a.num(0) as u32, a.num(1) as u32)
    }),
    ("bait", |_| isolation::bait()),
    ("typed", |a| typed::typed(a.0)),
    ("typed-flood", |a| typed::typed_flood(a.num(0))),
    ("typed-good", |_| typed::typed_good()),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let _ = std::thread::Builder::new()
        .name("self-watchdog".into())
        .spawn(|| {
            std::thread::sleep(kit::CHILD_WATCHDOG);
            eprintln!("hostile_renderer: self-watchdog fired");
            std::process::exit(kit::EXIT_WATCHDOG);
        });
    let Some(name) = args.first() else {
        eprintln!("usage: hostile_renderer <role> [args]");
        std::process::exit(kit::EXIT_USAGE);
    };
    let code = match ROLES.iter().find(|(n, _)| n == name) {
        Some((_, run)) => run(&Args(&args[1..])),
        None => {
            eprintln!("hostile_renderer: unknown role {name}");
            kit::EXIT_USAGE
        }
    };
    std::process::exit(code);
}
