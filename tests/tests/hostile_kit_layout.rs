//! The wire layout the hostile kit forges (`electrode_tests::hostile_kit`) is the real one.
//!
//! The hostile roles write messages, frames, ring positions and slot words by hand, from the
//! kit's own constants and encoders. If the real protocol or transport changed and the kit
//! did not, the hostile tests would go on passing while attacking a layout that no longer
//! exists (a forged "lie" that main rejects only because it is garbage in the new layout).
//! Here every constant and helper the kit has is checked against what `electrode` (through its
//! hidden `fuzzing` module) and `electrode_shm` really use; each assertion says what drift it
//! catches.

use electrode::fuzzing::{self, EnvelopeFields};
use electrode::{RemoteError, Value};
use electrode_shm::{
    FrameKind, Liveness, RingHeader, Segment, SegmentConfig, SlotHeader, WaitMode, FRAME_HEADER_LEN,
};
use electrode_tests::hostile_kit::{self as kit, kind, ring, slot, Envelope, HANG_GUARD};
use electrode_tests::watchdog;
use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::time::Instant;

/// The kit's kind constants by name (the names of `fuzzing::KINDS` in SCREAMING_SNAKE_CASE).
const KIT_KINDS: [(&str, u16); 15] = [
    ("SEND", kind::SEND),
    ("SEND_SYNC", kind::SEND_SYNC),
    ("INVOKE", kind::INVOKE),
    ("HANDLER_REPLY", kind::HANDLER_REPLY),
    ("FRAME_OPEN", kind::FRAME_OPEN),
    ("MESSAGE", kind::MESSAGE),
    ("LARGE_REPLY", kind::LARGE_REPLY),
    ("REPLY", kind::REPLY),
    ("INVOKE_RENDERER", kind::INVOKE_RENDERER),
    ("SLOT_READY", kind::SLOT_READY),
    ("CLOSE", kind::CLOSE),
    ("CLOSING", kind::CLOSING),
    ("POST_MESSAGE", kind::POST_MESSAGE),
    ("PORT_FORWARD", kind::PORT_FORWARD),
    ("PORT_CLOSED", kind::PORT_CLOSED),
];

/// `SendSync` -> `SEND_SYNC`.
fn screaming(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[test]
fn kinds_are_the_real_tags() {
    // Catches: a kind renumbered in `protocol::Kind` (the kit would forge another kind).
    for (name, tag) in fuzzing::KINDS {
        let want = screaming(name);
        let kit_tag = KIT_KINDS
            .iter()
            .find(|(n, _)| *n == want)
            .map(|(_, t)| *t)
            .unwrap_or_else(|| panic!("the kit has no kind::{want} for the real kind {name}"));
        assert_eq!(
            kit_tag, tag,
            "kind::{want} is {kit_tag}, the real {name} is {tag}"
        );
    }
    // Catches: a kind the kit has that the protocol dropped (or renamed).
    for (name, _) in KIT_KINDS {
        assert!(
            fuzzing::KINDS.iter().any(|(n, _)| screaming(n) == name),
            "kind::{name} names no real kind"
        );
    }
    // Catches: a kind added to the protocol but missing from the kit's direction lists, or a
    // kind in both (the lists must split the real kinds exactly).
    let real: BTreeSet<u16> = fuzzing::KINDS.iter().map(|(_, t)| *t).collect();
    let mut listed: Vec<u16> = kind::RENDERER_TO_MAIN.to_vec();
    listed.extend_from_slice(&kind::MAIN_TO_RENDERER);
    let listed_set: BTreeSet<u16> = listed.iter().copied().collect();
    assert_eq!(listed.len(), listed_set.len(), "a kind in both lists");
    assert_eq!(
        listed_set, real,
        "the direction lists are not the real kinds"
    );
    // Catches: a kind in the wrong list (main accepts exactly the renderer's kinds).
    let valid = kit::valid_message(kit::ECHO, &[Value::from(1)]);
    for tag in kind::RENDERER_TO_MAIN {
        assert!(
            fuzzing::decode_message(tag, &valid),
            "main rejects kind {tag}, which the kit says a renderer may send"
        );
    }
    for tag in kind::MAIN_TO_RENDERER {
        assert!(
            !fuzzing::decode_message(tag, &valid),
            "main accepts kind {tag} from a renderer, which the kit says only main sends"
        );
    }
}

#[test]
fn envelope_constants_are_the_real_ones() {
    // Catches: a flag bit or aux bit moved, or the envelope grown or shrunk (every forged
    // channel and argument offset would be off).
    assert_eq!(kit::FLAG_ERROR, fuzzing::FLAG_ERROR, "FLAG_ERROR");
    assert_eq!(
        kit::FLAG_REPLY_VIA_RING,
        fuzzing::FLAG_REPLY_VIA_RING,
        "FLAG_REPLY_VIA_RING"
    );
    assert_eq!(kit::AUX_ERROR, fuzzing::AUX_ERROR, "AUX_ERROR");
    assert_eq!(kit::ENVELOPE_LEN, fuzzing::ENVELOPE_LEN, "ENVELOPE_LEN");
}

/// Envelopes covering every field at zero, one, its extremes and a byte pattern that shows
/// any field written at the wrong offset or in the wrong byte order.
fn envelopes() -> Vec<EnvelopeFields> {
    let mut v = vec![EnvelopeFields::default()];
    for flags in [
        fuzzing::FLAG_ERROR,
        fuzzing::FLAG_REPLY_VIA_RING,
        fuzzing::FLAG_ERROR | fuzzing::FLAG_REPLY_VIA_RING,
        0xff,
    ] {
        v.push(EnvelopeFields {
            flags,
            ..EnvelopeFields::default()
        });
    }
    for x in [1u32, 0x0102_0304, u32::MAX] {
        v.push(EnvelopeFields {
            frame_id: x,
            ..EnvelopeFields::default()
        });
        v.push(EnvelopeFields {
            slot_index: x,
            ..EnvelopeFields::default()
        });
        v.push(EnvelopeFields {
            slot_gen: x,
            ..EnvelopeFields::default()
        });
    }
    for id in [1u64, 0x0102_0304_0506_0708, u64::MAX] {
        v.push(EnvelopeFields {
            request_id: id,
            ..EnvelopeFields::default()
        });
    }
    v.push(EnvelopeFields {
        flags: 0x5a,
        frame_id: 0x1112_1314,
        slot_index: 0x2122_2324,
        slot_gen: 0x3132_3334,
        request_id: 0x4142_4344_4546_4748,
        // The kit forges `Value` messages only: no schema fingerprint.
        fingerprint: 0,
    });
    v
}

/// Channels of 0, 1, 15, 16, 17 and 4096 bytes (around the 16-byte padding and at the
/// limit), and a multi-byte UTF-8 one.
fn channels() -> Vec<String> {
    let mut v: Vec<String> = [0usize, 1, 15, 16, 17, electrode::MAX_CHANNEL_LEN]
        .iter()
        .map(|&n| (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect())
        .collect();
    v.push("ünïcødé-✓".into());
    v
}

/// Argument lists: none, scalars, out-of-line strings and bytes, nesting.
fn arg_lists() -> Vec<Vec<Value>> {
    vec![
        vec![],
        vec![Value::from(1)],
        vec![Value::Null, Value::from(true), Value::from(-1.5)],
        vec![Value::from("a string long enough to live out of line")],
        vec![Value::Bytes(vec![7u8; 17]), Value::Bytes(vec![9u8; 4096])],
        vec![Value::map([
            ("list", Value::Array(vec![Value::from(1), Value::from("x")])),
            ("inner", Value::map([("k", Value::from(i64::MIN))])),
        ])],
    ]
}

fn kit_envelope(f: &EnvelopeFields) -> Envelope {
    Envelope {
        flags: f.flags,
        channel_len: None,
        frame_id: f.frame_id,
        slot_index: f.slot_index,
        slot_gen: f.slot_gen,
        request_id: f.request_id,
    }
}

#[test]
fn forged_messages_are_the_real_encoders_bytes() {
    let mut checked = 0;
    for fields in envelopes() {
        for channel in channels() {
            for values in arg_lists() {
                let real = fuzzing::encode_message(fields, &channel, &values);
                // Catches: any envelope field at another offset, width or byte order, the
                // channel length field moved, a different padding rule in front of the
                // arguments, or `kit::args` encoding arguments differently.
                let forged = kit::message(
                    &kit_envelope(&fields),
                    channel.as_bytes(),
                    &kit::args(&values),
                );
                assert_eq!(
                    forged,
                    real,
                    "kit::message differs from the real encoder for {fields:?}, a {}-byte \
                     channel, arguments {values:?}",
                    channel.len()
                );
                // Catches: the kit's parser of main's messages reading fields or arguments
                // from the wrong place.
                let (env, args) = kit::parse_message(&real).expect("parse the real message");
                assert_eq!(
                    env,
                    Envelope {
                        channel_len: Some(channel.len() as u16),
                        ..kit_envelope(&fields)
                    },
                    "kit::parse_message of the real message"
                );
                assert_eq!(args.as_slice(), kit::args(&values), "parsed arguments");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} combinations checked");
}

#[test]
fn a_lying_channel_length_lands_on_the_real_length_field() {
    // Catches: `Envelope::channel_len` written somewhere main does not read the length from
    // (the envelope lies of the hostile tests would then not be lies about the length).
    let args = kit::args(&[Value::from(1)]);
    let with = |len: Option<u16>| {
        kit::message(
            &Envelope {
                channel_len: len,
                ..Envelope::default()
            },
            b"echo",
            &args,
        )
    };
    assert!(fuzzing::decode_message(kind::SEND, &with(Some(4))));
    assert!(!fuzzing::decode_message(kind::SEND, &with(Some(100))));
    assert!(!fuzzing::decode_message(kind::SEND, &with(Some(5000))));
}

#[test]
fn the_kit_reads_real_replies() {
    // Catches: a reply value shape or error layout (`[name, message, has_data, data]`)
    // changed without the kit's `decode_reply`, which the hostile roles check main's
    // answers with.
    for values in arg_lists() {
        let v = Value::Array(values);
        let bytes = fuzzing::encode_reply(&Ok(v.clone()));
        assert_eq!(kit::decode_reply(0, &bytes), Ok(Ok(v)), "an Ok reply");
    }
    let errors = [
        RemoteError::new("a message"),
        RemoteError {
            name: "ProtocolError".into(),
            message: "main rejected the message".into(),
            data: Some(Value::from(42)),
        },
        RemoteError {
            name: String::new(),
            message: String::new(),
            data: Some(Value::map([("k", Value::Null)])),
        },
    ];
    for e in errors {
        let bytes = fuzzing::encode_reply(&Err(e.clone()));
        assert_eq!(
            kit::decode_reply(kit::AUX_ERROR, &bytes),
            Ok(Err((e.name.clone(), e.message.clone()))),
            "an error reply {e:?}"
        );
    }
}

#[test]
fn frame_constants_are_electrode_shm_s() {
    // Catches: a frame header of another size, frame kinds renumbered, or another rounding
    // of payloads (every forged frame and ring position would be off).
    assert_eq!(ring::FRAME_HEADER, FRAME_HEADER_LEN, "frame header length");
    assert_eq!(ring::PAD, FrameKind::Pad as u8, "PAD");
    assert_eq!(ring::WHOLE, FrameKind::Whole as u8, "WHOLE");
    assert_eq!(ring::FIRST, FrameKind::First as u8, "FIRST");
    assert_eq!(ring::MIDDLE, FrameKind::Middle as u8, "MIDDLE");
    assert_eq!(ring::LAST, FrameKind::Last as u8, "LAST");
    for len in (0..=4096).chain([65_535, 1 << 20, (1 << 20) + 1]) {
        assert_eq!(
            ring::frame_size(len) as u64,
            electrode_shm::frame_size(len as u64),
            "frame size of {len} payload bytes"
        );
    }
    // Catches: a ring header that outgrew the page the kit puts the data after.
    assert!(std::mem::size_of::<RingHeader>() <= ring::DATA);
    // Catches: slot headers of another size (the kit would address the wrong slot's words).
    assert_eq!(
        slot::HEADER,
        std::mem::size_of::<SlotHeader>(),
        "slot header"
    );
}

/// A segment's memfd, read and written at offsets (what the hostile roles' second mapping
/// sees: the file's pages are the mapping's).
struct Bytes<'a>(&'a File);

impl Bytes<'_> {
    fn read(&self, off: usize, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.0
            .read_exact_at(&mut b, off as u64)
            .expect("read the segment");
        b
    }

    fn u64(&self, off: usize) -> u64 {
        u64::from_le_bytes(self.read(off, 8).try_into().unwrap())
    }

    fn u32(&self, off: usize) -> u32 {
        u32::from_le_bytes(self.read(off, 4).try_into().unwrap())
    }

    fn write_u32(&self, off: usize, v: u32) {
        self.0
            .write_all_at(&v.to_le_bytes(), off as u64)
            .expect("write the segment");
    }
}

#[test]
fn ring_and_slot_offsets_are_where_electrode_shm_works() {
    let _dog = watchdog(HANG_GUARD, "ring_and_slot_offsets");
    let config = SegmentConfig {
        r2m_capacity: 8192,
        m2r_capacity: 8192,
        slot_count: 4,
        slot_size: 256,
    };
    let seg = Segment::create(config).expect("create a segment");
    let peer = seg.reopen().expect("map it again");
    let file = seg.file().try_clone().expect("dup the memfd");
    let raw = Bytes(&file);
    let l = *seg.layout();
    let mut main = seg.into_main(Liveness::new());
    let mut rend = peer.into_renderer(Liveness::new());
    let deadline = || Some(Instant::now() + HANG_GUARD);
    let mode = WaitMode::default();
    let (r2m, m2r) = (l.r2m, l.m2r);

    // One whole frame. Catches: TAIL not where the producer publishes, DATA not where frames
    // start, a frame header laid out otherwise than `ring::frame_header`.
    let payload: Vec<u8> = (0..40u8).collect();
    let meta = 0x0102_0304_0506_0708;
    rend.tx
        .send(kind::SEND, meta, &payload, mode, None)
        .expect("send");
    assert_eq!(raw.u64(r2m + ring::HEAD), 0, "HEAD before main read");
    assert_eq!(
        raw.u64(r2m + ring::TAIL),
        ring::frame_size(payload.len()) as u64,
        "TAIL after one frame"
    );
    assert_eq!(
        raw.read(r2m + ring::DATA, ring::FRAME_HEADER),
        ring::frame_header(payload.len() as u32, ring::WHOLE, kind::SEND, meta),
        "the frame header at DATA"
    );
    assert_eq!(raw.read(r2m + ring::DATA + ring::FRAME_HEADER, 40), payload);
    // Catches: HEAD not where the consumer hands space back.
    let m = main.rx.recv(mode, deadline()).expect("main receives");
    assert_eq!(m.tag(), kind::SEND);
    m.release();
    assert_eq!(
        raw.u64(r2m + ring::HEAD),
        raw.u64(r2m + ring::TAIL),
        "HEAD after"
    );

    // A message larger than a frame goes whole, in the bulk area: one frame naming its length.
    // Catches: BULK renumbered, or its payload not the length.
    let big: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    rend.tx
        .send(kind::INVOKE, 7, &big, mode, None)
        .expect("send bulk");
    let pos = raw.u64(r2m + ring::HEAD) as usize;
    let h = raw.read(r2m + ring::DATA + pos % config.r2m_capacity, 24);
    assert_eq!(
        (h[4], u32::from_le_bytes(h[0..4].try_into().unwrap())),
        (ring::BULK, 8),
        "bulk frame kind and payload length"
    );
    assert_eq!(u64::from_le_bytes(h[16..24].try_into().unwrap()), 5000);
    assert_eq!(
        pos + ring::frame_size(8),
        raw.u64(r2m + ring::TAIL) as usize,
        "one frame"
    );

    // While main holds that one (not yet received), the next goes in chunks. Catches: FIRST /
    // MIDDLE / LAST renumbered or the kit's frame walk (frame_size) not the producer's.
    rend.tx
        .send(kind::INVOKE, 0, &big, mode, None)
        .expect("send chunks");
    let mut pos = pos + ring::frame_size(8);
    let tail = raw.u64(r2m + ring::TAIL) as usize;
    let (mut kinds, mut total) = (Vec::new(), 0);
    while pos < tail {
        let h = raw.read(r2m + ring::DATA + pos % config.r2m_capacity, 16);
        let len = u32::from_le_bytes(h[0..4].try_into().unwrap()) as usize;
        assert_eq!(u16::from_le_bytes([h[6], h[7]]), kind::INVOKE, "chunk tag");
        kinds.push(h[4]);
        total += len;
        pos += ring::frame_size(len);
    }
    assert_eq!(pos, tail, "the kit's frame walk ends at TAIL");
    assert_eq!(total, big.len(), "chunk lengths add up to the message");
    assert_eq!(kinds.first(), Some(&ring::FIRST), "first chunk {kinds:?}");
    assert_eq!(kinds.last(), Some(&ring::LAST), "last chunk {kinds:?}");
    assert!(kinds.len() > 2, "middle chunks {kinds:?}");
    assert!(kinds[1..kinds.len() - 1].iter().all(|&k| k == ring::MIDDLE));
    let mut got = electrode_shm::AlignedBuf::new();
    let m = main.rx.recv(mode, deadline()).expect("main receives bulk");
    assert_eq!(m.meta(), 7, "the bulk message first");
    m.copy_into(&mut got);
    assert_eq!(got.as_slice(), &big[..]);
    main.rx
        .recv(mode, deadline())
        .expect("main receives chunks")
        .copy_into(&mut got);
    assert_eq!(got.as_slice(), &big[..]);

    // A frame that does not fit before the ring end. Catches: PAD renumbered, or padding that
    // the kit's frame_size would not skip exactly to the ring end.
    let pad_at = raw.u64(r2m + ring::TAIL) as usize % config.r2m_capacity;
    let contiguous = config.r2m_capacity - pad_at;
    let wrap = vec![3u8; contiguous];
    assert!(wrap.len() <= rend.tx.max_frame_payload(), "one frame");
    rend.tx
        .send(kind::SEND, 0, &wrap, mode, None)
        .expect("send a wrapping frame");
    let h = raw.read(r2m + ring::DATA + pad_at, 16);
    assert_eq!(h[4], ring::PAD, "padding frame kind");
    let pad_len = u32::from_le_bytes(h[0..4].try_into().unwrap()) as usize;
    assert_eq!(
        ring::frame_size(pad_len),
        contiguous,
        "padding fills to the end"
    );
    assert_eq!(
        raw.read(r2m + ring::DATA, 16),
        ring::frame_header(wrap.len() as u32, ring::WHOLE, kind::SEND, 0),
        "the frame after the padding starts the ring again"
    );
    main.rx.recv(mode, deadline()).expect("receive").release();

    // Main's ring. Catches: the kit's HEAD of main's ring (role m2r-head) elsewhere.
    main.tx
        .send(kind::MESSAGE, 0, &payload, mode, None)
        .expect("main sends");
    assert_eq!(
        raw.read(m2r + ring::DATA, 16),
        ring::frame_header(payload.len() as u32, ring::WHOLE, kind::MESSAGE, 0)
    );
    rend.rx.recv(mode, deadline()).expect("receive").release();
    assert_eq!(
        raw.u64(m2r + ring::HEAD),
        ring::frame_size(payload.len()) as u64,
        "the renderer's HEAD of main's ring"
    );

    // Event words. Catches: DATA_EVENT / SPACE_EVENT (and the sleeping word after each) not
    // where the rings' events live (seg-header and mutate would scribble elsewhere).
    let events = [
        ("r2m data", r2m + ring::DATA_EVENT, rend.tx.data_event()),
        ("r2m space", r2m + ring::SPACE_EVENT, rend.tx.space_event()),
        ("m2r data", m2r + ring::DATA_EVENT, main.tx.data_event()),
        ("m2r space", m2r + ring::SPACE_EVENT, main.tx.space_event()),
    ];
    for (i, (what, off, event)) in events.into_iter().enumerate() {
        let mark = 0x5eed_0000 + i as u32;
        raw.write_u32(off, mark);
        assert_eq!(
            event.word().load(std::sync::atomic::Ordering::SeqCst),
            mark,
            "{what} seq"
        );
        assert_eq!(raw.u32(off + 4), 0, "{what} not sleeping");
        event.prepare_sleep();
        assert_eq!(raw.u32(off + 4), 1, "{what} sleeping word");
        event.finish_sleep();
        assert_eq!(raw.u32(off + 4), 0, "{what} sleeping word cleared");
    }

    // Slot words and payloads. Catches: HEADER / CLAIM / READY not the slot table's (the
    // slots role would forge another word than main's compare-and-swap reads).
    let t = rend.slots.try_acquire().expect("a slot");
    let header = l.slot_headers + t.index as usize * slot::HEADER;
    let gen_of = |w: u32| w >> 8;
    assert_eq!(
        gen_of(raw.u32(header + slot::READY)),
        t.generation,
        "armed ready word"
    );
    let claim_before = raw.u32(header + slot::CLAIM);
    assert_ne!(
        gen_of(claim_before),
        t.generation,
        "claim word before the reply"
    );
    let reply = *b"reply!!!";
    let mut grant = main
        .slots
        .start_reply(t.index, t.generation, reply.len())
        .expect("the slot waits for this reply");
    grant.as_mut_slice().copy_from_slice(&reply);
    grant.publish(reply.len(), 0);
    assert_eq!(
        gen_of(raw.u32(header + slot::CLAIM)),
        t.generation,
        "claim word after the reply"
    );
    assert_eq!(
        raw.read(
            l.slot_payloads + t.index as usize * l.slot_stride,
            reply.len()
        ),
        reply,
        "the reply where the kit reads slot payloads"
    );
    let r = rend
        .slots
        .wait_reply(t, mode, deadline())
        .expect("the reply");
    let mut got = [0u8; 8];
    r.copy_to(&mut got);
    assert_eq!(got, reply);
}
