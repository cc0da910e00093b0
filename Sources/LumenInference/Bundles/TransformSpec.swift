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
    static func parsePre(_ list: [JSONValue], file: String) throws -> [PreStep] {
        let supported = TransformRegistry.supported.keys.filter { !TransformNames.notPre.contains($0) }.sorted() + TransformNames.segmentationTaskSteps.sorted()
        return try list.enumerated().compactMap { i, entry in
            let key = "pre_transforms[\(i)]"
            guard let name = TransformNames.short(entry) else { throw BundleError.badArgument(file: file, key: key, detail: "has no name") }
            if TransformNames.segmentationTaskSteps.contains(name) { return nil }
            guard let canonical = TransformRegistry.canonicalName(name), !TransformNames.notPre.contains(canonical) else {
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
            guard let name = TransformNames.short(entry) else { throw BundleError.badArgument(file: file, key: key, detail: "has no name") }
            if TransformNames.segmentationTaskSteps.contains(name) { return nil }
            guard let canonical = TransformRegistry.canonicalName(name), TransformNames.post.contains(canonical) else {
                throw BundleError.unsupportedTransform(file: file, key: key, name: name, supported: TransformNames.post + TransformNames.segmentationTaskSteps.sorted())
            }
            do { return try TransformRegistry.make(entry) } catch let error as TransformError {
                throw BundleError.badArgument(file: file, key: key, detail: error.description)
            }
        }
    }
}
