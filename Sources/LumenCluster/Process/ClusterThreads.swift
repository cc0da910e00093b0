import Dispatch

/// Blocking work of the cluster module (datastore writes, file reads in the run directory) runs
/// on these threads, never on Swift's cooperative pool.
enum ClusterThreads {
    static let queue = DispatchQueue(label: "lumen.cluster.blocking", qos: .utility, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
