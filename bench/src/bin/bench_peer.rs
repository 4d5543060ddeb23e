//! The peer process of the transport round-trip benchmarks (see `electrode_bench::pingpong`).

fn main() {
    std::process::exit(electrode_bench::pingpong::peer_main());
}
