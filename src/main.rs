// SQL parsing allocates many small nodes on every core; mimalloc's per-thread
// heaps make `check --all` markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(migguard::main());
}
