import LumenTensor

/// The one table of config step names that are not transforms of their own: what each task does
/// itself (loading, channel and type changes, inverting, writing), and which post steps exist.
/// The segmentation and interactive parsers, and the MONAI bundle reader, all look here, so a step
/// is accepted or refused the same way everywhere. Argument keys that only route dictionary keys
/// are `TransformRegistry.plumbing`.
public enum TransformNames {
    /// The short name of a config entry: `monai.transforms.Spacingd` → `Spacingd`, from `name`,
    /// `_target_` or `path`.
    public static func short(_ entry: JSONValue) -> String? {
        let raw: String? = entry["name"]?.string ?? entry["_target_"]?.string ?? entry["path"]?.string
        return raw.map { String($0.split(separator: ".").last ?? "") }
    }

    /// Steps a whole-volume segmentation does itself: load, add a channel, change the array type,
    /// invert onto the input grid, write.
    public static let segmentationTaskSteps: Set<String> = [
        "LoadImaged", "LoadImage", "AddChanneld", "AddChannel", "EnsureChannelFirstd", "EnsureChannelFirst",
        "AsChannelFirstd", "ToTensord", "ToNumpyd", "EnsureTyped", "CastToTyped", "SqueezeDimd", "Restored", "Invertd",
        "SaveImaged", "Writer", "ToDeviced", "CopyItemsd", "DeleteItemsd",
    ]

    /// Steps a deepgrow or DExtr3D task does itself. `AsChannelFirstd` is not among them: in a
    /// deepgrow config it says the layout is depth-first, which the parser must see.
    public static let interactiveTaskSteps: Set<String> = [
        "LoadImaged", "LoadImage", "ToTensord", "ToNumpyd", "EnsureTyped", "CastToTyped", "EnsureChannelFirstd",
        "AddChanneld", "SqueezeDimd", "Restored", "RestoreLabeld", "AsChannelLastd", "PasteCropd", "Writer",
    ]

    /// Post-processing steps (run by every task through the registry).
    public static let post: [String] = ["Activationsd", "AsDiscreted", "KeepLargestConnectedComponentd", "FillHolesd",
                                        "RemoveSmallObjectsd"]

    /// Steps that belong to interactive pipelines or to post-processing, never to a segmentation's
    /// pre-transforms.
    public static let notPre: Set<String> = Set(["AddGuidanceFromPointsd", "SpatialCropGuidanced", "ResizeGuidanced",
                                                 "AddGuidanceSignald"] + post)
}
