import LumenIO

/// AIAA's fixpolygon (MITK): the user drags one vertex of a slice's polygon and
/// its neighbours follow with a weight that falls off linearly, so the outline
/// bends instead of spiking. In 3-D the drag also reaches the nearest vertex on
/// up to `neighbourSlices` slices either side, weaker with distance, and those
/// slices of the mask are redrawn from their moved outlines. Polygons are lists
/// of `[i, j]` pixels, as mask2polygon returns them.
public enum PolygonFix {
    public struct Edit: Sendable {
        public var polygonIndex: Int
        public var vertexIndex: Int
        public var offset: (Double, Double)
        public var neighbours: Int
        public var neighbourSlices: Int

        public init(polygonIndex: Int, vertexIndex: Int, offset: (Double, Double), neighbours: Int, neighbourSlices: Int = 0) {
            self.polygonIndex = polygonIndex
            self.vertexIndex = vertexIndex
            self.offset = offset
            self.neighbours = max(0, neighbours)
            self.neighbourSlices = max(0, neighbourSlices)
        }
    }

    /// Moves `vertex` by `offset` and the `neighbours` vertices on each side by
    /// `offset · (1 − d/(neighbours+1))`, d their distance along the polygon.
    public static func move(_ polygon: [[Int]], vertex: Int, offset: (Double, Double), neighbours: Int,
                            bounds: (Int, Int)) -> [[Int]] {
        guard !polygon.isEmpty else { return polygon }
        var weights = [Double](repeating: 0, count: polygon.count)
        let reach = min(neighbours, (polygon.count - 1) / 2)
        for d in -reach...reach {
            let index = ((vertex + d) % polygon.count + polygon.count) % polygon.count
            weights[index] = max(weights[index], 1 - Double(abs(d)) / Double(neighbours + 1))
        }
        return zip(polygon, weights).map { point, w in
            guard w > 0 else { return point }
            let x = Int((Double(point[0]) + w * offset.0).rounded())
            let y = Int((Double(point[1]) + w * offset.1).rounded())
            return [min(max(x, 0), bounds.0 - 1), min(max(y, 0), bounds.1 - 1)]
        }
    }

    /// A slice's edited polygons; throws when the indices name nothing.
    public static func apply(_ edit: Edit, to polygons: [[[Int]]], bounds: (Int, Int)) throws -> [[[Int]]] {
        guard polygons.indices.contains(edit.polygonIndex) else {
            throw InferenceError.badInput("polygon_index \(edit.polygonIndex) is out of range: the slice has \(polygons.count) polygon(s)")
        }
        let polygon = polygons[edit.polygonIndex]
        guard polygon.indices.contains(edit.vertexIndex) else {
            throw InferenceError.badInput("vertex_index \(edit.vertexIndex) is out of range: polygon \(edit.polygonIndex) has \(polygon.count) vertices")
        }
        for (p, each) in polygons.enumerated() {
            for point in each {
                guard point.count == 2 else {
                    throw InferenceError.badInput("polygon \(p) has a vertex \(point) that is not [x, y]")
                }
                guard (0..<bounds.0).contains(point[0]), (0..<bounds.1).contains(point[1]) else {
                    throw InferenceError.badInput("polygon \(p) has a vertex \(point) outside the \(bounds.0) × \(bounds.1) image; every vertex must be a pixel of the image")
                }
            }
        }
        var out = polygons
        out[edit.polygonIndex] = move(polygon, vertex: edit.vertexIndex, offset: edit.offset, neighbours: edit.neighbours, bounds: bounds)
        return out
    }

    /// Filled polygons on an `nx × ny` grid (index `i * ny + j`): pixel centres
    /// inside by the even-odd rule, plus every pixel the outlines pass through,
    /// so a traced boundary redraws exactly the pixels it came from.
    public static func rasterize(_ polygons: [[[Int]]], nx: Int, ny: Int) -> [Bool] {
        var on = [Bool](repeating: false, count: nx * ny)
        func set(_ i: Int, _ j: Int) { if i >= 0, j >= 0, i < nx, j < ny { on[i * ny + j] = true } }
        for polygon in polygons where !polygon.isEmpty {
            let points = polygon.map { (Double($0[0]), Double($0[1])) }
            for j in 0..<ny {
                let y = Double(j)
                var crossings: [Double] = []
                for (a, b) in zip(points, points.dropFirst() + [points[0]]) where (a.1 <= y) != (b.1 <= y) {
                    crossings.append(a.0 + (y - a.1) * (b.0 - a.0) / (b.1 - a.1))
                }
                crossings.sort()
                for pair in stride(from: 0, to: crossings.count - 1, by: 2) {
                    // Clamped in floating point first: a crossing far outside the grid must not reach Int().
                    let from = Int(min(max(crossings[pair].rounded(.up), 0), Double(nx)))
                    let to = Int(min(max(crossings[pair + 1].rounded(.down), -1), Double(nx - 1)))
                    if from <= to { for i in from...to { set(i, j) } }
                }
            }
            for (a, b) in zip(polygon, polygon.dropFirst() + [polygon[0]]) { line(a, b, set) }
        }
        return on
    }

    /// Bresenham's line between two pixels, both ends included.
    static func line(_ a: [Int], _ b: [Int], _ plot: (Int, Int) -> Void) {
        var (x, y) = (a[0], a[1])
        let (dx, dy) = (abs(b[0] - x), -abs(b[1] - y))
        let (sx, sy) = (x < b[0] ? 1 : -1, y < b[1] ? 1 : -1)
        var err = dx + dy
        while true {
            plot(x, y)
            if x == b[0], y == b[1] { return }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// The 3-D edit on a binary mask: slice `slice` takes the given (or traced)
    /// polygons with the drag applied; neighbouring slices move their vertex
    /// nearest to the dragged one. Returns the new mask and slice `slice`'s polygons.
    /// 2-D: the slice came as a PNG (for its size only); the reply is the moved polygons, filled,
    /// as a greyscale PNG of the same size. Blocking: call it off the cooperative pool.
    public static func apply2D(_ edit: Edit, polygons: [[[Int]]], slicePNG: [UInt8], maxPixels: Int) throws -> (png: [UInt8], polygons: [[[Int]]]) {
        let (width, height) = try PNGImage.size(of: slicePNG, maxPixels: maxPixels)
        let moved = try apply(edit, to: polygons, bounds: (width, height))
        let on = rasterize(moved, nx: width, ny: height)
        var rows = [UInt8](repeating: 0, count: width * height)
        for x in 0..<width { for y in 0..<height where on[x * height + y] { rows[y * width + x] = 1 } }
        return (PNGImage.grey(width: width, height: height, pixels: rows), moved)
    }

    public static func apply3D(_ edit: Edit, mask: Volume, slice: Int, polygons given: [[[Int]]]?) throws -> (Volume, [[[Int]]]) {
        let s = mask.spatialShape
        guard s.count == 3 else { throw InferenceError.badInput("fixpolygon in 3-D needs a 3-D mask, got \(s.count)-D") }
        let (nx, ny, nz) = (s[0], s[1], s[2])
        guard (0..<nz).contains(slice) else {
            throw InferenceError.badInput("slice_index \(slice) is outside the mask's \(nz) slices (0…\(nz - 1))")
        }
        let traced = MaskPolygons.polygons(mask)
        let polygons = try apply(edit, to: given ?? traced[slice], bounds: (nx, ny))
        let dragged = (given ?? traced[slice])[edit.polygonIndex][edit.vertexIndex]
        var out = mask
        func redraw(_ k: Int, _ slicePolygons: [[[Int]]]) {
            let on = rasterize(slicePolygons, nx: nx, ny: ny)
            for i in 0..<nx { for j in 0..<ny { out.tensor.data[(i * ny + j) * nz + k] = on[i * ny + j] ? 1 : 0 } }
        }
        redraw(slice, polygons)
        if edit.neighbourSlices > 0 {
            for m in 1...edit.neighbourSlices {
                let w = 1 - Double(m) / Double(edit.neighbourSlices + 1)
                for k in [slice - m, slice + m] where (0..<nz).contains(k) && !traced[k].isEmpty {
                    var best = (polygon: 0, vertex: 0, distance: Int.max)
                    for (p, polygon) in traced[k].enumerated() {
                        for (v, point) in polygon.enumerated() {
                            let d = (point[0] - dragged[0]) * (point[0] - dragged[0]) + (point[1] - dragged[1]) * (point[1] - dragged[1])
                            if d < best.distance { best = (p, v, d) }
                        }
                    }
                    var moved = traced[k]
                    moved[best.polygon] = move(moved[best.polygon], vertex: best.vertex, offset: (edit.offset.0 * w, edit.offset.1 * w),
                                               neighbours: edit.neighbours, bounds: (nx, ny))
                    redraw(k, moved)
                }
            }
        }
        return (out, polygons)
    }
}
