import Foundation
import LumenTensor

/// Bounds the compute: at most `concurrent` inferences run (each already uses
/// every compute thread), at most `waiting` more wait their turn, and the rest
/// are refused at once with 503 so a client can retry instead of hanging. A
/// waiter that has not got a slot within `maxWait` is refused the same way:
/// Slicer has no timeout of its own, so an unbounded wait would freeze it.
public actor InferenceQueue {
    public let concurrent: Int
    public let waiting: Int
    public let maxWait: Duration
    private var running = 0
    private var queue: [(id: UInt64, continuation: CheckedContinuation<Bool, Never>)] = []
    private var nextID: UInt64 = 0
    /// Set by `drain()` (SIGUSR1 before a Slurm job's time limit): new inferences get 503 with
    /// Retry-After; the running and queued ones finish.
    public private(set) var draining = false

    public init(concurrent: Int = 1, waiting: Int = 8, maxWait: Duration = .seconds(300)) {
        self.concurrent = max(1, concurrent)
        self.waiting = max(0, waiting)
        self.maxWait = maxWait
    }

    public var depth: Int { queue.count }
    public var active: Int { running }

    /// Stop taking new inferences; what runs or waits already is finished.
    public func drain() { draining = true }

    /// Returns once nothing runs or waits (poll: drain is rare and short-lived).
    public func waitUntilIdle() async {
        while running > 0 || !queue.isEmpty { try? await Task.sleep(for: .milliseconds(200)) }
    }

    /// Runs `work` on Lumen's compute threads (never on the cooperative pool);
    /// returns its value and the milliseconds spent waiting for a slot.
    public func run<T: Sendable>(stillWanted: @Sendable () -> Bool = { true },
                                 _ work: @escaping @Sendable () throws -> T) async throws -> (value: T, waitMs: Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        guard !draining else { throw ServerError.busy(retryAfter: 60) }
        if running >= concurrent {
            guard queue.count < waiting else { throw ServerError.busy(retryAfter: 5) }
            nextID += 1
            let id = nextID
            let timeout = Task { [maxWait] in
                try await Task.sleep(for: maxWait)
                self.expire(id)
            }
            let granted = await withCheckedContinuation { queue.append((id, $0)) }
            timeout.cancel()
            guard granted else { throw ServerError.busy(retryAfter: 10) }
        } else {
            running += 1
        }
        let waited = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        defer { release() }
        try Task.checkCancellation()
        guard stillWanted() else { throw ServerError.clientGone }
        return (try await ComputePool.shared.run(work), waited)
    }

    /// Hands the slot straight to the next waiter, so `running` never dips and lets a newcomer jump the queue.
    private func release() {
        if queue.isEmpty { running -= 1 } else { queue.removeFirst().continuation.resume(returning: true) }
    }

    private func expire(_ id: UInt64) {
        guard let index = queue.firstIndex(where: { $0.id == id }) else { return }
        queue.remove(at: index).continuation.resume(returning: false)
    }
}
