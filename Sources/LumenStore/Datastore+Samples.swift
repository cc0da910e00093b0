import Foundation
import GRDB

/// MONAI Label's active learning: which image a doctor should label next.
/// Candidates are the live images without a `final` label. `first` and `last`
/// take the sorted ids; `random` draws with a weight that grows with the time
/// since this strategy last served the image, so two doctors asking at once
/// are unlikely to get the same one. Each answer is recorded in the image's
/// info as `strategy.<name> = {ts, client_id}`, as MONAI Label does.
extension Datastore {
    public enum SampleStrategy: String, Sendable, CaseIterable { case random, first, last }

    public struct Sample: Sendable, Equatable {
        public var image: StoredImage
        public var weight: Int
        public var ts: Int
    }

    public func nextSample(strategy: SampleStrategy, client: String, now: Date = Date(),
                           draw: (Int) -> Int = { Int.random(in: 0..<max($0, 1)) }) throws -> Sample? {
        try write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM image i WHERE i.deleted_at IS NULL AND NOT EXISTS (
                    SELECT 1 FROM label l WHERE l.image_pk = i.pk AND l.tag = 'final' AND l.deleted_at IS NULL)
                ORDER BY i.id
                """)
            let images = try rows.map(StoredImage.init(row:))
            guard !images.isEmpty else { return nil }
            let stamp = Int(now.timeIntervalSince1970)
            func lastServed(_ image: StoredImage) -> Int {
                let info = (try? JSONSerialization.jsonObject(with: Data(image.info.utf8))) as? [String: Any]
                let entry = (info?["strategy"] as? [String: Any])?[strategy.rawValue] as? [String: Any]
                return (entry?["ts"] as? NSNumber)?.intValue ?? 0
            }
            let chosen: StoredImage, weight: Int
            switch strategy {
            case .first: chosen = images[0]; weight = 1
            case .last: chosen = images[images.count - 1]; weight = 1
            case .random:
                let weights = images.map { max(stamp - lastServed($0), 1) }
                var pick = draw(weights.reduce(0, +))
                var index = 0
                while index < weights.count - 1 && pick >= weights[index] { pick -= weights[index]; index += 1 }
                chosen = images[index]; weight = weights[index]
            }
            var info = (try? JSONSerialization.jsonObject(with: Data(chosen.info.utf8))) as? [String: Any] ?? [:]
            var strategies = info["strategy"] as? [String: Any] ?? [:]
            strategies[strategy.rawValue] = ["ts": stamp, "client_id": client]
            info["strategy"] = strategies
            let text = String(decoding: try JSONSerialization.data(withJSONObject: info, options: [.sortedKeys]), as: UTF8.self)
            try db.execute(sql: "UPDATE image SET info = ? WHERE id = ? AND deleted_at IS NULL", arguments: [text, chosen.id])
            var updated = chosen
            updated.info = text
            return Sample(image: updated, weight: weight, ts: stamp)
        }
    }
}
