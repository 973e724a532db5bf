//! The machine's memory, and giving freed heap back to the operating
//! system after a build or once instances have gone.
//!
//! Building an app (CPython pre-initialized in a wasm interpreter, then
//! compiled to native code) allocates a few hundred MiB that is all freed when
//! the build ends. glibc keeps freed memory in its arenas, so without a trim a
//! server started on an empty cache would carry that memory as RSS for its
//! whole life.

/// Returns the heap's free pages to the OS (glibc's `malloc_trim`); a no-op
/// where the allocator is not glibc's.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[allow(unsafe_code)]
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only returns free pages of the allocator's own
        // arenas to the kernel; it takes the arenas' locks and touches no
        // memory the program owns.
        #[allow(unsafe_code)]
        unsafe {
            malloc_trim(0);
        }
    }
}

/// This machine's memory in bytes (`MemTotal`), when it can be read.
pub fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
