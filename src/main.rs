//! The `sportello` binary: everything lives in the library; see `cli`.

fn main() -> std::process::ExitCode {
    sportello::cli::main()
}
