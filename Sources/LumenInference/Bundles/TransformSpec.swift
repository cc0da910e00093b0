import LumenTensor
import LumenTransforms

/// One configured pre-processing step, resolved at load time so an unknown
/// name or argument fails when the bundle loads, not on a doctor's first click.
public enum PreStep: Sendable {
    case orientation(Orientation)
    case spacing(Spacing)
    case scaleIntensityRange(ScaleIntensityRange)
}

public enum PostStep: Sendable {
    case softmax, sigmoid
    case argmax
    case threshold(Float)
}

enum TransformSpec {
    /// Steps that only load, add a channel or change the array type: Lumen's loader already does them.
    static let implicit: Set<String> = ["LoadImaged", "LoadImage", "AddChanneld", "AddChannel", "EnsureChannelFirstd",
                                        "EnsureChannelFirst", "AsChannelFirstd", "ToTensord", "ToNumpyd", "EnsureTyped",
                                        "CastToTyped", "SqueezeDimd", "Restored", "Invertd", "SaveImaged", "Writer"]
    static let pre: [String] = ["Orientationd", "Spacingd", "ScaleIntensityRanged"]
    static let post: [String] = ["Activationsd", "AsDiscreted"]

    static func shortName(_ entry: JSONValue) -> String? {
        (entry["name"]?.string ?? entry["_target_"]?.string ?? entry["path"]?.string).map {
            String($0.split(separator: ".").last ?? "")
        }
    }

    static func parsePre(_ list: [JSONValue], file: String) throws -> [PreStep] {
        try list.enumerated().compactMap { i, entry in
            let key = "pre_transforms[\(i)]"
            guard let name = shortName(entry) else { throw BundleError.badArgument(file: file, key: key, detail: "has no name") }
            if implicit.contains(name) { return nil }
            let args = entry["args"] ?? entry
            switch name {
            case "Orientationd", "Orientation":
                return .orientation(Orientation(axcodes: args["axcodes"]?.string ?? "RAS"))
            case "Spacingd", "Spacing":
                guard let pixdim = args["pixdim"]?.array?.compactMap(\.double), !pixdim.isEmpty else {
                    throw BundleError.badArgument(file: file, key: key + ".pixdim", detail: "needs a list of voxel sizes in mm")
                }
                let mode = (args["mode"]?.string ?? args["mode"]?.array?.first?.string ?? "bilinear").lowercased()
                return .spacing(Spacing(pixdim: pixdim, mode: mode == "nearest" ? .nearest : .linear))
            case "ScaleIntensityRanged", "ScaleIntensityRange":
                func value(_ k: String) throws -> Float {
                    guard let v = args[k]?.double else { throw BundleError.badArgument(file: file, key: "\(key).\(k)", detail: "is required") }
                    return Float(v)
                }
                return .scaleIntensityRange(ScaleIntensityRange(aMin: try value("a_min"), aMax: try value("a_max"),
                                                                bMin: try value("b_min"), bMax: try value("b_max"),
                                                                clip: args["clip"]?.bool ?? false))
            default:
                throw BundleError.unsupportedTransform(file: file, key: key, name: name, supported: (pre + implicit.sorted()))
            }
        }
    }

    static func parsePost(_ list: [JSONValue], file: String) throws -> [PostStep] {
        var steps: [PostStep] = []
        for (i, entry) in list.enumerated() {
            let key = "post_transforms[\(i)]"
            guard let name = shortName(entry) else { throw BundleError.badArgument(file: file, key: key, detail: "has no name") }
            if implicit.contains(name) { continue }
            let args = entry["args"] ?? entry
            switch name {
            case "Activationsd", "Activations":
                if args["softmax"]?.bool == true { steps.append(.softmax) }
                if args["sigmoid"]?.bool == true { steps.append(.sigmoid) }
            case "AsDiscreted", "AsDiscrete":
                if args["argmax"]?.bool == true { steps.append(.argmax) }
                if let t = args["threshold"]?.double ?? args["threshold_values"]?.double ?? args["logit_thresh"]?.double {
                    steps.append(.threshold(Float(t)))
                } else if args["threshold_values"]?.bool == true {
                    steps.append(.threshold(Float(args["logit_thresh"]?.double ?? 0.5)))
                }
            default:
                throw BundleError.unsupportedTransform(file: file, key: key, name: name, supported: (post + implicit.sorted()))
            }
        }
        return steps
    }
}
