/// SplitMix64: a small, fast, portable generator, so a seed gives the same
/// phantom (or benchmark weights) on every machine and every Swift version.
public struct PhantomRandom: Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// A whole number in 0..<n (n ≥ 1), and one element of a non-empty list: what the seeded fuzz tests draw.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    public mutating func pick<T>(_ list: [T]) -> T { list[below(list.count)] }
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }
    public mutating func normal() -> Double {
        let u1 = max(uniform(), 1e-12), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    /// An independent stream for case `index` of a run seeded with `seed`.
    public static func forCase(seed: UInt64, index: Int) -> PhantomRandom {
        var mixer = PhantomRandom(seed: seed ^ 0x5EED_0000_0000_0000)
        for _ in 0...index { _ = mixer.next() }
        return PhantomRandom(seed: mixer.next() ^ UInt64(index))
    }
}

#if canImport(Glibc)
import Glibc
#endif
