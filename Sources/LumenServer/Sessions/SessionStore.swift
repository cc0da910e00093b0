import Foundation
import LumenIO

/// Uploaded volumes kept for repeated clicks (upload once, click many times).
/// Slicer never closes a session and only warns on 440, so expiry slides with
/// every use, and memory is bounded by a byte budget that evicts the session
/// used longest ago rather than refusing new uploads.
public actor SessionStore {
    public struct Session: Sendable {
        public let id: String
        public let name: String
        public let volume: Volume
        public let created: Date
        public var lastAccess: Date
        public var expiry: TimeInterval
        public var bytes: Int { volume.tensor.count * MemoryLayout<Float>.size }

        public func info() -> [String: Any] {
            ["name": name, "create_ts": Int(created.timeIntervalSince1970), "last_access_ts": Int(lastAccess.timeIntervalSince1970),
             "expiry": Int(expiry),
             "meta": ["dims": volume.spatialShape, "spacing": volume.geometry.spacing]]
        }
    }

    public let defaultExpiry: TimeInterval
    public let maxExpiry: TimeInterval
    public let byteBudget: Int
    private var sessions: [String: Session] = [:]
    private let clock: @Sendable () -> Date

    public init(defaultExpiry: TimeInterval = 3600, maxExpiry: TimeInterval = 86_400, byteBudget: Int = 4 << 30,
                clock: @escaping @Sendable () -> Date = Date.init) {
        self.defaultExpiry = defaultExpiry
        self.maxExpiry = max(maxExpiry, defaultExpiry)
        self.byteBudget = byteBudget
        self.clock = clock
    }

    /// `expiry` 0 or absent means the default; anything else is clamped to the maximum.
    public func expiry(requested: Int?) -> TimeInterval {
        guard let requested, requested > 0 else { return defaultExpiry }
        return min(TimeInterval(requested), maxExpiry)
    }

    public func create(volume: Volume, name: String, expiry requested: Int?) throws -> Session {
        let now = clock()
        let session = Session(id: UUID().uuidString.lowercased(), name: name, volume: volume, created: now, lastAccess: now,
                              expiry: expiry(requested: requested))
        guard session.bytes <= byteBudget else {
            throw ServerError.tooLarge("this volume needs \(session.bytes >> 20) MiB but sessions may hold \(byteBudget >> 20) MiB in all; send it without a session")
        }
        sweep()
        while totalBytes + session.bytes > byteBudget, let oldest = sessions.values.min(by: { $0.lastAccess < $1.lastAccess }) {
            sessions[oldest.id] = nil
        }
        sessions[session.id] = session
        return session
    }

    /// The live session, its expiry slid forward when `touch` is set; nil when unknown or expired.
    public func get(_ id: String, touch: Bool = true) -> Session? {
        guard var session = sessions[id] else { return nil }
        let now = clock()
        guard now.timeIntervalSince(session.lastAccess) <= session.expiry else {
            sessions[id] = nil
            return nil
        }
        if touch {
            session.lastAccess = now
            sessions[id] = session
        }
        return session
    }

    @discardableResult
    public func delete(_ id: String) -> Session? {
        defer { sessions[id] = nil }
        return get(id, touch: false)
    }

    /// Drops every expired session; returns how many went.
    @discardableResult
    public func sweep() -> Int {
        let now = clock()
        let expired = sessions.values.filter { now.timeIntervalSince($0.lastAccess) > $0.expiry }.map(\.id)
        for id in expired { sessions[id] = nil }
        return expired.count
    }

    public var totalBytes: Int { sessions.values.reduce(0) { $0 + $1.bytes } }
    public var count: Int { sessions.count }
}
