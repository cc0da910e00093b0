import Foundation
import LumenTensor

/// MONAI `RemoveSmallObjectsd` (scikit-image's `remove_small_objects` underneath),
/// which bundles use to drop the specks an argmax leaves far from any organ.
/// Its semantics depend on the map, as MONAI's do:
/// - `independent_channels` with labels above 1: each label value counts as one
///   object, so a label whose whole volume is under `min_size` disappears;
/// - a binary map, or `independent_channels: false`: foreground components
///   (orthogonal-hop `connectivity`) under `min_size` are removed, labels kept.
/// `by_measure` reads `min_size` in mm³ (mm² in 2-D) of the image's own voxels.
public struct RemoveSmallObjects: Sendable {
    public var minSize: Double
    public var connectivity: Int
    public var independentChannels: Bool
    public var byMeasure: Bool
    public var pixdim: [Double]?

    public init(minSize: Double = 64, connectivity: Int = 1, independentChannels: Bool = true, byMeasure: Bool = false,
                pixdim: [Double]? = nil) {
        self.minSize = minSize; self.connectivity = connectivity; self.independentChannels = independentChannels
        self.byMeasure = byMeasure; self.pixdim = pixdim
    }

    public func callAsFunction(_ image: ImageData) throws -> ImageData {
        let name = "RemoveSmallObjectsd"
        let x = image.tensor
        guard x.shape[0] == 1 else {
            throw TransformError.badInput(transform: name, detail: "needs a one-channel label map (put it after AsDiscreted argmax), got \(x.shape[0]) channels")
        }
        let r = x.rank - 1
        // scikit-image sees the channel axis too, so r + 1 hops are allowed; with one channel they act as r.
        guard connectivity >= 1 && connectivity <= r + 1 else {
            throw TransformError.badArgument(transform: name, argument: "connectivity", detail: "must be 1…\(r + 1) for \(r)-D images, got \(connectivity)")
        }
        // One pass: labels checked, their voxel counts taken (labels are small whole numbers).
        var counts: [Int] = []
        for v in x.data {
            guard v >= 0, v == v.rounded(), v < 65_536 else {
                throw TransformError.badInput(transform: name, detail: "labels must be whole numbers 0…65535, found \(v)")
            }
            let label = Int(v)
            if label >= counts.count { counts += [Int](repeating: 0, count: label + 1 - counts.count) }
            counts[label] += 1
        }
        if counts.filter({ $0 > 0 }).count <= 1 { return image }
        var limit = minSize
        if byMeasure {
            var voxel = (pixdim.map { $0.count == 1 ? [Double](repeating: $0[0], count: r) : $0 } ?? Matrix.spacing(image.affine)).reduce(1, *)
            if voxel == 0 { voxel = 1 }
            limit = (minSize / voxel).rounded(.up)
        }
        var out = image
        if independentChannels && counts.count > 2 {
            let small = counts.indices.map { $0 != 0 && counts[$0] > 0 && Double(counts[$0]) <= limit }
            if !small.contains(true) { return image }
            for i in out.tensor.data.indices where small[Int(out.tensor.data[i])] { out.tensor.data[i] = 0 }
            return out
        }
        let (s, real, c) = try componentGeometry(x, connectivity: min(connectivity, r), transform: name)
        out.tensor.data.withUnsafeMutableBufferPointer { p in
            let d = p.baseAddress!
            let components = RunComponents(shape: s, realAxes: real, connectivity: c) { base, count, flags in
                for k in 0..<count { flags[k] = d[base + k] > 0 }
            }
            let drop = components.sizes.map { Double($0) <= limit }
            components.forEachRun(where: drop, rowLength: s[2]) { range in
                for i in range { d[i] = 0 }
            }
        }
        return out
    }
}
