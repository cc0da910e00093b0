import Foundation
import LumenIO
import LumenTransforms

/// A picture of a result to look at before reading numbers: the CT in a soft-tissue window with
/// the label map as coloured outlines, on the axial, coronal and sagittal planes through the
/// largest structure (or through the clicks), each drawn in the world's orientation as a
/// radiologist reads it (patient's right on the left; anterior, then superior, at the top), with
/// the side letters, the voxel size and a legend.
///
/// Every panel pixel is sampled through the inverse affine (nearest neighbour), so an LPS file and
/// the same scan stored RAS give the same picture, and oblique or anisotropic grids keep their
/// true proportions.
public enum Preview {
    public struct Click: Sendable, Equatable {
        public var voxel: [Int]
        public var foreground: Bool
        public init(voxel: [Int], foreground: Bool) { self.voxel = voxel; self.foreground = foreground }
    }

    /// One drawn plane: where it sits on the canvas and the label value under each of its pixels
    /// (for tests, and for anyone checking what an outline was drawn from).
    public struct Panel: Sendable {
        public var name: String
        public var x: Int, y: Int, width: Int, height: Int
        /// Row-major label values, 0 outside every structure and outside the volume.
        public var labels: [Int]
        /// The letters at the left, right, top and bottom edges.
        public var sides: (left: String, right: String, top: String, bottom: String)
    }

    public struct Rendered: Sendable {
        public var canvas: Canvas
        public var panels: [Panel]
        public var png: [UInt8] { PNGImage.rgb(width: canvas.width, height: canvas.height, pixels: canvas.pixels) }
    }

    /// The soft-tissue window (W 400, L 40 HU).
    public static let window = (low: -160.0, high: 240.0)
    static let maxPanel = 256

    /// `labels` shares the CT's grid (what every task returns); `names[v - 1]` names label value v.
    public static func render(ct: Volume, labels: Volume?, names: [String], clicks: [Click] = [], title: String = "") throws -> Rendered {
        let grid = ct.geometry
        let inverse = Matrix.inverse(grid.affine)   // the reader refused singular affines
        let dims = grid.dims
        let labelData = labels.map { $0.tensor.data }
        if let labels, labels.spatialShape != ct.spatialShape {
            throw NIfTIError.shapeMismatch(file: labels.fileName, expected: ct.spatialShape, got: labels.spatialShape)
        }
        // World extent (RAS mm) of the volume, from its eight corners.
        var low = [Double](repeating: .infinity, count: 3), high = [Double](repeating: -.infinity, count: 3)
        for corner in 0..<8 {
            let v = (0..<3).map { Double(corner >> $0 & 1 == 1 ? dims[$0] - 1 : 0) }
            let w = apply(grid.affine, v)
            for a in 0..<3 { low[a] = min(low[a], w[a]); high[a] = max(high[a], w[a]) }
        }
        let extent = (0..<3).map { high[$0] - low[$0] }
        let mm = max(extent.max() ?? 1, 1) / Double(maxPanel)   // millimetres per screen pixel
        let center = apply(grid.affine, centerVoxel(labels: labelData, dims: dims, clicks: clicks))

        // Screen u runs along `uAxis` from `uFrom` in direction `uSign`; v likewise.
        struct Plane { var name: String; var u: Int; var uSign: Double; var v: Int; var vSign: Double; var fixed: Int
                       var sides: (String, String, String, String) }
        let planes = [
            Plane(name: "AXIAL", u: 0, uSign: -1, v: 1, vSign: -1, fixed: 2, sides: ("R", "L", "A", "P")),
            Plane(name: "CORONAL", u: 0, uSign: -1, v: 2, vSign: -1, fixed: 1, sides: ("R", "L", "S", "I")),
            Plane(name: "SAGITTAL", u: 1, uSign: -1, v: 2, vSign: -1, fixed: 0, sides: ("A", "P", "S", "I")),
        ]
        let margin = 14, gap = 10, titleHeight = title.isEmpty ? 0 : 14
        let sizes = planes.map { p in (max(1, Int((extent[p.u] / mm).rounded(.up))), max(1, Int((extent[p.v] / mm).rounded(.up)))) }
        let present = Set((labelData ?? []).map { Int($0) }).filter { $0 > 0 }.sorted()
        let legendRows = present.isEmpty ? 0 : 1
        let width = margin * 2 + sizes.map(\.0).reduce(0, +) + gap * (planes.count - 1)
        let panelTop = margin + titleHeight + 10
        let height = panelTop + (sizes.map(\.1).max() ?? 0) + 28 + legendRows * 16 + margin
        var canvas = Canvas(width: width, height: max(height, 40), background: RGB(24, 24, 24))
        if !title.isEmpty { canvas.text(title, x: margin, y: margin, RGB(230, 230, 230)) }

        var panels: [Panel] = []
        var x0 = margin
        for (p, (w, h)) in zip(planes, sizes) {
            var raster = [Int](repeating: 0, count: w * h)
            var panel = Canvas(width: w, height: h)
            let uStart = p.uSign < 0 ? high[p.u] : low[p.u], vStart = p.vSign < 0 ? high[p.v] : low[p.v]
            for v in 0..<h {
                for u in 0..<w {
                    var world = center
                    world[p.u] = uStart + p.uSign * (Double(u) + 0.5) * mm
                    world[p.v] = vStart + p.vSign * (Double(v) + 0.5) * mm
                    let ijk = apply(inverse, world).map { Int(($0).rounded()) }
                    guard (0..<3).allSatisfy({ ijk[$0] >= 0 && ijk[$0] < dims[$0] }) else { continue }
                    let index = (ijk[0] * dims[1] + ijk[1]) * dims[2] + ijk[2]
                    let hu = Double(ct.tensor.data[index])
                    let grey = UInt8(max(0, min(255, (hu - window.low) / (window.high - window.low) * 255)))
                    panel.set(u, v, RGB(grey, grey, grey))
                    if let labelData { raster[v * w + u] = Int(labelData[index]) }
                }
            }
            // Outlines: a labelled pixel with a 4-neighbour of another value.
            for v in 0..<h {
                for u in 0..<w {
                    let l = raster[v * w + u]
                    guard l > 0 else { continue }
                    if isEdge(raster, w, h, u, v) { panel.set(u, v, Palette.color(for: l - 1 < names.count ? names[l - 1] : "label \(l)")) }
                }
            }
            for click in clicks {
                let world = apply(grid.affine, click.voxel.map(Double.init))
                guard abs(world[p.fixed] - center[p.fixed]) <= max(grid.spacing.max() ?? 1, mm) else { continue }
                let u = Int(((world[p.u] - uStart) * p.uSign / mm).rounded(.down))
                let v = Int(((world[p.v] - vStart) * p.vSign / mm).rounded(.down))
                panel.marker(x: u, y: v, foreground: click.foreground,
                             click.foreground ? Palette.foregroundClick : Palette.backgroundClick)
            }
            canvas.draw(panel, x: x0, y: panelTop)
            let label = RGB(255, 255, 255)
            canvas.text(p.sides.0, x: x0 + 2, y: panelTop + h / 2 - 3, label)
            canvas.text(p.sides.1, x: x0 + w - 7, y: panelTop + h / 2 - 3, label)
            canvas.text(p.sides.2, x: x0 + w / 2 - 2, y: panelTop + 2, label)
            canvas.text(p.sides.3, x: x0 + w / 2 - 2, y: panelTop + h - 9, label)
            canvas.text(p.name, x: x0, y: panelTop - 10, RGB(200, 200, 200))
            panels.append(Panel(name: p.name, x: x0, y: panelTop, width: w, height: h, labels: raster,
                                sides: (p.sides.0, p.sides.1, p.sides.2, p.sides.3)))
            x0 += w + gap
        }
        let info = String(format: "VOXEL %.2f X %.2f X %.2f MM   %@   W400 L40", grid.spacing[0], grid.spacing[1], grid.spacing[2],
                          grid.orientation)
        let infoY = panelTop + (sizes.map(\.1).max() ?? 0) + 8
        canvas.text(info, x: margin, y: infoY, RGB(200, 200, 200))
        var lx = margin
        for value in present {
            let name = value - 1 < names.count ? names[value - 1] : "label \(value)"
            canvas.fill(x: lx, y: infoY + 16, width: 9, height: 9, Palette.color(for: name))
            lx += 13 + canvas.text(name, x: lx + 13, y: infoY + 17, RGB(230, 230, 230)) + 10
        }
        return Rendered(canvas: canvas, panels: panels)
    }

    /// A labelled pixel is on an outline when a 4-neighbour (or the panel's edge) differs.
    static func isEdge(_ raster: [Int], _ w: Int, _ h: Int, _ u: Int, _ v: Int) -> Bool {
        let l = raster[v * w + u]
        if u == 0 || v == 0 || u == w - 1 || v == h - 1 { return true }
        return raster[v * w + u - 1] != l || raster[v * w + u + 1] != l || raster[(v - 1) * w + u] != l || raster[(v + 1) * w + u] != l
    }

    /// The centroid of the largest labelled structure, else of the clicks, else the middle.
    static func centerVoxel(labels: [Float]?, dims: [Int], clicks: [Click]) -> [Double] {
        if let click = clicks.last { return click.voxel.map(Double.init) }
        if let labels {
            var count: [Int: Int] = [:], sums: [Int: [Double]] = [:]
            for i in 0..<dims[0] { for j in 0..<dims[1] { for k in 0..<dims[2] {
                let l = Int(labels[(i * dims[1] + j) * dims[2] + k])
                guard l > 0 else { continue }
                count[l, default: 0] += 1
                var s = sums[l] ?? [0, 0, 0]
                s[0] += Double(i); s[1] += Double(j); s[2] += Double(k)
                sums[l] = s
            } } }
            if let (l, n) = count.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) {
                return sums[l]!.map { $0 / Double(n) }
            }
        }
        return dims.map { Double($0 - 1) / 2 }
    }

    /// A voxel or world point through a 4 × 4 affine.
    static func apply(_ m: [[Double]], _ v: [Double]) -> [Double] {
        Array(Matrix.apply(m, v + [1]).prefix(3))
    }
}
