import Dispatch

/// Store calls read, hash and fsync files; running them on a Dispatch thread
/// keeps the event loops and Swift's cooperative pool free for other requests.
enum Blocking {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
