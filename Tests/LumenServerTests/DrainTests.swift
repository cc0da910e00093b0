import XCTest
@testable import LumenServer

/// `lumen serve`'s drain (SIGUSR1 from slurm/serve.sbatch): new inferences refused with 503 +
/// Retry-After, the running one finishes.
final class DrainTests: XCTestCase {
    func testDrainRefusesNewWorkAndFinishesRunningWork() async throws {
        let queue = InferenceQueue(concurrent: 1, waiting: 4)
        let running = Task { try await queue.run { Thread.sleep(forTimeInterval: 0.3); return 42 } }
        try await Task.sleep(for: .milliseconds(50))
        await queue.drain()
        do {
            _ = try await queue.run { 1 }
            XCTFail("a new inference was accepted while draining")
        } catch ServerError.busy(let retryAfter) {
            XCTAssertGreaterThan(retryAfter, 0)
        }
        let value = try await running.value.value
        XCTAssertEqual(value, 42)
        await queue.waitUntilIdle()
        let active = await queue.active
        XCTAssertEqual(active, 0)
    }
}
