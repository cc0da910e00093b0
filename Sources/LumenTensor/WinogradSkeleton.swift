/// What the three Winograd variants (F(2,3) and F(4,3) in 3-D, F(4,3) on planes) share: tiles
/// cut into chunks of whole tile rows, per chunk the input transform into `points` GEMM operand
/// planes, one GEMM per transform point, and the output transform with the layer's epilogue.
/// The variants differ only in their transforms and tile sizes, so the chunking, the scratch
/// planes and the choice between chunk-parallel and stage-parallel work live here once.
struct WinogradSkeleton {
    /// Transform points per tile (64, 216 or 36) and the layer's channels.
    let points: Int, cin: Int, cout: Int
    /// Tiles in one image and in one chunk.
    let tiles: Int, chunk: Int
    /// Whether the transforms can take a channel range, so that a layer with too few chunks to
    /// share out can split each stage across the pool instead (low resolution, wide layers).
    let splitsStages: Bool

    /// The GEMM operand planes of one chunk, V [points][cin][count] and M [points][cout][count],
    /// each plane padded by a cache line so the streams do not alias in cache sets.
    struct Scratch {
        let v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>
        let vStride: Int, mStride: Int
        init(points: Int, cin: Int, cout: Int, count: Int) {
            vStride = cin * count + 16
            mStride = cout * count + 16
            v = .allocate(capacity: points * vStride)
            m = .allocate(capacity: points * mStride)
        }
        func free() { v.deallocate(); m.deallocate() }
    }

    /// `rowLength` tiles make a row; `target` is the wanted tiles per chunk.
    init(points: Int, cin: Int, cout: Int, tiles: Int, rowLength: Int, target: Int, splitsStages: Bool = true) {
        self.points = points; self.cin = cin; self.cout = cout; self.tiles = tiles
        self.chunk = max(1, target / rowLength) * rowLength
        self.splitsStages = splitsStages
    }

    var chunks: Int { (tiles + chunk - 1) / chunk }

    /// Runs one image. `input(tiles, channels, scratch)` fills V for those tiles and input
    /// channels; `output(tiles, channels, scratch)` writes those output channels from M.
    func run(pool: ComputePool, weights u: UnsafePointer<Float>, label: String,
             input: (Range<Int>, Range<Int>, Scratch) -> Void, output: (Range<Int>, Range<Int>, Scratch) -> Void) {
        if chunks >= 2 * pool.threads || !splitsStages {
            pool.parallelFor(chunks) { c in
                let t0 = c * chunk, count = min(chunk, tiles - t0)
                let scratch = Scratch(points: points, cin: cin, cout: cout, count: count)
                defer { scratch.free() }
                Profiler.measure("  \(label)-in \(cin)") { input(t0..<(t0 + count), 0..<cin, scratch) }
                Profiler.measure("  \(label)-gemm \(cin)→\(cout) T\(count)") {
                    for e in 0..<points { gemm(e, u: u, count: count, scratch) }
                }
                Profiler.measure("  \(label)-out \(cout)") { output(t0..<(t0 + count), 0..<cout, scratch) }
            }
        } else {
            for c in 0..<chunks {
                let t0 = c * chunk, count = min(chunk, tiles - t0)
                let scratch = Scratch(points: points, cin: cin, cout: cout, count: count)
                defer { scratch.free() }
                Profiler.measure("  \(label)-few-in") { pool.parallelRanges(cin) { r in input(t0..<(t0 + count), r, scratch) } }
                Profiler.measure("  \(label)-few-gemm") { pool.parallelFor(points) { e in gemm(e, u: u, count: count, scratch) } }
                Profiler.measure("  \(label)-few-out") { pool.parallelRanges(cout) { r in output(t0..<(t0 + count), r, scratch) } }
            }
        }
    }

    /// M[e] = U[e] · V[e]: [cout × cin] times [cin × count].
    @inline(__always)
    func gemm(_ e: Int, u: UnsafePointer<Float>, count: Int, _ s: Scratch) {
        GEMM.sgemm(transA: false, transB: false, m: cout, n: count, k: cin, alpha: 1,
                   a: u + e * cout * cin, lda: cin, b: s.v + e * s.vStride, ldb: count,
                   beta: 0, c: s.m + e * s.mStride, ldc: count)
    }
}
