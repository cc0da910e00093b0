#if canImport(Glibc)
import Glibc
#endif

/// Keeps freed activation buffers inside the process for the next layer or request.
///
/// glibc serves every allocation above 32 MiB with a fresh `mmap` and returns it
/// on free, so each full-resolution activation (75 MB for 32 channels at
/// 64×96×96) was paid for again in page faults: a third of BasicUNet's time went
/// to the kernel zeroing pages. Serving large blocks from the heap and never
/// trimming it lets malloc's free lists act as the buffer pool; the process then
/// holds its high-water mark, which is what a server that runs the same
/// networks again wants.
#if canImport(Glibc)
/// `mallopt` lives in <malloc.h>, which the Glibc module does not export.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

public enum MemoryPolicy {
    nonisolated(unsafe) private static var applied = false

    public static func retainFreedMemory() {
        #if canImport(Glibc)
        guard !applied else { return }
        applied = true
        _ = glibcMallopt(-4, 0)            // M_MMAP_MAX: never mmap
        _ = glibcMallopt(-1, Int32.max)    // M_TRIM_THRESHOLD: never give the heap back
        #endif
    }
}
