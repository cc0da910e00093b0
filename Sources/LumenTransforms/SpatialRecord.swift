import LumenTensor

/// One spatial step as it was applied, so a prediction on the model's grid can
/// be put back on the input's grid (MONAI Invertd): replay the records in
/// reverse order on the prediction, skipping intensity steps.
public enum SpatialRecord: Sendable {
    case orientation(Orientation.Record)
    case spacing(Spacing.Record)
    case crop(BoxRecord)
    case pad(BoxRecord)
    case resize(Resize.Record)

    /// Undoes this step on `tensor` (`[C, spatial…]`, any channel count). With
    /// `nearest` every interpolating step uses nearest neighbours (Invertd's
    /// nearest_interp, for label maps); otherwise the forward step's own mode.
    public func invert(_ tensor: Tensor, nearest: Bool) -> Tensor {
        switch self {
        case .orientation(let r): return Orientation.invert(tensor, r)
        case .spacing(let r): return Spacing.invert(tensor, r, mode: nearest ? .nearest : r.mode)
        case .crop(let b), .pad(let b): return b.inverse.apply(tensor)
        case .resize(let r): return Resize.invert(tensor, r, mode: nearest ? .nearest : nil)
        }
    }

    /// Undoes a whole pipeline's records, last step first.
    public static func invert(_ tensor: Tensor, records: [SpatialRecord], nearest: Bool) -> Tensor {
        records.reversed().reduce(tensor) { $1.invert($0, nearest: nearest) }
    }
}
