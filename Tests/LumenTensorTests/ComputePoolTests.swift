import Testing
import LumenTensor

@Suite("Compute pool")
struct ComputePoolTests {
    @Test("runs every item exactly once, also nested", arguments: [1, 2, 3])
    func exactlyOnce(threads: Int) {
        let pool = ComputePool(threads: threads)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 1000)
        counts.initialize(repeating: 0, count: 1000)
        defer { counts.deallocate() }
        pool.parallelFor(100) { i in
            pool.parallelFor(10) { j in counts[i * 10 + j] += 1 }
        }
        #expect((0..<1000).allSatisfy { counts[$0] == 1 })
    }

    @Test("ranges cover the count without overlap")
    func ranges() {
        let pool = ComputePool(threads: 2)
        for count in [0, 1, 7, 1000, 1023] {
            let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
            hits.initialize(repeating: 0, count: max(count, 1))
            pool.parallelRanges(count, minimum: 3) { r in for i in r { hits[i] += 1 } }
            #expect((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count)")
            hits.deallocate()
        }
    }
}
