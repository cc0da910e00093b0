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
        return lines.joined(separator: "\n")
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
