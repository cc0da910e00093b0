import LumenTensor

/// Everything a configured pipeline carries between steps: the image, the
/// spatial records for inversion and, for deepgrow, the clicks and crop.
public struct TransformState: Sendable {
    public var image: ImageData
    public var records: [SpatialRecord] = []
    /// Deepgrow: clicks in the file's voxel order and the file's spatial shape.
    public var foreground: [[Int]] = []
    public var background: [[Int]] = []
    public var originalShape: [Int] = []
    /// Deepgrow: the guidance derived from the clicks, and the crop it caused.
    public var guidance: Guidance?
    public var guidanceCrop: SpatialCropGuidance.Record?
    /// The most voxels (times channels) a step may allocate for a new grid: the
    /// server's `max_voxels`, so an upload's geometry cannot make a resampling
    /// step ask for more memory than the upload itself was allowed.
    public var maxVoxels: Int = .max   // the tasks set the server's limit

    public init(image: ImageData, foreground: [[Int]] = [], background: [[Int]] = [], originalShape: [Int] = []) {
        self.image = image; self.foreground = foreground; self.background = background; self.originalShape = originalShape
    }
}

/// A configured transform, resolved from a config entry when the model loads,
/// so an unknown name or argument fails then, not on the first request.
public enum Transform: Sendable {
    case orientation(Orientation)
    case spacing(Spacing)
    case scaleIntensityRange(ScaleIntensityRange)
    case normalizeIntensity(NormalizeIntensity)
    case scaleIntensity(ScaleIntensity)
    case cropForeground(CropForeground)
    case resize(Resize)
    case spatialPad(SpatialPad)
    case spatialCrop(SpatialCrop)
    case centerSpatialCrop(CenterSpatialCrop)
    case activations(Activations)
    case asDiscrete(AsDiscrete)
    case keepLargestConnectedComponent(KeepLargestConnectedComponent)
    case fillHoles(FillHoles)
    case removeSmallObjects(RemoveSmallObjects)
    case addGuidanceFromPoints(AddGuidanceFromPoints)
    case spatialCropGuidance(SpatialCropGuidance)
    case resizeGuidance
    case addGuidanceSignal(AddGuidanceSignal)

    /// Runs the step on the pipeline state; spatial steps append their record.
    public func apply(_ state: inout TransformState) throws {
        let name = Self.configName(self)
        switch self {
        case .addGuidanceFromPoints, .spatialCropGuidance, .resizeGuidance, .addGuidanceSignal: break
        default: try state.image.validate(name)
        }
        var image = state.image
        switch self {
        case .orientation(let t):
            let (out, r) = try t(image); image = out; state.records.append(.orientation(r))
        case .spacing(let t):
            let (out, r) = try t(image, maxVoxels: state.maxVoxels); image = out; state.records.append(.spacing(r))
        case .scaleIntensityRange(let t): image = t(image)
        case .normalizeIntensity(let t): image = try t(image)
        case .scaleIntensity(let t): image = t(image)
        case .cropForeground(let t):
            let (out, r) = try t(image); image = out; state.records.append(.crop(r))
        case .resize(let t):
            let (out, r) = t(image); image = out; state.records.append(.resize(r))
        case .spatialPad(let t):
            let (out, r) = t(image); image = out; state.records.append(.pad(r))
        case .spatialCrop(let t):
            let (out, r) = try t(image); image = out; state.records.append(.crop(r))
        case .centerSpatialCrop(let t):
            let (out, r) = t(image); image = out; state.records.append(.crop(r))
        case .activations(let t): image.tensor = t(image.tensor)
        case .asDiscrete(let t): image.tensor = t(image.tensor)
        case .keepLargestConnectedComponent(let t): image.tensor = try t(image.tensor)
        case .fillHoles(let t): image.tensor = try t(image.tensor)
        case .removeSmallObjects(let t): image = try t(image)
        case .addGuidanceFromPoints(let t):
            let shape = t.spatialDims == 2 && image.spatialRank == 2 ? [image.channels] + image.spatialShape : image.spatialShape
            state.guidance = try t(foreground: state.foreground, background: state.background,
                                   originalShape: state.originalShape, currentShape: shape)
        case .spatialCropGuidance(let t):
            let (out, g, r) = try t(image, guidance: try Self.needGuidance(state, name))
            image = out; state.guidance = g; state.guidanceCrop = r
        case .resizeGuidance:
            guard let crop = state.guidanceCrop else {
                throw TransformError.badInput(transform: name, detail: "needs SpatialCropGuidanced earlier in the pipeline")
            }
            state.guidance = ResizeGuidance.apply(try Self.needGuidance(state, name), croppedShape: crop.croppedShape,
                                                  currentShape: image.spatialShape)
        case .addGuidanceSignal(let t):
            image.tensor = try t(image.tensor, guidance: try Self.needGuidance(state, name))
        }
        state.image = image
    }

    static func needGuidance(_ state: TransformState, _ name: String) throws -> Guidance {
        guard let g = state.guidance else {
            throw TransformError.badInput(transform: name, detail: "needs clicks (AddGuidanceFromPointsd earlier in the pipeline)")
        }
        return g
    }

    static func configName(_ t: Transform) -> String {
        switch t {
        case .orientation: "Orientationd"
        case .spacing: "Spacingd"
        case .scaleIntensityRange: "ScaleIntensityRanged"
        case .normalizeIntensity: "NormalizeIntensityd"
        case .scaleIntensity: "ScaleIntensityd"
        case .cropForeground: "CropForegroundd"
        case .resize: "Resized"
        case .spatialPad: "SpatialPadd"
        case .spatialCrop: "SpatialCropd"
        case .centerSpatialCrop: "CenterSpatialCropd"
        case .activations: "Activationsd"
        case .asDiscrete: "AsDiscreted"
        case .keepLargestConnectedComponent: "KeepLargestConnectedComponentd"
        case .fillHoles: "FillHolesd"
        case .removeSmallObjects: "RemoveSmallObjectsd"
        case .addGuidanceFromPoints: "AddGuidanceFromPointsd"
        case .spatialCropGuidance: "SpatialCropGuidanced"
        case .resizeGuidance: "ResizeGuidanced"
        case .addGuidanceSignal: "AddGuidanceSignald"
        }
    }
}
