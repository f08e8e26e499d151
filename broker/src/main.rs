//! The broker binary. Filled by the broker issue.
fn main() {
    eprintln!("broker: not implemented yet");
    std::process::exit(1);
}
