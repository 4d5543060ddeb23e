//! Fuzz a MessagePort end's checks on one frame its peer wrote: the first input byte picks the
//! frame tag (the enveloped `PostMessage`, raw bytes, a raw typed archive), the rest is the
//! frame payload. `decode_port_message` runs the port's own validation (`port::frame`) and, for
//! an archive with `fuzzing::FUZZ_JOB`'s fingerprint, a typed receiver's check; it must never
//! panic, whatever the bytes. Seeds: `cargo run --example seeds` writes valid port frames to
//! `corpus/port/`.
#![no_main]

use electrode::fuzzing::{decode_port_message, PORT_TAGS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&k, payload)) = data.split_first() else {
        return;
    };
    let tag = PORT_TAGS[k as usize % PORT_TAGS.len()];
    let _ = decode_port_message(tag, payload);
});
