//! Fuzz main's decode-and-validation path: the first input byte picks the message kind (frame
//! tag), the rest is the frame payload. `decode_message` runs what the dispatcher runs on each
//! frame a renderer writes; it must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Tags to try: every kind (renderer-to-main and main-to-renderer) and some unknown ones.
const TAGS: [u16; 12] = [1, 2, 3, 4, 5, 16, 17, 18, 19, 0, 6, u16::MAX];

fuzz_target!(|data: &[u8]| {
    let Some((&k, payload)) = data.split_first() else {
        return;
    };
    let tag = TAGS[k as usize % TAGS.len()];
    let _ = electrode::fuzzing::decode_message(tag, payload);
});
