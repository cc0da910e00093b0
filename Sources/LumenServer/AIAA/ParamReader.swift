import Foundation

/// Numbers from a request's `params` JSON, turned into typed, range-checked
/// values where they enter. `NSNumber.intValue` of 1e300 is undefined and a
/// trapping `Int(...)` of it kills the server, so every number goes through
/// here, and a refusal names the key and the range a client must send.
struct ParamReader {
    let params: [String: Any]

    init(_ params: [String: Any]) { self.params = params }

    /// The first of `keys` present, as a whole number in `range`.
    func int(_ keys: String..., in range: ClosedRange<Int>) throws -> Int? {
        guard let (key, value) = first(keys) else { return nil }
        return try Self.int(value, key: key, in: range)
    }

    /// The first of `keys` present, as a finite number in `range`.
    func double(_ keys: String..., in range: ClosedRange<Double>) throws -> Double? {
        guard let (key, value) = first(keys) else { return nil }
        return try Self.double(value, key: key, in: range)
    }

    private func first(_ keys: [String]) -> (String, Any)? {
        for key in keys { if let v = params[key], !(v is NSNull) { return (key, v) } }
        return nil
    }

    static func double(_ value: Any, key: String, in range: ClosedRange<Double>) throws -> Double {
        guard let number = value as? NSNumber else {
            throw ServerError.badRequest("params.\(key) must be a number between \(range.lowerBound) and \(range.upperBound), got \(shown(value))")
        }
        let d = number.doubleValue
        guard d.isFinite, range.contains(d) else {
            throw ServerError.badRequest("params.\(key) must be a number between \(range.lowerBound) and \(range.upperBound), got \(d)")
        }
        return d
    }

    static func int(_ value: Any, key: String, in range: ClosedRange<Int>) throws -> Int {
        let problem = ServerError.badRequest("params.\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(shown(value))")
        guard let number = value as? NSNumber else { throw problem }
        let d = number.doubleValue
        guard d.isFinite, d == d.rounded(), d >= Double(range.lowerBound), d <= Double(range.upperBound),
              let whole = Int(exactly: d) else { throw problem }
        return whole
    }

    static func shown(_ value: Any) -> String { String(String(describing: value).prefix(60)) }
}
