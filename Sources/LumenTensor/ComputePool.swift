import CBLAS
import Foundation

/// The threads Lumen computes on. Convolutions and resampling run here, never
/// on Swift concurrency's cooperative pool (a long convolution there would
/// stall every request handler) and never on OpenBLAS's own threads: OpenBLAS
/// is pinned to one thread and Lumen splits the work itself, so the two never
/// oversubscribe the node's cores.
public final class ComputePool: @unchecked Sendable {
    public static let shared = ComputePool(threads: ComputePool.defaultThreads)

    public static var defaultThreads: Int { EngineOptions.current.threads }

    public let threads: Int
    private let condition = NSCondition()
    private let serial = NSLock()
    private var job: ((Int) -> Void)?
    private var jobCount = 0
    private var nextItem = 0
    private var finished = 0
    /// Workers inside `runItems`; the caller waits for zero so no worker still
    /// holds the non-escaping body when `parallelFor` returns.
    private var active = 0

    public init(threads: Int) {
        self.threads = max(1, threads)
        openblas_set_num_threads(1)
        MemoryPolicy.retainFreedMemory()
        for n in 1..<self.threads {
            // Workers keep the pool alive: pools live as long as the process.
            let worker = Thread { ComputePool.yieldToRequests(); self.workerLoop() }
            worker.name = "lumen-compute-\(n)"
            worker.stackSize = 8 << 20
            worker.start()
        }
    }

    /// Runs `body(i)` for i in 0..<n across the pool; the caller's thread helps.
    /// A nested call (from inside a body) runs serially instead of deadlocking.
    public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        if n <= 0 { return }
        if n == 1 || threads == 1 || Thread.current.threadDictionary["lumen.compute"] != nil {
            for i in 0..<n { body(i) }
            return
        }
        serial.lock()
        defer { serial.unlock() }
        withoutActuallyEscaping(body) { escaping in
            condition.lock()
            job = escaping
            jobCount = n
            nextItem = 0
            finished = 0
            condition.broadcast()
            condition.unlock()
            Thread.current.threadDictionary["lumen.compute"] = true
            runItems()
            Thread.current.threadDictionary["lumen.compute"] = nil
            condition.lock()
            while finished < jobCount || active > 0 { condition.wait() }
            job = nil
            condition.unlock()
        }
    }

    /// Splits 0..<count into about `threads × 4` contiguous ranges.
    public func parallelRanges(_ count: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
        let pieces = max(1, min(threads * 4, count / max(minimum, 1)))
        let size = (count + pieces - 1) / pieces
        parallelFor(pieces) { p in
            let lo = p * size, hi = min(count, lo + size)
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Async callers (request handlers) hop onto the pool and back.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                ComputePool.yieldToRequests()
                continuation.resume(with: Result { try work() })
            }
            thread.name = "lumen-task"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    /// Compute threads run at a lower priority (nice +5, `LUMEN_COMPUTE_NICE`)
    /// than the event loops, so on a node whose cores are all busy convolving, a
    /// model listing or a session check still answers at once. It costs compute
    /// nothing when the event loops are idle.
    static func yieldToRequests() {
        #if os(Linux)
        let nice = EngineOptions.current.computeNice
        guard nice > 0 else { return }
        // On Linux a nice value belongs to the thread, and `who` 0 is the calling thread.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(nice, 19))
        #endif
    }

    private func runItems() {
        while true {
            condition.lock()
            guard let work = job, nextItem < jobCount else { condition.unlock(); return }
            let i = nextItem
            nextItem += 1
            condition.unlock()
            work(i)
            condition.lock()
            finished += 1
            if finished == jobCount { condition.broadcast() }
            condition.unlock()
        }
    }

    private func workerLoop() {
        Thread.current.threadDictionary["lumen.compute"] = true
        while true {
            condition.lock()
            while job == nil || nextItem >= jobCount { condition.wait() }
            active += 1
            condition.unlock()
            runItems()
            condition.lock()
            active -= 1
            if active == 0 { condition.broadcast() }
            condition.unlock()
        }
    }
}
