import LumenIO

/// Placeholder until the deepgrow task lands (issue 4): refuses clearly.
public enum DeepgrowTask {
    public static func run(_ bundle: ModelBundle, image: Volume, clicks: Clicks) throws -> TaskResult {
        throw InferenceError.badInput("\(bundle.name): deepgrow inference is not implemented yet")
    }
}

/// Placeholder until the DExtr3D task lands (issue 4): refuses clearly.
public enum DExtr3DTask {
    public static func run(_ bundle: ModelBundle, image: Volume, points: [[Int]]) throws -> TaskResult {
        throw InferenceError.badInput("\(bundle.name): DExtr3D inference is not implemented yet")
    }
}
