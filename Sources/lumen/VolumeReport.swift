import Foundation
import LumenIO

/// `lumen info` output. Intensities are after scl_slope/scl_inter, i.e. HU for CT.
struct VolumeReport {
    let volume: Volume
    init(_ volume: Volume) { self.volume = volume }

    private var range: (min: Float, max: Float, mean: Double) {
        var lo = Float.infinity, hi = -Float.infinity, sum = 0.0
        for v in volume.tensor.data {
            lo = min(lo, v); hi = max(hi, v); sum += Double(v)
        }
        return (lo, hi, sum / Double(max(volume.tensor.count, 1)))
    }

    var text: String {
        let g = volume.geometry, h = volume.header.info, r = range
        let spacing = g.spacing.map { fmt($0, 4) }.joined(separator: " × ")
        var lines = [
            "file          \(volume.fileName) (\(h.sizeofHeaderFormat))",
            "dimensions    \(g.dims.map(String.init).joined(separator: " × ")) voxels" + (volume.channels > 1 ? ", \(volume.channels) channels" : ""),
            "spacing       \(spacing) \(h.xyzUnits)   (pixdim \(h.pixdim.dropFirst().map { fmt(Double($0), 4) }.joined(separator: " ")))",
            "field of view \(zip(g.dims, g.spacing).map { fmt(Double($0) * $1, 1) }.joined(separator: " × ")) \(h.xyzUnits)",
            "datatype      \(volume.storedDatatype.name)",
            "scaling       " + scalingText,
            "qform         code \(h.qformCode) (\(NIfTIHeaderInfo.xformName(h.qformCode)))",
            "sform         code \(h.sformCode) (\(NIfTIHeaderInfo.xformName(h.sformCode)))",
            "affine from   \(g.source.rawValue)" + (g.isOblique ? " (oblique)" : ""),
        ]
        for (n, row) in g.affine.enumerated() {
            lines.append((n == 0 ? "affine        " : "              ") + row.map { pad(fmt($0, 4), 11) }.joined(separator: " "))
        }
        lines += [
            "orientation   \(g.orientation)",
            "intensity     min \(fmt(Double(r.min), 2))  max \(fmt(Double(r.max), 2))  mean \(fmt(r.mean, 2))",
        ]
        if !h.description.isEmpty { lines.append("descrip       \(h.description)") }
        if let counts = labelCounts {
            let millilitres = g.spacing.reduce(1, *) / 1000
            for (value, count) in counts where value > 0 {
                lines.append((value == counts.first { $0.0 > 0 }?.0 ? "labels        " : "              ")
                             + String(format: "%3d: %9d voxels  %9.1f mL", value, count, Double(count) * millilitres))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Voxel counts per value when the volume looks like a label map (small non-negative integers).
    private var labelCounts: [(Int, Int)]? {
        guard [.uint8, .int8, .uint16, .int16].contains(volume.storedDatatype), volume.channels == 1 else { return nil }
        var counts = [Int](repeating: 0, count: 256)
        for v in volume.tensor.data {
            guard v >= 0, v < 256, v == v.rounded() else { return nil }
            counts[Int(v)] += 1
        }
        let present = counts.enumerated().filter { $0.element > 0 }.map { ($0.offset, $0.element) }
        return present.count <= 64 ? present : nil
    }

    var json: String {
        let g = volume.geometry, h = volume.header.info, r = range
        let object: [String: Any] = [
            "file": volume.fileName, "dimensions": g.dims, "channels": volume.channels,
            "spacing": g.spacing, "units": h.xyzUnits, "datatype": volume.storedDatatype.name,
            "scl_slope": volume.scaling?.slope ?? 0, "scl_inter": volume.scaling?.intercept ?? 0,
            "qform_code": h.qformCode, "sform_code": h.sformCode, "affine_source": g.source.rawValue,
            "affine": g.affine, "orientation": g.orientation, "oblique": g.isOblique,
            "min": Double(r.min), "max": Double(r.max), "mean": r.mean,
        ]
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    private var scalingText: String {
        guard let s = volume.scaling else { return "none (scl_slope 0)" }
        return "value × \(fmt(s.slope, 6)) + \(fmt(s.intercept, 6))"
    }
}

func fmt(_ x: Double, _ digits: Int) -> String {
    let s = String(format: "%.\(digits)f", x)
    guard s.contains(".") else { return s }
    var t = s
    while t.hasSuffix("0") { t.removeLast() }
    if t.hasSuffix(".") { t.removeLast() }
    return t == "-0" ? "0" : t
}

func pad(_ s: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - s.count)) + s
}
