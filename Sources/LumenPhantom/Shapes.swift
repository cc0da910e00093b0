/// A point in the patient frame (RAS+, mm): +x toward the patient's right,
/// +y anterior, +z superior.
struct Point: Sendable {
    var x: Double, y: Double, z: Double
    static func + (a: Point, b: Point) -> Point { Point(x: a.x + b.x, y: a.y + b.y, z: a.z + b.z) }
    static func - (a: Point, b: Point) -> Point { Point(x: a.x - b.x, y: a.y - b.y, z: a.z - b.z) }
    static func * (a: Point, s: Double) -> Point { Point(x: a.x * s, y: a.y * s, z: a.z * s) }
    func dot(_ b: Point) -> Double { x * b.x + y * b.y + z * b.z }
    var length: Double { dot(self).squareRoot() }
}

/// An axis-aligned ellipsoid with a lumpy surface (a few low-order harmonics),
/// so organs are not perfect solids of revolution.
struct Blob: Sendable {
    var center: Point
    var radii: Point
    var bumps: SIMD3<Double>   // amplitudes of angular harmonics, fraction of the radius

    /// Normalised radius: < 1 inside.
    func level(_ p: Point) -> Double {
        let d = Point(x: (p.x - center.x) / radii.x, y: (p.y - center.y) / radii.y, z: (p.z - center.z) / radii.z)
        let r = d.length
        guard r > 1e-9, bumps != .zero else { return r }
        let theta = atan2(d.y, d.x), phi = d.z / r
        var scale = 1.0
        for k in 0..<3 { scale += bumps[k] * sin(Double(k + 2) * theta + Double(k) * 1.7) * cos(Double(k + 1) * phi * 2) }
        return r / scale
    }

    func contains(_ p: Point) -> Bool { level(p) < 1 }
    var box: (Point, Point) {
        let m = 1 + abs(bumps[0]) + abs(bumps[1]) + abs(bumps[2])
        return (center - radii * m, center + radii * m)
    }
}

/// A straight tube with linearly varying radius (vessels, ribs pieces, trunks).
struct Tube: Sendable {
    var a: Point, b: Point
    var radiusA: Double, radiusB: Double

    /// (distance to the axis, radius at the nearest axis point).
    @inline(__always)
    func distance(_ p: Point) -> (Double, Double) {
        let ab = b - a
        let t = max(0, min(1, (p - a).dot(ab) / max(ab.dot(ab), 1e-12)))
        let q = a + ab * t
        return ((p - q).length, radiusA + (radiusB - radiusA) * t)
    }

    func contains(_ p: Point) -> Bool { let (d, r) = distance(p); return d < r }

    var box: (Point, Point) {
        let r = max(radiusA, radiusB)
        return (Point(x: min(a.x, b.x) - r, y: min(a.y, b.y) - r, z: min(a.z, b.z) - r),
                Point(x: max(a.x, b.x) + r, y: max(a.y, b.y) + r, z: max(a.z, b.z) + r))
    }
}

@inline(__always)
func inside(_ p: Point, _ box: (Point, Point)) -> Bool {
    p.x >= box.0.x && p.x <= box.1.x && p.y >= box.0.y && p.y <= box.1.y && p.z >= box.0.z && p.z <= box.1.z
}

#if canImport(Glibc)
import Glibc
#endif
