import Synchronization

/// Multiply-adds done by the convolution kernels, so benchmarks can report
/// GFLOP/s from what actually ran rather than from a hand count.
public enum FlopCounter {
    static let counter = Atomic<Int>(0)

    public static var multiplyAdds: Int { counter.load(ordering: .relaxed) }
    public static func reset() { counter.store(0, ordering: .relaxed) }
    static func add(_ n: Int) { counter.add(n, ordering: .relaxed) }
}
