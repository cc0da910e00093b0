import LumenIO

/// What one upload may hold: its size on the wire and the voxels its header may declare.
/// Every route that takes a file reads this one value (from `lumen serve`'s settings), so the
/// datastore, ingest and inference cannot disagree about what a request may cost.
public struct UploadLimits: Sendable, Equatable {
    public var maxUploadBytes: Int
    public var maxVoxels: Int

    public init(maxUploadBytes: Int = 2 << 30, maxVoxels: Int = Volume.defaultMaxVoxels) {
        self.maxUploadBytes = maxUploadBytes
        self.maxVoxels = maxVoxels
    }
}
