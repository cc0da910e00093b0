import CBLAS

/// The one place Lumen calls OpenBLAS's sgemm, so the Int32 narrowing and the
/// row-major convention live in one spot.
enum GEMM {
    @inline(__always)
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m < Int(Int32.max) && n < Int(Int32.max) && k < Int(Int32.max), "GEMM \(m)×\(n)×\(k) exceeds 32-bit BLAS")
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
