fn main() -> std::process::ExitCode {
    fk::cli::main()
}
