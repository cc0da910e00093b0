import LumenIO
import LumenTensor

/// The JSON that Clara's `ExtremePointsd` and `BoundingBoxd` put next to a
/// mask: the AIAA C++ client refuses a segmentation reply without `points`,
/// and Slicer stores them as a segment tag.
public enum ResultSummary {
    /// `points`: the six voxels of the foreground that are lowest and highest
    /// along i, j and k; `bbox`: `[[i0, j0, k0], [i1, j1, k1]]`, inclusive.
    /// Both are empty when the mask is empty.
    public static func extremePointsAndBox(_ labels: Volume) -> [String: JSONValue] {
        let shape = labels.spatialShape
        guard shape.count == 3 else { return ["points": .array([]), "bbox": .array([])] }
        let (nx, ny, nz) = (shape[0], shape[1], shape[2])
        var low = [Int](repeating: Int.max, count: 3), high = [Int](repeating: Int.min, count: 3)
        var lowPoint = [[Int]](repeating: [], count: 3), highPoint = [[Int]](repeating: [], count: 3)
        labels.tensor.data.withUnsafeBufferPointer { data in
            for x in 0..<nx {
                for y in 0..<ny {
                    let row = (x * ny + y) * nz
                    for z in 0..<nz where data[row + z] != 0 {
                        let p = [x, y, z]
                        for axis in 0..<3 {
                            if p[axis] < low[axis] { low[axis] = p[axis]; lowPoint[axis] = p }
                            if p[axis] > high[axis] { high[axis] = p[axis]; highPoint[axis] = p }
                        }
                    }
                }
            }
        }
        guard low[0] != Int.max else { return ["points": .array([]), "bbox": .array([])] }
        let points = (0..<3).flatMap { [lowPoint[$0], highPoint[$0]] }
        return ["points": json(points), "bbox": json([low, high])]
    }

    static func json(_ rows: [[Int]]) -> JSONValue {
        .array(rows.map { .array($0.map { .number(Double($0)) }) })
    }
}
