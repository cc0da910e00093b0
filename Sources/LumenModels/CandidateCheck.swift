import Foundation
import LumenInference
import LumenIO
import LumenPhantom

/// What every new version must pass before it may be compared, let alone
/// serve: it loads (so its network binds every key), and a smoke inference on
/// a small phantom returns only label values it declares. A model whose
/// output channels outnumber its labels, or whose pipeline fails on a plain
/// CT, is caught here rather than by the first radiologist.
enum CandidateCheck {
    /// A small unseen phantom (2 mm, 160 × 160 × 96), made once per process.
    static let phantom: Phantom? = try? Phantom.generate(seed: 90_210, index: 0, size: .small)

    static func load(_ directory: URL, name: String) throws -> ModelBundle {
        do {
            var bundle = try ModelBundle.load(directory)
            bundle.name = name
            return bundle
        } catch {
            throw ModelError.invalid("model \(name) does not load: \(error)")
        }
    }

    /// Runs the bundle once; returns milliseconds taken.
    static func smoke(_ bundle: ModelBundle, maxVoxels: Int) throws -> Double {
        guard let phantom else { throw ModelError.invalid("the smoke-test phantom could not be made") }
        let clicks = clicks(for: bundle, label: phantom.label)
        let started = Date()
        let result: TaskResult
        do { result = try TaskRunner.run(bundle, image: phantom.image, clicks: clicks, maxVoxels: maxVoxels) } catch {
            throw ModelError.invalid("model \(bundle.name) failed its smoke inference on a phantom CT: \(error)")
        }
        let allowed = bundle.kind == .segmentation ? Set((0...bundle.labels.count).map(Float.init)) : [0, 1]
        let found = Set(result.labels.tensor.data)
        let extra = found.subtracting(allowed).sorted()
        guard extra.isEmpty else {
            throw ModelError.invalid("model \(bundle.name) answered with label values \(extra.prefix(8).map { Int($0) }) that it does not declare (labels: \(bundle.labels)); its network's output channels and its labels disagree")
        }
        return Date().timeIntervalSince(started) * 1000
    }

    /// Deepgrow gets a click at the liver's centre voxel, DExtr3D the liver's six extreme points.
    static func clicks(for bundle: ModelBundle, label: Volume) -> Clicks {
        guard bundle.kind != .segmentation else { return Clicks() }
        let s = label.spatialShape
        var voxels: [[Int]] = []
        for i in 0..<s[0] { for j in 0..<s[1] { for k in 0..<s[2] where label.tensor.data[(i * s[1] + j) * s[2] + k] == 1 {
            voxels.append([i, j, k])
        } } }
        guard !voxels.isEmpty else { return Clicks(foreground: [[s[0] / 2, s[1] / 2, s[2] / 2]]) }
        let centre = (0..<3).map { a in voxels.map { $0[a] }.sorted()[voxels.count / 2] }
        let nearest = voxels.min { zip($0, centre).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) < zip($1, centre).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }!
        if bundle.kind == .deepgrow { return Clicks(foreground: [nearest], currentPoint: nearest) }
        let extremes = (0..<3).flatMap { a in [voxels.min { $0[a] < $1[a] }!, voxels.max { $0[a] < $1[a] }!] }
        return Clicks(points: extremes)
    }
}
