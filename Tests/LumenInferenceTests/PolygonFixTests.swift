import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenInference

@Suite struct PolygonFixTests {
    static let square = [[10, 10], [20, 10], [20, 20], [10, 20]]

    @Test("the drag falls off linearly along the polygon", arguments: [
        (0, [[10, 10], [20, 10], [28, 20], [10, 20]]),
        (1, [[10, 10], [24, 10], [28, 20], [14, 20]]),
        (3, [[10, 10], [26, 10], [28, 20], [16, 20]]),   // a 4-gon reaches one vertex each way, at weight 3/4
    ])
    func neighboursFollow(_ neighbours: Int, _ expected: [[Int]]) {
        #expect(PolygonFix.move(Self.square, vertex: 2, offset: (8, 0), neighbours: neighbours, bounds: (64, 64)) == expected)
    }

    @Test func movesStayInsideTheImage() {
        let moved = PolygonFix.move(Self.square, vertex: 0, offset: (-50, -50), neighbours: 0, bounds: (32, 32))
        #expect(moved[0] == [0, 0])
    }

    @Test func rasterizedSquareIsFilledWithItsBoundary() {
        let on = PolygonFix.rasterize([Self.square], nx: 32, ny: 32)
        #expect(on.filter { $0 }.count == 11 * 11)
        #expect(on[10 * 32 + 10] && on[20 * 32 + 20] && on[15 * 32 + 15] && !on[21 * 32 + 15])
    }

    @Test func badIndicesAreNamed() {
        let edit = PolygonFix.Edit(polygonIndex: 1, vertexIndex: 0, offset: (1, 1), neighbours: 0)
        #expect(throws: InferenceError.self) { try PolygonFix.apply(edit, to: [Self.square], bounds: (32, 32)) }
        let vertex = PolygonFix.Edit(polygonIndex: 0, vertexIndex: 9, offset: (1, 1), neighbours: 0)
        #expect(throws: InferenceError.self) { try PolygonFix.apply(vertex, to: [Self.square], bounds: (32, 32)) }
    }

    /// A box mask: tracing then redrawing a slice reproduces it; the drag grows
    /// the edited slice, the neighbour less, and leaves farther slices alone.
    @Test func threeDimensionalEditReachesNeighbourSlicesOnly() throws {
        let (nx, ny, nz) = (24, 24, 7)
        var tensor = Tensor(zeros: [1, nx, ny, nz])
        for i in 6...15 { for j in 6...15 { for k in 0..<nz { tensor.data[(i * ny + j) * nz + k] = 1 } } }
        let mask = try Volume.make(tensor: tensor, affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        let traced = MaskPolygons.polygons(mask)
        #expect(PolygonFix.rasterize(traced[3], nx: nx, ny: ny).filter { $0 }.count == 100)
        let vertex = traced[3][0].firstIndex { $0 == [15, 15] }!
        let edit = PolygonFix.Edit(polygonIndex: 0, vertexIndex: vertex, offset: (4, 4), neighbours: 3, neighbourSlices: 1)
        let (fixed, polygons) = try PolygonFix.apply3D(edit, mask: mask, slice: 3, polygons: nil)
        #expect(polygons[0][vertex] == [19, 19])
        func count(_ k: Int) -> Int { (0..<(nx * ny)).filter { fixed.tensor.data[$0 * nz + k] != 0 }.count }
        #expect(count(3) > count(2) && count(2) > 100 && count(4) == count(2))
        #expect(count(0) == 100 && count(6) == 100)
        #expect(throws: InferenceError.self) { try PolygonFix.apply3D(edit, mask: mask, slice: 7, polygons: nil) }
    }
}
