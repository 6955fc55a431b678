fn main() {
    std::process::exit(migguard::cli::main());
}
