import LumenIO
import LumenTensor

/// What a doctor's clicks say, already parsed: voxel indices `[i, j, k]` of the
/// uploaded image (NIfTI order, i fastest on disk), as Slicer and the AIAA and
/// MONAI Label clients send them.
public struct Clicks: Sendable, Equatable {
    public var foreground: [[Int]]
    public var background: [[Int]]
    /// The click that triggered this call; deepgrow 2-D infers only on its slice.
    public var currentPoint: [Int]?
    /// Extreme points for DExtr3D.
    public var points: [[Int]]

    public init(foreground: [[Int]] = [], background: [[Int]] = [], currentPoint: [Int]? = nil, points: [[Int]] = []) {
        self.foreground = foreground
        self.background = background
        self.currentPoint = currentPoint
        self.points = points
    }
}

/// A task's answer: a label map on the input's exact grid, the JSON that goes
/// into the reply's `params` part (`points`, `bbox`, `crop`, `label_names`), and
/// per-stage milliseconds.
public struct TaskResult: Sendable {
    public var labels: Volume
    public var json: [String: JSONValue]
    public var timings: StageTimings

    public init(labels: Volume, json: [String: JSONValue], timings: StageTimings) {
        self.labels = labels
        self.json = json
        self.timings = timings
    }
}

/// One entry point for every bundle kind, so the CLI and both protocols share
/// the dispatch. It is synchronous and compute-heavy: async callers go through
/// `ComputePool.run`.
public enum TaskRunner {
    /// `maxVoxels` bounds every grid a step makes from the image's geometry
    /// (the server passes its `max_voxels`), so memory per request is bounded.
    public static func run(_ bundle: ModelBundle, image: Volume, clicks: Clicks = Clicks(),
                           maxVoxels: Int = Volume.defaultMaxVoxels) throws -> TaskResult {
        switch bundle.kind {
        case .segmentation:
            let (labels, timings) = try SegmentationTask.run(bundle, on: image, maxVoxels: maxVoxels)
            var json = ResultSummary.extremePointsAndBox(labels)
            json["label_names"] = .object(Dictionary(uniqueKeysWithValues: bundle.labels.enumerated().map {
                ($0.element, JSONValue.number(Double($0.offset + 1)))
            }))
            return TaskResult(labels: labels, json: json, timings: timings)
        case .deepgrow:
            return try DeepgrowTask.run(bundle, image: image, clicks: clicks, maxVoxels: maxVoxels)
        case .annotation:
            return try DExtr3DTask.run(bundle, image: image, points: clicks.points)
        }
    }
}
