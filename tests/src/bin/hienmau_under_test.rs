fn main() -> std::process::ExitCode {
    hienmau_api::cli::main()
}
