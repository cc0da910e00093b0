import LumenIO

/// AIAA's mask2polygon (used by MITK): per k-slice, the outer boundary of each
/// 8-connected piece of the mask as a closed list of `[i, j]` pixels, traced
/// with Moore-neighbour tracing so consecutive points touch.
public enum MaskPolygons {
    /// `density` ≥ 1 keeps every boundary pixel; a ratio r in (0, 1) keeps every ⌈1/r⌉-th.
    public static func polygons(_ mask: Volume, density: Double = 1) -> [[[[Int]]]] {
        let s = mask.spatialShape
        let (nx, ny, nz) = (s[0], s[1], s[2])
        // Clamped before the conversion: a ratio of 1e-300 asks for a step no Int holds.
        let step = density >= 1 || !(density > 0) ? 1 : Int(min((1 / density).rounded(.up), Double(nx * ny + 1)))
        return (0..<nz).map { k in
            var on = [Bool](repeating: false, count: nx * ny)
            for i in 0..<nx { for j in 0..<ny { on[i * ny + j] = mask.tensor.data[(i * ny + j) * nz + k] != 0 } }
            var seen = [Bool](repeating: false, count: nx * ny)
            var result: [[[Int]]] = []
            for i in 0..<nx { for j in 0..<ny where on[i * ny + j] && !seen[i * ny + j] {
                flood(&seen, on, nx, ny, i, j)
                let boundary = trace(on, nx, ny, start: (i, j))
                result.append(stride(from: 0, to: boundary.count, by: step).map { [boundary[$0].0, boundary[$0].1] })
            } }
            return result
        }
    }

    static func flood(_ seen: inout [Bool], _ on: [Bool], _ nx: Int, _ ny: Int, _ i: Int, _ j: Int) {
        var stack = [(i, j)]
        seen[i * ny + j] = true
        while let (a, b) = stack.popLast() {
            for da in -1...1 { for db in -1...1 {
                let (x, y) = (a + da, b + db)
                if x >= 0, y >= 0, x < nx, y < ny, on[x * ny + y], !seen[x * ny + y] { seen[x * ny + y] = true; stack.append((x, y)) }
            } }
        }
    }

    /// Moore-neighbour tracing from the piece's first pixel in scan order (its left neighbour is background).
    static func trace(_ on: [Bool], _ nx: Int, _ ny: Int, start: (Int, Int)) -> [(Int, Int)] {
        let ring = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]
        func isOn(_ p: (Int, Int)) -> Bool { p.0 >= 0 && p.1 >= 0 && p.0 < nx && p.1 < ny && on[p.0 * ny + p.1] }
        var boundary = [start]
        var current = start
        var from = 0   // index in ring of the background pixel we came from (the one "above" in scan order)
        for _ in 0..<(4 * nx * ny) {
            var next: (Int, Int)?
            for t in 1...8 {
                let d = ring[(from + t) % 8]
                let candidate = (current.0 + d.0, current.1 + d.1)
                if isOn(candidate) {
                    next = candidate
                    let back = ring[(from + t - 1) % 8]
                    let previous = (current.0 + back.0, current.1 + back.1)
                    from = ring.firstIndex { $0 == (previous.0 - candidate.0, previous.1 - candidate.1) } ?? 0
                    break
                }
            }
            guard let step = next else { break }   // a single pixel
            if step == start { break }
            boundary.append(step)
            current = step
        }
        return boundary
    }
}
