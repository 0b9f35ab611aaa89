fn main() -> std::process::ExitCode {
    dbfleet::cli::main()
}
