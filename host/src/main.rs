//! The `terrarium` binary: parses arguments, hands over to [`terrarium::cli`].

fn main() -> std::process::ExitCode {
    terrarium::cli::main()
}
