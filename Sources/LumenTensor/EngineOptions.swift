import Foundation

/// The engine's tuning switches, read once from `LUMEN_*` environment variables: one place that
/// lists them, with their defaults and the ranges they are held to. They exist for benchmarks and
/// for bisecting a numerical difference (docs/performance.md); a server never needs them. A value
/// that is not a number, or is out of range, falls back to the default and is named in `problems`
/// (`lumen info` prints them) rather than reaching a division or an allocation.
public struct EngineOptions: Sendable, Equatable {
    /// LUMEN_THREADS: compute threads (default: the CPUs this process may use).
    public var threads: Int
    /// LUMEN_COMPUTE_NICE: how much lower than the event loops compute threads run (0 to 19, default 5).
    public var computeNice: Int32
    /// LUMEN_CHUNK_FLOATS: output floats per im2col column chunk (default 2^18).
    public var chunkFloats: Int
    /// LUMEN_DIRECT=0 turns the direct 3×3×3 kernel off (im2col + GEMM instead).
    public var direct: Bool
    /// LUMEN_WINOGRAD=0 turns Winograd F(2,3) off; LUMEN_WINOGRAD_MIN: fewest channels for it (16);
    /// LUMEN_WINOGRAD_CHUNK: floats per transform chunk (2^20).
    public var winograd: Bool
    public var winogradMinChannels: Int
    public var winogradChunkFloats: Int
    /// LUMEN_WINOGRAD43=0 turns Winograd F(4,3) off; LUMEN_WINOGRAD43_MAX: most channels for it (16);
    /// LUMEN_WINOGRAD43_CHUNK: floats per transform chunk (2^19).
    public var winograd43: Bool
    public var winograd43MaxChannels: Int
    public var winograd43ChunkFloats: Int
    /// Variables that were set but not honoured, and why.
    public var problems: [String] = []

    public static let current = EngineOptions(environment: ProcessInfo.processInfo.environment)

    public init(environment: [String: String]) {
        var problems: [String] = []
        func int(_ name: String, _ range: ClosedRange<Int>, default value: Int) -> Int {
            guard let text = environment[name] else { return value }
            guard let n = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(n) else {
                problems.append("\(name)=\(text) ignored: wants a whole number from \(range.lowerBound) to \(range.upperBound); using \(value)")
                return value
            }
            return n
        }
        func flag(_ name: String) -> Bool {
            guard let text = environment[name] else { return true }
            guard text == "0" || text == "1" else {
                problems.append("\(name)=\(text) ignored: wants 0 (off) or 1 (on); leaving it on")
                return true
            }
            return text == "1"
        }
        threads = int("LUMEN_THREADS", 1...4096, default: max(1, ProcessInfo.processInfo.activeProcessorCount))
        computeNice = Int32(int("LUMEN_COMPUTE_NICE", 0...19, default: 5))
        chunkFloats = int("LUMEN_CHUNK_FLOATS", 1024...(1 << 30), default: 1 << 18)
        direct = flag("LUMEN_DIRECT")
        winograd = flag("LUMEN_WINOGRAD")
        winogradMinChannels = int("LUMEN_WINOGRAD_MIN", 1...1 << 20, default: 16)
        winogradChunkFloats = int("LUMEN_WINOGRAD_CHUNK", 1024...(1 << 30), default: 1 << 20)
        winograd43 = flag("LUMEN_WINOGRAD43")
        winograd43MaxChannels = int("LUMEN_WINOGRAD43_MAX", 1...1 << 20, default: 16)
        winograd43ChunkFloats = int("LUMEN_WINOGRAD43_CHUNK", 1024...(1 << 30), default: 1 << 19)
        self.problems = problems
    }

    /// One line for logs and `lumen info`.
    public var summary: String {
        "threads \(threads), nice \(computeNice), direct \(direct ? "on" : "off"), winograd F(2,3) \(winograd ? "on from \(winogradMinChannels) channels" : "off"), "
            + "F(4,3) \(winograd43 ? "on up to \(winograd43MaxChannels) channels" : "off")"
    }
}
