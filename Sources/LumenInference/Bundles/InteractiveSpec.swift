import LumenTensor
import LumenTransforms

/// A deepgrow bundle's pipeline, read from Clara's config_aiaa.json. Clara's
/// deepgrow is a fixed template (layout → spacing → clicks → crop around the
/// clicks → resize → intensity → click signal), so Lumen resolves the template's
/// parameters at load time and refuses anything outside it.
public struct DeepgrowSpec: Sendable {
    public var spatialDims: Int
    /// Clara's `AsChannelFirstd` layout: depth first, only the in-plane axes resampled.
    public var depthFirst: Bool
    public var spacing: Spacing?
    /// SpatialCropGuidanced, Resized, ResizeGuidanced, intensity and AddGuidanceSignald, in config order.
    public var steps: [Transform]
    /// The post steps before `RestoreLabeld`, run on the network's grid.
    public var post: [PostStep]
    /// The post steps after `RestoreLabeld`, run on the scan's grid.
    public var afterRestore: [PostStep] = []
    /// `RestoreLabeld`'s mode. MONAI resizes whatever the prediction is at that point, so a config that
    /// restores the sigmoid linearly and thresholds afterwards gets edges finer than the 2 mm grid.
    public var restore: Resize.Mode = .nearest
}

/// A DExtr3D bundle: crop around ≥ 6 extreme points with a margin in mm,
/// resize to the network's grid, intensity, then a heatmap channel of the points.
public struct DExtr3DSpec: Sendable {
    public var marginMM: Double
    public var resize: Resize
    public var intensity: [Transform]
    public var heatmap: ExtremePointsHeatmap
    public var post: [PostStep]
}

public enum InteractiveSpec: Sendable {
    case deepgrow(DeepgrowSpec)
    case dextr3d(DExtr3DSpec)

    static let plumbing = TransformNames.interactiveTaskSteps

    static func deepgrow(pre: [JSONValue], post: [JSONValue], meta: [String: JSONValue], file: String) throws -> DeepgrowSpec {
        var spec = DeepgrowSpec(spatialDims: (meta["deepgrow"]?.string ?? "2D").lowercased().contains("3") ? 3 : 2,
                                depthFirst: false, spacing: nil, steps: [], post: [])
        var sawGuidance = false
        let body = ["SpatialCropGuidanced", "Resized", "ResizeGuidanced", "NormalizeIntensityd", "ScaleIntensityRanged", "AddGuidanceSignald"]
        let supported = ["AsChannelFirstd", "Spacingd", "AddGuidanceFromPointsd", "Fetch2DSliced"] + body + plumbing.sorted()
        for (i, entry) in pre.enumerated() {
            let key = "pre_transforms[\(i)]"
            let name = try shortName(entry, file: file, key: key)
            if plumbing.contains(name) { continue }
            switch name {
            case "AsChannelFirstd": spec.depthFirst = true
            case "Fetch2DSliced": spec.spatialDims = 2
            case "Spacingd":
                guard case .spacing(let s) = try make(entry, file: file, key: key) else { continue }
                spec.spacing = s
            case "AddGuidanceFromPointsd":
                guard case .addGuidanceFromPoints(let g) = try make(entry, file: file, key: key) else { continue }
                spec.spatialDims = g.spatialDims
                guard g.depthFirst == spec.depthFirst else {
                    throw BundleError.badArgument(file: file, key: key + ".depth_first", detail: spec.depthFirst
                        ? "must be true after AsChannelFirstd (the depth axis comes first)"
                        : "must be false unless AsChannelFirstd moves the depth axis first")
                }
                sawGuidance = true
            case _ where body.contains(name):
                spec.steps.append(try make(entry, file: file, key: key))
            default:
                throw BundleError.unsupportedTransform(file: file, key: key, name: name, supported: supported)
            }
        }
        guard sawGuidance, spec.steps.contains(where: { if case .addGuidanceSignal = $0 { true } else { false } }) else {
            throw BundleError.badArgument(file: file, key: "pre_transforms",
                                          detail: "a deepgrow model needs AddGuidanceFromPointsd and AddGuidanceSignald")
        }
        guard spec.steps.contains(where: { if case .spatialCropGuidance = $0 { true } else { false } }) else {
            throw BundleError.badArgument(file: file, key: "pre_transforms", detail: "a deepgrow model needs SpatialCropGuidanced")
        }
        if spec.depthFirst, let s = spec.spacing, s.pixdim.count != 2 {
            throw BundleError.badArgument(file: file, key: "Spacingd.pixdim",
                                          detail: "with AsChannelFirstd (depth first) only the 2 in-plane sizes are resampled; got \(s.pixdim)")
        }
        let cut = post.firstIndex { TransformNames.short($0) == "RestoreLabeld" } ?? post.count
        let keep = { (part: ArraySlice<JSONValue>) in part.filter { !plumbing.contains(TransformNames.short($0) ?? "") } }
        spec.post = try TransformSpec.parsePost(keep(post[..<cut]), file: file)
        if cut < post.count {
            spec.afterRestore = try TransformSpec.parsePost(keep(post[(cut + 1)...]), file: file)
            spec.restore = try restoreMode(post[cut], file: file, key: "post_transforms[\(cut)]")
        }
        if spec.restore != .nearest {
            guard !PostProcessing.isDiscrete(spec.post), PostProcessing.isDiscrete(spec.afterRestore) else {
                throw BundleError.badArgument(file: file, key: "post_transforms", detail:
                    "RestoreLabeld with a linear mode resizes probabilities: put Activationsd before it and AsDiscreted after it, or use mode \"nearest\"")
            }
        }
        return spec
    }

    /// RestoreLabeld's `mode` (MONAI's default is nearest; `area` has no inverse meaning here).
    static func restoreMode(_ entry: JSONValue, file: String, key: String) throws -> Resize.Mode {
        let value = (entry["args"] ?? entry)["mode"]
        guard let value, value != .null else { return .nearest }
        switch (value.string ?? value.array?.first?.string)?.lowercased() {
        case "nearest": return .nearest
        case "linear", "bilinear", "trilinear": return .linear
        default: throw BundleError.badArgument(file: file, key: key + ".mode", detail: "must be \"nearest\" or \"bilinear\"/\"trilinear\", got \(value.any)")
        }
    }

    static func dextr3d(pre: [JSONValue], post: [JSONValue], file: String) throws -> DExtr3DSpec {
        var margin = 20.0
        var resize: Resize?
        var intensity: [Transform] = []
        var heatmap: ExtremePointsHeatmap?
        let supported = ["CropByPointsd", "Resized", "NormalizeIntensityd", "ScaleIntensityRanged", "AddExtremePointsChanneld"] + plumbing.sorted()
        for (i, entry) in pre.enumerated() {
            let key = "pre_transforms[\(i)]"
            let name = try shortName(entry, file: file, key: key)
            if plumbing.contains(name) { continue }
            let args = entry["args"] ?? entry
            switch name {
            case "CropByPointsd":
                margin = args["margin_mm"]?.double ?? 20
                guard margin >= 0 else { throw BundleError.badArgument(file: file, key: key + ".margin_mm", detail: "must not be negative") }
            case "Resized":
                guard case .resize(let r) = try make(entry, file: file, key: key) else { continue }
                resize = r
            case "NormalizeIntensityd", "ScaleIntensityRanged":
                intensity.append(try make(entry, file: file, key: key))
            case "AddExtremePointsChanneld":
                heatmap = ExtremePointsHeatmap(sigma: args["sigma"]?.double ?? 3,
                                               rescaleMin: Float(args["rescale_min"]?.double ?? -1),
                                               rescaleMax: Float(args["rescale_max"]?.double ?? 1))
            default:
                throw BundleError.unsupportedTransform(file: file, key: key, name: name, supported: supported)
            }
        }
        guard let resize, let heatmap else {
            throw BundleError.badArgument(file: file, key: "pre_transforms", detail: "a DExtr3D model needs Resized and AddExtremePointsChanneld")
        }
        let steps = try TransformSpec.parsePost(post.filter { (try? shortName($0, file: file, key: "")).map { !plumbing.contains($0) } ?? true },
                                                file: file)
        return DExtr3DSpec(marginMM: margin, resize: resize, intensity: intensity, heatmap: heatmap, post: steps)
    }

    static func shortName(_ entry: JSONValue, file: String, key: String) throws -> String {
        guard let name = TransformNames.short(entry), !name.isEmpty else {
            throw BundleError.badArgument(file: file, key: key, detail: "has no name")
        }
        return name
    }

    static func make(_ entry: JSONValue, file: String, key: String) throws -> Transform {
        do { return try TransformRegistry.make(entry) } catch let error as TransformError {
            throw BundleError.badArgument(file: file, key: key, detail: error.description)
        }
    }
}
