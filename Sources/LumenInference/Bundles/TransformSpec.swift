import LumenTensor
import LumenTransforms

/// Pre-processing steps are LumenTransforms' configured transforms, resolved at
/// load time so an unknown name or argument fails when the bundle loads, not on a
/// doctor's first click.
public typealias PreStep = Transform

/// Post-processing steps are the same registry's transforms, with MONAI's semantics (a bare
/// `logit_thresh` does not threshold; `threshold_values` or `threshold` does), so what the parity
/// tests check is what serving runs.
public typealias PostStep = Transform

enum TransformSpec {
    /// Steps that only load, add a channel or change the array type: Lumen's loader already does them.
    static let implicit: Set<String> = ["LoadImaged", "LoadImage", "AddChanneld", "AddChannel", "EnsureChannelFirstd",
                                        "EnsureChannelFirst", "AsChannelFirstd", "ToTensord", "ToNumpyd", "EnsureTyped",
                                        "CastToTyped", "SqueezeDimd", "Restored", "Invertd", "SaveImaged", "Writer",
                                        "ToDeviced", "CopyItemsd", "DeleteItemsd"]
    static let post: [String] = ["Activationsd", "AsDiscreted", "KeepLargestConnectedComponentd", "FillHolesd", "RemoveSmallObjectsd"]
    /// Steps that belong to interactive pipelines, not to whole-volume segmentation.
    static let interactiveOnly: Set<String> = ["AddGuidanceFromPointsd", "SpatialCropGuidanced", "ResizeGuidanced",
                                                "AddGuidanceSignald", "Activationsd", "AsDiscreted",
                                                "KeepLargestConnectedComponentd", "FillHolesd", "RemoveSmallObjectsd"]

    static func shortName(_ entry: JSONValue) -> String? {
        (entry["name"]?.string ?? entry["_target_"]?.string ?? entry["path"]?.string).map {
            String($0.split(separator: ".").last ?? "")
        }
    }

    static func parsePre(_ list: [JSONValue], file: String) throws -> [PreStep] {
        let supported = TransformRegistry.supported.keys.filter { !interactiveOnly.contains($0) }.sorted() + implicit.sorted()
        return try list.enumerated().compactMap { i, entry in
            let key = "pre_transforms[\(i)]"
            guard let name = shortName(entry) else { throw BundleError.badArgument(file: file, key: key, detail: "has no name") }
            if implicit.contains(name) { return nil }
            guard let canonical = TransformRegistry.canonicalName(name), !interactiveOnly.contains(canonical) else {
                throw BundleError.unsupportedTransform(file: file, key: key, name: name, supported: supported)
            }
            do { return try TransformRegistry.make(entry) } catch let error as TransformError {
                throw BundleError.badArgument(file: file, key: key, detail: error.description)
            }
        }
    }

    static func parsePost(_ list: [JSONValue], file: String) throws -> [PostStep] {
        try list.enumerated().compactMap { i, entry in
            let key = "post_transforms[\(i)]"
            guard let name = shortName(entry) else { throw BundleError.badArgument(file: file, key: key, detail: "has no name") }
            if implicit.contains(name) { return nil }
            guard let canonical = TransformRegistry.canonicalName(name), post.contains(canonical) else {
                throw BundleError.unsupportedTransform(file: file, key: key, name: name, supported: post + implicit.sorted())
            }
            do { return try TransformRegistry.make(entry) } catch let error as TransformError {
                throw BundleError.badArgument(file: file, key: key, detail: error.description)
            }
        }
    }
}
