// SQL parsing allocates many small nodes on every core; mimalloc's per-thread
// heaps make `check --all` markedly faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, `mi_option_e`).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // Memory is never handed back to the system while migguard runs: a
    // run lasts a fraction of a second (or a trace a few seconds), and the
    // purge at exit was dozens of madvise calls after the report was out.
    // SAFETY: sets a plain integer option; no allocation depends on it yet.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    std::process::exit(migguard::main());
}
