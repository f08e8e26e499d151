//! The NameServer binary. Filled by the namesrv issue.
fn main() {
    eprintln!("namesrv: not implemented yet");
    std::process::exit(1);
}
