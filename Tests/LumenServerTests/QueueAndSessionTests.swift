import Foundation
import LumenIO
import LumenServer
import LumenTensor
import Testing

final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now = Date(timeIntervalSince1970: 1_800_000_000)
    func read() -> Date { lock.lock(); defer { lock.unlock() }; return now }
    func advance(_ seconds: TimeInterval) { lock.lock(); now += seconds; lock.unlock() }
}

@Suite struct QueueAndSessionTests {
    @Test func fullQueueRefusesWith503AndRetryAfter() async throws {
        let queue = InferenceQueue(concurrent: 1, waiting: 1)
        let gate = DispatchSemaphore(value: 0)
        let first = Task { try await queue.run { gate.wait(); return 1 } }
        while await queue.active == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let second = Task { try await queue.run { 2 } }
        while await queue.depth == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: ServerError.busy(retryAfter: 5)) { _ = try await queue.run { 3 } }
        gate.signal()
        #expect(try await first.value.value == 1)
        let (value, waited) = try await second.value
        #expect(value == 2 && waited > 0)
        let (active, depth) = (await queue.active, await queue.depth)
        #expect(active == 0 && depth == 0)
    }

    @Test func aWaiterPastMaxWaitIsRefusedAndTheQueueRecovers() async throws {
        let queue = InferenceQueue(concurrent: 1, waiting: 4, maxWait: .milliseconds(100))
        let gate = DispatchSemaphore(value: 0)
        let first = Task { try await queue.run { gate.wait(); return 1 } }
        while await queue.active == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: ServerError.busy(retryAfter: 10)) { _ = try await queue.run { 2 } }
        #expect(await queue.depth == 0, "the expired waiter left the queue")
        gate.signal()
        #expect(try await first.value.value == 1)
        #expect(try await queue.run { 3 }.value == 3)
        #expect(await queue.active == 0)
    }

    @Test func aClientThatHungUpIsSkipped() async throws {
        let queue = InferenceQueue()
        await #expect(throws: ServerError.clientGone) { _ = try await queue.run(stillWanted: { false }) { 1 } }
        #expect(await queue.active == 0, "the slot is given back")
    }

    static func volume(_ n: Int) throws -> Volume {
        try Volume.make(tensor: Tensor(zeros: [1, n, n, n]), affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    }

    @Test("expiry: 0 means the default, larger requests are clamped", arguments: [(nil as Int?, 3600.0), (0, 3600), (60, 60), (999_999, 7200)])
    func expiryClamp(requested: Int?, expected: Double) async {
        let store = SessionStore(defaultExpiry: 3600, maxExpiry: 7200)
        #expect(await store.expiry(requested: requested) == expected)
    }

    @Test func expirySlidesWithUseAndSweepRemoves() async throws {
        let clock = ManualClock()
        let store = SessionStore(defaultExpiry: 100, maxExpiry: 100, clock: { clock.read() })
        let session = try await store.create(volume: try Self.volume(4), name: "a", expiry: nil)
        clock.advance(90)
        #expect(await store.get(session.id) != nil)
        clock.advance(90)
        #expect(await store.get(session.id) != nil, "the use at 90 s slid the expiry")
        clock.advance(101)
        #expect(await store.sweep() == 1)
        #expect(await store.get(session.id) == nil)
    }

    @Test func byteBudgetEvictsTheLeastRecentlyUsed() async throws {
        let clock = ManualClock()
        let one = 16 * 16 * 16 * 4
        let store = SessionStore(byteBudget: 2 * one, clock: { clock.read() })
        let a = try await store.create(volume: try Self.volume(16), name: "a", expiry: nil)
        clock.advance(1)
        let b = try await store.create(volume: try Self.volume(16), name: "b", expiry: nil)
        clock.advance(1)
        _ = await store.get(a.id)
        clock.advance(1)
        let c = try await store.create(volume: try Self.volume(16), name: "c", expiry: nil)
        #expect(await store.get(b.id) == nil, "b was used longest ago")
        let (keptA, keptC) = (await store.get(a.id), await store.get(c.id))
        #expect(keptA != nil && keptC != nil)
        #expect(await store.totalBytes <= 2 * one)
        await #expect(throws: ServerError.self) { _ = try await store.create(volume: try Self.volume(32), name: "big", expiry: nil) }
    }
}
