import Foundation
import LumenInference

/// Clicks as every client generation sends them: point lists as JSON arrays or
/// as JSON strings holding arrays (older AIAA clients), `current_point` as
/// `[x,y,z]` or `[[x,y,z]]`, and MONAI Label's extra keys ignored.
enum ClickParams {
    /// The `params` part: a JSON object, a JSON string holding one, or absent.
    static func object(_ text: String?) throws -> [String: Any] {
        guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return [:] }
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) } catch {
            throw ServerError.badRequest("params is not valid JSON: \(text.prefix(80))")
        }
        if let object = value as? [String: Any] { return object }
        if let inner = value as? String { return try object(inner) }
        throw ServerError.badRequest("params must be a JSON object, got: \(text.prefix(80))")
    }

    static func clicks(_ params: [String: Any]) throws -> Clicks {
        var current = try points(params["current_point"], key: "current_point")
        if current.isEmpty, let flat = try? point(params["current_point"], key: "current_point") { current = [flat] }
        return Clicks(foreground: try points(params["foreground"], key: "foreground"),
                      background: try points(params["background"], key: "background"),
                      currentPoint: current.last,
                      points: try points(params["points"] ?? params["extreme_points"], key: "points"))
    }

    /// A list of `[i, j, k]`; accepts a JSON string of one too.
    static func points(_ value: Any?, key: String) throws -> [[Int]] {
        guard let value, !(value is NSNull) else { return [] }
        if let text = value as? String {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return [] }
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) else {
                throw ServerError.badRequest("\(key) is not a list of [i, j, k] points: \(text.prefix(80))")
            }
            return try points(parsed, key: key)
        }
        guard let list = value as? [Any] else { throw ServerError.badRequest("\(key) must be a list of [i, j, k] points") }
        if list.first is NSNumber { return [try point(list, key: key)] }
        return try list.map { try point($0, key: key) }
    }

    static func point(_ value: Any?, key: String) throws -> [Int] {
        guard let list = value as? [Any], list.count == 3,
              case let numbers = list.compactMap({ ($0 as? NSNumber)?.doubleValue }), numbers.count == 3,
              numbers.allSatisfy({ $0.isFinite && abs($0) < 1e9 }) else {
            throw ServerError.badRequest("\(key): each point must be three voxel indices [i, j, k], got \(String(describing: value ?? "nothing"))")
        }
        return numbers.map { Int($0.rounded()) }
    }
}
