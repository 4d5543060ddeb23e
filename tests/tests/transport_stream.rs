//! Streams between two real processes over a 1 MiB ring: every frame arrives exactly once, in
//! order, intact. Frame `seq` carries `seq` in its meta word and contents that are a function of
//! `seq` (see `electrode_tests::pattern`): sizes from 1 B to 4 KiB, and every 10,000th frame
//! 1.5 ring capacities (sent in chunks and reassembled).

use electrode_shm::{AlignedBuf, RecvError, SegmentConfig, WaitMode};
use electrode_tests::pattern::{self, LARGE_EVERY};
use electrode_tests::protocol::{TAG_DATA, TAG_DONE};
use electrode_tests::{spawn_renderer, watchdog};
use std::path::Path;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The two streams run one after the other: each keeps both cores busy on its own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const PEER: &str = env!("CARGO_BIN_EXE_shm_peer");
const RING: usize = 1 << 20;

fn config() -> SegmentConfig {
    SegmentConfig {
        r2m_capacity: RING,
        m2r_capacity: RING,
        ..SegmentConfig::default()
    }
}

fn report(what: &str, frames: u64, elapsed: Duration) {
    let bytes: u64 = (0..frames)
        .map(|s| pattern::frame_len(s, RING) as u64)
        .sum();
    let secs = elapsed.as_secs_f64();
    println!(
        "{what}: {frames} frames ({} chunked), {:.2} GB in {secs:.2} s: {:.2} M frames/s, {:.2} GB/s",
        frames / LARGE_EVERY,
        bytes as f64 / 1e9,
        frames as f64 / secs / 1e6,
        bytes as f64 / secs / 1e9,
    );
}

#[test]
fn renderer_to_main_ten_million_frames_none_lost_duplicated_reordered_or_corrupt() {
    const FRAMES: u64 = 10_000_000;
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = watchdog(
        Duration::from_secs(600),
        "renderer_to_main_ten_million_frames",
    );
    let mut r = spawn_renderer(
        Path::new(PEER),
        "stream-send",
        &[FRAMES.to_string()],
        config(),
        Stdio::inherit(),
    )
    .expect("spawn the renderer");
    let mut buf = AlignedBuf::new();
    let start = Instant::now();
    for seq in 0..FRAMES {
        let msg = r
            .end
            .rx
            .recv(WaitMode::default(), None)
            .unwrap_or_else(|e| panic!("receiving frame {seq}: {e}"));
        let (tag, meta) = (msg.tag(), msg.meta());
        msg.copy_into(&mut buf);
        assert_eq!(
            (tag, meta),
            (TAG_DATA, seq),
            "expected data frame {seq}: a frame was lost, duplicated or reordered"
        );
        if let Err(e) = pattern::check(seq, RING, buf.as_slice()) {
            panic!("{e}");
        }
    }
    let elapsed = start.elapsed();
    r.end
        .tx
        .send(TAG_DONE, FRAMES, &[], WaitMode::default(), None)
        .expect("send DONE");
    // The renderer exits after DONE: nothing may follow the last frame.
    match r.end.rx.recv(WaitMode::default(), None) {
        Err(RecvError::PeerGone) => {}
        Err(e) => panic!("after the last frame: {e}"),
        Ok(m) => panic!(
            "a frame after the last one: tag {} meta {}",
            m.tag(),
            m.meta()
        ),
    }
    let status = r.child.wait().expect("wait for the renderer");
    assert!(status.success(), "renderer failed: {status}");
    report("renderer -> main", FRAMES, elapsed);
}

#[test]
fn main_to_renderer_one_million_frames_checked_by_the_child() {
    const FRAMES: u64 = 1_000_000;
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _dog = watchdog(
        Duration::from_secs(300),
        "main_to_renderer_one_million_frames",
    );
    let mut r = spawn_renderer(
        Path::new(PEER),
        "stream-recv",
        &[FRAMES.to_string()],
        config(),
        Stdio::inherit(),
    )
    .expect("spawn the renderer");
    let mut buf = vec![0u8; 2 * RING + 4096];
    let start = Instant::now();
    for seq in 0..FRAMES {
        let payload = &mut buf[..pattern::frame_len(seq, RING)];
        pattern::fill(seq, payload);
        if let Err(e) = r
            .end
            .tx
            .send(TAG_DATA, seq, payload, WaitMode::default(), None)
        {
            let status = r.child.wait();
            panic!("sending frame {seq}: {e}; renderer exit: {status:?} (see its stderr)");
        }
    }
    if let Err(e) = r
        .end
        .tx
        .send(TAG_DONE, FRAMES, &[], WaitMode::default(), None)
    {
        let status = r.child.wait();
        panic!("sending DONE: {e}; renderer exit: {status:?} (see its stderr)");
    }
    // The child checks every frame and exits 0 only if all matched (details on its stderr).
    let status = r.child.wait().expect("wait for the renderer");
    let elapsed = start.elapsed();
    assert!(
        status.success(),
        "renderer found a lost, duplicated, reordered or corrupt frame: {status}"
    );
    report("main -> renderer", FRAMES, elapsed);
}
