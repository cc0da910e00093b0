import Crypto
import Foundation
import LumenInference
import LumenIO
import LumenStore

/// Scores a model on the datastore's `final` labels with the same task code
/// that serves requests. Label value k is the model's k-th label name, as
/// Lumen's `label_names` say. A case scores a label only where the label is in
/// the reference or the prediction: "nothing there, nothing predicted" earns
/// no free points.
public struct LabelEvaluation: Sendable, Equatable, Codable {
    public var cases: [String]
    /// Mean Dice per label name over the cases that score it.
    public var dice: [String: Double]
    public var mean: Double?

    /// The held-out images: every fifth by the SHA-256 of its id (at least one),
    /// a split that does not move when other images are added. Fine-tuning
    /// trains on the rest.
    public static func heldOut(_ ids: [String]) -> Set<String> {
        let ordered = ids.sorted { digest($0) < digest($1) }
        return Set(ordered.enumerated().filter { $0.offset % 5 == 0 }.map(\.element))
    }

    static func digest(_ id: String) -> String { SHA256.hash(data: Data(id.utf8)).map { String(format: "%02x", $0) }.joined() }

    /// nil when the store has no `final` label for this model's labels (nothing to compare on).
    static func evaluate(_ bundle: ModelBundle, store: Datastore, maxVoxels: Int) throws -> LabelEvaluation? {
        guard bundle.kind == .segmentation, !bundle.labels.isEmpty else { return nil }
        let pairs = try store.newestLabels(tag: "final")
        let held = heldOut(pairs.map(\.image.id))
        var sums = [Double](repeating: 0, count: bundle.labels.count), counts = [Int](repeating: 0, count: bundle.labels.count)
        var cases: [String] = []
        for (image, label) in pairs where held.contains(image.id) {
            let volume = try Volume.read(store.fileURL(of: image), maxVoxels: maxVoxels)
            let truth = try Volume.read(store.fileURL(of: label), maxVoxels: maxVoxels)
            let result = try TaskRunner.run(bundle, image: volume, maxVoxels: maxVoxels)
            guard truth.spatialShape == result.labels.spatialShape else { continue }
            cases.append(image.id)
            for k in 1...bundle.labels.count {
                let v = Float(k)
                var both = 0, a = 0, b = 0
                for (p, t) in zip(result.labels.tensor.data, truth.tensor.data) {
                    let inP = p == v, inT = t == v
                    if inP { a += 1 }
                    if inT { b += 1 }
                    if inP && inT { both += 1 }
                }
                guard a + b > 0 else { continue }
                sums[k - 1] += 2 * Double(both) / Double(a + b)
                counts[k - 1] += 1
            }
        }
        guard !cases.isEmpty else { return nil }
        var dice: [String: Double] = [:]
        for (k, name) in bundle.labels.enumerated() where counts[k] > 0 { dice[name] = sums[k] / Double(counts[k]) }
        let mean = dice.isEmpty ? nil : dice.values.reduce(0, +) / Double(dice.count)
        return LabelEvaluation(cases: cases.sorted(), dice: dice, mean: mean)
    }
}
