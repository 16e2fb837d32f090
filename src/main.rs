//! The `seance` binary: parse the command line and hand over to the library.

fn main() {
    std::process::exit(seance::run::main());
}
