//! Placeholder for the benchmark report binary.

fn main() {
    eprintln!(
        "electrode-bench: no report yet.\n\
         transport round trips: cargo run --release -p electrode-bench --bin transport_table -- --help\n\
         criterion benches:     cargo bench -p electrode-bench --bench transport"
    );
}
