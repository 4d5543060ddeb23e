//! Fuzz a typed channel's receiver: the first input byte picks the message kind (frame tag),
//! the rest is the frame payload. `decode_typed_message` runs main's decoder and then the
//! typed check every typed listener and handler runs (fingerprint, rkyv bytecheck validation,
//! reading every field, the owned copy) for the fixed contract `fuzzing::FUZZ_JOB`; it must
//! never panic, whatever the bytes. Seeds: `cargo run --example seeds` writes valid typed
//! messages to `corpus/typed/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Tags to try: the three request kinds (most inputs) and two that are no typed request.
const TAGS: [u16; 5] = [1, 2, 3, 4, 16];

fuzz_target!(|data: &[u8]| {
    let Some((&k, payload)) = data.split_first() else {
        return;
    };
    let tag = TAGS[k as usize % TAGS.len()];
    let _ = electrode::fuzzing::decode_typed_message(tag, payload);
});
