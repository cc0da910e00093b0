import LumenTensor

/// Maps transform entries of Clara MMAR `config_aiaa.json` / MONAI bundle configs
/// (`{"name": "Spacingd", "args": {...}}`, `"monai.transforms.Spacingd"`,
/// `"_target_": "Spacingd"`) to Lumen's implementations. Arguments are checked
/// against what Lumen implements; anything else is refused with the list of
/// what is supported, rather than silently computing something different.
public enum TransformRegistry {
    /// Arguments that only route dictionary keys or metadata in MONAI; the
    /// pipeline state carries those things itself.
    public static let plumbing: Set<String> = [
        "keys", "allow_missing_keys", "meta_keys", "meta_key_postfix", "ref_image", "guidance", "image", "label",
        "source_key", "start_coord_key", "end_coord_key", "original_shape_key", "cropped_shape_key", "foreground",
        "background", "slice_key", "dtype", "lazy", "track_meta",
    ]

    /// Supported transforms (config names) and the arguments Lumen understands for each.
    public static let supported: [String: [String]] = [
        "Orientationd": ["axcodes", "as_closest_canonical", "labels"],
        "Spacingd": ["pixdim", "mode", "padding_mode", "align_corners", "diagonal", "scale_extent", "recompute_affine",
                     "min_pixdim", "max_pixdim"],
        "ScaleIntensityRanged": ["a_min", "a_max", "b_min", "b_max", "clip"],
        "NormalizeIntensityd": ["subtrahend", "divisor", "nonzero", "channel_wise"],
        "ScaleIntensityd": ["minv", "maxv", "channel_wise", "factor"],
        "CropForegroundd": ["margin", "allow_smaller", "k_divisible", "channel_indices", "mode", "select_fn"],
        "Resized": ["spatial_size", "mode", "align_corners", "size_mode", "anti_aliasing"],
        "SpatialPadd": ["spatial_size", "method", "mode", "value", "constant_values"],
        "SpatialCropd": ["roi_start", "roi_end", "roi_center", "roi_size"],
        "CenterSpatialCropd": ["roi_size"],
        "Activationsd": ["softmax", "sigmoid", "other"],
        "AsDiscreted": ["argmax", "threshold", "threshold_values", "logit_thresh", "to_onehot", "rounding"],
        "KeepLargestConnectedComponentd": ["applied_labels", "is_onehot", "independent", "connectivity", "num_components"],
        "FillHolesd": ["applied_labels", "connectivity"],
        "RemoveSmallObjectsd": ["min_size", "connectivity", "independent_channels", "by_measure", "pixdim"],
        "AddGuidanceFromPointsd": ["spatial_dims", "depth_first", "axis"],
        "SpatialCropGuidanced": ["spatial_size", "margin"],
        "ResizeGuidanced": [],
        "AddGuidanceSignald": ["sigma", "number_intensity_ch"],
    ]

    /// "monai.transforms.Spacingd", "Spacing" and "Spacingd" all name Spacingd.
    public static func canonicalName(_ raw: String) -> String? {
        let short = String(raw.split(separator: ".").last ?? "")
        if supported[short] != nil { return short }
        if supported[short + "d"] != nil { return short + "d" }
        return nil
    }

    /// Resolves one config entry: `{"name"|"path"|"_target_": ..., "args": {...}}` (args may also sit inline).
    public static func make(_ entry: JSONValue) throws -> Transform {
        guard let raw = entry["name"]?.string ?? entry["_target_"]?.string ?? entry["path"]?.string else {
            throw TransformError.badArgument(transform: "transform", argument: "name", detail: "is missing from \(entry.any)")
        }
        var args = entry["args"]?.object ?? entry.object ?? [:]
        if entry["args"] == nil { for k in ["name", "_target_", "path", "_disabled_", "_requires_"] { args[k] = nil } }
        return try make(name: raw, args: args)
    }

    public static func make(name raw: String, args: [String: JSONValue]) throws -> Transform {
        guard let name = canonicalName(raw) else {
            throw TransformError.unknownTransform(name: raw, supported: supported.keys.sorted())
        }
        let a = Arguments(transform: name, values: args)
        for key in args.keys.sorted() where !plumbing.contains(key) && !(supported[name]!.contains(key)) {
            throw TransformError.unknownArgument(transform: name, argument: key, supported: supported[name]!)
        }
        switch name {
        case "Orientationd":
            try a.require("as_closest_canonical", isFalseOrAbsent: true)
            try a.requireAbsent("labels")
            return .orientation(Orientation(axcodes: try a.string("axcodes") ?? "RAS"))
        case "Spacingd":
            guard let pixdim = try a.doubles("pixdim"), !pixdim.isEmpty else {
                throw TransformError.badArgument(transform: name, argument: "pixdim", detail: "is required: the voxel size in mm, e.g. [1.5, 1.5, 2.0]")
            }
            if let p = try a.string("padding_mode"), p != "border" {
                throw TransformError.badArgument(transform: name, argument: "padding_mode", detail: "\"\(p)\" is not supported; Lumen implements \"border\" (MONAI's default)")
            }
            for k in ["diagonal", "scale_extent", "recompute_affine"] { try a.require(k, isFalseOrAbsent: true) }
            for k in ["min_pixdim", "max_pixdim"] { try a.requireAbsent(k) }
            return .spacing(Spacing(pixdim: pixdim, mode: try a.resampleMode()))
        case "ScaleIntensityRanged":
            guard let aMin = try a.double("a_min"), let aMax = try a.double("a_max") else {
                throw TransformError.badArgument(transform: name, argument: "a_min/a_max", detail: "are required")
            }
            return .scaleIntensityRange(ScaleIntensityRange(aMin: aMin, aMax: aMax, bMin: try a.double("b_min"),
                                                            bMax: try a.double("b_max"), clip: try a.bool("clip") ?? false))
        case "NormalizeIntensityd":
            return .normalizeIntensity(NormalizeIntensity(subtrahend: try a.doubles("subtrahend"), divisor: try a.doubles("divisor"),
                                                          nonzero: try a.bool("nonzero") ?? false,
                                                          channelWise: try a.bool("channel_wise") ?? false))
        case "ScaleIntensityd":
            try a.requireAbsent("factor")
            return .scaleIntensity(ScaleIntensity(minv: try a.double("minv") ?? 0, maxv: try a.double("maxv") ?? 1,
                                                  channelWise: try a.bool("channel_wise") ?? false))
        case "CropForegroundd":
            if let m = try a.string("mode"), m != "constant" {
                throw TransformError.badArgument(transform: name, argument: "mode", detail: "\"\(m)\" is not supported; Lumen pads with \"constant\" zeros")
            }
            if let f = args["select_fn"], f.string.map({ !["$lambda x: x > 0", "is_positive"].contains($0) }) ?? true {
                throw TransformError.badArgument(transform: name, argument: "select_fn", detail: "\(f.any) is not supported; Lumen selects x > 0 (MONAI's default)")
            }
            return .cropForeground(CropForeground(margin: try a.ints("margin") ?? [0], allowSmaller: try a.bool("allow_smaller") ?? false,
                                                  kDivisible: try a.ints("k_divisible") ?? [1], channelIndices: try a.ints("channel_indices")))
        case "Resized":
            guard let size = try a.ints("spatial_size") else {
                throw TransformError.badArgument(transform: name, argument: "spatial_size", detail: "is required")
            }
            if let m = try a.string("size_mode"), m != "all" {
                throw TransformError.badArgument(transform: name, argument: "size_mode", detail: "\"\(m)\" is not supported; Lumen implements \"all\"")
            }
            try a.require("anti_aliasing", isFalseOrAbsent: true)
            return .resize(Resize(spatialSize: size, mode: try a.resizeMode(), alignCorners: try a.bool("align_corners") ?? false))
        case "SpatialPadd":
            guard let size = try a.ints("spatial_size") else {
                throw TransformError.badArgument(transform: name, argument: "spatial_size", detail: "is required")
            }
            if let m = try a.string("mode"), m != "constant" {
                throw TransformError.badArgument(transform: name, argument: "mode", detail: "\"\(m)\" is not supported; Lumen pads with \"constant\"")
            }
            let methodName = try a.string("method") ?? "symmetric"
            guard let method = SpatialPad.Method(rawValue: methodName) else {
                throw TransformError.badArgument(transform: name, argument: "method", detail: "\"\(methodName)\" must be \"symmetric\" or \"end\"")
            }
            let value = try a.double("value") ?? a.double("constant_values") ?? 0
            return .spatialPad(SpatialPad(spatialSize: size, method: method, value: Float(value)))
        case "SpatialCropd":
            if let center = try a.ints("roi_center"), let size = try a.ints("roi_size") {
                return .spatialCrop(SpatialCrop(roiCenter: center, roiSize: size))
            }
            guard let start = try a.ints("roi_start"), let end = try a.ints("roi_end") else {
                throw TransformError.badArgument(transform: name, argument: "roi_start/roi_end", detail: "are required (or roi_center with roi_size)")
            }
            return .spatialCrop(SpatialCrop(roiStart: start, roiEnd: end))
        case "CenterSpatialCropd":
            guard let size = try a.ints("roi_size") else {
                throw TransformError.badArgument(transform: name, argument: "roi_size", detail: "is required")
            }
            return .centerSpatialCrop(CenterSpatialCrop(roiSize: size))
        case "Activationsd":
            try a.requireAbsent("other")
            let softmax = try a.bool("softmax") ?? false, sigmoid = try a.bool("sigmoid") ?? false
            guard softmax != sigmoid else {
                throw TransformError.badArgument(transform: name, argument: "softmax/sigmoid", detail: "exactly one of them must be true")
            }
            return .activations(Activations(softmax ? .softmax : .sigmoid))
        case "AsDiscreted":
            try a.requireAbsent("to_onehot")
            try a.requireAbsent("rounding")
            var threshold = try a.double("threshold")
            if threshold == nil, try a.bool("threshold_values") == true { threshold = try a.double("logit_thresh") ?? 0.5 }
            if threshold == nil, let t = try a.double("threshold_values") { threshold = t }
            return .asDiscrete(AsDiscrete(argmax: try a.bool("argmax") ?? false, threshold: threshold.map(Float.init)))
        case "KeepLargestConnectedComponentd":
            return .keepLargestConnectedComponent(KeepLargestConnectedComponent(
                appliedLabels: try a.ints("applied_labels"), isOneHot: try a.bool("is_onehot"),
                independent: try a.bool("independent") ?? true, connectivity: try a.int("connectivity"),
                numComponents: try a.int("num_components") ?? 1))
        case "FillHolesd":
            return .fillHoles(FillHoles(appliedLabels: try a.ints("applied_labels"), connectivity: try a.int("connectivity")))
        case "RemoveSmallObjectsd":
            return .removeSmallObjects(RemoveSmallObjects(
                minSize: try a.double("min_size") ?? 64, connectivity: try a.int("connectivity") ?? 1,
                independentChannels: try a.bool("independent_channels") ?? true, byMeasure: try a.bool("by_measure") ?? false,
                pixdim: try a.doubles("pixdim")))
        case "AddGuidanceFromPointsd":
            return .addGuidanceFromPoints(AddGuidanceFromPoints(spatialDims: try a.int("spatial_dims") ?? 3,
                                                                depthFirst: try a.bool("depth_first") ?? true, axis: try a.int("axis") ?? 0))
        case "SpatialCropGuidanced":
            guard let size = try a.ints("spatial_size") else {
                throw TransformError.badArgument(transform: name, argument: "spatial_size", detail: "is required")
            }
            return .spatialCropGuidance(SpatialCropGuidance(spatialSize: size, margin: try a.int("margin") ?? 20))
        case "ResizeGuidanced":
            return .resizeGuidance
        default: // "AddGuidanceSignald"
            return .addGuidanceSignal(AddGuidanceSignal(sigma: try a.double("sigma") ?? 2,
                                                        numberIntensityChannels: try a.int("number_intensity_ch") ?? 1))
        }
    }
}

/// Typed reads of one transform's arguments. A per-key list (MONAI's
/// `"mode": ["bilinear", "nearest"]` for image and label) gives its first entry:
/// Lumen's pipelines transform the image key.
struct Arguments {
    let transform: String
    let values: [String: JSONValue]

    func value(_ key: String) -> JSONValue? {
        guard let v = values[key], v != .null else { return nil }
        return v
    }

    func fail(_ key: String, _ detail: String) -> TransformError {
        .badArgument(transform: transform, argument: key, detail: detail)
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        if let s = v.string ?? v.array?.first?.string { return s }
        throw fail(key, "must be a string, got \(v.any)")
    }

    func double(_ key: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        if let d = v.double { return d }
        throw fail(key, "must be a number, got \(v.any)")
    }

    func int(_ key: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        if let i = v.int { return i }
        throw fail(key, "must be an integer, got \(v.any)")
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        if let b = v.bool ?? v.array?.first?.bool { return b }
        throw fail(key, "must be true or false, got \(v.any)")
    }

    /// A number or a list of numbers.
    func doubles(_ key: String) throws -> [Double]? {
        guard let v = value(key) else { return nil }
        if let d = v.double { return [d] }
        if let list = v.array, list.allSatisfy({ $0.double != nil }) { return list.map { $0.double! } }
        throw fail(key, "must be a number or a list of numbers, got \(v.any)")
    }

    func ints(_ key: String) throws -> [Int]? {
        guard let v = value(key) else { return nil }
        if let i = v.int { return [i] }
        if let list = v.array, list.allSatisfy({ $0.int != nil }) { return list.map { $0.int! } }
        throw fail(key, "must be an integer or a list of integers, got \(v.any)")
    }

    func require(_ key: String, isFalseOrAbsent: Bool) throws {
        if try bool(key) == true { throw fail(key, "= true is not supported by Lumen") }
    }

    func requireAbsent(_ key: String) throws {
        if let v = value(key) { throw fail(key, "= \(v.any) is not supported by Lumen; leave it unset") }
    }

    func resampleMode() throws -> Resample.Mode {
        if let v = value("mode"), let order = v.int ?? v.array?.first?.int {
            switch order { case 0: return .nearest; case 1: return .linear
            default: throw fail("mode", "spline order \(order) is not supported; use \"bilinear\" or \"nearest\"") }
        }
        switch (try string("mode") ?? "bilinear").lowercased() {
        case "bilinear", "linear", "trilinear": return .linear
        case "nearest": return .nearest
        case let m: throw fail("mode", "\"\(m)\" is not supported; use \"bilinear\" or \"nearest\"")
        }
    }

    func resizeMode() throws -> Resize.Mode {
        switch (try string("mode") ?? "area").lowercased() {
        case "area": return .area
        case "nearest": return .nearest
        case "linear", "bilinear", "trilinear": return .linear
        case let m: throw fail("mode", "\"\(m)\" is not supported; use \"area\", \"nearest\" or \"bilinear\"/\"trilinear\"")
        }
    }
}
