import Foundation
import Synchronization

/// Per-kernel wall time, collected only when `lumen bench --profile` asks for it,
/// so finding the slow layer of a network needs no external profiler.
public enum Profiler {
    static let enabled = Atomic<Bool>(false)
    static let records = Mutex<[String: (count: Int, seconds: Double)]>([:])

    public static var isEnabled: Bool {
        get { enabled.load(ordering: .relaxed) }
        set { enabled.store(newValue, ordering: .relaxed) }
    }

    @inline(__always)
    public static func measure<T>(_ label: @autoclosure () -> String, _ body: () -> T) -> T {
        guard isEnabled else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let key = label()
        records.withLock { r in
            let old = r[key] ?? (0, 0)
            r[key] = (old.count + 1, old.seconds + seconds)
        }
        return result
    }

    public static func reset() { records.withLock { $0 = [:] } }

    /// Labels by total time, slowest first.
    public static var report: [(label: String, count: Int, seconds: Double)] {
        records.withLock { r in r.map { ($0.key, $0.value.count, $0.value.seconds) }.sorted { $0.seconds > $1.seconds } }
    }
}
