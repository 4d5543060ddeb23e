//! The helper process of the transport round-trip benchmarks (see `electrode_bench::pingpong`)
//! and of any other `electrode_bench::role`: it only plays the role in its orders.

fn main() {
    std::process::exit(electrode_bench::role::helper_main());
}
